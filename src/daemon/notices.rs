//! Messages to the user themself: a send that failed or may have been sent, and the digest of
//! what waits for approval. Never capped, never queued; a notice that cannot go out is logged.

use chrono::{DateTime, Utc};
use tracing::{error, info};

use super::DaemonError;
use super::round::Round;
use crate::core::SendState;
use crate::core::calendar::human;
use crate::delivery::queue::Folder;
use crate::delivery::{Envelope, Transport, nothing_to_record};
use crate::mail::message::{Mailbox, Outgoing};
use crate::mail::render::Draft;
use crate::store::SendRecord;

impl<T: Transport> Round<'_, T> {
    /// Tells the user a send failed or may have gone out, and what to do.
    pub(super) async fn notify_problem(&self, record: &SendRecord) {
        let error = record.last_error.as_deref().unwrap_or("unknown error");
        let (subject, advice) = match record.state {
            SendState::Uncertain => (
                format!("followup: not sure whether {} went out", record.key),
                "The connection ended after the message was handed over, so it may have been \
                 delivered. It will not be sent again by itself. It waits in the approval queue: \
                 approve it to send it again (with the same Message-ID), or reject it.",
            ),
            _ => (
                format!("followup: could not send {}", record.key),
                "It will not be retried. Check the address and the SMTP settings \
                 (`followup check-smtp`), then send it yourself or fix the record.",
            ),
        };
        let body = format!(
            "{}\n\nTo: {}\nError: {error}\n\n{advice}\n",
            record.key,
            record.to.as_deref().unwrap_or("-")
        );
        self.send_notice(subject, body).await;
    }

    /// In approve mode: at most one digest per the policy's interval of what waits in
    /// `pending/` and by when.
    pub(super) async fn send_digest_if_due(&self) -> Result<(), DaemonError> {
        if !self.approve {
            return Ok(());
        }
        let store = self.live.store.as_ref();
        let stamp = |name| -> Result<Option<DateTime<Utc>>, DaemonError> {
            Ok(store
                .meta(name)?
                .and_then(|v| DateTime::parse_from_rfc3339(&v).ok())
                .map(|t| t.with_timezone(&Utc)))
        };
        let (Some(queued), last) = (stamp("last_queued_at")?, stamp("last_digest_at")?) else {
            return Ok(());
        };
        let policy = &self.ws.config.policy;
        if last.is_some_and(|last| last >= queued || self.now - last < policy.digest_every) {
            return Ok(());
        }
        let waiting = self.live.queue.scan(Folder::Pending)?;
        if waiting.is_empty() {
            return Ok(());
        }
        let tz = self.ws.config.timezone;
        let mut body = format!(
            "{} follow-up{} wait{} for your approval in {}:\n\n",
            waiting.len(),
            if waiting.len() == 1 { "" } else { "s" },
            if waiting.len() == 1 { "s" } else { "" },
            self.live.queue.dir(Folder::Pending).display()
        );
        for entry in &waiting {
            let by = entry
                .key()
                .and_then(|key| {
                    let iv = self.ws.interview(&key.interview)?;
                    policy.send_limit(key.step, iv)
                })
                .map(|limit| format!("approve by {}", human(limit, tz)))
                .unwrap_or_else(|| "no deadline".into());
            body.push_str(&format!("- {} ({by})\n", entry.describe()));
        }
        body.push_str(
            "\nRead and edit each file, then move it to approved/ (or run `followup queue approve N`, \
             N the number above). Move it to rejected/ or delete it to drop it.\n",
        );
        let subject = format!(
            "followup: {} follow-up(s) wait for your approval",
            waiting.len()
        );
        if self.send_notice(subject, body).await {
            store.set_meta("last_digest_at", &self.now.to_rfc3339())?;
        }
        Ok(())
    }

    /// Sends a notice to the user's own address; `false` when it could not go out.
    async fn send_notice(&self, subject: String, body: String) -> bool {
        let me = Mailbox::from(&self.ws.config.owner);
        let message = Outgoing::new(me.clone(), me.clone(), Draft { subject, body }, self.now);
        let raw = match message.to_lettre() {
            Ok(m) => m.formatted(),
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
                info!(subject = %message.subject, "notice sent");
                true
            }
            Err(e) => {
                error!(subject = %message.subject, "cannot send a notice: {e}");
                false
            }
        }
    }
}
