use anyhow::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::plan::when;
use super::queue::{describe, late_approval};
use super::{instant, json_time_opt};
use crate::core::calendar::human;
use crate::core::heard::{self, Heard};
use crate::core::{SendState, Why, plan};
use crate::daemon::hearing;
use crate::delivery::queue::{Folder, QueueDir};
use crate::mailbox::reader::waiting_copies;
use crate::outln;
use crate::store::{SledStore, snapshot};
use crate::workspace::Workspace;

#[derive(Serialize, Default)]
struct Status {
    /// Queue files that cannot be used.
    problems: Vec<String>,
    waiting_for_approval: Vec<Row>,
    approved: Vec<Row>,
    /// Approved after the step's limit: not sent until approved again with `--late`.
    approved_too_late: Vec<Row>,
    failed: Vec<Row>,
    uncertain: Vec<Row>,
    /// Addresses mail cannot reach: nothing more is e-mailed to them.
    undeliverable: Vec<Row>,
    deferred: Vec<Row>,
    next: Vec<Row>,
    sent: Vec<Row>,
    /// What the mailbox said that is in force: replies that stopped an interview, absences
    /// holding an interviewer.
    heard: Vec<Row>,
    /// The mailbox's health; `None` without an `imap` section.
    mailbox: Option<MailboxHealth>,
}

#[derive(Serialize)]
struct MailboxHealth {
    /// When a folder was last read.
    #[serde(serialize_with = "json_time_opt")]
    synced_at: Option<DateTime<Utc>>,
    /// Why it cannot be read now, if it cannot.
    error: Option<String>,
    /// Copies of sent messages waiting for the Sent folder, and why the last one failed.
    copies_waiting: usize,
    copy_error: Option<String>,
    /// The last reply to a digest heard (approving by reply), and what it did.
    last_command: Option<crate::store::by_reply::CommandHeard>,
}

#[derive(Serialize)]
struct Row {
    /// The send key; for a queue file, its name (what `followup queue approve` also takes).
    key: String,
    /// The queue file's number, for `followup queue approve N`.
    #[serde(skip_serializing_if = "Option::is_none")]
    number: Option<u32>,
    to: Option<String>,
    #[serde(serialize_with = "json_time_opt")]
    at: Option<DateTime<Utc>>,
    note: Option<String>,
    /// For a planned step: what decided its time (see `Why`), tagged by `kind`.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<Why>,
    /// The row as `status` prints it.
    #[serde(skip)]
    shown: Option<String>,
}

impl Row {
    fn new(
        key: String,
        to: Option<String>,
        at: Option<DateTime<Utc>>,
        note: Option<String>,
    ) -> Row {
        Row {
            key,
            number: None,
            to,
            at,
            note,
            cause: None,
            shown: None,
        }
    }
}

