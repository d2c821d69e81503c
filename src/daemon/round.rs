//! One round of approve or send mode: everything due at one instant, against one plan.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::{DaemonError, Live, Next, Tally, TickReport, keys_in};
use crate::core::{Channel, History, SendKey, SendState, Why, plan};
use crate::delivery::Transport;
use crate::delivery::queue::Folder;
use crate::delivery::queue::eml::{parse_eml, to_eml};
use crate::mail::compose::compose;
use crate::mail::message::{Mailbox, Outgoing};
use crate::shutdown::Shutdown;
use crate::store::{SendRecord, requests, thread_in_records};
use crate::workspace::Workspace;

/// What a round works with: the workspace as it stands, the state, the queue and the transport,
/// the instant it acts at, and whether due messages wait for approval.
pub(super) struct Round<'a, T: Transport> {
    pub ws: &'a Workspace,
    pub live: &'a Live<T>,
    pub approve: bool,
    pub now: DateTime<Utc>,
    pub shutdown: &'a Shutdown,
}

impl<'a, T: Transport> Round<'a, T> {
    pub fn new(
        ws: &'a Workspace,
        live: &'a Live<T>,
        approve: bool,
        now: DateTime<Utc>,
        shutdown: &'a Shutdown,
    ) -> Self {
        Self {
            ws,
            live,
            approve,
            now,
            shutdown,
        }
    }

    /// Records first-seen statuses; sends approved queue files and records rejected or deleted
    /// ones; cancels what an outcome or a removed record made moot; then plans once and acts on
    /// every due action; sends the approval digest when due; writes the snapshot.
    pub async fn run(
        &self,
        problems: &mut BTreeMap<PathBuf, String>,
    ) -> Result<TickReport, DaemonError> {
        let mut report = TickReport::default();
        self.note_statuses()?;
        self.apply_requests()?;
        *problems = self.reconcile_queue(problems, &mut report).await?;
        self.cancel_moot()?;

        let store = self.live.store.as_ref();
        let mut records: BTreeMap<SendKey, SendRecord> = store
            .all()?
            .into_iter()
            .map(|r| (r.key.clone(), r))
            .collect();
        let history = store.history()?;
        let c = &self.ws.config;
        let actions = plan(&self.ws.interviews, &history, &c.policy, &c.owner, self.now);
        let approved = keys_in(&self.live.queue.scan(Folder::Approved)?);
        for action in actions.iter().filter(|a| a.state.is_pending()) {
            if action.due > self.now {
                report.wake_at(action.due);
                report.next_action.get_or_insert_with(|| Next::from(action));
                continue;
            }
            if self.shutdown.is_triggered() || approved.contains(&action.key) {
                // The user's approved file is the message; reconcile_queue sends it.
                continue;
            }
            let outcome = match records.get(&action.key) {
                Some(record) if record.state == SendState::Deferred => {
                    self.retry(record.clone(), &mut report).await?
                }
                Some(record) if record.state != SendState::Planned => None,
                _ => {
                    self.start_send(&action.key, action.due, &records, &history, &mut report)
                        .await?
                }
            };
            if let Some(record) = outcome {
                if let Some(retry) = record.next_attempt {
                    report.wake_at(retry);
                }
                records.insert(record.key.clone(), record);
            }
        }
        if self.approve && !report.queued.is_empty() {
            store.set_meta("last_queued_at", &self.now.to_rfc3339())?;
        }
        self.notify_undeliverable().await?;
        self.send_digest_if_due().await?;
        self.save_snapshot(problems)?;
        report.tally = Some(Tally::of(records.values().map(|r| r.state)));
        Ok(report)
    }

