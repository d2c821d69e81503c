//! Why a step moves, waits, is cancelled, skipped or failed: one enum, one wording.
//!
//! Every rule of the planner says why as a [`Why`], with the values it decided on; the text a
//! person reads is its `Display`, and `--json` offers both (the value as `cause`, tagged by
//! `kind`). A new reason is one more variant and one more arm in `fmt`.

use std::fmt;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Serialize, Serializer};

use super::calendar::{short, short_date};
use super::heard::ReportOutcome;
use super::model::{Status, Step};
use super::plan::SendState;
use super::policy::{Window, format_delay};

/// An instant in a reason: written in the recipient's zone, with its date when it is not in
/// the week of `now`. Serialized as the instant alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub at: DateTime<Utc>,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

impl Moment {
    pub fn new(at: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> Self {
        Self { at, tz, now }
    }
}

impl fmt::Display for Moment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&short(self.at, self.tz, self.now))
    }
}

impl Serialize for Moment {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.at.serialize(s)
    }
}

/// A delay as the policy writes it (`7d`, `2h30m`); serialized the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delay(pub TimeDelta);

impl fmt::Display for Delay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_delay(self.0))
    }
}

impl Serialize for Delay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_delay(self.0))
    }
}

fn window_text<S: Serializer>(w: &Window, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(w)
}

/// One reason an action stands where it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Why {
    // What a step's nominal time is anchored on.
    /// `7d after the interview ended` (with when, for the thank-you).
    AfterInterview {
        delay: Delay,
        ended: Option<Moment>,
    },
    /// `1d after the decision date 2026-11-20`.
    AfterDecisionDate {
        delay: Delay,
        decision: NaiveDate,
    },
    /// `4d after status_check, no reply`.
    NoReply {
        delay: Delay,
        after: Step,
    },
    /// The employer replied with a decision date later than the reply: one more check.
    NewDecisionDate,
    /// `14d after the rejection (recorded 2026-11-20)`; `seen` when the state first saw it,
    /// neither when it is taken as recorded now.
    AfterRejection {
        delay: Delay,
        recorded_on: Option<NaiveDate>,
        seen: Option<Moment>,
    },

    // What moves a step later.
    /// Outside the send window (and maybe over holidays too): moved to `to`; `from` is `None`
    /// when it was moved from now, where an overdue step stood.
    Window {
        from: Option<Moment>,
        to: Moment,
        #[serde(serialize_with = "window_text")]
        window: Window,
        holidays: Vec<NaiveDate>,
    },
    /// Inside the window but on holidays: moved off them.
    Holiday {
        holidays: Vec<NaiveDate>,
        to: Moment,
    },
    /// Due before now: it goes now.
    Overdue {
        since: Moment,
    },
    /// The weekly cap: `recipient` already got `blocking_step` (`None`: the user's own message)
    /// for `interview` at `at`; moved later `by`.
    Cap {
        by: Delay,
        recipient: String,
        blocking_step: Option<Step>,
        interview: String,
        at: Moment,
    },
    /// The interviewer is away (an automatic reply said so).
    Away {
        until: Moment,
        from: String,
        said_on: Moment,
    },
    /// A thank-you later than its target, still within its limit.
    LateThankYou {
        target: Delay,
        limit: Delay,
    },

    // Why a step will not go.
    /// Past the thank-you's hard limit.
    PastLimit {
        limit: Delay,
    },
    /// No instant within the planning horizon is allowed.
    BeyondHorizon,
    /// An e-mail to an interviewer without an address.
    NoAddress {
        name: String,
    },
    /// The interview's outcome stops the step.
    Outcome {
        status: Status,
    },
    /// A reply heard in the mailbox decided the outcome that stops the step.
    HeardReply {
        from: String,
        on: NaiveDate,
        subject: String,
        status: Status,
    },
    /// The user wrote to the interviewer after the step was due: theirs stands for it.
    OwnMessage {
        name: String,
        at: Moment,
        step: Step,
    },
    /// The user wrote to the interviewer after the send was queued: theirs stands for it.
    OwnMessageWhileWaiting {
        at: Moment,
    },
    /// The address bounced permanently: `server_said` is the server's words.
    Undeliverable {
        address: String,
        server_said: String,
        at: Moment,
    },
    /// The interview's record was removed.
    Removed,
    /// A waiting send that `because` stops: withdrawn from the approval queue (`queued`) or not
    /// retried.
    Withdrawn {
        because: Box<Why>,
        queued: bool,
    },

    // What the state already holds.
    Sent {
        at: Moment,
    },
    /// A delivery report says the send came back (an aside on the sent step).
    CameBack {
        outcome: ReportOutcome,
        server_said: String,
    },
    /// The SMTP transaction was interrupted: it may have been sent.
    Uncertain,
    AwaitingApproval,
    Approved,
    BeingSent,
    /// A temporary error; retried later.
    Retrying {
        error: Option<String>,
    },
    /// A permanent error.
    Failed {
        error: Option<String>,
    },
    /// Skipped or cancelled in an earlier round, with what was said then.
    Recorded {
        state: SendState,
        note: Option<String>,
    },
    /// Refused by the user in the approval queue.
    RejectedInQueue,

    // Asides, not causes (a late thank-you is above, with what moves a step).
    /// The primary has no address; `stand_in` is written to instead.
    StandsIn {
        primary: String,
        stand_in: String,
    },
}

