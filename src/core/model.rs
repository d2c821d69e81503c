//! The records the planner works on, after loading and validation.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::address::EmailAddress;
use super::why::Why;

/// One step of the playbook. The order of the variants is the order of the sequence.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Step {
    ThankYou,
    StatusCheck,
    CallReminder,
    FinalCheck,
    Close,
    AfterRejection,
}

impl Step {
    pub const ALL: &[Step] = <Step as strum::VariantArray>::VARIANTS;

    /// The sequence that follows the thank-you while nobody answers, each step anchored on the
    /// one before.
    pub const SEQUENCE: [Step; 4] = [
        Step::StatusCheck,
        Step::CallReminder,
        Step::FinalCheck,
        Step::Close,
    ];

    /// The name used in keys, templates and the command line.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The step as a person names it, for notices: `thank-you`, `status check`.
    pub fn in_words(self) -> &'static str {
        match self {
            Step::ThankYou => "thank-you",
            Step::StatusCheck => "status check",
            Step::CallReminder => "call reminder",
            Step::FinalCheck => "final check",
            Step::Close => "closing notice",
            Step::AfterRejection => "note after the rejection",
        }
    }

    /// How the step reaches the person it is about.
    pub fn channel(self) -> Channel {
        match self {
            Step::CallReminder => Channel::Call,
            Step::Close => Channel::Notice,
            _ => Channel::Email,
        }
    }

    /// The step after this one in [`Step::SEQUENCE`].
    pub fn next_in_sequence(self) -> Option<Step> {
        let i = Step::SEQUENCE.iter().position(|s| *s == self)?;
        Step::SEQUENCE.get(i + 1).copied()
    }

    /// Who the step is about: every interviewer gets their own thank-you; everything after it
    /// concerns the primary interviewer alone.
    pub fn is_for_every_interviewer(self) -> bool {
        self == Step::ThankYou
    }

    /// The interview's attachments ride on the thank-you only, so the same CV is not sent again
    /// with every follow-up.
    pub fn carries_attachments(self) -> bool {
        self == Step::ThankYou
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Step {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(Step::ALL, s, "step")
    }
}

/// The one of `all` whose snake_case name is `name`, or an error listing every name.
fn by_name<T>(all: &[T], name: &str, what: &str) -> Result<T, String>
where
    T: Copy + Into<&'static str>,
{
    all.iter()
        .copied()
        .find(|v| (*v).into() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| (*v).into()).collect();
            format!(
                "unknown {what} `{name}`; expected one of {}",
                names.join(", ")
            )
        })
}

/// How an action reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Channel {
    /// A message to an interviewer.
    Email,
    /// A task for the user: call the interviewer. Counts against the interviewer's cap.
    Call,
    /// A note to the user alone. Never capped.
    Notice,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether the action counts as a touch of the person it is about.
    pub fn is_touch(self) -> bool {
        !matches!(self, Channel::Notice)
    }

    /// Calls and notices go to the user's own address; only e-mail reaches the interviewer.
    pub fn goes_to_the_user(self) -> bool {
        !matches!(self, Channel::Email)
    }
}

/// Where the interview stands, as the user records it.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Status {
    #[default]
    Waiting,
    Replied,
    Rejected,
    Offer,
    Withdrawn,
    Closed,
}

impl Status {
    /// Every status, as the records and `followup mark` spell them.
    pub const ALL: &[Status] = <Status as strum::VariantArray>::VARIANTS;

    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Whether this outcome ends the sequence for good: nothing more goes out but, after a
    /// rejection, the gracious note.
    pub fn is_final(self) -> bool {
        !matches!(self, Status::Waiting | Status::Replied)
    }

    /// Why this outcome cancels `step`, or `None` when the step still goes out. A reply stops
    /// the automatic checks (the thank-you still goes; a new decision date may plan one more
    /// check, which the planner decides); a rejection leaves only the note after it; an offer, a
    /// withdrawal or a closed interview stop everything.
    pub fn cancels(self, step: Step) -> Option<Why> {
        match (self, step) {
            (Status::Waiting, _) | (Status::Replied, Step::ThankYou | Step::AfterRejection) => None,
            (Status::Rejected, Step::AfterRejection) => None,
            (status, _) => Some(Why::Outcome { status }),
        }
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        by_name(Status::ALL, s, "status")
    }
}

/// Someone the user met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interviewer {
    pub name: String,
    /// How messages to them open, as the record says (`Dear Dr. Weiß`); templates default it.
    pub greeting: Option<String>,
    pub title: Option<String>,
    pub email: Option<EmailAddress>,
    pub primary: bool,
}

impl Interviewer {
    /// The identity used in send keys and for the cap: the lower-cased address, or the name
    /// for someone who can only be called.
    pub fn key(&self) -> String {
        match &self.email {
            Some(email) => email.key(),
            None => self.name.to_lowercase(),
        }
    }
}