    /// Resolves sends that a previous process left half done. A send whose body was never
    /// handed over is due again; one whose body may have been is `uncertain`: never resent
    /// automatically, put in the approval queue with a note, and reported.
    pub async fn recover(&self) -> Result<TickReport, DaemonError> {
        let mut report = TickReport::default();
        let store = self.live.store.as_ref();
        let approved: BTreeSet<SendKey> = keys_in(&self.live.queue.scan(Folder::Approved)?);
        for record in store.all()? {
            if record.state != SendState::Sending {
                continue;
            }
            let key = record.key.clone();
            let mut next = record.clone();
            next.updated_at = self.now;
            if record.body_handed_over {
                next.state = SendState::Uncertain;
                next.last_error =
                    Some("followup stopped after the message may have been handed over".into());
                // The decision file before the state, as in `deliver`.
                self.queue_for_decision(&next, &approved)?;
                if self.transition(&key, SendState::Sending, &next)? {
                    send_event!(warn, key, "uncertain: the previous run stopped mid-send");
                    self.notify_problem(&next).await;
                    report.uncertain.push(key);
                }
            } else {
                next.state = if approved.contains(&key) {
                    SendState::Queued
                } else {
                    SendState::Deferred
                };
                next.next_attempt = Some(self.now);
                if self.transition(&key, SendState::Sending, &next)? {
                    send_event!(
                        info,
                        key,
                        "retrying: the previous run stopped before the message went out"
                    );
                }
            }
        }
        self.save_snapshot(&BTreeMap::new())?;
        Ok(report)
    }

    /// A new send: queued for approval or sent, by the mode. Returns the record it left.
    async fn start_send(
        &self,
        key: &SendKey,
        due: DateTime<Utc>,
        records: &BTreeMap<SendKey, SendRecord>,
        history: &History,
        report: &mut TickReport,
    ) -> Result<Option<SendRecord>, DaemonError> {
        let thread = thread_in_records(records, key);
        let message = match compose(self.ws, key, &thread, history, self.now) {
            Ok(message) => message,
            Err(e) => {
                // Templates were checked at load; a failure here is reported, never sent.
                send_event!(error, key, "cannot render: {e}");
                return Ok(None);
            }
        };
        let fresh = [None, Some(SendState::Planned)];
        // A call reminder or a notice goes to the user alone: there is nothing to approve.
        let needs_approval = self.approve && key.step.channel() == Channel::Email;
        if !needs_approval {
            let mut record = SendRecord::new(key.clone(), SendState::Sending, self.now);
            describe(&mut record, key, &message);
            return self.deliver(record, &message, &fresh, report).await;
        }
        // The file first, then the state: after a crash in between, the next round finds the
        // file (enqueue is idempotent per key) and records it.
        let written = self.live.queue.enqueue(key, &message, None, due)?;
        let mut record = SendRecord::new(key.clone(), SendState::Queued, self.now);
        describe(&mut record, key, &message);
        if !self.live.store.transition(key, &fresh, &record)? {
            return Ok(None);
        }
        send_event!(info, key, file = %written.path.display(), "queued for approval");
        report.queued.push(key.clone());
        Ok(Some(record))
    }

    /// A send that failed for a passing reason, tried again with the same message.
    async fn retry(
        &self,
        record: SendRecord,
        report: &mut TickReport,
    ) -> Result<Option<SendRecord>, DaemonError> {
        if record.next_attempt.is_some_and(|t| t > self.now) {
            return Ok(None);
        }
        let limit = self.ws.interview(&record.key.interview).and_then(|iv| {
            self.ws
                .config
                .policy
                .past_limit(record.key.step, iv, self.now)
        });
        if let Some(limit) = limit {
            // The daemon was away past the step's limit: too late to send on its own.
            let mut failed = record.clone();
            failed.state = SendState::Failed;
            failed.updated_at = self.now;
            failed.last_error = Some(format!(
                "still not delivered at the step's limit ({}); not sent late{}",
                limit.format("%Y-%m-%d %H:%M UTC"),
                record
                    .last_error
                    .as_deref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ));
            if !self.transition(&record.key, SendState::Deferred, &failed)? {
                return Ok(None);
            }
            send_event!(error, record.key, "failed: past its limit while retrying");
            report.failed.push(record.key.clone());
            self.notify_problem(&failed).await;
            return Ok(Some(failed));
        }
        let Some(message) = self.stored_message(&record) else {
            send_event!(
                error,
                record.key,
                "the stored message cannot be read back; not retried"
            );
            return Ok(None);
        };
        self.deliver(record, &message, &[Some(SendState::Deferred)], report)
            .await
    }

