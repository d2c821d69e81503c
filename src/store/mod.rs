//! The durable state: what happened to every send, behind a small trait.
//!
//! The planner only needs a [`History`]; the daemon also needs to claim a send before it talks
//! to SMTP and to record how far it got. Both go through [`Store`], so a test or a future
//! backend can stand in for sled. The one rule every implementation keeps: a successful
//! [`Store::transition`] is durable before it returns, because the caller is about to act on it.

pub mod by_reply;
mod open;
pub mod requests;
mod sled_store;
pub mod snapshot;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::core::heard::{HeardByInterview, HeardRecord};
use crate::core::{
    Channel, EmailAddress, History, MessageId, PastSend, SendKey, SendState, Status, Step,
    ThreadRef, Undeliverable,
};
use crate::mailbox::Cursor;

pub use sled_store::SledStore;

/// The schema this build writes and the newest it can read.
pub const SCHEMA_VERSION: u32 = 1;

/// The `format` tag of an export, so an unrelated JSON file is refused up front.
pub const EXPORT_FORMAT: &str = "followup-state";

/// Everything the state knows of one send: enough to plan, to send the same message again after
/// a crash, to thread follow-ups and to explain itself in `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendRecord {
    pub key: SendKey,
    pub state: SendState,
    pub message_id: Option<MessageId>,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the send was queued or first claimed: what the weekly cap counts.
    pub reserved_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub next_attempt: Option<DateTime<Utc>>,
    /// The message handed to SMTP (or about to be), stored before connecting, so a resend after
    /// a crash is the same message (Message-ID, addresses, subject, threading and text kept; the
    /// Date renewed and attachments read again from their files) and `status` can show it.
    /// UTF-8 RFC 5322 text, as the queue's `.eml` files are, so the export stays readable.
    pub rendered: Option<String>,
    /// The first message's subject, which follow-ups thread under.
    pub subject: Option<String>,
    pub to: Option<String>,
    /// Whether the last attempt got as far as handing the body over: at start-up this tells a
    /// `sending` that is safe to retry from one that is uncertain.
    pub body_handed_over: bool,
    pub note: Option<String>,
}

impl SendRecord {
    /// A fresh record reserved at `at`, with nothing else known yet.
    pub fn new(key: SendKey, state: SendState, at: DateTime<Utc>) -> Self {
        Self {
            key,
            state,
            message_id: None,
            attempts: 0,
            last_error: None,
            created_at: at,
            reserved_at: at,
            updated_at: at,
            sent_at: (state == SendState::Sent).then_some(at),
            next_attempt: None,
            rendered: None,
            subject: None,
            to: None,
            body_handed_over: false,
            note: None,
        }
    }

    /// The planner's view. The user's note and the last error both end up in reasons, so both
    /// are kept.
    pub fn to_past(&self) -> PastSend {
        let note = match (&self.note, &self.last_error) {
            (Some(note), Some(error)) => Some(format!("{note}; last error: {error}")),
            (Some(note), None) => Some(note.clone()),
            (None, Some(error)) => Some(error.clone()),
            (None, None) => None,
        };
        PastSend {
            state: self.state,
            reserved_at: self.reserved_at,
            sent_at: self.sent_at,
            next_attempt: self.next_attempt,
            note,
        }
    }
}

/// What was heard, grouped by interview, as [`History::heard`] holds it.
pub fn by_interview(heard: impl IntoIterator<Item = HeardRecord>) -> HeardByInterview {
    let mut out = HeardByInterview::new();
    for record in heard {
        out.entry(record.interview.clone())
            .or_default()
            .push(record);
    }
    out
}

/// The thread `key` follows up on: the earlier e-mails to the same person about the same
/// interview that were sent (or may have been), oldest first. Only e-mail threads.
pub fn thread_in<'r>(
    records: impl IntoIterator<Item = &'r SendRecord>,
    key: &SendKey,
) -> Vec<ThreadRef> {
    if key.step.channel() != Channel::Email {
        return Vec::new();
    }
    let mut earlier: Vec<_> = records
        .into_iter()
        .filter(|r| {
            r.key.interview == key.interview
                && r.key.recipient == key.recipient
                && r.key != *key
                && r.key.step.channel() == Channel::Email
                && matches!(r.state, SendState::Sent | SendState::Uncertain)
        })
        .filter_map(|r| {
            let at = r.sent_at.unwrap_or(r.reserved_at);
            let thread = ThreadRef {
                message_id: r.message_id.clone()?,
                subject: r.subject.clone()?,
            };
            Some((at, thread))
        })
        .collect();
    earlier.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.message_id.cmp(&b.1.message_id))
    });
    earlier.into_iter().map(|(_, thread)| thread).collect()
}

