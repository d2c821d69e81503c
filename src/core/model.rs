//! The records the planner works on, after loading and validation.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::address::EmailAddress;

/// One step of the playbook. The order of the variants is the order of the sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    ThankYou,
    StatusCheck,
    CallReminder,
    FinalCheck,
    Close,
    AfterRejection,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::ThankYou,
        Step::StatusCheck,
        Step::CallReminder,
        Step::FinalCheck,
        Step::Close,
        Step::AfterRejection,
    ];

    /// The name used in keys, templates and the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::ThankYou => "thank_you",
            Step::StatusCheck => "status_check",
            Step::CallReminder => "call_reminder",
            Step::FinalCheck => "final_check",
            Step::Close => "close",
            Step::AfterRejection => "after_rejection",
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
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Step {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Step::ALL
            .into_iter()
            .find(|step| step.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Step::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown step `{s}`; expected one of {}", names.join(", "))
            })
    }
}

/// How an action reaches its recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
        match self {
            Channel::Email => "email",
            Channel::Call => "call",
            Channel::Notice => "notice",
        }
    }

    /// Whether the action counts as a touch of the person it is about.
    pub fn is_touch(self) -> bool {
        !matches!(self, Channel::Notice)
    }
}

/// Where the interview stands, as the user records it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Replied => "replied",
            Status::Rejected => "rejected",
            Status::Offer => "offer",
            Status::Withdrawn => "withdrawn",
            Status::Closed => "closed",
        }
    }
}

/// Someone the user met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interviewer {
    pub name: String,
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
    /// The file the record came from, for messages.
    pub source: PathBuf,
}

impl Interview {
    /// The interviewer marked `primary: true`, else the first listed.
    pub fn primary(&self) -> &Interviewer {
        self.interviewers
            .iter()
            .find(|i| i.primary)
            .unwrap_or(&self.interviewers[0])
    }
}

/// The user: where notices and call tasks go, their zone, and what templates sign with.
#[derive(Debug, Clone, PartialEq)]
pub struct Owner {
    pub name: String,
    pub email: EmailAddress,
    pub phone: Option<String>,
    pub signature: Option<String>,
    pub timezone: Tz,
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
