//! `followup queue ...`: the same moves the user can make by hand, from the command line.

use anyhow::{Context, Result, bail};

use crate::cli::QueueAction;
use crate::delivery::queue::{Folder, QueueDir};
use crate::input::workspace::Workspace;
use crate::outln;

pub fn run(ws: &Workspace, action: QueueAction) -> Result<()> {
    let queue = QueueDir::open(&ws.config.queue_dir)?;
    match action {
        QueueAction::List => {
            for folder in [Folder::Pending, Folder::Approved] {
                let entries = queue.scan(folder)?;
                outln!("{folder} ({}):", entries.len())?;
                for entry in entries {
                    match &entry.parsed {
                        Ok(file) => outln!("  {}  to {}  {}", entry.id, file.to, file.subject)?,
                        Err(e) => outln!("  {}  cannot be used: {e}", entry.id)?,
                    }
                }
            }
            outln!(
                "\nApprove with `followup queue approve ID` (or move the file to {}).",
                queue.dir(Folder::Approved).display()
            )?;
        }
        QueueAction::Show { id } => {
            let Some(entry) = queue.find(&id)? else {
                bail!("nothing in the queue matches `{id}`; see `followup queue list`");
            };
            let text = std::fs::read_to_string(&entry.path)
                .with_context(|| format!("cannot read {}", entry.path.display()))?;
            outln!("# {} ({})\n{text}", entry.path.display(), entry.folder)?;
        }
        QueueAction::Approve { id, late } => {
            if late && queue.approve_late(&id)? == Folder::Approved {
                // Already approved: the header is all it needed.
                outln!(
                    "approved {id} to be sent although late (the daemon sends it within seconds)"
                )?;
                return Ok(());
            }
            let to = queue.approve(&id)?;
            outln!(
                "approved: {} (the daemon sends it within seconds)",
                to.display()
            )?;
        }
        QueueAction::Reject { id } => {
            let to = queue.reject(&id)?;
            outln!("rejected: {} (it will not be sent)", to.display())?;
        }
    }
    Ok(())
}
