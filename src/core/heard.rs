//! What the mailbox told about the interviews, and what the playbook makes of it: a reply
//! stops the automatic checks (a rejection leaves only the gracious note), an out-of-office holds
//! the interviewer's next step, and the user's own follow-up counts as a touch and, when it came
//! after a check was due, as that check.
//!
//! [`super::inbound`] decides what one message is; this module holds what the state keeps of it
//! and the rules built on that. The record still wins: a status other than `waiting` written in
//! the YAML overrides whatever was heard.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::calendar::local;
use super::message_id::{MessageId, ThreadRef};
use super::model::{Interview, Status, Step};
use super::why::Why;

/// What one message meant for one interview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Heard {
    /// Someone at the company answered.
    Reply {
        /// Who wrote, as their From line says it.
        from: String,
        /// Which rule tied it to the interview, in words.
        rule: String,
        /// The phrase that made it read as a rejection, if one did.
        rejection: Option<String>,
        /// Its Message-ID, for threading the note after a rejection under it.
        message_id: Option<MessageId>,
    },
    /// An interviewer is away.
    OutOfOffice {
        /// Their address, lower-cased (the identity the cap and the send keys use).
        interviewer: String,
        from: String,
        return_date: Option<NaiveDate>,
        /// The day their next step may go again.
        until: NaiveDate,
    },
    /// The user wrote to an interviewer themself.
    FollowUp {
        /// The interviewer's address, lower-cased.
        interviewer: String,
    },
    /// Mail that came back (a delivery report) or a read receipt: never a reply. An
    /// `undeliverable` one also marks the address; a `bounced` one is told to the user once;
    /// the rest are recorded only.
    Report {
        from: String,
        outcome: ReportOutcome,
        /// The address the report names, lower-cased; empty when it names none.
        recipient: String,
        /// The enhanced status code (`5.1.1`), when given.
        code: Option<String>,
        /// What the server said.
        reason: String,
        /// Which rule tied it to the interview, in words; empty when nothing of ours.
        rule: String,
    },
}

/// What a report says of the send it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ReportOutcome {
    /// The address does not exist: no more e-mail to it.
    Undeliverable,
    /// The message bounced for another reason; the address stays.
    Bounced,
    Delayed,
    Delivered,
    ReadReceipt,
}

impl From<super::inbound::Outcome> for ReportOutcome {
    fn from(o: super::inbound::Outcome) -> Self {
        use super::inbound::Outcome;
        match o {
            Outcome::Undeliverable => ReportOutcome::Undeliverable,
            Outcome::Bounced => ReportOutcome::Bounced,
            Outcome::Delayed => ReportOutcome::Delayed,
            Outcome::Delivered => ReportOutcome::Delivered,
        }
    }
}

impl ReportOutcome {
    /// In words, for `replies` and `status`.
    pub fn in_words(self) -> &'static str {
        match self {
            ReportOutcome::Undeliverable => "undeliverable (the address does not exist)",
            ReportOutcome::Bounced => "bounced",
            ReportOutcome::Delayed => "delayed, still being retried",
            ReportOutcome::Delivered => "delivered",
            ReportOutcome::ReadReceipt => "read receipt",
        }
    }
}

/// The report that says mail to `recipient` about `interview`, sent at `sent_at`, came back as
/// a failure (bounced or undeliverable): what `plan` shows beside the send.
pub fn bounce_of_send<'a>(
    heard: &'a HeardByInterview,
    interview: &str,
    recipient: &str,
    sent_at: DateTime<Utc>,
) -> Option<&'a HeardRecord> {
    bounces(interview, heard).into_iter().find(|r| {
        r.at >= sent_at
            && matches!(&r.heard, Heard::Report { recipient: to, .. } if to.eq_ignore_ascii_case(recipient))
    })
}

