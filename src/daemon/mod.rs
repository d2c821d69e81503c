//! `followup run`: the loop around the planner.
//!
//! Each [`Daemon::tick`] loads nothing and decides nothing itself: it asks the planner what is
//! due at `now`, claims each due send in the state with a compare-and-swap, and acts on it by
//! the mode (queue it, send it, or only show it). The alarm clock, the file watcher and the
//! signals only decide *when* to tick; the truth is in the store, so a tick that runs twice
//! sends nothing twice.

mod alarm;
mod notices;
mod sending;
mod serve;
mod status_line;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use tracing::{error, info, warn};

pub use alarm::{Alarm, Wake};

use crate::compose::compose;
use crate::config::Mode;
use crate::core::{ActionState, Channel, SendKey, SendState, Status, Step, plan};
use crate::delivery::Transport;
use crate::delivery::queue::{Entry, Folder, QueueDir};
use crate::diagnostic::Diagnostics;
use crate::message::{Mailbox, Outgoing, parse_eml};
use crate::shutdown::Shutdown;
use crate::store::{SendRecord, Store, StoreError, export};
use crate::workspace::{PROBLEMS_FILE, SNAPSHOT_FILE, Workspace};

/// The first retry waits this long; each next one twice as long, up to [`RETRY_MAX`].
pub const RETRY_FIRST: TimeDelta = TimeDelta::minutes(5);
pub const RETRY_MAX: TimeDelta = TimeDelta::hours(1);
/// At most one "waiting for approval" digest per this long.
pub const DIGEST_EVERY: TimeDelta = TimeDelta::hours(1);

/// Why a tick could not do its work. Nothing is sent when the state cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Queue(#[from] crate::delivery::queue::QueueError),
    #[error("no state is open (dry-run mode never opens it)")]
    NoState,
}

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub queued: Vec<SendKey>,
    pub sent: Vec<SendKey>,
    pub deferred: Vec<SendKey>,
    pub failed: Vec<SendKey>,
    pub uncertain: Vec<SendKey>,
    /// Shown in dry-run mode.
    pub shown: Vec<SendKey>,
    /// When something is next due; `None` when nothing is planned.
    pub next: Option<DateTime<Utc>>,
}

/// The daemon's world: the last good workspace, the state, the queue and the transport.
pub struct Daemon<T: Transport> {
    config_path: PathBuf,
    ws: Workspace,
    store: Option<Box<dyn Store>>,
    queue: QueueDir,
    transport: Option<T>,
    mode: Mode,
    /// Dry-run: what was already shown, so each message is printed once.
    shown: BTreeSet<SendKey>,
    /// Queue files that cannot be used, by path: logged once, shown by `status`.
    problems: BTreeMap<PathBuf, String>,
    /// Checked before each send: after SIGTERM nothing new starts.
    shutdown: Shutdown,
}

