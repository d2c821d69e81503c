//! `plan`: every follow-up with its state and reason, for people and for scripts.

use std::io::Write;

use anyhow::Result;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::instant;
use crate::core::calendar::{human, human_display};
use crate::core::plan::Planning;
use crate::core::{Action, Channel, History, Reasons, SendKey, Why, plan as make_plan};
use crate::outln;
use crate::parallel;
use crate::store::snapshot;
use crate::workspace::Workspace;

/// One action of `plan --json`.
#[derive(Serialize)]
struct PlanRow<'a> {
    #[serde(serialize_with = "as_text")]
    key: &'a SendKey,
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
    #[serde(serialize_with = "as_text")]
    due_local: Local,
    state: &'a str,
    #[serde(serialize_with = "as_text")]
    reason: &'a Reasons,
    /// What decided where the action stands (see `Why`), tagged by `kind`.
    cause: &'a Why,
    /// Every reason, in the order `reason` writes them.
    causes: &'a Reasons,
}

impl<'a> PlanRow<'a> {
    fn new(a: &'a Action) -> Self {
        Self {
            key: &a.key,
            interview: &a.key.interview,
            step: a.key.step.as_str(),
            recipient: &a.key.recipient,
            recipient_name: &a.recipient_name,
            to: a.to.as_ref().map(|t| t.as_str()),
            channel: a.channel.as_str(),
            due: a.due,
            due_local: Local(a.due, a.timezone),
            state: a.state.as_str(),
            reason: &a.reason,
            cause: a.reason.cause(),
            causes: &a.reason,
        }
    }
}

/// An instant as [`human`] writes it, written straight into the JSON text.
struct Local(DateTime<Utc>, Tz);

impl std::fmt::Display for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", human_display(self.0, self.1))
    }
}

/// A value as its `Display` writes it, without a string of its own in between.
fn as_text<T: std::fmt::Display, S: serde::Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

pub fn run(ws: &Workspace, now: Option<&str>, json: bool) -> Result<()> {
    let now = instant(ws, now)?.unwrap_or_else(Utc::now);
    let history = saved_history(ws)?;
    let c = &ws.config;
    if json {
        let planning = Planning::new(&ws.interviews, &history, &c.policy, &c.owner, now);
        return print_json(&planning);
    }
    let actions = make_plan(&ws.interviews, &history, &c.policy, &c.owner, now);
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

/// How many groups of interviews are planned and written at a time: enough to keep every core
/// busy, few enough that their text stays small.
const GROUPS_AT_ONCE: usize = 4096;

/// The actions as a JSON array, written group by group as they are planned (see [`Planning`]):
/// interviews in id order, those that share an interviewer together, each group soonest
/// first. Neither the whole plan nor its text is ever held in memory; the groups of a batch
/// are planned and written out on every core. A reader that stops early (`| head`) is not an
/// error.
fn print_json(planning: &Planning) -> Result<()> {
    let groups: Vec<usize> = (0..planning.groups()).collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut written = out.write_all(b"[");
    let mut first = true;
    for batch in groups.chunks(GROUPS_AT_ONCE) {
        let texts = parallel::map_chunks(batch, 64, |part| {
            part.iter().map(|&g| rows_of(&planning.group(g))).collect()
        });
        for text in texts.iter().filter(|text| !text.is_empty()) {
            let separator: &[u8] = if first { b"\n" } else { b",\n" };
            first = false;
            written = written
                .and_then(|()| out.write_all(separator))
                .and_then(|()| out.write_all(text));
        }
        if written.is_err() {
            break;
        }
    }
    let end: &[u8] = if first { b"]\n" } else { b"\n]\n" };
    let written = written
        .and_then(|()| out.write_all(end))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The rows of `actions` as they stand inside the pretty-printed array: its text without the
/// brackets and the line breaks next to them, so that groups joined by `,\n` read as one array.
/// Nothing for no actions.
fn rows_of(actions: &[Action]) -> Vec<u8> {
    struct Rows<'a>(&'a [Action]);
    impl Serialize for Rows<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_seq(self.0.iter().map(PlanRow::new))
        }
    }
    if actions.is_empty() {
        return Vec::new();
    }
    let mut text = serde_json::to_vec_pretty(&Rows(actions))
        .expect("a plan's rows are strings, numbers and maps with string keys");
    // `[\n` ... `\n]`
    text.truncate(text.len() - 2);
    text.drain(..2);
    text
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