    /// The message a record holds, rebuilt to send again (same Message-ID, so it threads).
    pub(super) fn stored_message(&self, record: &SendRecord) -> Option<Outgoing> {
        let eml = record.rendered.as_deref()?;
        let file = parse_eml(eml.as_bytes()).ok()?;
        file.into_outgoing(Mailbox::from(&self.ws.config.owner), self.now)
            .ok()
    }

    /// What the command line asked of this daemon while it held the state: `followup resume`.
    fn apply_requests(&self) -> Result<(), DaemonError> {
        for (interview, file) in requests::resumes(&self.ws.config.state_dir) {
            let undone = self.live.store.dismiss_replies(&interview)?;
            tracing::info!(interview = %interview, undone, "resumed: the replies heard no longer count");
            let _ = std::fs::remove_file(file);
        }
        Ok(())
    }

    /// Records when each interview was first seen in its current status.
    fn note_statuses(&self) -> Result<(), DaemonError> {
        let seen: Vec<_> = self
            .ws
            .interviews
            .iter()
            .map(|iv| (iv.id.as_str(), iv.status))
            .collect();
        Ok(self.live.store.note_statuses(&seen, self.now)?)
    }

    /// Queued or retrying sends whose interview was removed or reached an outcome that stops
    /// them (the rule is [`crate::core::Status::cancels`]), or whose address bounced
    /// ([`History::bounce_cancels`]); their queue files go to `rejected/`.
    fn cancel_moot(&self) -> Result<(), DaemonError> {
        let store = self.live.store.as_ref();
        let history = store.history()?;
        for record in store.all()? {
            if !record.state.is_withdrawable() {
                continue;
            }
            let why = match self.ws.interview(&record.key.interview) {
                None => Some(Why::Removed),
                Some(iv) => history.cancels_waiting(iv, &record.key, record.reserved_at, self.now),
            };
            let Some(why) = why else { continue };
            let mut next = record.clone();
            next.state = SendState::Cancelled;
            next.note = Some(why.to_string());
            next.updated_at = self.now;
            if store.transition(&record.key, &[Some(record.state)], &next)? {
                send_event!(info, record.key, "cancelled: {why}");
                if let Ok(Some(entry)) = self.live.queue.find_in(
                    &[Folder::Pending, Folder::Approved],
                    &record.key.to_string(),
                ) {
                    let _ = self.live.queue.reject(&entry.id);
                }
            }
        }
        Ok(())
    }

    /// A compare-and-swap from one state.
    pub(super) fn transition(
        &self,
        key: &SendKey,
        from: SendState,
        next: &SendRecord,
    ) -> Result<bool, DaemonError> {
        Ok(self.live.store.transition(key, &[Some(from)], next)?)
    }

    /// The copy of the state that read-only commands use while this process holds the lock.
    fn save_snapshot(&self, problems: &BTreeMap<PathBuf, String>) -> Result<(), DaemonError> {
        let problems: Vec<&String> = problems.values().collect();
        let (dir, store) = (&self.ws.config.state_dir, self.live.store.as_ref());
        Ok(self.live.snapshots.save(dir, store, &problems)?)
    }
}

/// Fills in what a record keeps of its message.
pub(super) fn describe(record: &mut SendRecord, key: &SendKey, message: &Outgoing) {
    record.message_id = Some(message.message_id.clone());
    record.subject = Some(message.subject.clone());
    record.to = Some(message.to.email.to_string());
    record.rendered = Some(to_eml(key, message, None));
}
