use anyhow::{Context, Result, bail};

use crate::cli::QueueAction;
use crate::delivery::queue::{Folder, QueueDir};
use crate::message::LATE_HEADER;
use crate::workspace::Workspace;

/// `followup queue ...`: the same moves the user can make by hand, from the command line.
pub fn run(ws: &Workspace, action: QueueAction) -> Result<()> {
    let queue = QueueDir::open(&ws.config.queue_dir)?;
    match action {
        QueueAction::List => {
            for folder in [Folder::Pending, Folder::Approved] {
                let entries = queue.scan(folder)?;
                println!("{folder} ({}):", entries.len());
                for entry in entries {
                    match &entry.parsed {
                        Ok(file) => println!("  {}  to {}  {}", entry.id, file.to, file.subject),
                        Err(e) => println!("  {}  cannot be used: {e}", entry.id),
                    }
                }
            }
            println!(
                "\nApprove with `followup queue approve ID` (or move the file to {}).",
                queue.dir(Folder::Approved).display()
            );
        }
        QueueAction::Show { id } => {
            let Some(entry) = queue.find(&id)? else {
                bail!("nothing in the queue matches `{id}`; see `followup queue list`");
            };
            let text = std::fs::read_to_string(&entry.path)
                .with_context(|| format!("cannot read {}", entry.path.display()))?;
            println!("# {} ({})\n{text}", entry.path.display(), entry.folder);
        }
        QueueAction::Approve { id, late } => {
            if late && mark_late(&queue, &id)? == Folder::Approved {
                // Already approved: the header is all it needed.
                return Ok(());
            }
            let to = queue.approve(&id)?;
            println!(
                "approved: {} (the daemon sends it within seconds)",
                to.display()
            );
        }
        QueueAction::Reject { id } => {
            let to = queue.reject(&id)?;
            println!("rejected: {} (it will not be sent)", to.display());
        }
    }
    Ok(())
}

/// Adds the header that lets a message past its step's limit go out; returns where it is.
fn mark_late(queue: &QueueDir, id: &str) -> Result<Folder> {
    let Some(entry) = queue.find_in(&[Folder::Pending, Folder::Approved], id)? else {
        bail!("nothing waiting matches `{id}`; see `followup queue list`");
    };
    let text = std::fs::read_to_string(&entry.path)
        .with_context(|| format!("cannot read {}", entry.path.display()))?;
    if text.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with(&LATE_HEADER.to_ascii_lowercase())
    }) {
        return Ok(entry.folder);
    }
    let marked = format!("{LATE_HEADER}: yes\n{text}");
    crate::daemon::write_atomically(&entry.path, marked.as_bytes())
        .with_context(|| format!("cannot write {}", entry.path.display()))?;
    if entry.folder == Folder::Approved {
        println!(
            "approved {} to be sent although late (the daemon sends it within seconds)",
            entry.id
        );
    }
    Ok(entry.folder)
}