impl<T: Transport> Daemon<T> {
    /// `store` is `None` in dry-run mode, which never opens the database; `transport` is `None`
    /// in dry-run mode, which never connects.
    pub fn new(
        config_path: &Path,
        ws: Workspace,
        store: Option<Box<dyn Store>>,
        transport: Option<T>,
        mode: Mode,
    ) -> Result<Self, DaemonError> {
        let queue = match mode {
            Mode::DryRun => QueueDir::untouched(&ws.config.queue_dir),
            _ => QueueDir::open(&ws.config.queue_dir)?,
        };
        Ok(Self {
            config_path: config_path.to_path_buf(),
            ws,
            store,
            queue,
            transport,
            mode,
            shown: BTreeSet::new(),
            problems: BTreeMap::new(),
            shutdown: Shutdown::default(),
        })
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    pub fn queue(&self) -> &QueueDir {
        &self.queue
    }

    pub fn transport(&self) -> Option<&T> {
        self.transport.as_ref()
    }

    /// Reads the user's files again. A version that does not validate is logged with its file
    /// and line and changes nothing: the last good one stays in force.
    pub fn reload(&mut self) -> Result<(), Diagnostics> {
        match Workspace::load(&self.config_path) {
            Ok(ws) => {
                if ws.config.queue_dir != self.ws.config.queue_dir
                    || ws.config.state_dir != self.ws.config.state_dir
                {
                    warn!("state_dir and queue_dir changes take effect at the next start");
                }
                info!(interviews = ws.interviews.len(), "reloaded the records");
                let (queue_dir, state_dir) = (
                    self.ws.config.queue_dir.clone(),
                    self.ws.config.state_dir.clone(),
                );
                self.ws = ws;
                self.ws.config.queue_dir = queue_dir;
                self.ws.config.state_dir = state_dir;
                Ok(())
            }
            Err(problems) => {
                for p in &problems.0 {
                    error!("{p}");
                }
                error!("the edit does not validate: the last good version stays in force");
                Err(problems)
            }
        }
    }

    /// Resolves sends that a previous process left half done. A send whose body was never
    /// handed over is due again; one whose body may have been is `uncertain`: never resent
    /// automatically, put in the approval queue with a note, and reported.
    pub async fn recover(&mut self, now: DateTime<Utc>) -> Result<TickReport, DaemonError> {
        let mut report = TickReport::default();
        let Some(store) = &self.store else {
            return Ok(report);
        };
        let approved: BTreeSet<SendKey> = keys_in(&self.queue.scan(Folder::Approved)?);
        for record in store.all()? {
            if record.state != SendState::Sending {
                continue;
            }
            let key = record.key.clone();
            let mut next = record.clone();
            next.updated_at = now;
            if record.body_handed_over {
                next.state = SendState::Uncertain;
                next.last_error =
                    Some("followup stopped after the message may have been handed over".into());
                // The decision file before the state, as in `deliver`.
                self.queue_for_decision(&next, &approved)?;
                if self.transition(&key, SendState::Sending, &next)? {
                    warn!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "uncertain: the previous run stopped mid-send");
                    self.notify_problem(&next, now).await;
                    report.uncertain.push(key);
                }
            } else {
                next.state = if approved.contains(&key) {
                    SendState::Queued
                } else {
                    SendState::Deferred
                };
                next.next_attempt = Some(now);
                if self.transition(&key, SendState::Sending, &next)? {
                    info!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "retrying: the previous run stopped before the message went out");
                }
            }
        }
        self.write_snapshot()?;
        Ok(report)
    }

    /// Does everything that is due at `now`, and says when to look again.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Result<TickReport, DaemonError> {
        let mut report = TickReport::default();
        if self.mode == Mode::DryRun {
            return self.dry_run_tick(now);
        }
        self.note_statuses(now)?;
        self.reconcile_queue(now, &mut report).await?;
        self.cancel_moot(now)?;

        let store = self.store()?;
        let history = store.history()?;
        let c = &self.ws.config;
        let actions = plan(&self.ws.interviews, &history, &c.policy, &c.owner, now);
        let approved = keys_in(&self.queue.scan(Folder::Approved)?);
        for action in actions
            .iter()
            .filter(|a| a.state.is_pending() && a.due <= now)
        {
            if self.shutdown.is_triggered() {
                break;
            }
            if approved.contains(&action.key) {
                continue; // The user's approved file is the message; reconcile_queue sends it.
            }
            match store.get(&action.key)? {
                Some(record) if record.state == SendState::Deferred => {
                    self.retry(record, now, &mut report).await?;
                }
                Some(record) if record.state != SendState::Planned => {}
                _ => {
                    self.start_send(&action.key, action.due, now, &mut report)
                        .await?
                }
            }
        }
        if self.mode == Mode::Approve && !report.queued.is_empty() {
            self.store()?
                .set_meta("last_queued_at", &now.to_rfc3339())?;
        }
        self.send_digest_if_due(now).await?;
        self.write_snapshot()?;
        report.next = self.next_wake(now)?;
        Ok(report)
    }

    /// A new send: queued for approval or sent, by the mode.
    async fn start_send(
        &self,
        key: &SendKey,
        due: DateTime<Utc>,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), DaemonError> {
        let earlier = self.thread_of(key)?;
        let message = match compose(&self.ws, key, &earlier, now) {
            Ok(message) => message,
            Err(e) => {
                // Templates were checked at load; a failure here is reported, never sent.
                error!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "cannot render: {e}");
                return Ok(());
            }
        };
        // A call reminder or a notice goes to the user alone: there is nothing to approve.
        let mode = match (self.mode, key.step.channel()) {
            (Mode::Approve, Channel::Call | Channel::Notice) => Mode::Send,
            (mode, _) => mode,
        };
        match mode {
            Mode::Approve => {
                // The file first, then the state: after a crash in between, the next tick finds
                // the file (enqueue is idempotent per key) and records it.
                let written = self.queue.enqueue(&message, due)?;
                let mut record = SendRecord::new(key.clone(), SendState::Queued, now);
                describe(&mut record, &message);
                if self
                    .store()?
                    .transition(key, &[None, Some(SendState::Planned)], &record)?
                {
                    info!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, file = %written.path.display(), "queued for approval");
                    report.queued.push(key.clone());
                }
            }
            Mode::Send => {
                let mut record = SendRecord::new(key.clone(), SendState::Sending, now);
                describe(&mut record, &message);
                self.deliver(
                    record,
                    &message,
                    &[None, Some(SendState::Planned)],
                    now,
                    report,
                )
                .await?;
            }
            Mode::DryRun => {}
        }
        Ok(())
    }

    /// A send that failed for a passing reason, tried again with the same message.
    async fn retry(
        &self,
        record: SendRecord,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), DaemonError> {
        if record.next_attempt.is_some_and(|t| t > now) {
            return Ok(());
        }
        let limit = self.hard_limit(&record);
        if now > limit {
            // The daemon was away past the step's limit: too late to send on its own.
            let mut failed = record.clone();
            failed.state = SendState::Failed;
            failed.updated_at = now;
            failed.last_error = Some(format!(
                "still not delivered at the step's limit ({}); not sent late{}",
                limit.format("%Y-%m-%d %H:%M UTC"),
                record
                    .last_error
                    .as_deref()
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ));
            if self.transition(&record.key, SendState::Deferred, &failed)? {
                error!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, "failed: past its limit while retrying");
                report.failed.push(record.key.clone());
                self.notify_problem(&failed, now).await;
            }
            return Ok(());
        }
        let Some(message) = self.stored_message(&record, now) else {
            error!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, "the stored message cannot be read back; not retried");
            return Ok(());
        };
        self.deliver(record, &message, &[Some(SendState::Deferred)], now, report)
            .await?;
        Ok(())
    }

    /// The message a record holds, rebuilt to send again (same Message-ID, so it threads).
    fn stored_message(&self, record: &SendRecord, now: DateTime<Utc>) -> Option<Outgoing> {
        let eml = record.rendered.as_deref()?;
        let file = parse_eml(eml.as_bytes()).ok()?;
        file.into_outgoing(Mailbox::from(&self.ws.config.owner), now)
            .ok()
    }

    /// Earlier messages to the same person about the same interview, oldest first: what a
    /// follow-up threads under.
    fn thread_of(&self, key: &SendKey) -> Result<Vec<(String, String)>, DaemonError> {
        Ok(thread_in(&self.store()?.all()?, key))
    }

    /// Records when each interview was first seen in its current status.
    fn note_statuses(&self, now: DateTime<Utc>) -> Result<(), DaemonError> {
        let store = self.store()?;
        for iv in &self.ws.interviews {
            store.note_status(&iv.id, iv.status, now)?;
        }
        Ok(())
    }

    /// Sends approved files, and records rejected and deleted ones.
    async fn reconcile_queue(
        &mut self,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), DaemonError> {
        let mut still_problems = BTreeMap::new();
        for entry in self.queue.scan(Folder::Approved)? {
            if self.shutdown.is_triggered() {
                break;
            }
            if let Some(problem) = self.send_approved(&entry, now, report).await? {
                let file = entry.path.display().to_string();
                let problem = if problem.starts_with(&file) {
                    problem
                } else {
                    format!("{file}: {problem}")
                };
                if self.problems.get(&entry.path) != Some(&problem) {
                    error!("{problem}");
                }
                still_problems.insert(entry.path.clone(), problem);
            }
        }
        for entry in self.queue.scan(Folder::Pending)? {
            if let Some(d) = entry.diagnostic() {
                let problem = d.to_string();
                if self.problems.get(&entry.path) != Some(&problem) {
                    warn!("{problem}");
                }
                still_problems.insert(entry.path.clone(), problem);
            }
        }
        self.problems = still_problems;

        let store = self.store()?;
        for entry in self.queue.scan(Folder::Rejected)? {
            if let Some(key) = entry.key() {
                self.mark_rejected(key, "rejected in the approval queue", now)?;
            }
        }
        let queued: Vec<SendKey> = store
            .all()?
            .into_iter()
            .filter(|r| r.state == SendState::Queued)
            .map(|r| r.key)
            .collect();
        for key in self.queue.missing(&queued)? {
            self.mark_rejected(&key, "deleted from the approval queue", now)?;
        }
        let _ = store;
        Ok(())
    }

    fn mark_rejected(
        &self,
        key: &SendKey,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DaemonError> {
        let store = self.store()?;
        if let Some(record) = store.get(key)?
            && matches!(record.state, SendState::Queued | SendState::Uncertain)
        {
            let mut next = record.clone();
            next.state = SendState::Rejected;
            next.note = Some(why.into());
            next.updated_at = now;
            if store.transition(key, &[Some(record.state)], &next)? {
                info!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "{why}");
            }
        }
        Ok(())
    }

    /// Sends one approved file if it may be sent; returns the problem otherwise.
    async fn send_approved(
        &self,
        entry: &Entry,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<Option<String>, DaemonError> {
        let file = match &entry.parsed {
            Ok(file) => file.clone(),
            Err(_) => return Ok(entry.diagnostic().map(|d| d.to_string())),
        };
        let key = file.key.clone();
        let Some(record) = self.store()?.get(&key)? else {
            return Ok(Some(format!(
                "`{key}` is not a send followup knows; the file was not sent (was the key edited?)"
            )));
        };
        match record.state {
            SendState::Queued | SendState::Uncertain => {}
            SendState::Deferred if record.next_attempt.is_none_or(|t| t <= now) => {}
            SendState::Deferred => return Ok(None),
            SendState::Sent if record.message_id.as_deref() == Some(file.message_id.as_str()) => {
                // Sent, but the process stopped before the file was moved: finish that.
                self.queue.mark_sent(entry, &read_to_string(&entry.path))?;
                return Ok(None);
            }
            other => {
                return Ok(Some(format!(
                    "`{key}` is {}: this file is not sent; move it to rejected/",
                    other.as_str()
                )));
            }
        }
        if let Some(problem) = self.too_late(&key, file.late, now) {
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
        let message = match file.into_outgoing(Mailbox::from(&self.ws.config.owner), now) {
            Ok(message) => message,
            Err(e) => return Ok(Some(e.to_string())),
        };
        let mut next = record.clone();
        next.state = SendState::Sending;
        describe(&mut next, &message);
        let expected = [Some(record.state)];
        if let Some(SendState::Sent) = self.deliver(next, &message, &expected, now, report).await? {
            self.queue.mark_sent(entry, &message.to_eml())?;
        }
        Ok(None)
    }

    /// A thank-you approved after its hard limit waits for the user to say so again.
    fn too_late(&self, key: &SendKey, approved_late: bool, now: DateTime<Utc>) -> Option<String> {
        let iv = self.ws.interview(&key.interview)?;
        let limit = iv.end + self.ws.config.policy.thank_you_limit;
        (key.step == Step::ThankYou && now > limit && !approved_late).then(|| {
            format!(
                "approved after the thank-you's limit ({}); to send it anyway run `followup queue approve --late {key}`",
                limit.format("%Y-%m-%d %H:%M UTC")
            )
        })
    }

    /// Queued or retrying sends whose interview was removed or reached an outcome that stops them.
    fn cancel_moot(&self, now: DateTime<Utc>) -> Result<(), DaemonError> {
        let store = self.store()?;
        for record in store.all()? {
            if !matches!(record.state, SendState::Queued | SendState::Deferred) {
                continue;
            }
            let why = match self.ws.interview(&record.key.interview) {
                None => Some("the interview was removed from the records".to_string()),
                Some(iv) => match (iv.status, record.key.step) {
                    (Status::Rejected, Step::AfterRejection) => None,
                    (Status::Rejected | Status::Offer | Status::Withdrawn | Status::Closed, _) => {
                        Some(format!("the interview is now {}", iv.status.as_str()))
                    }
                    _ => None,
                },
            };
            let Some(why) = why else { continue };
            let mut next = record.clone();
            next.state = SendState::Cancelled;
            next.note = Some(why.clone());
            next.updated_at = now;
            if store.transition(&record.key, &[Some(record.state)], &next)? {
                info!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, "cancelled: {why}");
                if let Ok(Some(entry)) = self.queue.find_in(
                    &[Folder::Pending, Folder::Approved],
                    &record.key.to_string(),
                ) {
                    let _ = self.queue.reject(&entry.id);
                }
            }
        }
        Ok(())
    }

    /// Dry-run: each due message printed once; no state, no queue, no connection.
    fn dry_run_tick(&mut self, now: DateTime<Utc>) -> Result<TickReport, DaemonError> {
        let mut report = TickReport::default();
        let saved = self.ws.saved_snapshot().unwrap_or_default();
        let records = saved.as_ref().map(|s| s.sends.clone()).unwrap_or_default();
        let history = saved.map(|s| s.history()).unwrap_or_default();
        let c = &self.ws.config;
        let actions = plan(&self.ws.interviews, &history, &c.policy, &c.owner, now);
        for a in actions
            .iter()
            .filter(|a| a.state.is_pending() && a.due <= now)
        {
            if !self.shown.insert(a.key.clone()) {
                continue;
            }
            match compose(&self.ws, &a.key, &thread_in(&records, &a.key), now) {
                Ok(message) => {
                    println!(
                        "# dry run: {} due {} ({})",
                        a.key,
                        a.due.to_rfc3339(),
                        a.reason
                    );
                    println!("{}", message.to_eml());
                    report.shown.push(a.key.clone());
                }
                Err(e) => {
                    error!(key = %a.key, interview = %a.key.interview, step = %a.key.step, recipient = %a.key.recipient, "cannot render: {e}")
                }
            }
        }
        report.next = actions
            .iter()
            .filter(|a| a.state.is_pending() && a.due > now && !self.shown.contains(&a.key))
            .map(|a| a.due)
            .min();
        Ok(report)
    }

    /// The next instant anything is due.
    fn next_wake(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, DaemonError> {
        let history = self.store()?.history()?;
        let c = &self.ws.config;
        Ok(
            plan(&self.ws.interviews, &history, &c.policy, &c.owner, now)
                .iter()
                .filter(|a| a.state.is_pending() || a.state == ActionState::Deferred)
                .map(|a| a.due)
                .filter(|due| *due > now)
                .min(),
        )
    }

    fn store(&self) -> Result<&dyn Store, DaemonError> {
        self.store.as_deref().ok_or(DaemonError::NoState)
    }

    fn transition(
        &self,
        key: &SendKey,
        from: SendState,
        next: &SendRecord,
    ) -> Result<bool, DaemonError> {
        Ok(self.store()?.transition(key, &[Some(from)], next)?)
    }

    /// The copy of the state that read-only commands use while this process holds the lock.
    fn write_snapshot(&self) -> Result<(), DaemonError> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let json = export(store.as_ref())?;
        let path = self.ws.config.state_dir.join(SNAPSHOT_FILE);
        write_atomically(&path, json.as_bytes()).map_err(|source| DaemonError::Io {
            path,
            cause: source,
        })?;
        let problems: Vec<&String> = self.problems.values().collect();
        let path = self.ws.config.state_dir.join(PROBLEMS_FILE);
        let json = serde_json::to_string_pretty(&problems).unwrap_or_default();
        write_atomically(&path, json.as_bytes()).map_err(|source| DaemonError::Io {
            path,
            cause: source,
        })
    }

    /// Queue files that cannot be used, with their problems.
    pub fn problems(&self) -> &BTreeMap<PathBuf, String> {
        &self.problems
    }

    /// Puts an uncertain message in the approval queue with a note, for the user to decide.
    fn queue_for_decision(
        &self,
        record: &SendRecord,
        approved: &BTreeSet<SendKey>,
    ) -> Result<(), DaemonError> {
        if approved.contains(&record.key) {
            // Back from approved/ to pending/: approving it again is the decision to resend.
            if let Some(entry) = self
                .queue
                .find_in(&[Folder::Approved], &record.key.to_string())?
            {
                let to = self
                    .queue
                    .dir(Folder::Pending)
                    .join(entry.path.file_name().unwrap_or_default());
                std::fs::rename(&entry.path, &to).map_err(|source| DaemonError::Io {
                    path: to,
                    cause: source,
                })?;
            }
            return Ok(());
        }
        let Some(mut message) = self.stored_message(record, record.updated_at) else {
            return Ok(());
        };
        message.note = Some(
            "this may already have been delivered (followup stopped mid-send); approve to send it again with the same Message-ID, or reject it".into(),
        );
        self.queue.enqueue(&message, record.reserved_at)?;
        Ok(())
    }
}