/// [`thread_in`] over the records of a round, by key: only the interview's own records are
/// looked at (keys order by interview first), so finding a thread does not grow with the state.
pub fn thread_in_records(records: &BTreeMap<SendKey, SendRecord>, key: &SendKey) -> Vec<ThreadRef> {
    let first = SendKey {
        interview: key.interview.clone(),
        step: Step::ALL.iter().copied().min().unwrap_or(Step::ThankYou),
        recipient: String::new(),
    };
    let own = records
        .range(first..)
        .take_while(|(k, _)| k.interview == key.interview)
        .map(|(_, r)| r);
    thread_in(own, key)
}

/// When the state first saw an interview in a status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusSeen {
    pub interview: String,
    pub status: Status,
    pub seen_at: DateTime<Utc>,
}

/// An address mail cannot reach, however that was learnt (a refusal at SMTP time, or a bounce
/// found later), and whether the user was asked for a better one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndeliverableAddress {
    /// Lower-cased, as in send keys.
    pub address: String,
    pub at: DateTime<Utc>,
    /// What the server said, such as `550 5.1.1 No such user`.
    pub reason: String,
    /// When the notice asking for a better address went out; `None` until it has.
    #[serde(default)]
    pub notice_sent_at: Option<DateTime<Utc>>,
}

impl UndeliverableAddress {
    /// The planner's view.
    pub fn to_past(&self) -> Undeliverable {
        Undeliverable {
            at: self.at,
            reason: self.reason.clone(),
        }
    }
}

/// The whole state as plain values: what `export` writes and `import` reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format: String,
    pub schema_version: u32,
    pub sends: Vec<SendRecord>,
    pub status_seen: Vec<StatusSeen>,
    /// Small named values such as when the last digest went out.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
    /// Absent from exports written before addresses could be marked; they read as none.
    #[serde(default)]
    pub undeliverable: Vec<UndeliverableAddress>,
    /// What the mailbox said (absent from exports written before it was read: none).
    #[serde(default)]
    pub heard: Vec<HeardRecord>,
    /// How far each mailbox folder was read.
    #[serde(default)]
    pub cursors: BTreeMap<String, Cursor>,
}

impl Snapshot {
    /// The state of an installation where nothing happened yet.
    pub fn empty() -> Self {
        Self {
            format: EXPORT_FORMAT.into(),
            schema_version: SCHEMA_VERSION,
            sends: Vec::new(),
            status_seen: Vec::new(),
            meta: BTreeMap::new(),
            undeliverable: Vec::new(),
            heard: Vec::new(),
            cursors: BTreeMap::new(),
        }
    }

    /// The planner's view of this state.
    pub fn history(&self) -> History {
        History {
            sends: self
                .sends
                .iter()
                .map(|r| (r.key.clone(), r.to_past()))
                .collect(),
            status_seen: self
                .status_seen
                .iter()
                .map(|s| (s.interview.clone(), (s.status, s.seen_at)))
                .collect(),
            undeliverable: self
                .undeliverable
                .iter()
                .map(|u| (u.address.clone(), u.to_past()))
                .collect(),
            heard: by_interview(self.heard.iter().cloned()),
        }
    }

    fn is_empty(&self) -> bool {
        self.sends.is_empty()
            && self.status_seen.is_empty()
            && self.meta.is_empty()
            && self.undeliverable.is_empty()
            && self.heard.is_empty()
            && self.cursors.is_empty()
    }

    /// Refuses anything the store would not have written itself, before a byte is changed.
    fn validate(&self) -> Result<(), StoreError> {
        let invalid = |detail: String| Err(StoreError::InvalidImport { detail });
        if self.format != EXPORT_FORMAT {
            return invalid(format!(
                "`format` is `{}`, expected `{EXPORT_FORMAT}`: this is not a followup state export",
                self.format
            ));
        }
        if self.schema_version > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: PathBuf::from("<import>"),
                found: self.schema_version,
                supported: SCHEMA_VERSION,
            });
        }
        if self.schema_version == 0 {
            return invalid("`schema_version` 0 does not exist; the first is 1".into());
        }
        let mut keys = BTreeSet::new();
        for record in &self.sends {
            check_key(&record.key)?;
            if !keys.insert(&record.key) {
                return invalid(format!("send `{}` appears twice", record.key));
            }
        }
        let mut interviews = BTreeSet::new();
        for seen in &self.status_seen {
            if seen.interview.is_empty() {
                return invalid("a `status_seen` entry has an empty interview id".into());
            }
            if !interviews.insert(&seen.interview) {
                return invalid(format!(
                    "interview `{}` appears twice in `status_seen`",
                    seen.interview
                ));
            }
        }
        let mut addresses = BTreeSet::new();
        for u in &self.undeliverable {
            if EmailAddress::parse(&u.address)
                .map(|a| a.key())
                .ok()
                .as_deref()
                != Some(&u.address)
            {
                return invalid(format!(
                    "`{}` in `undeliverable` is not a lower-case e-mail address",
                    u.address
                ));
            }
            if !addresses.insert(&u.address) {
                return invalid(format!("`{}` appears twice in `undeliverable`", u.address));
            }
        }
        if let Some(name) = self.meta.keys().find(|name| is_reserved_meta(name)) {
            return invalid(format!("meta `{name}` is reserved for the store itself"));
        }
        Ok(())
    }
}