impl Why {
    /// Says something about the action without being why it stands where it does.
    pub fn is_aside(&self) -> bool {
        matches!(
            self,
            Why::StandsIn { .. } | Why::LateThankYou { .. } | Why::CameBack { .. }
        )
    }

    /// The nominal time a step is anchored on, before anything moved it.
    pub fn is_anchor(&self) -> bool {
        matches!(
            self,
            Why::AfterInterview { .. }
                | Why::AfterDecisionDate { .. }
                | Why::NoReply { .. }
                | Why::NewDecisionDate
                | Why::AfterRejection { .. }
        )
    }

    /// A move into the send window, off holidays included.
    pub fn is_placement(&self) -> bool {
        matches!(self, Why::Window { .. } | Why::Holiday { .. })
    }
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::AfterInterview { delay, ended } => {
                write!(f, "{delay} after the interview ended")?;
                match ended {
                    Some(at) => write!(f, " {at}"),
                    None => Ok(()),
                }
            }
            Why::AfterDecisionDate { delay, decision } => {
                write!(f, "{delay} after the decision date {decision}")
            }
            Why::NoReply { delay, after } => write!(f, "{delay} after {after}, no reply"),
            Why::NewDecisionDate => f.write_str("the employer replied and gave a new date"),
            Why::AfterRejection {
                delay,
                recorded_on,
                seen,
            } => {
                write!(f, "{delay} after the rejection (")?;
                match (recorded_on, seen) {
                    (Some(date), _) => write!(f, "recorded {date})"),
                    (None, Some(at)) => write!(f, "seen {at})"),
                    (None, None) => f.write_str("recorded now)"),
                }
            }
            Why::Window {
                from,
                to,
                window,
                holidays,
            } => {
                f.write_str("moved ")?;
                if let Some(from) = from {
                    write!(f, "from {from} ")?;
                }
                write!(f, "to {to}: send window {window}")?;
                if !holidays.is_empty() {
                    let verb = if holidays.len() == 1 { "is" } else { "are" };
                    let noun = if holidays.len() == 1 {
                        "a holiday"
                    } else {
                        "holidays"
                    };
                    write!(f, ", and {} {verb} {noun}", dates(holidays))?;
                }
                Ok(())
            }
            Why::Holiday { holidays, to } => {
                let noun = if holidays.len() == 1 {
                    "a holiday"
                } else {
                    "holidays"
                };
                write!(f, "moved off {}, {noun}, to {to}", dates(holidays))
            }
            Why::Overdue { since } => write!(f, "overdue since {since}"),
            Why::Cap {
                by,
                recipient,
                blocking_step,
                interview,
                at,
            } => write!(
                f,
                "deferred {}: weekly cap, {recipient} got {} ({interview}) {at}",
                format_gap(by.0),
                blocking_step.map_or("your own message", Step::as_str),
            ),
            Why::Away {
                until,
                from,
                said_on,
            } => write!(
                f,
                "held until {until}: {from} is away (automatic reply {said_on})"
            ),
            Why::LateThankYou { target, limit } => write!(
                f,
                "later than the {target} target, still within the {limit} limit"
            ),
            Why::PastLimit { limit } => write!(
                f,
                "past its hard limit ({limit} after the interview): never sent automatically"
            ),
            Why::BeyondHorizon => f.write_str("no time allowed within five years"),
            Why::NoAddress { name } => write!(f, "{name} has no e-mail address"),
            Why::Outcome { status } => match status {
                Status::Replied => f.write_str("the employer replied: automatic checks stop"),
                Status::Rejected => {
                    f.write_str("the interview ended in a rejection: only after_rejection remains")
                }
                other => write!(
                    f,
                    "the interview is {}: nothing more is sent",
                    other.as_str()
                ),
            },
            Why::HeardReply {
                from,
                on,
                subject,
                status,
            } => write!(
                f,
                "{from} answered on {on} (\"{subject}\"): {}",
                Why::Outcome { status: *status }
            ),
            Why::OwnMessage { name, at, step } => write!(
                f,
                "you wrote to {name} yourself {at}: that stands for this {step}"
            ),
            Why::OwnMessageWhileWaiting { at } => {
                write!(f, "you wrote to them yourself {at}: that stands for it")
            }
            Why::Undeliverable {
                address,
                server_said,
                at,
            } => write!(
                f,
                "{address} is undeliverable ({server_said}, {at}): put a working address in the record"
            ),
            Why::Removed => f.write_str("the interview was removed from the records"),
            Why::Withdrawn { because, queued } => {
                let then = if *queued {
                    "withdrawn from the approval queue at the next round"
                } else {
                    "not retried"
                };
                write!(f, "{because}; {then}")
            }
            Why::Sent { at } => write!(f, "sent {at}"),
            Why::CameBack {
                outcome,
                server_said,
            } => write!(f, "it came back {} ({server_said})", outcome.in_words()),
            Why::Uncertain => f.write_str(
                "may have been sent: the transaction was interrupted; check and resolve it",
            ),
            Why::AwaitingApproval => f.write_str("waiting for approval"),
            Why::Approved => f.write_str("approved, about to be sent"),
            Why::BeingSent => f.write_str("being sent"),
            Why::Retrying { error } => {
                write!(f, "retrying after a temporary error{}", suffix(error))
            }
            Why::Failed { error } => write!(f, "failed{}", suffix(error)),
            Why::Recorded { state, note } => match note {
                Some(note) => f.write_str(note),
                None => f.write_str(state.as_str()),
            },
            Why::RejectedInQueue => f.write_str("rejected in the approval queue"),
            Why::StandsIn { primary, stand_in } => write!(
                f,
                "{primary} is the primary but has no e-mail address: {stand_in} stands in"
            ),
        }
    }
}