/// The sends of `interview` that came back as failures (bounced or undeliverable), oldest
/// first: what `status` shows.
pub fn bounces<'a>(interview: &str, heard: &'a HeardByInterview) -> Vec<&'a HeardRecord> {
    let mut out: Vec<&HeardRecord> = heard
        .get(interview)
        .map(|records| {
            records
                .iter()
                .filter(|r| {
                    matches!(
                        r.heard,
                        Heard::Report {
                            outcome: ReportOutcome::Bounced | ReportOutcome::Undeliverable,
                            ..
                        }
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|r| r.at);
    out
}

/// One message heard about one interview, as the state keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeardRecord {
    pub interview: String,
    /// The message's identity: its Message-ID, else its folder and UID.
    pub message: String,
    /// When it was written (its `Date:`), else when it arrived.
    pub at: DateTime<Utc>,
    pub subject: String,
    /// The first lines of its own text, for the notice and `followup replies`.
    pub first_lines: String,
    pub heard: Heard,
    /// `followup resume` said this reply was not one: it no longer counts.
    #[serde(default)]
    pub dismissed: bool,
}

impl HeardRecord {
    /// The key it is stored under: one per message and interview.
    pub fn key(&self) -> String {
        format!("{}/{}", self.interview, self.message)
    }

    fn is_reply(&self) -> bool {
        matches!(self.heard, Heard::Reply { .. }) && !self.dismissed
    }
}

/// Everything heard, by interview.
pub type HeardByInterview = BTreeMap<String, Vec<HeardRecord>>;

/// The reply that decides an interview the record leaves `waiting`: the latest not dismissed.
pub fn deciding_reply<'a>(iv: &Interview, heard: &'a HeardByInterview) -> Option<&'a HeardRecord> {
    if iv.status != Status::Waiting {
        return None;
    }
    heard
        .get(&iv.id)?
        .iter()
        .filter(|r| r.is_reply())
        .max_by_key(|r| r.at)
}

/// `iv` as the playbook sees it: when the record says `waiting` and a reply was heard, it is
/// `replied` (or `rejected`, when the reply reads as one) on the day it was written.
pub fn effective<'a>(iv: &'a Interview, heard: &HeardByInterview) -> Cow<'a, Interview> {
    let Some(reply) = deciding_reply(iv, heard) else {
        return Cow::Borrowed(iv);
    };
    let mut seen = iv.clone();
    seen.status = match &reply.heard {
        Heard::Reply {
            rejection: Some(_), ..
        } => Status::Rejected,
        _ => Status::Replied,
    };
    seen.status_on = Some(local(reply.at, iv.timezone).date());
    Cow::Owned(seen)
}

/// Why the heard reply stops things, in words: `Jane Roe <jane@...> answered on 2026-12-03`.
pub fn reply_note(reply: &HeardRecord) -> String {
    let from = match &reply.heard {
        Heard::Reply { from, .. } => from.as_str(),
        _ => "someone",
    };
    format!(
        "{from} answered on {} (\"{}\")",
        reply.at.format("%Y-%m-%d"),
        reply.subject
    )
}

/// The message `step` answers, when it answers one: the note after a rejection heard by mail
/// replies to that rejection (it follows our thread, then theirs, so it reads as the answer).
pub fn answer_to(iv: &Interview, step: Step, heard: &HeardByInterview) -> Option<ThreadRef> {
    if step != Step::AfterRejection {
        return None;
    }
    let mut waiting = Cow::Borrowed(iv);
    if iv.status == Status::Rejected {
        // The record may say so too; the mail it answers is still the one heard.
        waiting.to_mut().status = Status::Waiting;
    }
    let reply = deciding_reply(&waiting, heard)?;
    match &reply.heard {
        Heard::Reply {
            rejection: Some(_),
            message_id: Some(id),
            ..
        } => Some(ThreadRef {
            message_id: id.clone(),
            subject: reply.subject.clone(),
        }),
        _ => None,
    }
}

/// A reason that an outcome heard in the mailbox explains: `<who answered when>: <why>`.
/// Only an outcome is explained by a reply; any other reason stays as it is.
pub fn explained(reply: &HeardRecord, why: Why) -> Why {
    let Why::Outcome { status } = why else {
        return why;
    };
    let from = match &reply.heard {
        Heard::Reply { from, .. } => from.as_str().to_string(),
        _ => "someone".to_string(),
    };
    Why::HeardReply {
        from,
        on: reply.at.date_naive(),
        subject: reply.subject.clone(),
        status,
    }
}

/// The out-of-office that holds `interviewer` latest, if any: the day their steps may go
/// again. An absence holds the person in every interview.
pub fn hold<'a>(interviewer: &str, heard: &'a HeardByInterview) -> Option<&'a HeardRecord> {
    heard
        .values()
        .flatten()
        .filter(|r| matches!(&r.heard, Heard::OutOfOffice { interviewer: who, .. } if who == interviewer))
        .max_by_key(|r| match &r.heard {
            Heard::OutOfOffice { until, .. } => *until,
            _ => NaiveDate::MIN,
        })
}