/// What an import did, for the command to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    pub sends: usize,
    pub status_seen: usize,
    pub meta: usize,
    pub undeliverable: usize,
    /// How many sends the store held before and were replaced.
    pub replaced_sends: usize,
}

/// The durable state. Object-safe, so the daemon can hold an `Arc<dyn Store>`.
pub trait Store: Send + Sync {
    fn get(&self, key: &SendKey) -> Result<Option<SendRecord>, StoreError>;

    /// Atomically replaces the record iff its current state is one of `expected` (`None` =
    /// absent). `Ok(false)`: someone else got there first, and nothing changed. `Ok(true)` only
    /// once the change is flushed to disk; an error means the caller must not act on it.
    fn transition(
        &self,
        key: &SendKey,
        expected: &[Option<SendState>],
        next: &SendRecord,
    ) -> Result<bool, StoreError>;

    /// [`Store::transition`] without its own flush: the claim of the send protocol. The
    /// before-body mark's flush makes it durable before any byte of the message goes out, and
    /// a claim a crash loses before that is a send that never started (it is planned again).
    fn claim(
        &self,
        key: &SendKey,
        expected: &[Option<SendState>],
        next: &SendRecord,
    ) -> Result<bool, StoreError>;

    /// Every send, in key order.
    fn all(&self) -> Result<Vec<SendRecord>, StoreError>;

    fn history(&self) -> Result<History, StoreError>;

