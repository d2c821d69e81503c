//! `simulate`: the timeline in virtual time, as if every message went out when due and nobody
//! answered.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::instant;
use super::plan::{saved_history, when};
use crate::core::calendar::human;
use crate::core::{
    Action, ActionState, Channel, History, PastSend, Reasons, SendKey, SendState, ThreadRef, Why,
    plan as make_plan,
};
use crate::mail::compose::compose;
use crate::outln;
use crate::workspace::Workspace;

/// One event of `simulate --json`.
#[derive(Serialize)]
struct SimEvent {
    #[serde(serialize_with = "super::json_time")]
    at: DateTime<Utc>,
    at_local: String,
    interview: String,
    step: String,
    recipient: String,
    to: Option<String>,
    channel: &'static str,
    subject: Option<String>,
    event: &'static str,
    reason: String,
    /// What decided where the action stands (see `Why`), tagged by `kind`.
    cause: Why,
    /// Every reason, in the order `reason` writes them.
    causes: Reasons,
}

/// The longest stretch `simulate` plays when no `--until` is given.
const DEFAULT_SPAN_DAYS: i64 = 366;

pub fn run(
    ws: &Workspace,
    from: Option<&str>,
    until: Option<&str>,
    fresh: bool,
    json: bool,
) -> Result<()> {
    let from = instant(ws, from)?.unwrap_or_else(Utc::now);
    let given = instant(ws, until)?;
    let until = given.unwrap_or(from + TimeDelta::days(DEFAULT_SPAN_DAYS));
    if until < from {
        bail!("--until comes before --from");
    }
    let mut history = if fresh {
        History::default()
    } else {
        saved_history(ws)?
    };
    let events = play(ws, &mut history, from, until)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&events)?)?;
        return Ok(());
    }
    let tz = ws.config.timezone;
    let span = match given {
        Some(until) => format!("to {}", human(until, tz)),
        None => "until nothing more is due (at most a year)".to_string(),
    };
    outln!(
        "Simulated from {} {span}, nobody answering:",
        human(from, tz)
    )?;
    for e in &events {
        outln!()?;
        let to = e.to.as_deref().unwrap_or("-");
        outln!(
            "{}  {:<7}  {}/{}  to {to}",
            e.at_local,
            e.event,
            e.interview,
            e.step
        )?;
        if let Some(subject) = &e.subject {
            outln!("    Subject: {subject}")?;
        }
        outln!("    {}", e.reason)?;
    }
    let sent = events.iter().filter(|e| e.event == "sent").count();
    outln!("\n{sent} sent, {} skipped", events.len() - sent)?;
    Ok(())
}

/// Runs the planner again and again, "sending" whatever is due at each step: the daemon's loop
/// with a virtual clock.
fn play(
    ws: &Workspace,
    history: &mut History,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<SimEvent>> {
    let c = &ws.config;
    let mut events = Vec::new();
    let mut reported: BTreeSet<SendKey> = history.sends.keys().cloned().collect();
    let mut threads: BTreeMap<(String, String), Vec<ThreadRef>> = BTreeMap::new();
    let mut now = from;
    loop {
        let actions = make_plan(&ws.interviews, history, &c.policy, &c.owner, now);
        for a in actions.iter().filter(|a| a.state == ActionState::Skipped) {
            if a.due <= until && reported.insert(a.key.clone()) {
                events.push(event(a, None, "skipped", c.timezone));
            }
        }
        let Some(next) = actions
            .iter()
            .filter(|a| a.state.is_pending())
            .map(|a| a.due)
            .min()
        else {
            break;
        };
        if next > until {
            break;
        }
        now = next.max(now);
        for a in actions
            .iter()
            .filter(|a| a.state.is_pending() && a.due <= now)
        {
            let thread = threads
                .entry((a.key.interview.clone(), a.key.recipient.clone()))
                .or_default();
            let message = compose(ws, &a.key, thread, history, now)
                .with_context(|| format!("cannot render {}", a.key))?;
            if a.channel == Channel::Email {
                thread.push(ThreadRef {
                    message_id: message.message_id.clone(),
                    subject: message.subject.clone(),
                });
            }
            history
                .sends
                .insert(a.key.clone(), PastSend::new(SendState::Sent, now));
            reported.insert(a.key.clone());
            let mut e = event(a, Some(message.subject), "sent", c.timezone);
            e.at = now;
            events.push(e);
        }
    }
    events.sort_by(|a, b| (a.at, &a.interview, &a.step).cmp(&(b.at, &b.interview, &b.step)));
    Ok(events)
}

fn event(a: &Action, subject: Option<String>, kind: &'static str, user: Tz) -> SimEvent {
    SimEvent {
        at: a.due,
        at_local: when(a.due, a.timezone, user),
        interview: a.key.interview.clone(),
        step: a.key.step.to_string(),
        recipient: a.key.recipient.clone(),
        to: a.to.as_ref().map(|t| t.to_string()),
        channel: a.channel.as_str(),
        subject,
        event: kind,
        reason: a.reason.to_string(),
        cause: a.reason.cause().clone(),
        causes: a.reason.clone(),
    }
}
