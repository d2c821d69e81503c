//! The copy of the state the daemon keeps beside its database, for the read-only commands
//! (`plan`, `simulate`, `status`, `state export`, dry-run) that must work while the daemon holds
//! the database's lock; and, beside it, the queue files the daemon could not use. This module is
//! the one writer and the one reader of both files.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use super::{Snapshot, Store, StoreError};
use crate::fsutil::{self, FsError};

/// The name of the snapshot in the state directory.
pub const SNAPSHOT_FILE: &str = "state.json";

/// Beside it, the queue files the daemon could not use and why, for `followup status`.
pub const PROBLEMS_FILE: &str = "queue-problems.json";

/// Why a saved copy could not be read. An absent one is not an error: nothing happened yet.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read the state copy {}: {cause}", path.display())]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{}:{line}:{column}: the state copy is damaged ({detail}); the next `followup run` \
         writes it again",
        path.display()
    )]
    Damaged {
        path: PathBuf,
        line: usize,
        column: usize,
        detail: String,
    },
    #[error(transparent)]
    Write(#[from] FsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the snapshot of the state in `state_dir` is.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(SNAPSHOT_FILE)
}

/// Writes the snapshot and the problems for a process that writes them again and again (the
/// daemon, every round): each only when it changed since this writer last wrote it, or when the
/// file is no longer as it was left. A round that changed nothing then reads, writes and fsyncs
/// nothing. A store that cannot say when it changed ([`Store::revision`] `None`) is written
/// every time.
#[derive(Debug, Default)]
pub struct Writer {
    last: Mutex<Last>,
}

#[derive(Debug, Default)]
struct Last {
    state: Option<(u64, Stamp)>,
    problems: Option<(Vec<String>, Stamp)>,
}

/// What a file looked like right after it was written: a changed one differs in one of these.
type Stamp = (u64, SystemTime);

fn stamp(path: &Path) -> Option<Stamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl Writer {
    /// [`save`] and [`save_problems`], each skipped when nothing changed.
    pub fn save(
        &self,
        state_dir: &Path,
        store: &dyn Store,
        problems: &[&String],
    ) -> Result<(), SnapshotError> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let state_file = path(state_dir);
        let revision = store.revision();
        let current = |(rev, at): &(u64, Stamp)| {
            Some(*rev) == revision && stamp(&state_file).as_ref() == Some(at)
        };
        if !last.state.as_ref().is_some_and(current) {
            last.state = None;
            save(state_dir, store)?;
            if let (Some(rev), Some(at)) = (revision, stamp(&state_file)) {
                last.state = Some((rev, at));
            }
        }
        let problems_file = state_dir.join(PROBLEMS_FILE);
        let unchanged = last.problems.as_ref().is_some_and(|(list, at)| {
            list.iter().eq(problems.iter().copied()) && stamp(&problems_file).as_ref() == Some(at)
        });
        if !unchanged {
            last.problems = None;
            save_problems(state_dir, problems)?;
            if let Some(at) = stamp(&problems_file) {
                let list = problems.iter().map(|p| (*p).clone()).collect();
                last.problems = Some((list, at));
            }
        }
        Ok(())
    }
}

/// Writes the whole state as the snapshot, atomically.
pub fn save(state_dir: &Path, store: &dyn Store) -> Result<(), SnapshotError> {
    let json = super::export(store)?;
    fsutil::replace_file(&path(state_dir), json.as_bytes())?;
    Ok(())
}

/// The daemon's latest snapshot, as JSON text (what `state export` prints while the daemon
/// runs); `None` when none was ever written.
pub fn load_text(state_dir: &Path) -> Result<Option<String>, SnapshotError> {
    read(&path(state_dir))
}

/// The daemon's latest snapshot; `None` when none was ever written.
pub fn load(state_dir: &Path) -> Result<Option<Snapshot>, SnapshotError> {
    parse(&path(state_dir))
}

/// Records the queue files the daemon cannot use, each as `path:line: problem`.
pub fn save_problems(state_dir: &Path, problems: &[&String]) -> Result<(), SnapshotError> {
    let json = serde_json::to_string_pretty(problems).unwrap_or_else(|_| "[]".into());
    fsutil::replace_file(&state_dir.join(PROBLEMS_FILE), json.as_bytes())?;
    Ok(())
}

/// The queue files the daemon last reported as unusable.
pub fn load_problems(state_dir: &Path) -> Result<Vec<String>, SnapshotError> {
    Ok(parse(&state_dir.join(PROBLEMS_FILE))?.unwrap_or_default())
}

fn read(path: &Path) -> Result<Option<String>, SnapshotError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(cause) => Err(SnapshotError::Read {
            path: path.to_path_buf(),
            cause,
        }),
    }
}

fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, SnapshotError> {
    let Some(text) = read(path)? else {
        return Ok(None);
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| SnapshotError::Damaged {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_snapshot_is_an_empty_state_and_a_damaged_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load(dir.path()).unwrap().is_none());
        assert!(load_problems(dir.path()).unwrap().is_empty());
        std::fs::write(path(dir.path()), "{ not json").unwrap();
        let e = load(dir.path()).unwrap_err();
        assert!(matches!(e, SnapshotError::Damaged { line: 1, .. }), "{e}");
        assert!(e.to_string().contains("writes it again"), "{e}");
    }
}