    /// Records when `interview` was first seen in `status`. The same status again keeps the
    /// first instant; a different one replaces it.
    fn note_status(
        &self,
        interview: &str,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// [`Store::note_status`] for many interviews at once, durable before it returns, with one
    /// flush for all of them rather than one each.
    fn note_statuses(&self, seen: &[(&str, Status)], at: DateTime<Utc>) -> Result<(), StoreError> {
        for (interview, status) in seen {
            self.note_status(interview, *status, at)?;
        }
        Ok(())
    }

    /// Records that mail to `address` cannot be delivered: a permanent failure that named the
    /// recipient, whether an SMTP server refused it or a bounce came back later. Later e-mail
    /// to it is cancelled (see [`History::bounce_cancels`]). The first record is kept; `Ok(true)`
    /// when this one is new. Durable before it returns.
    fn mark_undeliverable(
        &self,
        address: &EmailAddress,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError>;

    /// Every address marked undeliverable, in address order.
    fn undeliverable(&self) -> Result<Vec<UndeliverableAddress>, StoreError>;

    /// Records what one mailbox folder said, up to `cursor`, in one durable step: the records
    /// not heard before are added (and returned, so each is told once) and the folder's cursor
    /// moves on. Reading a message again (after a crash, or a new UIDVALIDITY) changes nothing.
    fn record_heard(
        &self,
        folder: &str,
        cursor: Cursor,
        heard: &[HeardRecord],
    ) -> Result<Vec<HeardRecord>, StoreError>;

    /// How far `folder` was read; `None` before the first time.
    fn cursor(&self, folder: &str) -> Result<Option<Cursor>, StoreError>;

    /// Everything heard, in key order.
    fn heard(&self) -> Result<Vec<HeardRecord>, StoreError>;

    /// `followup resume`: the replies heard for `interview` no longer count (they were wrong).
    /// Returns how many were undone.
    fn dismiss_replies(&self, interview: &str) -> Result<usize, StoreError>;

    /// Records that the user was told `address` is undeliverable (and asked for a better one).
    fn note_undeliverable_notice(&self, address: &str, at: DateTime<Utc>)
    -> Result<(), StoreError>;

    fn meta(&self, name: &str) -> Result<Option<String>, StoreError>;

    fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError>;

    fn flush(&self) -> Result<(), StoreError>;

    /// A number that changes whenever anything in the store does (in this process), so that a
    /// copy of it can tell it is still current; `None` when the store cannot tell.
    fn revision(&self) -> Option<u64> {
        None
    }

    /// Everything, as plain values.
    fn snapshot(&self) -> Result<Snapshot, StoreError>;

    /// Replaces everything with `snapshot` in one step: afterwards the store holds exactly it.
    /// Does not validate; [`import`] does.
    fn restore(&self, snapshot: &Snapshot) -> Result<(), StoreError>;
}

/// The whole state as pretty JSON: the backup `followup state import` restores from.
pub fn export(store: &dyn Store) -> Result<String, StoreError> {
    let snapshot = store.snapshot()?;
    serde_json::to_string_pretty(&snapshot).map_err(|e| StoreError::Encode {
        key: "<export>".into(),
        detail: e.to_string(),
    })
}

/// Loads an export. Everything is checked before anything changes, and a store that already
/// holds state is only overwritten with `replace`, so a slip of the command line cannot lose
/// sends.
pub fn import(store: &dyn Store, json: &str, replace: bool) -> Result<ImportSummary, StoreError> {
    let snapshot: Snapshot = serde_json::from_str(json).map_err(|e| StoreError::InvalidImport {
        detail: e.to_string(),
    })?;
    snapshot.validate()?;
    let current = store.snapshot()?;
    if !current.is_empty() && !replace {
        return Err(StoreError::NotEmpty {
            sends: current.sends.len(),
            status_seen: current.status_seen.len(),
        });
    }
    store.restore(&snapshot)?;
    Ok(ImportSummary {
        sends: snapshot.sends.len(),
        status_seen: snapshot.status_seen.len(),
        meta: snapshot.meta.len(),
        undeliverable: snapshot.undeliverable.len(),
        replaced_sends: current.sends.len(),
    })
}

/// The meta name the schema version lives under; `set_meta` refuses it.
const SCHEMA_META: &str = "schema_version";

fn is_reserved_meta(name: &str) -> bool {
    name == SCHEMA_META
}

/// A key is stored as `interview/step/recipient`. An interview id with a `/` would make that
/// ambiguous (two keys, one string), so it is refused rather than silently merged.
fn check_key(key: &SendKey) -> Result<(), StoreError> {
    let bad = |detail: &str| {
        Err(StoreError::InvalidKey {
            key: key.to_string(),
            detail: detail.into(),
        })
    };
    if key.interview.is_empty() || key.recipient.is_empty() {
        return bad("the interview id and the recipient must not be empty");
    }
    if key.interview.contains('/') {
        return bad("an interview id must not contain `/`; rename the interview");
    }
    if key.recipient != key.recipient.to_lowercase() {
        return bad("the recipient must be lower-case");
    }
    Ok(())
}

/// Why the state could not be read or changed. Each message says what, where, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the state directory {path} is in use by another followup daemon (or command); stop it \
         first, or point this one at another state directory"
    )]
    Locked { path: PathBuf },

    #[error(
        "the state database in {path} is damaged ({detail}); it was left untouched. Move the \
         directory aside and restore a backup with `followup state import FILE` from an export"
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "the state in {path} has schema version {found}, but this followup understands up to \
         {supported}: it was written by a newer followup. Run that version, or export with it and \
         import here"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("state directory {path}: {cause}; check that it exists and is writable by this user")]
    Io {
        path: PathBuf,
        // In the message, not a `source()`, so error chains do not print it twice.
        cause: std::io::Error,
    },

    #[error("state database {path}: {cause}")]
    Sled { path: PathBuf, cause: sled::Error },

    #[error(
        "could not flush the state to disk in {path}: {cause}; the last change may not survive \
         a restart, so nothing may be sent on it. Check free space and the disk"
    )]
    Flush { path: PathBuf, cause: sled::Error },

    #[error(
        "stored record `{key}` cannot be read: {detail}; export the state, fix or remove that \
         entry, and import it again"
    )]
    Decode { key: String, detail: String },

    #[error("could not encode `{key}` for storage: {detail}")]
    Encode { key: String, detail: String },

    #[error("send key `{key}` cannot be stored: {detail}")]
    InvalidKey { key: String, detail: String },

    #[error("the record for `{record}` was offered under key `{key}`; they must be the same")]
    KeyMismatch { key: String, record: String },

    #[error("`{key}` kept changing under this update; retry later")]
    Contention { key: String },

    #[error("meta `{name}` is reserved for the store itself and cannot be set")]
    ReservedMeta { name: String },

    #[error(
        "the state already holds {sends} send(s) and {status_seen} status record(s); import \
         with --replace to overwrite them (export them first if they matter)"
    )]
    NotEmpty { sends: usize, status_seen: usize },

    #[error("the import is not valid: {detail}; nothing was changed")]
    InvalidImport { detail: String },
}
