//! Opening the state, and the guards around it, before any tree is used: the directory (mode
//! 0700), our own lock, the copy of the database as found (sled rewrites a damaged log as it
//! opens it), sled itself (whose panics and errors on a damaged file become `Corrupt`), the
//! schema version, and `check.json`, the count of sends kept outside sled that tells a log
//! opened short from a young one.

use std::fs::{self, DirBuilder, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::sled_store::{SledStore, encode};
use super::{SCHEMA_META, SCHEMA_VERSION, Store, StoreError};
use crate::fsutil;

/// sled's default page cache is 1 GiB; the state of one person's job search is kilobytes.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// Held for the life of the store. sled takes its own lock too, but only when built without
/// its `testing` feature (with it, a second open blocks forever), and reports it as a bare I/O
/// error; our own lock makes "another daemon is running" a certain, clear answer.
pub(super) const LOCK_FILE: &str = "followup.lock";

/// The sled database, inside the state directory.
pub(super) const DB_DIR: &str = "db";

const CHECK_FILE: &str = "check.json";

/// A high-water mark kept outside sled. sled 0.34 opens a damaged log as a shorter (even an
/// empty) database without an error, which would make the planner send everything again;
/// comparing against this turns that into `Corrupt`. Sends are never removed except by an
/// import, which rewrites it.
#[derive(Serialize, Deserialize)]
pub(super) struct Check {
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
        let store = Self::on_trees(path, db, lock)?;
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

    /// Records how many sends there are now, written aside and renamed so it is never torn.
    /// Runs after the sled flush, so it can only lag behind sled, never run ahead of it; a
    /// power cut may bring back the count before, which only lags too.
    pub(super) fn write_check(&self) -> Result<(), StoreError> {
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
}

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
