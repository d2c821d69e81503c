//! `followup queue ...`: the same moves the user can make by hand, from the command line, with
//! short numbers for the messages.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};

use crate::cli::QueueAction;
use crate::core::calendar::human;
use crate::delivery::queue::decide::{Decided, Decision};
use crate::delivery::queue::{Entry, Folder, QueueDir};
use crate::outln;
use crate::store::SledStore;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, action: QueueAction) -> Result<()> {
    let queue = QueueDir::open(&ws.config.queue_dir)?;
    let now = Utc::now();
    match action {
        QueueAction::List => {
            let pending = queue.scan(Folder::Pending)?;
            let approved = queue.scan(Folder::Approved)?;
            outln!("Waiting for your approval ({}):", pending.len())?;
            for entry in &pending {
                outln!("{}", describe(ws, entry, now))?;
            }
            outln!("Approved, to be sent ({}):", approved.len())?;
            for entry in &approved {
                outln!("{}", describe(ws, entry, now))?;
            }
            let Some(first) = pending.first() else {
                return Ok(());
            };
            let example = first.number.map_or(first.id.clone(), |n| n.to_string());
            outln!(
                "\nRead one with `followup queue show {example}`, approve it with `followup queue \
                 approve {example}` (or move its file to {}), reject it with `followup queue \
                 reject {example}`: a number, an interview id or the start of a file name.",
                queue.dir(Folder::Approved).display()
            )?;
        }
        QueueAction::Show { id } => {
            let entry = queue.find(&id)?.with_context(|| not_found(&id))?;
            let text = std::fs::read_to_string(&entry.path)
                .with_context(|| format!("cannot read {}", entry.path.display()))?;
            let number = entry
                .number
                .map(|n| format!(", number {n}"))
                .unwrap_or_default();
            outln!(
                "# {} ({}{number})\n{text}",
                entry.path.display(),
                entry.folder
            )?;
        }
        QueueAction::Approve { id, late } => {
            let decision = if late {
                Decision::ApproveLate
            } else {
                Decision::Approve
            };
            match queue.decide(&id, decision)? {
                Decided::Approved { entry, to, late } => {
                    let late = if late { ", although late" } else { "" };
                    outln!("approved {}{late}: {}", entry.describe(), to.display())?;
                }
                Decided::MarkedLate { entry } => {
                    // Already approved: the header is all it needed.
                    outln!("approved {}, to be sent although late", entry.describe())?;
                }
                Decided::AlreadyApproved { entry } => {
                    outln!("{} is approved already", entry.describe())?;
                    return Ok(());
                }
                Decided::Rejected { entry, to } => {
                    outln!("rejected {}: {}", entry.describe(), to.display())?;
                    return Ok(());
                }
            }
            outln!("{}", daemon_note(ws)?)?;
        }
        QueueAction::Reject { id } => {
            if let Decided::Rejected { entry, to } = queue.decide(&id, Decision::Reject)? {
                outln!(
                    "rejected {}: {} (it will not be sent)",
                    entry.describe(),
                    to.display()
                )?;
            }
        }
    }
    Ok(())
}

fn not_found(id: &str) -> String {
    format!("nothing in the queue matches `{id}`; `followup queue list` shows what is there")
}

/// When the approved message goes out: within seconds when the daemon runs (the state's lock
/// tells), else when it is started.
fn daemon_note(ws: &Workspace) -> Result<&'static str> {
    Ok(if SledStore::in_use(&ws.config.state_dir)? {
        "The daemon is running: it sends it within seconds."
    } else {
        "The daemon is not running, so nothing is sent yet: start it (`followup run`, or \
         `systemctl start followup`), or send what is approved now with `followup run --once`."
    })
}

/// One message as `queue list` and `status` show it: its number, when it was due, what it is,
/// to whom, and its subject (or why the file cannot be used).
pub(super) fn describe(ws: &Workspace, entry: &Entry, now: DateTime<Utc>) -> String {
    let number = entry
        .number
        .map_or_else(|| "-".to_string(), |n| n.to_string());
    let due = entry
        .due
        .map(|d| format!("  due {}", human(d, ws.config.timezone)))
        .unwrap_or_default();
    match &entry.parsed {
        Ok(file) => {
            let late = late_approval(ws, entry, now)
                .map(|why| format!("\n       {why}"))
                .unwrap_or_default();
            format!(
                "  {number:>3}{due}  {}  to {}\n       {}{late}",
                file.key, file.to, file.subject
            )
        }
        Err(e) => format!(
            "  {number:>3}  {}  cannot be used: {e}",
            entry.path.display()
        ),
    }
}

/// Why an approved thank-you is not sent: it was approved after its limit, and needs the user
/// to say so again (the rule is [`crate::core::Policy::past_limit`], as the daemon applies it).
pub(super) fn late_approval(ws: &Workspace, entry: &Entry, now: DateTime<Utc>) -> Option<String> {
    let file = entry.parsed.as_ref().ok()?;
    let iv = ws.interview(&file.key.interview)?;
    let limit = ws.config.policy.past_limit(file.key.step, iv, now)?;
    (entry.folder == Folder::Approved && !file.late).then(|| {
        format!(
            "past its limit ({}): not sent unless you approve it again with `followup queue \
             approve --late {}`",
            human(limit, ws.config.timezone),
            entry
                .number
                .map_or_else(|| entry.id.clone(), |n| n.to_string())
        )
    })
}