/// One interview, validated: times resolved in its zone, at least one interviewer, at most one
/// marked primary.
#[derive(Debug, Clone, PartialEq)]
pub struct Interview {
    pub id: String,
    pub company: String,
    pub position: String,
    /// The start as written, in `timezone`.
    pub local_start: NaiveDateTime,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub timezone: Tz,
    pub interviewers: Vec<Interviewer>,
    pub decision_by: Option<NaiveDate>,
    pub status: Status,
    pub status_on: Option<NaiveDate>,
    pub notes: BTreeMap<String, String>,
    pub attachments: Vec<PathBuf>,
    /// The company's mail domains as the record names them (`domains:`), lower-cased; empty:
    /// worked out from the interviewers' addresses (see `core::inbound::company_domains`).
    pub domains: Vec<String>,
    /// The file the record came from, for messages.
    pub source: PathBuf,
}

impl Interview {
    /// Where the interviewer the user calls primary is in `interviewers`: the one marked
    /// `primary: true`, else the first listed.
    pub fn named_primary_index(&self) -> usize {
        self.interviewers
            .iter()
            .position(|i| i.primary)
            .unwrap_or(0)
    }

    /// Who the later steps go to: the named primary ([`Interview::named_primary_index`]), or,
    /// when they have no e-mail address, the next interviewer who has one (after them in the
    /// list, then from its top); the named primary when nobody has one. The one definition of
    /// who the later steps go to.
    pub fn primary_index(&self) -> usize {
        let named = self.named_primary_index();
        let n = self.interviewers.len();
        (0..n)
            .map(|k| (named + k) % n)
            .find(|&i| self.interviewers[i].email.is_some())
            .unwrap_or(named)
    }

    /// The primary interviewer (see [`Interview::primary_index`]).
    pub fn primary(&self) -> &Interviewer {
        &self.interviewers[self.primary_index()]
    }

    /// The named primary, when the later steps go to someone else because they have no
    /// address.
    pub fn primary_stood_in_for(&self) -> Option<&Interviewer> {
        let named = self.named_primary_index();
        (self.primary_index() != named).then(|| &self.interviewers[named])
    }

    /// Every (step, person it is about) the playbook can produce for this interview: a thank-you
    /// to everyone met, every other step about the primary interviewer.
    pub fn pairings(&self) -> Vec<(Step, &Interviewer)> {
        let mut out: Vec<(Step, &Interviewer)> = Vec::new();
        for &step in Step::ALL {
            if step.is_for_every_interviewer() {
                out.extend(self.interviewers.iter().map(|i| (step, i)));
            } else if !self.interviewers.is_empty() {
                out.push((step, self.primary()));
            }
        }
        out
    }

    /// The files that go with `step` (see [`Step::carries_attachments`]).
    pub fn attachments_for(&self, step: Step) -> &[PathBuf] {
        if step.carries_attachments() {
            &self.attachments
        } else {
            &[]
        }
    }
}

/// The user: where notices and call tasks go, their zone, and what templates sign with.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub name: String,
    pub email: EmailAddress,
    /// Other addresses the user writes from (`me.aliases`).
    pub aliases: Vec<EmailAddress>,
    pub phone: Option<String>,
    pub signature: Option<String>,
    pub timezone: Tz,
}

impl Owner {
    /// Every address the user writes from: `me.email` first, then the aliases.
    pub fn addresses(&self) -> Vec<EmailAddress> {
        std::iter::once(&self.email)
            .chain(&self.aliases)
            .cloned()
            .collect()
    }
}

/// The identity of one send: `interview/step/recipient`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SendKey {
    pub interview: String,
    pub step: Step,
    /// The lower-cased address of the person touched (or their name when they have none).
    pub recipient: String,
}

impl SendKey {
    pub fn new(interview: &str, step: Step, recipient: &str) -> Self {
        Self {
            interview: interview.to_string(),
            step,
            recipient: recipient.to_lowercase(),
        }
    }

    /// The key of `step` of `iv` about `person`. The close notice touches nobody but the user,
    /// so it is keyed by the user's address.
    pub fn of(iv: &Interview, step: Step, person: &Interviewer, owner: &Owner) -> Self {
        let recipient = match step {
            Step::Close => owner.email.key(),
            _ => person.key(),
        };
        Self::new(&iv.id, step, &recipient)
    }

    /// The interviewer of `iv` this key is about (the primary one for the close notice).
    pub fn person<'a>(&self, iv: &'a Interview) -> Option<&'a Interviewer> {
        match self.step {
            Step::Close => Some(iv.primary()),
            _ => iv.interviewers.iter().find(|p| p.key() == self.recipient),
        }
    }
}

impl fmt::Display for SendKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.interview, self.step, self.recipient)
    }
}

impl FromStr for SendKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut parts = s.splitn(3, '/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some(i), Some(step), Some(r))
                if !i.is_empty()
                    && !r.is_empty()
                    && !s.chars().any(|c| c.is_whitespace() || c.is_control()) =>
            {
                Ok(SendKey::new(i, step.parse()?, r))
            }
            _ => Err(format!(
                "`{}` is not a send key; expected interview/step/recipient, with no spaces",
                s.escape_debug()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_read_back_from_its_name_and_nothing_else_is_one() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(*status));
        }
        assert_eq!(Status::ALL.len(), 6);
        let err = "hired".parse::<Status>().unwrap_err();
        assert!(
            err.contains("waiting, replied, rejected, offer, withdrawn, closed"),
            "{err}"
        );
    }
}
