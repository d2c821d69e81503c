//! Approving from a phone: the digest shows each waiting message in full and is answered with
//! `approve 1 3`, `approve all` or `reject 2`. The rules of what counts as a command live in
//! [`crate::core::reply_command`]; this shell sends the digest, acts on a command by the same
//! code as `followup queue approve/reject` ([`QueueDir::decide`]), sends what was approved at
//! once, and confirms to the user alone.

use tracing::{info, warn};

use super::round::Round;
use super::{DaemonError, TickReport};
use crate::core::MessageId;
use crate::core::calendar::human;
use crate::core::inbound::InboundMessage;
use crate::core::reply_command::{self, CommandRules, Decision, Refusal};
use crate::delivery::Transport;
use crate::delivery::queue::decide::{self, Decided};
use crate::delivery::queue::eml::parse_eml;
use crate::delivery::queue::{Entry, Folder};
use crate::mail::message::{Mailbox, Outgoing};
use crate::mail::render::Draft;
use crate::store::by_reply::{
    self as kept, CommandHeard, DigestSent, Shown, add_refused, clear_refused, digests_named,
    file_hash, heard_before, note_heard,
};

/// The meta name under which our own confirmations' Message-IDs are kept: read back from the
/// mailbox, they are nothing.
const OWN: &str = "approval.own/";

