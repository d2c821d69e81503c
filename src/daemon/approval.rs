//! The approval queue as the user left it: approved files are sent as edited, rejected and
//! deleted ones are recorded, broken ones are reported and left alone.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use tracing::{error, warn};

use super::round::{Round, describe};
use super::{DaemonError, TickReport};
use crate::core::{SendKey, SendState};
use crate::delivery::Transport;
use crate::delivery::queue::{Entry, Folder};
use crate::mail::message::Mailbox;
use crate::store::SendRecord;

/// The remark an uncertain send carries in the approval queue.
const UNCERTAIN_NOTE: &str = "this may already have been delivered (followup stopped mid-send); \
    approve to send it again with the same Message-ID, or reject it";

impl<T: Transport> Round<'_, T> {
    /// Sends approved files, and records rejected and deleted ones. Returns the queue files that
    /// cannot be used (logged when they are new or changed since `known`).
    pub(super) async fn reconcile_queue(
        &self,
        known: &BTreeMap<PathBuf, String>,
        report: &mut TickReport,
    ) -> Result<BTreeMap<PathBuf, String>, DaemonError> {
        let queue = &self.live.queue;
        let mut problems = BTreeMap::new();
        for entry in queue.scan(Folder::Approved)? {
            if self.shutdown.is_triggered() {
                break;
            }
            if let Some(problem) = self.send_approved(&entry, report).await? {
                let file = entry.path.display().to_string();
                let problem = if problem.starts_with(&file) {
                    problem
                } else {
                    format!("{file}: {problem}")
                };
                if known.get(&entry.path) != Some(&problem) {
                    error!("{problem}");
                }
                problems.insert(entry.path.clone(), problem);
            }
        }
        for entry in queue.scan(Folder::Pending)? {
            if let Some(d) = entry.diagnostic() {
                let problem = d.to_string();
                if known.get(&entry.path) != Some(&problem) {
                    warn!("{problem}");
                }
                problems.insert(entry.path.clone(), problem);
            }
        }
        for entry in queue.scan(Folder::Rejected)? {
            if let Some(key) = entry.key() {
                self.mark_rejected(key, "rejected in the approval queue")?;
            }
        }
        let queued: Vec<SendKey> = self
            .live
            .store
            .all()?
            .into_iter()
            .filter(|r| r.state == SendState::Queued)
            .map(|r| r.key)
            .collect();
        for key in queue.missing(&queued)? {
            self.mark_rejected(&key, "deleted from the approval queue")?;
        }
        Ok(problems)
    }

    fn mark_rejected(&self, key: &SendKey, why: &str) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        if let Some(record) = store.get(key)?
            && matches!(record.state, SendState::Queued | SendState::Uncertain)
        {
            let mut next = record.clone();
            next.state = SendState::Rejected;
            next.note = Some(why.into());
            next.updated_at = self.now;
            if store.transition(key, &[Some(record.state)], &next)? {
                send_event!(info, key, "{why}");
            }
        }
        Ok(())
    }

    /// Sends one approved file if it may be sent; returns the problem otherwise.
    pub(super) async fn send_approved(
        &self,
        entry: &Entry,
        report: &mut TickReport,
    ) -> Result<Option<String>, DaemonError> {
        let file = match &entry.parsed {
            Ok(file) => file.clone(),
            Err(_) => return Ok(entry.diagnostic().map(|d| d.to_string())),
        };
        let key = file.key.clone();
        let Some(record) = self.live.store.get(&key)? else {
            return Ok(Some(format!(
                "`{key}` is not a send followup knows; the file was not sent (was the key edited?)"
            )));
        };
        match record.state {
            SendState::Queued | SendState::Uncertain => {}
            SendState::Deferred if record.next_attempt.is_none_or(|t| t <= self.now) => {}
            SendState::Deferred => return Ok(None),
            SendState::Sent if record.message_id.as_ref() == Some(&file.message_id) => {
                // Sent, but the process stopped before the file was moved: finish that.
                let sent = std::fs::read_to_string(&entry.path).unwrap_or_default();
                self.live.queue.mark_sent(entry, &sent)?;
                return Ok(None);
            }
            other => {
                return Ok(Some(format!(
                    "`{key}` is {}: this file is not sent; move it to rejected/",
                    other.as_str()
                )));
            }
        }
        if let Some(problem) = self.too_late(&key, file.late) {
            return Ok(Some(problem));
        }
        let Some(iv) = self.ws.interview(&key.interview) else {
            return Ok(Some(format!(
                "interview `{}` is no longer in the records",
                key.interview
            )));
        };
        if let Some(stray) = file
            .attachments
            .iter()
            .find(|a| !iv.attachments.contains(a))
        {
            return Ok(Some(format!(
                "attachment {} is not one of the interview's attachments; only those may be sent",
                stray.display()
            )));
        }
        let message = match file.into_outgoing(Mailbox::from(&self.ws.config.owner), self.now) {
            Ok(message) => message,
            Err(e) => return Ok(Some(e.to_string())),
        };
        let mut next = record.clone();
        next.state = SendState::Sending;
        describe(&mut next, &key, &message);
        let expected = [Some(record.state)];
        let done = self.deliver(next, &message, &expected, report).await?;
        if let Some(done) = done.filter(|d| d.state == SendState::Sent) {
            let sent = done.rendered.as_deref().unwrap_or_default();
            self.live.queue.mark_sent(entry, sent)?;
        }
        Ok(None)
    }

    /// A thank-you approved after its hard limit waits for the user to say so again.
    fn too_late(&self, key: &SendKey, approved_late: bool) -> Option<String> {
        let iv = self.ws.interview(&key.interview)?;
        let limit = self.ws.config.policy.past_limit(key.step, iv, self.now)?;
        (!approved_late).then(|| {
            format!(
                "approved after the thank-you's limit ({}); to send it anyway run `followup queue approve --late {key}`",
                limit.format("%Y-%m-%d %H:%M UTC")
            )
        })
    }

    /// Puts an uncertain message in the approval queue with a note, for the user to decide.
    pub(super) fn queue_for_decision(
        &self,
        record: &SendRecord,
        approved: &BTreeSet<SendKey>,
    ) -> Result<(), DaemonError> {
        let queue = &self.live.queue;
        if approved.contains(&record.key) {
            // Back from approved/ to pending/: approving it again is the decision to resend.
            if let Some(entry) = queue.find_in(&[Folder::Approved], &record.key.to_string())? {
                queue.return_to_pending(&entry)?;
            }
            return Ok(());
        }
        let Some(message) = self.stored_message(record) else {
            return Ok(());
        };
        queue.enqueue(
            &record.key,
            &message,
            Some(UNCERTAIN_NOTE),
            record.reserved_at,
        )?;
        Ok(())
    }
}