/// The thread `key` follows up on, from the records: the earlier messages to the same person
/// about the same interview (sent, or maybe sent), oldest first, as (Message-ID, subject).
pub fn thread_in(records: &[SendRecord], key: &SendKey) -> Vec<(String, String)> {
    if key.step.channel() != Channel::Email {
        return Vec::new();
    }
    let mut earlier: Vec<_> = records
        .iter()
        .filter(|r| {
            r.key.interview == key.interview
                && r.key.recipient == key.recipient
                && r.key != *key
                && r.key.step.channel() == Channel::Email
                && matches!(r.state, SendState::Sent | SendState::Uncertain)
        })
        .filter_map(|r| {
            Some((
                r.sent_at.unwrap_or(r.reserved_at),
                r.message_id.clone()?,
                r.subject.clone()?,
            ))
        })
        .collect();
    earlier.sort();
    earlier
        .into_iter()
        .map(|(_, id, subject)| (id, subject))
        .collect()
}

/// Fills in what a record keeps of its message.
fn describe(record: &mut SendRecord, message: &Outgoing) {
    record.message_id = Some(message.message_id.clone());
    record.subject = Some(message.subject.clone());
    record.to = Some(message.to.email.to_string());
    record.rendered = Some(message.to_eml());
}

fn keys_in(entries: &[Entry]) -> BTreeSet<SendKey> {
    entries.iter().filter_map(|e| e.key().cloned()).collect()
}

fn read_to_string(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Writes through a temporary file and a rename, so a reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
