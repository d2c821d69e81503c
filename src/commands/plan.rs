//! `plan`: every follow-up with its state and reason, for people and for scripts.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::instant;
use crate::core::calendar::human;
use crate::core::{Action, Channel, History, Reasons, Why, plan as make_plan};
use crate::outln;
use crate::store::snapshot;
use crate::workspace::Workspace;

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
    #[serde(serialize_with = "super::json_time")]
    due: DateTime<Utc>,
    due_local: String,
    state: &'a str,
    reason: String,
    /// What decided where the action stands (see `Why`), tagged by `kind`.
    cause: &'a Why,
    /// Every reason, in the order `reason` writes them.
    causes: &'a Reasons,
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
            reason: a.reason.to_string(),
            cause: a.reason.cause(),
            causes: &a.reason,
        }
    }
}

pub fn run(ws: &Workspace, now: Option<&str>, json: bool) -> Result<()> {
    let now = instant(ws, now)?.unwrap_or_else(Utc::now);
    let history = saved_history(ws)?;
    let c = &ws.config;
    let actions = make_plan(&ws.interviews, &history, &c.policy, &c.owner, now);
    if json {
        return print_json(&actions);
    }
    outln!("Plan as of {}:", human(now, c.timezone))?;
    if actions.is_empty() {
        outln!("  nothing: no interviews in {}", c.interviews.display())?;
    }
    for a in &actions {
        outln!()?;
        outln!(
            "{}  {:<9}  {}/{}  {}",
            when(a.due, a.timezone, c.timezone),
            a.state.as_str(),
            a.key.interview,
            a.key.step,
            whom(a)
        )?;
        outln!("    {}", a.reason)?;
    }
    Ok(())
}

/// The actions as a JSON array, written as it is made: the whole text of a large plan is never
/// held in memory. A reader that stops early (`| head`) is not an error.
fn print_json(actions: &[Action]) -> Result<()> {
    struct Rows<'a>(&'a [Action]);
    impl Serialize for Rows<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(PlanRow::new))
        }
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = serde_json::to_writer_pretty(&mut out, &Rows(actions))
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The time in the recipient's zone, and in the user's when it differs.
pub(super) fn when(t: DateTime<Utc>, theirs: Tz, mine: Tz) -> String {
    let there = human(t, theirs);
    if theirs == mine {
        there
    } else {
        format!("{there} (yours: {})", human(t, mine))
    }
}

/// What the daemon's latest snapshot says already happened; nothing when it never ran.
pub(super) fn saved_history(ws: &Workspace) -> Result<History> {
    Ok(snapshot::load(&ws.config.state_dir)?
        .map(|s| s.history())
        .unwrap_or_default())
}

fn whom(a: &Action) -> String {
    let to = a.to.as_ref().map(|t| t.as_str()).unwrap_or("no address");
    match a.channel {
        Channel::Email => format!("to {} <{to}>", a.recipient_name),
        Channel::Call => format!("call {} (a reminder to {to})", a.recipient_name),
        Channel::Notice => format!("a notice to {to}"),
    }
}
