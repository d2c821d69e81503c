use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::instant;
use crate::core::calendar::human;
use crate::core::{SendState, plan};
use crate::delivery::queue::{Folder, QueueDir};
use crate::input::workspace::Workspace;
use crate::outln;
use crate::store::snapshot;

#[derive(Serialize, Default)]
struct Status {
    sent: Vec<Row>,
    waiting_for_approval: Vec<Row>,
    approved: Vec<Row>,
    deferred: Vec<Row>,
    failed: Vec<Row>,
    uncertain: Vec<Row>,
    /// Queue files that cannot be used.
    problems: Vec<String>,
    next: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    key: String,
    to: Option<String>,
    at: Option<DateTime<Utc>>,
    note: Option<String>,
}

/// `followup status`: read from the daemon's snapshot and the queue directory, so it works
/// while the daemon runs.
pub fn run(ws: &Workspace, json: bool, now: Option<&str>) -> Result<()> {
    let now = instant(ws, now)?.unwrap_or_else(Utc::now);
    let state_dir = &ws.config.state_dir;
    let snapshot = snapshot::load(state_dir)?;
    let mut status = Status::default();
    if let Some(snapshot) = &snapshot {
        for r in &snapshot.sends {
            let row = |at: Option<DateTime<Utc>>, note: Option<String>| Row {
                key: r.key.to_string(),
                to: r.to.clone(),
                at,
                note,
            };
            match r.state {
                SendState::Sent => status.sent.push(row(r.sent_at, None)),
                SendState::Deferred => status
                    .deferred
                    .push(row(r.next_attempt, r.last_error.clone())),
                SendState::Failed => status
                    .failed
                    .push(row(Some(r.updated_at), r.last_error.clone())),
                SendState::Uncertain => status
                    .uncertain
                    .push(row(Some(r.updated_at), r.last_error.clone())),
                _ => {}
            }
        }
    }
    status.problems.extend(snapshot::load_problems(state_dir)?);
    // Reading only: a queue that does not exist yet is empty, and is not created.
    let queue = QueueDir::untouched(&ws.config.queue_dir);
    for (folder, rows) in [
        (Folder::Pending, &mut status.waiting_for_approval),
        (Folder::Approved, &mut status.approved),
    ] {
        for entry in queue.scan(folder)? {
            match (&entry.parsed, entry.diagnostic()) {
                (Ok(file), _) => rows.push(Row {
                    key: entry.id.clone(),
                    to: Some(file.to.email.to_string()),
                    at: None,
                    note: Some(file.subject.clone()),
                }),
                (_, Some(d)) => {
                    let problem = d.to_string();
                    if !status.problems.contains(&problem) {
                        status.problems.push(problem);
                    }
                }
                _ => {}
            }
        }
    }
    let history = snapshot.map(|s| s.history()).unwrap_or_default();
    let c = &ws.config;
    status.next = plan(&ws.interviews, &history, &c.policy, &c.owner, now)
        .into_iter()
        .filter(|a| a.state.is_pending())
        .take(5)
        .map(|a| Row {
            key: a.key.to_string(),
            to: a.to.map(|t| t.to_string()),
            at: Some(a.due),
            note: Some(a.reason),
        })
        .collect();
    if json {
        outln!("{}", serde_json::to_string_pretty(&status)?)?;
        return Ok(());
    }
    let tz = c.timezone;
    let section = |title: &str, rows: &[Row]| {
        outln!("{title} ({}):", rows.len())?;
        for r in rows {
            let at =
                r.at.map(|t| format!("{}  ", human(t, tz)))
                    .unwrap_or_default();
            let to =
                r.to.as_deref()
                    .map(|t| format!("  to {t}"))
                    .unwrap_or_default();
            let note = r
                .note
                .as_deref()
                .map(|n| format!("\n      {n}"))
                .unwrap_or_default();
            outln!("  {at}{}{to}{note}", r.key)?;
        }
        Ok::<(), std::io::Error>(())
    };
    section("Failed", &status.failed)?;
    section(
        "Uncertain (may have been sent; decide in the queue)",
        &status.uncertain,
    )?;
    section("Waiting for your approval", &status.waiting_for_approval)?;
    section("Approved, about to be sent", &status.approved)?;
    section("Retrying", &status.deferred)?;
    section("Next", &status.next)?;
    section("Sent", &status.sent)?;
    if !status.problems.is_empty() {
        outln!(
            "Queue files that cannot be used ({}):",
            status.problems.len()
        )?;
        for p in &status.problems {
            outln!("  {p}")?;
        }
    }
    Ok(())
}
