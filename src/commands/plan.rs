//! `plan` and `simulate`: the planner's view, for people and for scripts.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use crate::compose::compose;
use crate::core::calendar::human;
use crate::core::{
    Action, ActionState, Channel, History, PastSend, SendKey, SendState, plan as make_plan,
};
use crate::workspace::{Workspace, parse_instant};

/// One action of `plan --json`.
#[derive(Serialize)]
struct PlanRow<'a> {
    key: String,
    interview: &'a str,
    step: &'a str,
    /// The person touched.
    recipient: &'a str,
    recipient_name: &'a str,
    /// Where the message goes.
    to: Option<&'a str>,
    channel: &'a str,
    due: DateTime<Utc>,
    due_local: String,
    state: &'a str,
    reason: &'a str,
}

impl<'a> PlanRow<'a> {
    fn new(a: &'a Action) -> Self {
        Self {
            key: a.key.to_string(),
            interview: &a.key.interview,
            step: a.key.step.as_str(),
            recipient: &a.key.recipient,
            recipient_name: &a.recipient_name,
            to: a.to.as_ref().map(|t| t.as_str()),
            channel: a.channel.as_str(),
            due: a.due,
            due_local: human(a.due, a.timezone),
            state: a.state.as_str(),
            reason: &a.reason,
        }
    }
}

pub fn plan(ws: &Workspace, now: Option<&str>, json: bool) -> Result<()> {
    let now = instant(ws, now)?.unwrap_or_else(Utc::now);
    let history = ws.saved_history()?;
    let c = &ws.config;
    let actions = make_plan(&ws.interviews, &history, &c.policy, &c.owner, now);
    if json {
        let rows: Vec<_> = actions.iter().map(PlanRow::new).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("Plan as of {}:", human(now, c.timezone));
    if actions.is_empty() {
        println!("  nothing: no interviews in {}", c.interviews.display());
    }
    for a in &actions {
        println!();
        println!(
            "{}  {:<9}  {}/{}  {}",
            when(a.due, a.timezone, c.timezone),
            a.state.as_str(),
            a.key.interview,
            a.key.step,
            whom(a)
        );
        println!("    {}", a.reason);
    }
    Ok(())
}

/// One event of `simulate --json`.
#[derive(Serialize)]
struct SimEvent {
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
}

/// The longest stretch `simulate` plays when no `--until` is given.
const DEFAULT_SPAN_DAYS: i64 = 366;

pub fn simulate(
    ws: &Workspace,
    from: Option<&str>,
    until: Option<&str>,
    fresh: bool,
    json: bool,
) -> Result<()> {
    let from = instant(ws, from)?.unwrap_or_else(Utc::now);
    let until = instant(ws, until)?.unwrap_or(from + TimeDelta::days(DEFAULT_SPAN_DAYS));
    if until < from {
        bail!("--until comes before --from");
    }
    let mut history = if fresh {
        History::default()
    } else {
        ws.saved_history()?
    };
    let events = play(ws, &mut history, from, until)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&events)?);
        return Ok(());
    }
    let tz = ws.config.timezone;
    println!(
        "Simulated from {} to {}, nobody answering:",
        human(from, tz),
        human(until, tz)
    );
    for e in &events {
        println!();
        let to = e.to.as_deref().unwrap_or("-");
        println!(
            "{}  {:<7}  {}/{}  to {to}",
            e.at_local, e.event, e.interview, e.step
        );
        if let Some(subject) = &e.subject {
            println!("    Subject: {subject}");
        }
        println!("    {}", e.reason);
    }
    let sent = events.iter().filter(|e| e.event == "sent").count();
    println!("\n{sent} sent, {} skipped", events.len() - sent);
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
    let mut threads: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
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
            let message = compose(ws, &a.key, thread, now)
                .with_context(|| format!("cannot render {}", a.key))?;
            if a.channel == Channel::Email {
                thread.push((message.message_id.clone(), message.subject.clone()));
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
        reason: a.reason.clone(),
    }
}

fn instant(ws: &Workspace, text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_instant(t, ws.config.timezone).map_err(anyhow::Error::msg))
        .transpose()
}

/// The time in the recipient's zone, and in the user's when it differs.
fn when(t: DateTime<Utc>, theirs: Tz, mine: Tz) -> String {
    let there = human(t, theirs);
    if theirs == mine {
        there
    } else {
        format!("{there} (yours: {})", human(t, mine))
    }
}

fn whom(a: &Action) -> String {
    let to = a.to.as_ref().map(|t| t.as_str()).unwrap_or("no address");
    match a.channel {
        Channel::Email => format!("to {} <{to}>", a.recipient_name),
        Channel::Call => format!("call {} (a reminder to {to})", a.recipient_name),
        Channel::Notice => format!("a notice to {to}"),
    }
}