/// Every reason an action stands where it does, in the order they arose; written joined by
/// `; `. The last that is not an aside is its cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Reasons(Vec<Why>);

impl Reasons {
    pub fn new(first: Why) -> Self {
        Self(vec![first])
    }

    pub fn push(&mut self, why: Why) {
        self.0.push(why);
    }

    /// What decided where the action stands: the latest reason that is not an aside, where
    /// a move into the send window counts only after the anchor alone (after a cap or an
    /// absence, the window only finishes what they decided).
    pub fn cause(&self) -> &Why {
        let mut causes = self.0.iter().filter(|w| !w.is_aside());
        let latest = causes.clone().next_back();
        let decisive = causes.rfind(|w| !w.is_placement() && !w.is_anchor());
        decisive.or(latest).unwrap_or(&self.0[0])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Why> {
        self.0.iter()
    }

    /// Whether any reason is one `matches` accepts.
    pub fn any(&self, matches: impl Fn(&Why) -> bool) -> bool {
        self.0.iter().any(matches)
    }
}

impl From<Why> for Reasons {
    fn from(why: Why) -> Self {
        Self::new(why)
    }
}

impl From<Vec<Why>> for Reasons {
    /// An empty list is not a reason: callers always have one. The list is kept no larger
    /// than it is, since a plan holds every action's reasons at once.
    fn from(mut list: Vec<Why>) -> Self {
        debug_assert!(!list.is_empty());
        list.shrink_to_fit();
        Self(list)
    }
}

impl fmt::Display for Reasons {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, why) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{why}")?;
        }
        Ok(())
    }
}