/// The user's own follow-ups, each as (interviewer, interview, when): touches for the cap.
pub fn own_follow_ups(
    heard: &HeardByInterview,
) -> impl Iterator<Item = (&str, &str, DateTime<Utc>)> {
    heard.values().flatten().filter_map(|r| match &r.heard {
        Heard::FollowUp { interviewer } => Some((interviewer.as_str(), r.interview.as_str(), r.at)),
        _ => None,
    })
}

/// The user's first own follow-up to `interviewer` about `interview` at or after `since`: a
/// check due by then that has not gone out is done by it ("the daemon never piles a message on
/// top of the user's own").
pub fn own_follow_up_since<'a>(
    heard: &'a HeardByInterview,
    interview: &str,
    interviewer: &str,
    since: DateTime<Utc>,
) -> Option<&'a HeardRecord> {
    heard
        .get(interview)?
        .iter()
        .filter(|r| matches!(&r.heard, Heard::FollowUp { interviewer: who } if who == interviewer))
        .filter(|r| r.at >= since)
        .min_by_key(|r| r.at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, d, 15, 0, 0).unwrap()
    }

    fn record(interview: &str, d: u32, heard: Heard) -> HeardRecord {
        HeardRecord {
            interview: interview.into(),
            message: format!("<{d}@example.com>"),
            at: at(d),
            subject: "Re: Backend Engineer".into(),
            first_lines: "Thanks!".into(),
            heard,
            dismissed: false,
        }
    }

    fn reply(rejection: Option<&str>) -> Heard {
        Heard::Reply {
            from: "Jane Roe <jane@globex.example.com>".into(),
            rule: "from an interviewer".into(),
            rejection: rejection.map(String::from),
            message_id: None,
        }
    }

    fn by_interview(records: Vec<HeardRecord>) -> HeardByInterview {
        let mut out = HeardByInterview::new();
        for r in records {
            out.entry(r.interview.clone()).or_default().push(r);
        }
        out
    }

    #[test]
    fn the_record_wins_over_what_was_heard() {
        let heard = by_interview(vec![record("globex", 3, reply(None))]);
        let mut iv = crate::mail::render::tests::bare();
        iv.id = "globex".into();
        assert_eq!(effective(&iv, &heard).status, Status::Replied);
        iv.status = Status::Offer;
        assert_eq!(effective(&iv, &heard).status, Status::Offer);
    }

    #[test]
    fn a_reply_that_reads_as_a_rejection_is_a_rejection_on_its_day() {
        let heard = by_interview(vec![
            record("globex", 3, reply(None)),
            record("globex", 5, reply(Some("not moving forward"))),
        ]);
        let mut iv = crate::mail::render::tests::bare();
        iv.id = "globex".into();
        let seen = effective(&iv, &heard);
        assert_eq!(seen.status, Status::Rejected);
        assert_eq!(seen.status_on, NaiveDate::from_ymd_opt(2026, 12, 5));
    }

    #[test]
    fn a_dismissed_reply_no_longer_counts() {
        let mut r = record("globex", 3, reply(None));
        r.dismissed = true;
        let heard = by_interview(vec![r]);
        let mut iv = crate::mail::render::tests::bare();
        iv.id = "globex".into();
        assert_eq!(effective(&iv, &heard).status, Status::Waiting);
    }

    #[test]
    fn the_latest_absence_holds_the_interviewer_in_every_interview() {
        let away = |until: u32| Heard::OutOfOffice {
            interviewer: "jane@globex.example.com".into(),
            from: "Jane Roe".into(),
            return_date: None,
            until: NaiveDate::from_ymd_opt(2026, 12, until).unwrap(),
        };
        let heard = by_interview(vec![record("a", 1, away(8)), record("b", 2, away(14))]);
        let held = hold("jane@globex.example.com", &heard).unwrap();
        assert_eq!(held.interview, "b");
        assert!(hold("omar@globex.example.com", &heard).is_none());
    }

    #[test]
    fn the_users_first_follow_up_after_a_moment_is_found() {
        let own = || Heard::FollowUp {
            interviewer: "jane@globex.example.com".into(),
        };
        let heard = by_interview(vec![record("globex", 4, own()), record("globex", 9, own())]);
        let found = own_follow_up_since(&heard, "globex", "jane@globex.example.com", at(5));
        assert_eq!(found.map(|r| r.at), Some(at(9)));
        assert!(own_follow_up_since(&heard, "globex", "jane@globex.example.com", at(10)).is_none());
        assert_eq!(own_follow_ups(&heard).count(), 2);
    }
}
