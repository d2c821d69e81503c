//! [`Store`] on sled 0.34: six trees of JSON values, in a state directory the store owns
//! (opened and guarded by `open.rs`).
//!
//! ```text
//! <state>/followup.lock    held while open: one process (and one handle) per directory
//! <state>/check.json       how many sends there were: catches a log sled opened short
//! <state>/db/              the sled database, trees `sends`, `status_seen`, `meta`,
//!                          `undeliverable`, `heard`, `mailbox`
//! <state>/db.last-open/    the database as it was before the last good open
//! <state>/db.damaged/      the database as found when an open was refused as corrupt
//! ```
//!
//! - `sends`: `interview/step/recipient` → [`SendRecord`]
//! - `status_seen`: interview id → `{status, seen_at}`
//! - `meta`: name → string; `schema_version` is the store's own.
//! - `undeliverable`: lower-cased address → [`UndeliverableAddress`]
//! - `heard`: `interview/message` → [`HeardRecord`]: what the mailbox said
//! - `mailbox`: folder name → [`Cursor`]: how far it was read
//!
//! Trees added after the first release need no schema change: a state written before them
//! simply has none.
//!
//! sled 0.34 only makes writes durable on flush, so every write here flushes and checks the
//! result before it reports success.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{TransactionError, Transactional};
use sled::{IVec, Tree};

use super::open::open_error;
use super::{
    Cursor, EXPORT_FORMAT, SCHEMA_VERSION, SendRecord, Snapshot, StatusSeen, Store, StoreError,
    UndeliverableAddress, check_key, is_reserved_meta,
};
use crate::core::heard::{Heard, HeardRecord};
use crate::core::{EmailAddress, History, SendKey, SendState, Status};

/// How many times a compare-and-swap is retried after losing to a concurrent writer whose
/// change still leaves the expected state in place.
const CAS_ATTEMPTS: usize = 16;

/// The state of one followup installation: a directory holding the lock, the sled database
/// (`db/`), a copy of it as it was before this open (`db.last-open/`) and `check.json`.
pub struct SledStore {
    pub(super) path: PathBuf,
    pub(super) db: sled::Db,
    pub(super) sends: Tree,
    pub(super) status_seen: Tree,
    pub(super) meta: Tree,
    undeliverable: Tree,
    heard: Tree,
    mailbox: Tree,
    /// Serializes writes of `check.json` so its count only grows.
    pub(super) check: Mutex<()>,
    /// Counts the writes: the store's [`Store::revision`]. Only this process writes (the lock).
    writes: AtomicU64,
    /// How many sends there are, for `check.json`: sled's `len` walks the whole tree, which
    /// once per new send made a batch quadratic. Counted once at open, then kept.
    pub(super) send_count: AtomicUsize,
    /// The count `check.json` holds: it is written after the flush that made new sends
    /// durable, never before.
    pub(super) checked: AtomicUsize,
    /// The sends as decoded, once read: each round reads them all several times (the plan,
    /// the history, the snapshot), and decoding the rendered messages was most of a round.
    /// Only this process writes (the lock), so [`Store::transition`] keeps it current and
    /// [`Store::restore`] drops it.
    decoded: Mutex<Option<BTreeMap<String, SendRecord>>>,
    _lock: File,
}

#[derive(Serialize, Deserialize)]
struct SeenValue {
    status: Status,
    seen_at: DateTime<Utc>,
}