impl<T: Transport> Round<'_, T> {
    /// Whether the digest may be answered: approve mode, a mailbox to read, `by_reply` on.
    pub(super) fn by_reply(&self) -> bool {
        self.approve && self.live.reading.is_some() && self.ws.config.approval.by_reply
    }

    /// The digest's body when it can be answered: each waiting message in full, then how to
    /// answer. Returns the body and what it showed.
    pub(super) fn answerable_digest(&self, waiting: &[Entry]) -> (String, Vec<Shown>) {
        let tz = self.ws.config.timezone;
        let policy = &self.ws.config.policy;
        let n = waiting.len();
        let mut body = format!(
            "{n} follow-up{} wait{} for your approval. Read {}, then answer this message \
             (see the end).\n",
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
            if n == 1 { "it" } else { "them" },
        );
        let mut shown = Vec::new();
        for entry in waiting {
            let number = entry.number;
            let label = number.map_or_else(|| entry.id.clone(), |n| n.to_string());
            body.push_str(&format!("\n===== {label} =====\n"));
            // What is shown and what is hashed are the same bytes, read once.
            let bytes = std::fs::read(&entry.path).unwrap_or_default();
            let parsed = parse_eml(&bytes);
            let (file, number) = match (&parsed, number) {
                (Ok(file), Some(number)) => (file, number),
                _ => {
                    body.push_str(
                        "This file cannot be used (`followup status` says why); it cannot be \
                         approved by mail.\n",
                    );
                    body.push_str(&format!("===== end of {label} =====\n"));
                    continue;
                }
            };
            let limit = self
                .ws
                .interview(&file.key.interview)
                .and_then(|iv| policy.send_limit(file.key.step, iv));
            body.push_str(&format!("To: {}\n", file.to));
            body.push_str(&format!("Subject: {}\n", file.subject));
            match limit {
                Some(limit) => body.push_str(&format!("Approve by: {}\n", human(limit, tz))),
                None => body.push_str("Approve by: no deadline\n"),
            }
            for a in &file.attachments {
                let name = a.file_name().map_or_else(
                    || a.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                body.push_str(&format!("Attached: {name}\n"));
            }
            body.push('\n');
            body.push_str(file.body.trim_end());
            body.push_str(&format!("\n===== end of {label} =====\n"));
            shown.push(Shown {
                number,
                key: file.key.to_string(),
                sha256: file_hash(&bytes),
            });
        }
        let first = shown.first().map_or(1, |s| s.number);
        body.push_str(&format!(
            "\nHow to answer: reply to this message with one line, above the quoted text:\n\n\
             \x20   approve {first}        sends message {first}\n\
             \x20   approve all      sends every message above\n\
             \x20   reject {first}         drops message {first}\n\n\
             Several numbers may follow one word (`approve 1 3`). A thank-you past its limit \
             needs `approve late N`.{} A confirmation follows. On the server, `followup queue \
             approve N` does the same, and the files are in {}.\n",
            if shown.len() == 1 {
                " `yes` approves the one message."
            } else {
                ""
            },
            self.live.queue.dir(Folder::Pending).display()
        ));
        (body, shown)
    }

    /// Sends a digest that can be answered and records it; `false` when it could not go out.
    pub(super) async fn send_answerable_digest(
        &self,
        subject: String,
        mut body: String,
        shown: Vec<Shown>,
    ) -> Result<bool, DaemonError> {
        let store = self.live.store.as_ref();
        let refused = kept::refused(store)?;
        if !refused.is_empty() {
            body.push_str(&refused_note(&refused));
        }
        let me = Mailbox::from(&self.ws.config.owner);
        let mut message = Outgoing::new(me.clone(), me, Draft { subject, body }, self.now);
        message.message_id =
            MessageId::unguessable_on(self.ws.config.owner.email.domain(), "digest");
        let digest = DigestSent {
            message_id: message.message_id.clone(),
            sent_at: self.now,
            shown,
        };
        // Recorded before it goes: a reply can only come after.
        kept::record_digest(store, &digest)?;
        if !self.send_own(&message).await {
            return Ok(false);
        }
        if !refused.is_empty() {
            clear_refused(store)?;
        }
        Ok(true)
    }

    /// A message from the mailbox that answers one of our digests. `true`: it was (it is then
    /// nothing else: never a reply to an interview), whether it was acted on or refused.
    pub(super) async fn answered_digest(
        &self,
        message: &InboundMessage,
        folder: &str,
    ) -> Result<bool, DaemonError> {
        let store = self.live.store.as_ref();
        let parents = message.in_reply_to.iter().chain(&message.references);
        let digests = digests_named(store, parents)?;
        let Some(digest) = digests.iter().max_by_key(|d| d.sent_at) else {
            return Ok(false);
        };
        let own = message
            .message_id
            .as_ref()
            .map(|id| store.meta(&format!("{OWN}{id}")))
            .transpose()?
            .flatten();
        let reading = self.live.reading.as_ref();
        let in_sent = reading.is_some_and(|r| !r.folders.iter().any(|f| f == folder));
        if own.is_some() || in_sent {
            // Our own confirmation, or the user's reply as their Sent folder keeps it.
            return Ok(true);
        }
        let id = message.message_id.as_ref();
        let acted = id.map(|id| heard_before(store, id)).transpose()?;
        let me = self.ws.config.owner.addresses();
        let approval = &self.ws.config.approval;
        let rules = CommandRules {
            me: &me,
            reply_within: approval.reply_within,
            authserv_id: approval.authserv_id.as_deref(),
        };
        let from = message
            .from
            .as_ref()
            .map_or_else(|| "nobody".to_string(), |p| p.address.clone());
        let heard = |outcome: String| CommandHeard {
            message_id: id.map_or_else(|| "(none)".into(), MessageId::to_string),
            from: from.clone(),
            at: self.now,
            outcome,
        };
        let judged = if self.by_reply() {
            reply_command::judge(
                message,
                &digest.to_shown(),
                &rules,
                acted.unwrap_or(false),
                self.now,
            )
        } else {
            // Off: a reply to an old digest is still nobody's reply to an interview.
            return Ok(true);
        };
        let command = match judged {
            Ok(command) => command,
            Err(refusal) => {
                self.refused(message, &refusal, acted == Some(false), heard)
                    .await?;
                return Ok(true);
            }
        };
        note_heard(store, &heard("being acted on".into()))?;
        let mut lines = Vec::new();
        let mut changed = false;
        let mut to_send = Vec::new();
        for (number, decision) in &command.decisions {
            let Some(shown) = digest.shown.iter().find(|s| s.number == *number) else {
                continue;
            };
            let now_named = self.live.queue.find(&number.to_string()).ok().flatten();
            if now_named.is_some_and(|e| e.key().is_some_and(|k| k.to_string() != shown.key)) {
                lines.push(format!(
                    "{number}: no longer the message the digest showed ({}); nothing was done",
                    shown.key
                ));
                continue;
            }
            if *decision != Decision::Reject && self.changed_since(shown)? {
                changed = true;
                lines.push(format!(
                    "{number} ({}): changed since the digest showed it, so it was not \
                     approved; the next digest shows it as it is now",
                    shown.key
                ));
                continue;
            }
            let asked = match decision {
                Decision::Approve => decide::Decision::Approve,
                Decision::ApproveLate => decide::Decision::ApproveLate,
                Decision::Reject => decide::Decision::Reject,
            };
            match self.live.queue.decide(&number.to_string(), asked) {
                Ok(Decided::Rejected { entry, .. }) => {
                    info!(number, key = %shown.key, "rejected by reply");
                    lines.push(format!(
                        "rejected {}: it will not be sent",
                        entry.describe()
                    ));
                }
                Ok(done) => {
                    info!(number, key = %shown.key, "approved by reply");
                    to_send.push((*number, done.entry().describe()));
                }
                Err(e) => lines.push(format!("{number}: {e}")),
            }
        }
        for (number, what) in to_send {
            lines.push(self.send_now(number, &what).await?);
        }
        if changed {
            store.set_meta("last_queued_at", &self.now.to_rfc3339())?;
        }
        let outcome = lines.join("; ");
        note_heard(store, &heard(outcome))?;
        self.confirm(message, &lines).await?;
        Ok(true)
    }

    /// A refused reply: a security reason is logged and told to the user later, a machine's
    /// message is logged, anything else from the user is answered with why.
    async fn refused(
        &self,
        message: &InboundMessage,
        refusal: &Refusal,
        first_time: bool,
        heard: impl Fn(String) -> CommandHeard,
    ) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        let record = heard(format!("refused: {refusal}"));
        if refusal.is_security() {
            warn!(from = %record.from, message_id = %record.message_id, "a reply to the digest was not acted on: {refusal}");
            add_refused(
                store,
                &format!(
                    "{}: a reply from {} ({}) was not acted on: {refusal}",
                    self.now.format("%Y-%m-%d %H:%M UTC"),
                    record.from,
                    record.message_id
                ),
            )?;
        } else {
            info!(from = %record.from, message_id = %record.message_id, "a reply to the digest was not acted on: {refusal}");
        }
        if first_time && !matches!(refusal, Refusal::Replayed) {
            note_heard(store, &record)?;
        }
        if refusal.is_answered() && first_time {
            self.confirm(message, &[format!("nothing was done: {refusal}")])
                .await?;
        }
        Ok(())
    }

    /// Whether the queue file shown as `shown` is no longer as the digest showed it.
    fn changed_since(&self, shown: &Shown) -> Result<bool, DaemonError> {
        let Some(entry) = self
            .live
            .queue
            .find_in(&[Folder::Pending], &shown.number.to_string())
            .ok()
            .flatten()
        else {
            // Not waiting any more: `decide` says where it went.
            return Ok(false);
        };
        let same_key = entry.key().is_some_and(|k| k.to_string() == shown.key);
        let bytes = std::fs::read(&entry.path).unwrap_or_default();
        Ok(!same_key || file_hash(&bytes) != shown.sha256)
    }

    /// Sends an approved message at once, by the same path as a file moved to `approved/`.
    async fn send_now(&self, number: u32, what: &str) -> Result<String, DaemonError> {
        let Some(entry) = self
            .live
            .queue
            .find_in(&[Folder::Approved], &number.to_string())?
        else {
            return Ok(format!("approved {what}"));
        };
        let late = entry.parsed.as_ref().is_ok_and(|f| f.late);
        let past_limit = entry.key().and_then(|key| {
            let iv = self.ws.interview(&key.interview)?;
            self.ws.config.policy.past_limit(key.step, iv, self.now)
        });
        if past_limit.is_some() && !late {
            return Ok(format!(
                "approved {what}, but it is past the thank-you's limit, so it was not sent: \
                 reply `approve late {number}` to send it anyway"
            ));
        }
        let mut report = TickReport::default();
        if let Some(problem) = self.send_approved(&entry, &mut report).await? {
            return Ok(format!("approved {what}, but not sent: {problem}"));
        }
        let sent = entry
            .key()
            .map(|k| self.live.store.get(k))
            .transpose()?
            .flatten()
            .filter(|r| r.state == crate::core::SendState::Sent);
        Ok(match sent {
            Some(r) => format!(
                "approved and sent {what} to {}",
                r.to.as_deref().unwrap_or("them")
            ),
            None => format!("approved {what}; it goes out when the mail server takes it"),
        })
    }

    /// The confirmation: to the user alone, threaded under their reply.
    async fn confirm(&self, reply: &InboundMessage, lines: &[String]) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        let mut body = String::from("Your reply to the digest was read:\n\n");
        for line in lines {
            body.push_str(&format!("- {line}\n"));
        }
        let refused = kept::refused(store)?;
        if !refused.is_empty() {
            body.push_str(&refused_note(&refused));
        }
        let subject = if reply.subject.to_ascii_lowercase().starts_with("re:") {
            reply.subject.clone()
        } else {
            format!("Re: {}", reply.subject)
        };
        let me = Mailbox::from(&self.ws.config.owner);
        let mut message = Outgoing::new(me.clone(), me, Draft { subject, body }, self.now);
        // Under the reply alone: the confirmation names no digest, so it is never a command.
        if let Some(id) = &reply.message_id {
            message.in_reply_to = Some(id.clone());
            message.references = vec![id.clone()];
        }
        store.set_meta(&format!("{OWN}{}", message.message_id), "confirmation")?;
        if self.send_own(&message).await && !refused.is_empty() {
            clear_refused(store)?;
        }
        Ok(())
    }
}

fn refused_note(refused: &[String]) -> String {
    let mut note = String::from(
        "\nReplies to a digest that were not acted on, for your safety (none was answered):\n\n",
    );
    for line in refused {
        note.push_str(&format!("- {line}\n"));
    }
    note
}
