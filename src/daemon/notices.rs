//! Messages to the user themself: a send that failed or may have been sent, and the digest of
//! what waits for approval. Never capped, never queued; a notice that cannot go out is logged.

use chrono::{DateTime, Utc};
use tracing::{error, info};

use super::DaemonError;
use super::round::Round;
use crate::core::calendar::human;
use crate::core::{Interview, Interviewer, SendKey, SendState};
use crate::delivery::queue::Folder;
use crate::delivery::{Envelope, Transport, nothing_to_record};
use crate::mail::message::{Mailbox, Outgoing};
use crate::mail::render::Draft;
use crate::store::{SendRecord, UndeliverableAddress};

/// The name notice failures are logged under.
const NOTICES: &str = "notices";

impl<T: Transport> Round<'_, T> {
    /// Tells the user a send failed or may have gone out, and what to do. The subject says in
    /// plain words which message it is; the send key comes last, for the logs and the queue.
    pub(super) async fn notify_problem(&self, record: &SendRecord) {
        let error = record.last_error.as_deref().unwrap_or("unknown error");
        let (who, about) = self.described(&record.key);
        let what = format!("{} {who}", record.key.step.in_words());
        let (subject, happened, advice) = match record.state {
            SendState::Uncertain => (
                format!("followup: {what} may have gone out"),
                "may have been delivered: the connection ended after it was handed over",
                "It will not be sent again by itself. It waits in the approval queue: approve it \
                 to send it again (with the same Message-ID), or reject it.",
            ),
            _ => (
                format!("followup: {what} was not sent"),
                "was not sent",
                "It will not be retried. Check the address and the SMTP settings \
                 (`followup check-smtp`), then send it yourself or fix the record.",
            ),
        };
        let to = record.to.as_deref().unwrap_or("-");
        let body = format!(
            "The {what} <{to}>{about} {happened}.\n\nError: {error}\n\n{advice}\n\n\
             (followup's key for it: {})\n",
            record.key
        );
        self.send_notice(subject, body).await;
    }

    /// Once for each address newly found undeliverable: tells the user, who may know a better
    /// address. However the address was found out (a refusal now, a bounce read later), the
    /// notice comes from here, so it comes once.
    pub(super) async fn notify_undeliverable(&self) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        let me = self.ws.config.owner.email.key();
        for bounce in store.undeliverable()? {
            if bounce.notice_sent_at.is_some() {
                continue;
            }
            if bounce.address == me {
                // A notice to the user's own dead address cannot arrive either.
                error!(address = %bounce.address, "your own address is undeliverable: {}", bounce.reason);
                store.note_undeliverable_notice(&bounce.address, self.now)?;
                continue;
            }
            let (subject, body) = self.bounce_notice(&bounce);
            if self.send_notice_when_due(subject, body).await {
                store.note_undeliverable_notice(&bounce.address, self.now)?;
            }
        }
        Ok(())
    }

    fn bounce_notice(&self, bounce: &UndeliverableAddress) -> (String, String) {
        let users: Vec<(&Interview, &Interviewer)> = self
            .ws
            .interviews
            .iter()
            .flat_map(|iv| iv.interviewers.iter().map(move |p| (iv, p)))
            .filter(|(_, p)| p.email.as_ref().is_some_and(|e| e.key() == bounce.address))
            .collect();
        let name = users
            .first()
            .map_or(bounce.address.clone(), |(_, p)| p.name.clone());
        let subject = format!("followup: mail to {name} bounced");
        let mut body = format!(
            "Mail to {name} <{}> cannot be delivered. The server said:\n\n    {}\n\n\
             followup sends nothing more to this address: the e-mails still to come are \
             cancelled. A call reminder still comes, and says so.\n",
            bounce.address, bounce.reason
        );
        if users.is_empty() {
            body.push_str("\nNo interview in your records uses this address now.\n");
        } else {
            body.push_str(
                "\nIf you have a better address, put it in the record, and the follow-ups \
                 resume with it:\n\n",
            );
            for (iv, person) in &users {
                body.push_str(&format!(
                    "- {} at {}: `email:` of {} in {}\n",
                    iv.position,
                    iv.company,
                    person.name,
                    iv.source.display()
                ));
            }
        }
        (subject, body)
    }

    /// `to Jane Roe` (or `about` her, for a message to the user) and `, about the Backend
    /// Engineer interview at Globex`, as far as the records still tell.
    fn described(&self, key: &SendKey) -> (String, String) {
        let word = if key.step.channel().goes_to_the_user() {
            "about"
        } else {
            "to"
        };
        let iv = self.ws.interview(&key.interview);
        match iv.and_then(|iv| key.person(iv).map(|p| (iv, p))) {
            Some((iv, person)) => (
                format!("{word} {}", person.name),
                format!(", about the {} interview at {},", iv.position, iv.company),
            ),
            None => (format!("{word} {}", key.recipient), String::new()),
        }
    }

    /// When the approval digest is due (in approve mode, once something was queued since the
    /// last one: the policy's interval after the last one); `None` when none is.
    pub(super) fn digest_due_at(&self) -> Result<Option<DateTime<Utc>>, DaemonError> {
        if !self.approve {
            return Ok(None);
        }
        let store = self.live.store.as_ref();
        let stamp = |name| -> Result<Option<DateTime<Utc>>, DaemonError> {
            Ok(store
                .meta(name)?
                .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
                .map(|t| t.with_timezone(&Utc)))
        };
        let (Some(queued), last) = (stamp("last_queued_at")?, stamp("last_digest_at")?) else {
            return Ok(None);
        };
        Ok(match last {
            None => Some(queued),
            Some(last) if last >= queued => None,
            Some(last) => Some(last + self.ws.config.policy.digest_every),
        })
    }

    /// In approve mode: at most one digest per the policy's interval of what waits in
    /// `pending/` and by when.
    pub(super) async fn send_digest_if_due(&self) -> Result<(), DaemonError> {
        // After a failed notice, the digest too waits out the backoff (`crate::retry`).
        if self.digest_due_at()?.is_none_or(|at| at > self.now) || !self.notices().due(self.now) {
            return Ok(());
        }
        let store = self.live.store.as_ref();
        let waiting = self.live.queue.scan(Folder::Pending)?;
        if waiting.is_empty() {
            return Ok(());
        }
        let subject = format!(
            "followup: {} follow-up{} wait{} for your approval",
            waiting.len(),
            if waiting.len() == 1 { "" } else { "s" },
            if waiting.len() == 1 { "s" } else { "" },
        );
        let sent = if self.by_reply() {
            let (body, shown) = self.answerable_digest(&waiting);
            self.send_answerable_digest(subject, body, shown).await?
        } else {
            self.send_notice(subject, self.file_digest(&waiting)).await
        };
        if sent {
            store.set_meta("last_digest_at", &self.now.to_rfc3339())?;
        }
        Ok(())
    }

    /// The digest without `approval.by_reply`: what waits, and where the files are.
    fn file_digest(&self, waiting: &[crate::delivery::queue::Entry]) -> String {
        let policy = &self.ws.config.policy;
        let tz = self.ws.config.timezone;
        let mut body = format!(
            "{} follow-up{} wait{} for your approval in {}:\n\n",
            waiting.len(),
            if waiting.len() == 1 { "" } else { "s" },
            if waiting.len() == 1 { "s" } else { "" },
            self.live.queue.dir(Folder::Pending).display()
        );
        for entry in waiting {
            let limit = entry.key().and_then(|key| {
                let iv = self.ws.interview(&key.interview)?;
                policy.send_limit(key.step, iv)
            });
            let by = match (entry.key(), limit) {
                (None, _) => "cannot be read: `followup status` says why".to_string(),
                (Some(_), Some(limit)) => format!("approve by {}", human(limit, tz)),
                (Some(_), None) => "no deadline".into(),
            };
            body.push_str(&format!("- {} ({by})\n", entry.describe()));
        }
        body.push_str(
            "\nRead and edit each file, then move it to approved/ (or run `followup queue approve N`, \
             N the number above). Move it to rejected/ or delete it to drop it.\n",
        );
        body
    }

    /// [`Self::send_notice`] for a notice a later round tries again (the digest, a bounce):
    /// after a notice failed, not before the backoff (`crate::retry`) says it is time.
    async fn send_notice_when_due(&self, subject: String, body: String) -> bool {
        if !self.notices().due(self.now) {
            return false;
        }
        self.send_notice(subject, body).await
    }

    /// Sends a notice to the user's own address; `false` when it could not go out.
    pub(super) async fn send_notice(&self, subject: String, body: String) -> bool {
        let me = Mailbox::from(&self.ws.config.owner);
        let message = Outgoing::new(me.clone(), me, Draft { subject, body }, self.now);
        self.send_own(&message).await
    }

    /// Sends a message of followup's own to the user, marked `Auto-Submitted: auto-generated`
    /// (RFC 3834) so that no robot answers it; `false` when it could not go out.
    pub(super) async fn send_own(&self, message: &Outgoing) -> bool {
        let me = message.to.clone();
        let raw = match message.to_lettre() {
            Ok(mut m) => {
                m.headers_mut()
                    .insert_raw(lettre::message::header::HeaderValue::new(
                        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted"),
                        "auto-generated".into(),
                    ));
                m.formatted()
            }
            Err(e) => {
                error!("cannot build a notice: {e}");
                return false;
            }
        };
        let envelope = Envelope {
            from: me.email.clone(),
            to: me.email,
        };
        let sent = self
            .live
            .transport
            .send(&envelope, &raw, &nothing_to_record);
        match sent.await {
            Ok(_) => {
                self.notices().succeeded();
                self.problem_log().recovered(NOTICES);
                info!(subject = %message.subject, "notice sent");
                true
            }
            Err(e) => {
                let mut notices = self.notices();
                notices.failed(&e, self.now);
                let retry = notices.next().map(|t| t.to_rfc3339()).unwrap_or_default();
                drop(notices);
                let kind = if e.is_permanent() {
                    "permanent"
                } else if e.is_transient() {
                    "transient"
                } else {
                    "uncertain"
                };
                if self.problem_log().failing(NOTICES, kind, self.now) {
                    error!(subject = %message.subject, retry_at = %retry, "cannot send a notice: {e}");
                }
                false
            }
        }
    }

    fn notices(&self) -> std::sync::MutexGuard<'_, crate::retry::Schedule> {
        self.live.notices.lock().unwrap_or_else(|e| e.into_inner())
    }
}
