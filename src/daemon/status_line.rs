//! The one line `systemctl status followup` shows after each round: what is next, what waits
//! for the user, what went wrong. Built from the round's own report, so it plans nothing again.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::TickReport;
use crate::core::calendar::{human, short};
use crate::core::{Action, Channel, SendState};

/// What the status line says of the state after a round; `None` in dry-run, which has none.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub waiting: usize,
    pub uncertain: usize,
    pub retrying: usize,
    pub failed: usize,
}

impl Tally {
    /// Counts the states that need the user or the next round.
    pub fn of(states: impl IntoIterator<Item = SendState>) -> Self {
        let mut tally = Tally::default();
        for state in states {
            match state {
                SendState::Queued => tally.waiting += 1,
                SendState::Uncertain => tally.uncertain += 1,
                SendState::Deferred => tally.retrying += 1,
                SendState::Failed => tally.failed += 1,
                _ => {}
            }
        }
        tally
    }
}

/// The next thing planned, as the status line names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub step: crate::core::Step,
    pub channel: Channel,
    pub recipient_name: String,
    pub due: DateTime<Utc>,
}

impl From<&Action> for Next {
    fn from(a: &Action) -> Self {
        Self {
            step: a.key.step,
            channel: a.channel,
            recipient_name: a.recipient_name.clone(),
            due: a.due,
        }
    }
}

/// `next: thank_you to Jane Roe Tue 16:00; 2 waiting for approval; 0 failed`, with the
/// uncertain and retrying sends when there are any; times in the user's zone `tz`.
pub fn status_line(report: &TickReport, now: DateTime<Utc>, tz: Tz) -> String {
    let mut parts = vec![match &report.next_action {
        None => "next: nothing planned".to_string(),
        Some(a) => {
            let when = if a.due <= now {
                "now".to_string()
            } else if a.due - now < TimeDelta::days(6) {
                short(a.due, tz, now)
            } else {
                human(a.due, tz)
            };
            let whom = match a.channel {
                Channel::Email => "to",
                Channel::Call | Channel::Notice => "for",
            };
            format!("next: {} {whom} {} {when}", a.step, a.recipient_name)
        }
    }];
    match &report.tally {
        None => parts.push("dry run, nothing is sent".into()),
        Some(t) => {
            parts.push(format!("{} waiting for approval", t.waiting));
            for (n, what) in [(t.uncertain, "uncertain"), (t.retrying, "retrying")] {
                if n > 0 {
                    parts.push(format!("{n} {what}"));
                }
            }
            parts.push(format!("{} failed", t.failed));
        }
    }
    parts.join("; ")
}