/// `Thu 24 Dec`, `Thu 24 Dec and Fri 25 Dec`, `Thu 24 Dec, Fri 25 Dec and Sat 26 Dec`.
fn dates(days: &[NaiveDate]) -> String {
    let days: Vec<String> = days.iter().map(|d| short_date(*d)).collect();
    match days.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

fn suffix(note: &Option<String>) -> String {
    note.as_deref()
        .map(|n| format!(": {n}"))
        .unwrap_or_default()
}

/// `3 days`, `5 h`, `20 min`.
pub(crate) fn format_gap(d: TimeDelta) -> String {
    let minutes = d.num_minutes();
    if minutes >= 36 * 60 {
        let days = (minutes + 12 * 60) / (24 * 60);
        format!("{days} day{}", if days == 1 { "" } else { "s" })
    } else if minutes >= 90 {
        format!("{} h", (minutes + 30) / 60)
    } else {
        format!("{minutes} min")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use chrono_tz::America::New_York;

    fn moment(h: u32) -> Moment {
        let at = Utc.with_ymd_and_hms(2026, 11, 10, h, 0, 0).unwrap();
        Moment::new(at, New_York, at)
    }

    fn cap() -> Why {
        Why::Cap {
            by: Delay(TimeDelta::days(3)),
            recipient: "jane@example.com".into(),
            blocking_step: Some(Step::StatusCheck),
            interview: "acme".into(),
            at: moment(14),
        }
    }

    #[test]
    fn a_cause_is_json_tagged_by_its_kind_with_its_values() {
        let json = serde_json::to_value(cap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "cap",
                "by": "3d",
                "recipient": "jane@example.com",
                "blocking_step": "status_check",
                "interview": "acme",
                "at": "2026-11-10T14:00:00Z",
            })
        );
    }

    #[test]
    fn reasons_read_joined_in_the_order_they_arose() {
        let reasons = Reasons::from(vec![
            Why::AfterInterview {
                delay: Delay(TimeDelta::days(7)),
                ended: None,
            },
            cap(),
        ]);
        assert_eq!(
            reasons.to_string(),
            "7d after the interview ended; deferred 3 days: weekly cap, jane@example.com got \
             status_check (acme) Tue 09:00 EST"
        );
    }

    #[test]
    fn the_cause_is_what_held_a_step_not_the_window_that_placed_it_after() {
        let window = Why::Window {
            from: Some(moment(20)),
            to: moment(14),
            window: Window::working_hours(),
            holidays: vec![],
        };
        let anchor = Why::NoReply {
            delay: Delay(TimeDelta::days(4)),
            after: Step::StatusCheck,
        };
        let placed = Reasons::from(vec![anchor.clone(), window.clone()]);
        assert_eq!(placed.cause(), &window);
        let held = Reasons::from(vec![anchor.clone(), cap(), window]);
        assert_eq!(held.cause(), &cap());
        let plain = Reasons::new(anchor.clone());
        assert_eq!(plain.cause(), &anchor);
        let aside = Reasons::from(vec![
            anchor.clone(),
            Why::StandsIn {
                primary: "Pat Lee".into(),
                stand_in: "Jane Roe".into(),
            },
        ]);
        assert_eq!(aside.cause(), &anchor);
    }
}
