//! [`Store`] on sled 0.34: three trees of JSON values, in a state directory the store owns.
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
use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sled::transaction::{TransactionError, Transactional};
use sled::{IVec, Tree};

use super::{
    Cursor, EXPORT_FORMAT, SCHEMA_META, SCHEMA_VERSION, SendRecord, Snapshot, StatusSeen, Store,
    StoreError, UndeliverableAddress, check_key, is_reserved_meta,
};
use crate::core::heard::{Heard, HeardRecord};
use crate::core::{EmailAddress, History, SendKey, SendState, Status};
use crate::fsutil;

/// sled's default page cache is 1 GiB; the state of one person's job search is kilobytes.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// How many times a compare-and-swap is retried after losing to a concurrent writer whose
/// change still leaves the expected state in place.
const CAS_ATTEMPTS: usize = 16;

/// Held for the life of the store. sled takes its own lock too, but only when built without
/// its `testing` feature (with it, a second open blocks forever), and reports it as a bare I/O
/// error; our own lock makes "another daemon is running" a certain, clear answer.
pub(super) const LOCK_FILE: &str = "followup.lock";

/// The sled database, inside the state directory.
pub(super) const DB_DIR: &str = "db";

const CHECK_FILE: &str = "check.json";

/// The state of one followup installation: a directory holding the lock, the sled database
/// (`db/`), a copy of it as it was before this open (`db.last-open/`) and `check.json`.
pub struct SledStore {
    path: PathBuf,
    db: sled::Db,
    pub(super) sends: Tree,
    status_seen: Tree,
    meta: Tree,
    undeliverable: Tree,
    heard: Tree,
    mailbox: Tree,
    /// Serializes writes of `check.json` so its count only grows.
    check: Mutex<()>,
    /// Counts the writes: the store's [`Store::revision`]. Only this process writes (the lock).
    writes: AtomicU64,
    /// How many sends there are, for `check.json`: sled's `len` walks the whole tree, which
    /// once per new send made a batch quadratic. Counted once at open, then kept.
    send_count: AtomicUsize,
    /// The count `check.json` holds: it is written after the flush that made new sends
    /// durable, never before.
    checked: AtomicUsize,
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

/// A high-water mark kept outside sled. sled 0.34 opens a damaged log as a shorter (even an
/// empty) database without an error, which would make the planner send everything again;
/// comparing against this turns that into `Corrupt`. Sends are never removed except by an
/// import, which rewrites it.
#[derive(Serialize, Deserialize)]
struct Check {
    schema_version: u32,
    sends: usize,
}

impl SledStore {
    /// Opens (or creates, mode 0700) the state in directory `path`. Fails with `Locked` when
    /// another process or another handle in this one has it open, `Corrupt` when the database
    /// is damaged or shorter than it was (a copy as found is kept in `db.damaged/`), and
    /// `NewerSchema` when a newer followup wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| StoreError::Io {
            path: path.clone(),
            cause: source,
        };
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(io)?;
        let lock = take_lock(&path)?;
        let check = read_check(&path)?;
        // sled rewrites a damaged log as it opens it, so the bytes as found are copied first.
        let (db_dir, opening) = (path.join(DB_DIR), path.join("db.opening"));
        remove_dir_if_there(&opening).map_err(io)?;
        if db_dir.exists() {
            copy_dir(&db_dir, &opening).map_err(io)?;
        }
        match Self::open_db(&path, lock, check.as_ref()) {
            Ok(store) => {
                if opening.exists() {
                    let last = path.join("db.last-open");
                    remove_dir_if_there(&last).map_err(io)?;
                    std::fs::rename(&opening, &last).map_err(io)?;
                }
                store.write_check()?;
                Ok(store)
            }
            Err(StoreError::Corrupt { path, detail }) => {
                // Keep the first damaged copy: later ones were already rewritten by sled.
                let damaged = path.join("db.damaged");
                if opening.exists() && !damaged.exists() {
                    std::fs::rename(&opening, &damaged).map_err(io)?;
                }
                let detail = format!("{detail}; the files as found are in {}", damaged.display());
                Err(StoreError::Corrupt { path, detail })
            }
            Err(e) => Err(e),
        }
    }

    fn open_db(path: &Path, lock: File, check: Option<&Check>) -> Result<Self, StoreError> {
        let db = open_sled(path)?;
        let tree = |name: &str| db.open_tree(name).map_err(|e| open_error(path, e));
        let store = Self {
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
        };
        store.check_schema(check)?;
        let found = store.sends.len();
        store.send_count.store(found, Ordering::SeqCst);
        if let Some(check) = check
            && found < check.sends
        {
            return Err(store.corrupt(format!(
                "it holds {found} send(s) but held {} before",
                check.sends
            )));
        }
        Ok(store)
    }

    /// Whether another process holds the state in `path` open (the daemon, when it runs): asks
    /// the lock [`SledStore::open`] takes, without keeping it or creating anything.
    pub fn in_use(path: impl AsRef<Path>) -> Result<bool, StoreError> {
        let dir = path.as_ref();
        let file = match File::open(dir.join(LOCK_FILE)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(cause) => {
                return Err(StoreError::Io {
                    path: dir.join(LOCK_FILE),
                    cause,
                });
            }
        };
        match lock(&file, dir) {
            Ok(()) => Ok(false),
            Err(StoreError::Locked { .. }) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// The database directory, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the version into a new database; refuses one written by a newer followup.
    fn check_schema(&self, check: Option<&Check>) -> Result<(), StoreError> {
        match self.meta.get(SCHEMA_META).map_err(|e| self.sled(e))? {
            None if check.is_some() => {
                Err(self.corrupt("it is empty, but it held state before (see check.json)".into()))
            }
            None if self.sends.is_empty() && self.status_seen.is_empty() => {
                self.meta
                    .insert(SCHEMA_META, SCHEMA_VERSION.to_string().as_bytes())
                    .map_err(|e| self.sled(e))?;
                self.flush()
            }
            None => Err(self.corrupt("it holds sends but no schema version".into())),
            Some(raw) => {
                let found = std::str::from_utf8(&raw)
                    .ok()
                    .and_then(|s| s.parse::<u32>().ok())
                    .filter(|v| *v > 0)
                    .ok_or_else(|| {
                        self.corrupt(format!(
                            "schema version `{}` is not a number",
                            String::from_utf8_lossy(&raw)
                        ))
                    })?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path: self.path.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
                Ok(())
            }
        }
    }

    fn sled(&self, source: sled::Error) -> StoreError {
        match source {
            sled::Error::Corruption { .. } => self.corrupt(source.to_string()),
            source => StoreError::Sled {
                path: self.path.clone(),
                cause: source,
            },
        }
    }

    fn corrupt(&self, detail: String) -> StoreError {
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
                .sends
                .iter()
                .map(|entry| {
                    let (k, v) = entry.map_err(|e| self.sled(e))?;
                    let name = String::from_utf8_lossy(&k).into_owned();
                    let record = decode_record(&name, &v)?;
                    Ok((name, record))
                })
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
        self.heard
            .iter()
            .map(|entry| {
                let (k, v) = entry.map_err(|e| self.sled(e))?;
                decode(&format!("heard/{}", String::from_utf8_lossy(&k)), &v)
            })
            .collect()
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
        self.undeliverable
            .iter()
            .map(|entry| {
                let (k, v) = entry.map_err(|e| self.sled(e))?;
                decode(
                    &format!("undeliverable/{}", String::from_utf8_lossy(&k)),
                    &v,
                )
            })
            .collect()
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
                .mailbox
                .iter()
                .map(|entry| {
                    let (k, v) = entry.map_err(|e| self.sled(e))?;
                    let folder = String::from_utf8_lossy(&k).into_owned();
                    let cursor = decode(&format!("mailbox/{folder}"), &v)?;
                    Ok((folder, cursor))
                })
                .collect::<Result<_, StoreError>>()?,
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

    /// The decoded sends, when read already.
    fn decoded(&self) -> std::sync::MutexGuard<'_, Option<BTreeMap<String, SendRecord>>> {
        self.decoded.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records how many sends there are now, written aside and renamed so it is never torn.
    /// Runs after the sled flush, so it can only lag behind sled, never run ahead of it; a
    /// power cut may bring back the count before, which only lags too.
    fn write_check(&self) -> Result<(), StoreError> {
        let _guard = self.check.lock().unwrap_or_else(|e| e.into_inner());
        let check = Check {
            schema_version: SCHEMA_VERSION,
            sends: self.send_count.load(Ordering::SeqCst),
        };
        self.checked.store(check.sends, Ordering::SeqCst);
        let bytes = encode(CHECK_FILE, &check)?;
        fsutil::replace_file_may_lag(&self.path.join(CHECK_FILE), &bytes).map_err(|e| {
            StoreError::Io {
                path: e.path,
                cause: e.cause,
            }
        })
    }

    fn seen(&self) -> Result<Vec<StatusSeen>, StoreError> {
        self.status_seen
            .iter()
            .map(|entry| {
                let (k, v) = entry.map_err(|e| self.sled(e))?;
                let interview = String::from_utf8_lossy(&k).into_owned();
                let seen: SeenValue = decode(&format!("status_seen/{interview}"), &v)?;
                Ok(StatusSeen {
                    interview,
                    status: seen.status,
                    seen_at: seen.seen_at,
                })
            })
            .collect()
    }
}

/// A tree's entries as stored: key and encoded value.
type Entries = Vec<(String, Vec<u8>)>;

fn read_check(dir: &Path) -> Result<Option<Check>, StoreError> {
    let path = dir.join(CHECK_FILE);
    match fs::read(&path) {
        Ok(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: path.clone(),
                detail: format!("{CHECK_FILE} cannot be read: {e}"),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(StoreError::Io {
            path,
            cause: source,
        }),
    }
}

fn remove_dir_if_there(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn copy_dir(from: &Path, to: &Path) -> io::Result<()> {
    DirBuilder::new().mode(0o700).create(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

fn take_lock(dir: &Path) -> Result<File, StoreError> {
    let path = dir.join(LOCK_FILE);
    let io = |source| StoreError::Io {
        path: path.clone(),
        cause: source,
    };
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    lock(&file, dir)?;
    Ok(file)
}

/// Takes the lock on `file` for the life of the handle; `Locked` when another holds it.
fn lock(file: &File, dir: &Path) -> Result<(), StoreError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: dir.to_path_buf(),
        }),
        Err(TryLockError::Error(cause)) => Err(StoreError::Io {
            path: dir.join(LOCK_FILE),
            cause,
        }),
    }
}

/// sled 0.34 may panic on a damaged file instead of returning an error; either way the result
/// is `Corrupt`, and nothing on disk is removed.
fn open_sled(path: &Path) -> Result<sled::Db, StoreError> {
    // Every write here flushes before it returns, so sled's own flusher thread, which wakes
    // every 500 ms, would only cost an idle daemon its wake-ups.
    let config = sled::Config::new()
        .path(path.join(DB_DIR))
        .cache_capacity(CACHE_BYTES)
        .flush_every_ms(None);
    match catch_unwind(AssertUnwindSafe(|| config.open())) {
        Ok(Ok(db)) => Ok(db),
        Ok(Err(e)) => Err(open_error(path, e)),
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("sled stopped while reading it");
            Err(StoreError::Corrupt {
                path: path.to_path_buf(),
                detail: detail.to_string(),
            })
        }
    }
}

/// Whether another handle holds sled's own lock on the database (its file `db`, in `path`'s
/// database directory, or in `path` itself when that is the database directory).
fn sled_lock_held(path: &Path) -> bool {
    [path.join(DB_DIR).join("db"), path.join("db")]
        .iter()
        .filter_map(|file| File::open(file).ok())
        .any(|file| matches!(file.try_lock(), Err(TryLockError::WouldBlock)))
}

/// Tells a damaged database from a lock held elsewhere and from plain I/O trouble.
pub(super) fn open_error(path: &Path, e: sled::Error) -> StoreError {
    use std::io::ErrorKind;
    let path = path.to_path_buf();
    match e {
        sled::Error::Corruption { .. } | sled::Error::Unsupported(_) => StoreError::Corrupt {
            path,
            detail: e.to_string(),
        },
        sled::Error::Io(io)
            if matches!(io.kind(), ErrorKind::InvalidData | ErrorKind::UnexpectedEof) =>
        {
            StoreError::Corrupt {
                path,
                detail: io.to_string(),
            }
        }
        // sled reports its lock held elsewhere as a bare I/O error: asked directly, the lock
        // says whether that is the cause.
        sled::Error::Io(io) if io.kind() == ErrorKind::Other && sled_lock_held(&path) => {
            StoreError::Locked { path }
        }
        sled::Error::Io(source) => StoreError::Io {
            path,
            cause: source,
        },
        source => StoreError::Sled {
            path,
            cause: source,
        },
    }
}

fn encode<T: Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
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
    let record: SendRecord = decode(name, raw)?;
    if record.key.to_string() != name {
        return Err(StoreError::Decode {
            key: name.into(),
            detail: format!("it holds the record of `{}`", record.key),
        });
    }
    Ok(record)
}
