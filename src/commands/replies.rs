//! `followup replies` and `followup resume`: what the mailbox said, and undoing a reply that
//! was not one.

use anyhow::{Result, bail};
use serde::Serialize;

use crate::core::calendar::human;
use crate::core::heard::{Heard, HeardRecord, ReportOutcome};
use crate::outln;
use crate::store::{SledStore, Store, StoreError, requests, snapshot};
use crate::workspace::Workspace;

#[derive(Serialize)]
struct Row<'a> {
    interview: &'a str,
    at: chrono::DateTime<chrono::Utc>,
    /// `reply`, `out_of_office`, `follow_up`, `delivery_report` or `read_receipt`.
    kind: &'static str,
    /// A delivery report's outcome: `undeliverable`, `bounced`, `delayed`, `delivered`.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<&'static str>,
    /// The address a delivery report names.
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<&'a str>,
    /// Its enhanced status code.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    /// The rule that tied it to the interview (empty: tied to nothing of ours).
    #[serde(skip_serializing_if = "Option::is_none")]
    tied_by: Option<&'a str>,
    subject: &'a str,
    /// What it means and which rule matched, in words.
    why: String,
    first_lines: &'a str,
    /// Undone with `followup resume`.
    dismissed: bool,
}

/// Lists everything heard, newest first, from the daemon's snapshot of the state.
pub fn list(ws: &Workspace, json: bool) -> Result<()> {
    let mut heard = snapshot::load(&ws.config.state_dir)?
        .map(|s| s.heard)
        .unwrap_or_default();
    heard.sort_by_key(|r| std::cmp::Reverse(r.at));
    let rows: Vec<Row> = heard.iter().map(row).collect();
    if json {
        outln!("{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    if rows.is_empty() {
        let how = match &ws.config.imap {
            Some(_) => "nothing yet (the daemon records what it reads)",
            None => "nothing: the config has no `imap` section, so replies are recorded by hand",
        };
        outln!("Heard in the mailbox: {how}")?;
        return Ok(());
    }
    let tz = ws.config.timezone;
    for r in rows {
        let undone = if r.dismissed {
            " (undone with `followup resume`)"
        } else {
            ""
        };
        let interview = if r.interview.is_empty() {
            "(no interview)"
        } else {
            r.interview
        };
        outln!("{}  {}  {}{undone}", human(r.at, tz), interview, r.why)?;
        outln!("    Subject: {}", r.subject)?;
        for line in r.first_lines.lines().take(3) {
            outln!("    > {line}")?;
        }
    }
    Ok(())
}

fn row(r: &HeardRecord) -> Row<'_> {
    let mut report = None;
    let (kind, why) = match &r.heard {
        Heard::Reply {
            from,
            rule,
            rejection: None,
            ..
        } => (
            "reply",
            format!("reply from {from} ({rule}): follow-ups stop"),
        ),
        Heard::Reply {
            from,
            rule,
            rejection: Some(phrase),
            ..
        } => (
            "reply",
            format!(
                "rejection from {from} ({rule}; it says \"{phrase}\"): only the note after it goes"
            ),
        ),
        Heard::OutOfOffice {
            from,
            return_date,
            until,
            ..
        } => (
            "out_of_office",
            match return_date {
                Some(back) => {
                    format!("{from} is away, back {back}: their next step waits until {until}")
                }
                None => {
                    format!("{from} is away (no date given): their next step waits until {until}")
                }
            },
        ),
        Heard::FollowUp { interviewer } => (
            "follow_up",
            format!("your own message to {interviewer}: counts as a follow-up"),
        ),
        Heard::Report {
            outcome: ReportOutcome::ReadReceipt,
            from,
            ..
        } => (
            "read_receipt",
            format!("read receipt from {from}: recorded only"),
        ),
        Heard::Report {
            from,
            outcome,
            recipient,
            code,
            reason,
            rule,
        } => {
            report = Some((outcome, recipient, code, rule));
            let tied = if rule.is_empty() {
                "tied to nothing of ours: nothing changes".to_string()
            } else {
                format!("tied because {rule}")
            };
            let what = match outcome {
                ReportOutcome::Undeliverable => "no more e-mail goes to it",
                ReportOutcome::Bounced => "the address stays; you were told",
                _ => "recorded only",
            };
            (
                "delivery_report",
                format!(
                    "delivery report from {from}: {} {} ({reason}); {tied}; {what}",
                    if recipient.is_empty() {
                        "(no recipient named)"
                    } else {
                        recipient
                    },
                    outcome.in_words(),
                ),
            )
        }
    };
    Row {
        interview: &r.interview,
        at: r.at,
        kind,
        outcome: report.map(|(o, ..)| <&'static str>::from(*o)),
        recipient: report.map(|(_, rcpt, ..)| rcpt.as_str()),
        code: report.and_then(|(_, _, code, _)| code.as_deref()),
        tied_by: report.map(|(.., rule)| rule.as_str()),
        subject: &r.subject,
        why,
        first_lines: &r.first_lines,
        dismissed: r.dismissed,
    }
}

/// Undoes the replies heard for `interview`: at once when no daemon holds the state, else by a
/// request the daemon applies at its next round.
pub fn resume(ws: &Workspace, interview: &str) -> Result<()> {
    if ws.interview(interview).is_none() {
        let ids: Vec<_> = ws.interviews.iter().map(|iv| iv.id.as_str()).collect();
        bail!(
            "no interview `{interview}`; the records hold: {}",
            ids.join(", ")
        );
    }
    let dir = &ws.config.state_dir;
    match SledStore::open(dir) {
        Ok(store) => {
            let undone = store.dismiss_replies(interview)?;
            snapshot::save(dir, &store)?;
            match undone {
                0 => outln!("{interview}: no reply heard in the mailbox to undo")?,
                n => outln!(
                    "{interview}: {n} repl{} undone; its follow-ups go on (`followup plan` shows them)",
                    if n == 1 { "y" } else { "ies" }
                )?,
            }
        }
        Err(StoreError::Locked { .. }) => {
            requests::request_resume(dir, interview)?;
            outln!("{interview}: the running daemon undoes its replies within seconds")?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
