use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::instant;
use crate::core::calendar::human;
use crate::core::heard::{self, Heard};
use crate::core::{SendState, plan};
use crate::daemon::hearing;
use crate::delivery::queue::{Folder, QueueDir};
use crate::input::workspace::Workspace;
use crate::mailbox::reader::waiting_copies;
use crate::store::snapshot;

#[derive(Serialize, Default)]
struct Status {
    sent: Vec<Row>,
    waiting_for_approval: Vec<Row>,
    approved: Vec<Row>,
    deferred: Vec<Row>,
    failed: Vec<Row>,
    uncertain: Vec<Row>,
    /// Addresses mail cannot reach: nothing more is e-mailed to them.
    undeliverable: Vec<Row>,
    /// Queue files that cannot be used.
    problems: Vec<String>,
    next: Vec<Row>,
    /// What the mailbox said that is in force: replies that stopped an interview, absences
    /// holding an interviewer.
    heard: Vec<Row>,
    /// The mailbox's health; `None` without an `imap` section.
    mailbox: Option<MailboxHealth>,
}

#[derive(Serialize)]
struct MailboxHealth {
    /// When a folder was last read.
    synced_at: Option<DateTime<Utc>>,
    /// Why it cannot be read now, if it cannot.
    error: Option<String>,
    /// Copies of sent messages waiting for the Sent folder, and why the last one failed.
    copies_waiting: usize,
    copy_error: Option<String>,
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
        for u in &snapshot.undeliverable {
            status.undeliverable.push(Row {
                key: u.address.clone(),
                to: None,
                at: Some(u.at),
                note: Some(format!("{}; put a working address in the record", u.reason)),
            });
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
    if ws.config.imap.is_some() {
        let meta = |name: &str| {
            snapshot
                .as_ref()
                .and_then(|s| s.meta.get(name))
                .filter(|v| !v.is_empty())
                .cloned()
        };
        status.mailbox = Some(MailboxHealth {
            synced_at: meta(hearing::SYNCED_AT)
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                .map(|t| t.with_timezone(&Utc)),
            error: meta(hearing::MAILBOX_ERROR),
            copies_waiting: waiting_copies(&hearing::copies_dir(state_dir)).len(),
            copy_error: meta(hearing::COPY_ERROR),
        });
    }
    let history = snapshot.map(|s| s.history()).unwrap_or_default();
    for iv in &ws.interviews {
        if let Some(reply) = heard::deciding_reply(iv, &history.heard) {
            status.heard.push(Row {
                key: iv.id.clone(),
                to: None,
                at: Some(reply.at),
                note: Some(format!(
                    "{}: automatic checks stopped (`followup resume {}` if it was no reply)",
                    heard::reply_note(reply),
                    iv.id
                )),
            });
        }
        for person in &iv.interviewers {
            if let Some(away) = heard::hold(&person.key(), &history.heard)
                && let Heard::OutOfOffice { from, until, .. } = &away.heard
                && *until > now.date_naive()
                && away.interview == iv.id
            {
                status.heard.push(Row {
                    key: iv.id.clone(),
                    to: Some(person.key()),
                    at: Some(away.at),
                    note: Some(format!(
                        "{from} is away: their next step waits until {until}"
                    )),
                });
            }
        }
    }
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
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    let tz = c.timezone;
    let section = |title: &str, rows: &[Row]| {
        println!("{title} ({}):", rows.len());
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
            println!("  {at}{}{to}{note}", r.key);
        }
    };
    section("Failed", &status.failed);
    section(
        "Uncertain (may have been sent; decide in the queue)",
        &status.uncertain,
    );
    if !status.undeliverable.is_empty() {
        section("Undeliverable addresses", &status.undeliverable);
    }
    section("Waiting for your approval", &status.waiting_for_approval);
    section("Approved, about to be sent", &status.approved);
    section("Retrying", &status.deferred);
    if !status.heard.is_empty() {
        section("Heard in the mailbox", &status.heard);
    }
    section("Next", &status.next);
    section("Sent", &status.sent);
    if let Some(m) = &status.mailbox {
        let synced = m
            .synced_at
            .map(|t| human(t, tz))
            .unwrap_or_else(|| "never (is the daemon running?)".into());
        println!("Mailbox: last read {synced}");
        if let Some(e) = &m.error {
            println!("  {e}");
        }
        if m.copies_waiting > 0 {
            println!(
                "  {} cop{} waiting for the Sent folder{}",
                m.copies_waiting,
                if m.copies_waiting == 1 { "y" } else { "ies" },
                m.copy_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
    }
    if !status.problems.is_empty() {
        println!(
            "Queue files that cannot be used ({}):",
            status.problems.len()
        );
        for p in &status.problems {
            println!("  {p}");
        }
    }
    Ok(())
}