impl SledStore {
    /// The store over the six trees of an opened database; [`SledStore::open`] guards it.
    pub(super) fn on_trees(path: &Path, db: sled::Db, lock: File) -> Result<Self, StoreError> {
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(path, e));
        Ok(Self {
            sends: tree("sends")?,
            status_seen: tree("status_seen")?,
            meta: tree("meta")?,
            undeliverable: tree("undeliverable")?,
            heard: tree("heard")?,
            mailbox: tree("mailbox")?,
            db,
            path: path.to_path_buf(),
            check: Mutex::new(()),
            writes: AtomicU64::new(0),
            send_count: AtomicUsize::new(0),
            checked: AtomicUsize::new(usize::MAX),
            decoded: Mutex::new(None),
            _lock: lock,
        })
    }

    /// The database directory, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(super) fn sled(&self, source: sled::Error) -> StoreError {
        match source {
            sled::Error::Corruption { .. } => self.corrupt(source.to_string()),
            source => StoreError::Sled {
                path: self.path.clone(),
                cause: source,
            },
        }
    }

    pub(super) fn corrupt(&self, detail: String) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail,
        }
    }

    /// Compare-and-swap on the exact bytes last read, retried while `decide` still agrees, and
    /// flushed. `decide` returns the new value, or `None` to leave things as they are.
    fn update(
        &self,
        tree: &Tree,
        key: &str,
        decide: impl FnMut(Option<&IVec>) -> Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<bool, StoreError> {
        let changed = self.update_unflushed(tree, key, decide)?;
        if changed {
            self.flush()?;
        }
        Ok(changed)
    }

    /// [`SledStore::update`] without the flush, for a batch that flushes once at its end.
    fn update_unflushed(
        &self,
        tree: &Tree,
        key: &str,
        mut decide: impl FnMut(Option<&IVec>) -> Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<bool, StoreError> {
        for _ in 0..CAS_ATTEMPTS {
            let old = tree.get(key).map_err(|e| self.sled(e))?;
            let Some(new) = decide(old.as_ref())? else {
                return Ok(false);
            };
            let swapped = tree
                .compare_and_swap(key, old, Some(new))
                .map_err(|e| self.sled(e))?;
            if swapped.is_ok() {
                self.writes.fetch_add(1, Ordering::SeqCst);
                return Ok(true);
            }
        }
        Err(StoreError::Contention { key: key.into() })
    }

    /// Records `status` for `interview` unless it is already the one seen; `true` if it changed.
    fn note_status_unflushed(
        &self,
        interview: &str,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let new = encode(
            interview,
            &SeenValue {
                status,
                seen_at: at,
            },
        )?;
        self.update_unflushed(&self.status_seen, interview, |old| {
            if let Some(raw) = old {
                let seen: SeenValue = decode(interview, raw)?;
                if seen.status == status {
                    return Ok(None);
                }
            }
            Ok(Some(new.clone()))
        })
    }
}

impl Store for SledStore {
    fn get(&self, key: &SendKey) -> Result<Option<SendRecord>, StoreError> {
        let name = key.to_string();
        self.sends
            .get(&name)
            .map_err(|e| self.sled(e))?
            .map(|raw| decode_record(&name, &raw))
            .transpose()
    }

    fn transition(
        &self,
        key: &SendKey,
        expected: &[Option<SendState>],
        next: &SendRecord,
    ) -> Result<bool, StoreError> {
        let won = self.swap_record(key, expected, next)?;
        if won {
            self.flush()?;
        }
        Ok(won)
    }

    fn claim(
        &self,
        key: &SendKey,
        expected: &[Option<SendState>],
        next: &SendRecord,
    ) -> Result<bool, StoreError> {
        self.swap_record(key, expected, next)
    }

    fn all(&self) -> Result<Vec<SendRecord>, StoreError> {
        let mut decoded = self.decoded();
        if decoded.is_none() {
            let read = self
                .decode_all::<SendRecord>(&self.sends, "")?
                .into_iter()
                .map(|(name, record)| under_own_key(&name, record).map(|r| (name, r)))
                .collect::<Result<BTreeMap<_, _>, StoreError>>()?;
            *decoded = Some(read);
        }
        Ok(decoded
            .as_ref()
            .map(|d| d.values().cloned().collect())
            .unwrap_or_default())
    }

    fn history(&self) -> Result<History, StoreError> {
        let sends = self
            .all()?
            .into_iter()
            .map(|r| (r.key.clone(), r.to_past()))
            .collect();
        let status_seen = self
            .seen()?
            .into_iter()
            .map(|s| (s.interview, (s.status, s.seen_at)))
            .collect();
        let undeliverable = self
            .undeliverable()?
            .into_iter()
            .map(|u| (u.address.clone(), u.to_past()))
            .collect();
        Ok(History {
            sends,
            status_seen,
            undeliverable,
            heard: super::by_interview(self.heard()?),
        })
    }

    fn record_heard(
        &self,
        folder: &str,
        cursor: Cursor,
        heard: &[HeardRecord],
    ) -> Result<Vec<HeardRecord>, StoreError> {
        let encoded = heard
            .iter()
            .map(|r| {
                let key = r.key();
                encode(&key, r).map(|v| (key, v, r))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cursor_value = encode(folder, &cursor)?;
        let added = (&self.heard, &self.mailbox)
            .transaction(|(tx_heard, tx_mailbox)| {
                let mut added = Vec::new();
                for (key, value, record) in &encoded {
                    if tx_heard.get(key.as_bytes())?.is_none() {
                        tx_heard.insert(key.as_bytes(), value.as_slice())?;
                        added.push((*record).clone());
                    }
                }
                tx_mailbox.insert(folder.as_bytes(), cursor_value.as_slice())?;
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(added)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => self.sled(e),
                TransactionError::Abort(()) => StoreError::Contention {
                    key: format!("mailbox/{folder}"),
                },
            })?;
        self.flush()?;
        Ok(added)
    }

    fn cursor(&self, folder: &str) -> Result<Option<Cursor>, StoreError> {
        self.mailbox
            .get(folder)
            .map_err(|e| self.sled(e))?
            .map(|raw| decode(&format!("mailbox/{folder}"), &raw))
            .transpose()
    }

    fn heard(&self) -> Result<Vec<HeardRecord>, StoreError> {
        Ok(values(self.decode_all(&self.heard, "heard/")?))
    }

    fn dismiss_replies(&self, interview: &str) -> Result<usize, StoreError> {
        let mut undone = 0;
        for record in self.heard()? {
            if record.interview != interview
                || record.dismissed
                || !matches!(record.heard, Heard::Reply { .. })
            {
                continue;
            }
            let key = record.key();
            let changed = self.update(&self.heard, &key, |old| {
                let Some(raw) = old else { return Ok(None) };
                let mut current: HeardRecord = decode(&key, raw)?;
                if current.dismissed {
                    return Ok(None);
                }
                current.dismissed = true;
                encode(&key, &current).map(Some)
            })?;
            undone += usize::from(changed);
        }
        Ok(undone)
    }

    fn mark_undeliverable(
        &self,
        address: &EmailAddress,
        at: DateTime<Utc>,
        reason: &str,
    ) -> Result<bool, StoreError> {
        let key = address.key();
        let new = encode(
            &key,
            &UndeliverableAddress {
                address: key.clone(),
                at,
                reason: reason.to_string(),
                notice_sent_at: None,
            },
        )?;
        self.update(&self.undeliverable, &key, |old| {
            Ok(old.is_none().then(|| new.clone()))
        })
    }

    fn undeliverable(&self) -> Result<Vec<UndeliverableAddress>, StoreError> {
        Ok(values(
            self.decode_all(&self.undeliverable, "undeliverable/")?,
        ))
    }

    fn note_undeliverable_notice(
        &self,
        address: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let name = format!("undeliverable/{address}");
        self.update(&self.undeliverable, address, |old| {
            let Some(raw) = old else { return Ok(None) };
            let mut record: UndeliverableAddress = decode(&name, raw)?;
            if record.notice_sent_at.is_some() {
                return Ok(None);
            }
            record.notice_sent_at = Some(at);
            encode(&name, &record).map(Some)
        })?;
        Ok(())
    }

    fn note_status(
        &self,
        interview: &str,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if self.note_status_unflushed(interview, status, at)? {
            self.flush()?;
        }
        Ok(())
    }

    fn note_statuses(&self, seen: &[(&str, Status)], at: DateTime<Utc>) -> Result<(), StoreError> {
        let mut changed = false;
        for (interview, status) in seen {
            changed |= self.note_status_unflushed(interview, *status, at)?;
        }
        if changed {
            self.flush()?;
        }
        Ok(())
    }

    fn meta(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.meta
            .get(name)
            .map_err(|e| self.sled(e))?
            .map(|raw| {
                String::from_utf8(raw.to_vec()).map_err(|e| StoreError::Decode {
                    key: format!("meta/{name}"),
                    detail: e.to_string(),
                })
            })
            .transpose()
    }

    fn set_meta(&self, name: &str, value: &str) -> Result<(), StoreError> {
        if is_reserved_meta(name) {
            return Err(StoreError::ReservedMeta { name: name.into() });
        }
        self.meta
            .insert(name, value.as_bytes())
            .map_err(|e| self.sled(e))?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.flush()
    }

    fn revision(&self) -> Option<u64> {
        Some(self.writes.load(Ordering::SeqCst))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map(drop)
            .map_err(|source| StoreError::Flush {
                path: self.path.clone(),
                cause: source,
            })?;
        // New sends are durable now: the high-water mark may follow.
        if self.send_count.load(Ordering::SeqCst) != self.checked.load(Ordering::SeqCst) {
            self.write_check()?;
        }
        Ok(())
    }

    fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut meta = BTreeMap::new();
        for entry in self.meta.iter() {
            let (k, v) = entry.map_err(|e| self.sled(e))?;
            let name = String::from_utf8_lossy(&k).into_owned();
            if !is_reserved_meta(&name) {
                meta.insert(name, String::from_utf8_lossy(&v).into_owned());
            }
        }
        Ok(Snapshot {
            format: EXPORT_FORMAT.into(),
            schema_version: SCHEMA_VERSION,
            sends: self.all()?,
            status_seen: self.seen()?,
            meta,
            undeliverable: self.undeliverable()?,
            heard: self.heard()?,
            cursors: self
                .decode_all(&self.mailbox, "mailbox/")?
                .into_iter()
                .collect(),
        })
    }

    fn restore(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let seen = snapshot.status_seen.iter().map(|s| {
            let value = SeenValue {
                status: s.status,
                seen_at: s.seen_at,
            };
            encode(&s.interview, &value).map(|v| (s.interview.clone(), v))
        });
        let entries = |items: Vec<Result<(String, Vec<u8>), StoreError>>| {
            items.into_iter().collect::<Result<Vec<_>, _>>()
        };
        // Each tree with what it holds after the restore; every old entry goes.
        let replacements: Vec<(&Tree, Entries)> = vec![
            (
                &self.sends,
                entries(
                    snapshot
                        .sends
                        .iter()
                        .map(|r| {
                            let name = r.key.to_string();
                            encode(&name, r).map(|v| (name, v))
                        })
                        .collect(),
                )?,
            ),
            (&self.status_seen, entries(seen.collect())?),
            (
                &self.meta,
                snapshot
                    .meta
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
                    .collect(),
            ),
            (
                &self.undeliverable,
                entries(
                    snapshot
                        .undeliverable
                        .iter()
                        .map(|u| encode(&u.address, u).map(|v| (u.address.clone(), v)))
                        .collect(),
                )?,
            ),
            (
                &self.heard,
                entries(
                    snapshot
                        .heard
                        .iter()
                        .map(|r| {
                            let key = r.key();
                            encode(&key, r).map(|v| (key, v))
                        })
                        .collect(),
                )?,
            ),
            (
                &self.mailbox,
                entries(
                    snapshot
                        .cursors
                        .iter()
                        .map(|(folder, c)| encode(folder, c).map(|v| (folder.clone(), v)))
                        .collect(),
                )?,
            ),
        ];
        let mut old = Vec::new();
        for (tree, _) in &replacements {
            let keys: Vec<IVec> = tree
                .iter()
                .keys()
                .collect::<Result<_, _>>()
                .map_err(|e| self.sled(e))?;
            // The schema version stays the store's own.
            let keys = keys
                .into_iter()
                .filter(|k| {
                    !is_reserved_meta(&String::from_utf8_lossy(k))
                        || !std::ptr::eq(*tree, &self.meta)
                })
                .collect::<Vec<_>>();
            old.push(keys);
        }
        let trees: Vec<&Tree> = replacements.iter().map(|(tree, _)| *tree).collect();
        trees
            .as_slice()
            .transaction(|txs| {
                for ((tx, keys), (_, new)) in txs.iter().zip(&old).zip(&replacements) {
                    for k in keys {
                        tx.remove(k.clone())?;
                    }
                    for (k, v) in new {
                        tx.insert(k.as_bytes(), v.as_slice())?;
                    }
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => self.sled(e),
                TransactionError::Abort(()) => StoreError::Contention {
                    key: "<restore>".into(),
                },
            })?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        *self.decoded() = None;
        self.flush()?;
        self.send_count.store(self.sends.len(), Ordering::SeqCst);
        self.write_check()
    }
}

impl SledStore {
    /// The compare-and-swap of [`Store::transition`], not flushed.
    fn swap_record(
        &self,
        key: &SendKey,
        expected: &[Option<SendState>],
        next: &SendRecord,
    ) -> Result<bool, StoreError> {
        check_key(key)?;
        if next.key != *key {
            return Err(StoreError::KeyMismatch {
                key: key.to_string(),
                record: next.key.to_string(),
            });
        }
        let name = key.to_string();
        let new = encode(&name, next)?;
        let mut created = false;
        let won = self
            .update_unflushed(&self.sends, &name, |old| {
                let state = old
                    .map(|raw| decode::<StateOf>(&name, raw))
                    .transpose()?
                    .map(|r| r.state);
                created = old.is_none();
                Ok(expected.contains(&state).then(|| new.clone()))
            })
            .inspect_err(|_| {
                // Whether the write stands is unknown: read the sends afresh next time.
                *self.decoded() = None;
            })?;
        if won && let Some(decoded) = self.decoded().as_mut() {
            decoded.insert(name, next.clone());
        }
        if won && created {
            self.send_count.fetch_add(1, Ordering::SeqCst);
        }
        Ok(won)
    }

    /// Every entry of `tree`, in key order: its key as text and its value decoded as `T`. A
    /// value that does not decode is a `Decode` error naming `{label}{key}`.
    fn decode_all<T: DeserializeOwned>(
        &self,
        tree: &Tree,
        label: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        tree.iter()
            .map(|entry| {
                let (k, v) = entry.map_err(|e| self.sled(e))?;
                let key = String::from_utf8_lossy(&k).into_owned();
                let value = serde_json::from_slice(&v).map_err(|e| StoreError::Decode {
                    key: format!("{label}{key}"),
                    detail: e.to_string(),
                })?;
                Ok((key, value))
            })
            .collect()
    }

    /// The decoded sends, when read already.
    fn decoded(&self) -> std::sync::MutexGuard<'_, Option<BTreeMap<String, SendRecord>>> {
        self.decoded.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn seen(&self) -> Result<Vec<StatusSeen>, StoreError> {
        Ok(self
            .decode_all::<SeenValue>(&self.status_seen, "status_seen/")?
            .into_iter()
            .map(|(interview, seen)| StatusSeen {
                interview,
                status: seen.status,
                seen_at: seen.seen_at,
            })
            .collect())
    }
}

/// A tree's entries as stored: key and encoded value.
type Entries = Vec<(String, Vec<u8>)>;

pub(super) fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode {
        key: key.into(),
        detail: e.to_string(),
    })
}

fn decode<T: DeserializeOwned>(key: &str, raw: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(raw).map_err(|e| StoreError::Decode {
        key: key.into(),
        detail: e.to_string(),
    })
}

/// The one field of a stored record a compare-and-swap looks at: decoding only it spares the
/// rest (the rendered message is most of a record).
#[derive(Deserialize)]
struct StateOf {
    state: SendState,
}

/// A record must also sit under its own key, or `get` and `all` would disagree.
fn decode_record(name: &str, raw: &[u8]) -> Result<SendRecord, StoreError> {
    under_own_key(name, decode(name, raw)?)
}

/// `record`, if it is the one whose key is `name`.
fn under_own_key(name: &str, record: SendRecord) -> Result<SendRecord, StoreError> {
    if record.key.to_string() != name {
        return Err(StoreError::Decode {
            key: name.into(),
            detail: format!("it holds the record of `{}`", record.key),
        });
    }
    Ok(record)
}

/// The values of decoded entries, without their keys.
fn values<T>(entries: Vec<(String, T)>) -> Vec<T> {
    entries.into_iter().map(|(_, value)| value).collect()
}