/// `followup status`: read from the daemon's snapshot and the queue directory, so it works
/// while the daemon runs.
pub fn run(ws: &Workspace, json: bool, now: Option<&str>) -> Result<()> {
    let now = instant(ws, now)?.unwrap_or_else(Utc::now);
    let c = &ws.config;
    let state_dir = &c.state_dir;
    let snapshot = snapshot::load(state_dir)?;
    let mut status = Status::default();
    if let Some(snapshot) = &snapshot {
        for r in &snapshot.sends {
            let row = |at, note| Row::new(r.key.to_string(), r.to.clone(), at, note);
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
            status.undeliverable.push(Row::new(
                u.address.clone(),
                None,
                Some(u.at),
                Some(format!("{}; put a working address in the record", u.reason)),
            ));
        }
    }
    status.problems.extend(snapshot::load_problems(state_dir)?);
    // Reading only: a queue that does not exist yet is empty, and is not created.
    let queue = QueueDir::untouched(&c.queue_dir);
    for folder in [Folder::Pending, Folder::Approved] {
        for entry in queue.scan(folder)? {
            let file = match (&entry.parsed, entry.diagnostic()) {
                (Ok(file), _) => file,
                (_, Some(d)) => {
                    let problem = d.to_string();
                    if !status.problems.contains(&problem) {
                        status.problems.push(problem);
                    }
                    continue;
                }
                _ => continue,
            };
            let late = late_approval(ws, &entry, now);
            let mut row = Row::new(
                entry.id.clone(),
                Some(file.to.email.to_string()),
                entry.due,
                Some(late.clone().unwrap_or_else(|| file.subject.clone())),
            );
            row.number = entry.number;
            row.shown = Some(describe(ws, &entry, now));
            match (folder, late) {
                (Folder::Pending, _) => status.waiting_for_approval.push(row),
                (_, Some(_)) => status.approved_too_late.push(row),
                _ => status.approved.push(row),
            }
        }
    }
    if c.imap.is_some() {
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
            last_command: meta(crate::store::by_reply::LAST_COMMAND)
                .and_then(|raw| serde_json::from_str(&raw).ok()),
        });
    }
    let history = snapshot.map(|s| s.history()).unwrap_or_default();
    for iv in &ws.interviews {
        if let Some(reply) = heard::deciding_reply(iv, &history.heard) {
            status.heard.push(Row::new(
                iv.id.clone(),
                None,
                Some(reply.at),
                Some(format!(
                    "{}: automatic checks stopped (`followup resume {}` if it was no reply)",
                    heard::reply_note(reply),
                    iv.id
                )),
            ));
        }
        for bounce in heard::bounces(&iv.id, &history.heard) {
            if let Heard::Report {
                outcome,
                recipient,
                reason,
                ..
            } = &bounce.heard
            {
                status.heard.push(Row::new(
                    iv.id.clone(),
                    Some(recipient.clone()),
                    Some(bounce.at),
                    Some(format!(
                        "mail to {recipient} came back {} ({reason}; \"{}\")",
                        outcome.in_words(),
                        bounce.subject
                    )),
                ));
            }
        }
        for person in &iv.interviewers {
            if let Some(away) = heard::hold(&person.key(), &history.heard)
                && let Heard::OutOfOffice { from, until, .. } = &away.heard
                && *until > now.date_naive()
                && away.interview == iv.id
            {
                status.heard.push(Row::new(
                    iv.id.clone(),
                    Some(person.key()),
                    Some(away.at),
                    Some(format!(
                        "{from} is away: their next step waits until {until}"
                    )),
                ));
            }
        }
    }
    status.next = plan(&ws.interviews, &history, &c.policy, &c.owner, now)
        .into_iter()
        .filter(|a| a.state.is_pending())
        .take(5)
        .map(|a| {
            let to = a.to.as_ref().map(|t| t.to_string());
            let shown = format!(
                "  {}  {}{}\n      {}",
                when(a.due, a.timezone, c.timezone),
                a.key,
                to.as_deref()
                    .map(|t| format!("  to {t}"))
                    .unwrap_or_default(),
                a.reason
            );
            let cause = a.reason.cause().clone();
            let mut row = Row::new(
                a.key.to_string(),
                to,
                Some(a.due),
                Some(a.reason.to_string()),
            );
            row.cause = Some(cause);
            row.shown = Some(shown);
            row
        })
        .collect();
    if json {
        outln!("{}", serde_json::to_string_pretty(&status)?)?;
        return Ok(());
    }
    let tz = c.timezone;
    let section = |title: &str, rows: &[Row], always: bool| {
        if rows.is_empty() && !always {
            return Ok(());
        }
        outln!("{title} ({}):", rows.len())?;
        for r in rows {
            if let Some(shown) = &r.shown {
                outln!("{shown}")?;
                continue;
            }
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
    if !status.problems.is_empty() {
        outln!(
            "Queue files that cannot be used ({}): fix or reject them",
            status.problems.len()
        )?;
        for p in &status.problems {
            outln!("  {p}")?;
        }
    }
    section(
        "Waiting for your approval",
        &status.waiting_for_approval,
        true,
    )?;
    let approved = if SledStore::in_use(state_dir)? {
        "Approved, about to be sent"
    } else {
        "Approved, sent once the daemon runs (it is not running)"
    };
    section(approved, &status.approved, true)?;
    section(
        "Approved after the limit, not sent",
        &status.approved_too_late,
        false,
    )?;
    section("Failed", &status.failed, true)?;
    section(
        "Uncertain (may have been sent; decide in the queue)",
        &status.uncertain,
        true,
    )?;
    section("Undeliverable addresses", &status.undeliverable, false)?;
    section("Retrying", &status.deferred, true)?;
    section("Heard in the mailbox", &status.heard, false)?;
    section("Next", &status.next, true)?;
    section("Sent", &status.sent, true)?;
    if let Some(m) = &status.mailbox {
        let synced = m
            .synced_at
            .map(|t| human(t, tz))
            .unwrap_or_else(|| "never (is the daemon running?)".into());
        outln!("Mailbox: last read {synced}")?;
        if let Some(e) = &m.error {
            outln!("  {e}")?;
        }
        if let Some(c) = &m.last_command {
            outln!(
                "  last command heard by mail: {} from {}: {}",
                human(c.at, tz),
                c.from,
                c.outcome
            )?;
        }
        if m.copies_waiting > 0 {
            outln!(
                "  {} cop{} waiting for the Sent folder{}",
                m.copies_waiting,
                if m.copies_waiting == 1 { "y" } else { "ies" },
                m.copy_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}
