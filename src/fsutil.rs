//! The one way followup writes a file that someone else may read at any moment: whole or not at
//! all, private to the user, never through a link, and durable once the call returns.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Temporary files are hidden (queue scans and the watcher skip them) and short whatever the
/// final name, so a long name can never make the write fail half way.
pub const TEMP_PREFIX: &str = ".followup.";

/// The umask the user ran followup with; `main` replaces it with a private one for followup's
/// own files (state, queue, snapshots).
static USER_UMASK: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0o022);

/// Remembers the umask the user ran followup with.
pub fn set_user_umask(mask: u32) {
    USER_UMASK.store(mask & 0o777, Ordering::Relaxed);
}

/// The mode of a file made for the user to read and edit (a record `followup add` writes), as
/// their own tools would create it.
pub fn user_file_mode() -> u32 {
    0o666 & !USER_UMASK.load(Ordering::Relaxed)
}

/// A file operation that failed, with what was being done and to which path.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}: {cause}", path.display())]
pub struct FsError {
    pub action: &'static str,
    pub path: PathBuf,
    // In the message, not a `source()`, so error chains do not print it twice.
    pub cause: io::Error,
}

impl FsError {
    fn new<'p>(action: &'static str, path: &'p Path) -> impl FnOnce(io::Error) -> FsError + 'p {
        move |cause| FsError {
            action,
            path: path.to_path_buf(),
            cause,
        }
    }

    /// The name was taken and the write was asked not to replace it.
    pub fn already_exists(&self) -> bool {
        self.cause.kind() == io::ErrorKind::AlreadyExists
    }
}

/// What to do when the target name is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Replace it, atomically: a reader sees the old file or the new one.
    Replace,
    /// Leave it and fail with [`FsError::already_exists`].
    Keep,
}

/// Writes `dir/name` so that it appears whole or not at all: a uniquely named dot-temp file
/// (opened without following links, mode 0600), fsync, then a rename (`Replace`) or a hard link
/// that fails if the name is taken (`Keep`), then an fsync of the directory so the name survives
/// a power cut.
pub fn write_atomic(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    existing: Existing,
) -> Result<PathBuf, FsError> {
    write_atomic_mode(dir, name, bytes, existing, 0o600)
}

/// [`write_atomic`] giving the file `mode` (the user's own record keeps the mode it had).
pub fn write_atomic_mode(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    existing: Existing,
    mode: u32,
) -> Result<PathBuf, FsError> {
    let target = write_whole(dir, name, bytes, existing, mode)?;
    sync_dir(dir)?;
    Ok(target)
}

/// Replaces `path` whole, without the fsync of its directory: after a power cut the file is
/// the new one or the old one, both whole. For a file that may lag behind, never run ahead
/// (`check.json`, written after every new send): one fsync fewer on each.
pub fn replace_file_may_lag(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    write_whole(dir, name, bytes, Existing::Replace, 0o600).map(drop)
}

/// [`write_atomic_mode`] up to the rename (or link): the file is whole under its name, and
/// the name is not yet durable.
fn write_whole(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    existing: Existing,
    mode: u32,
) -> Result<PathBuf, FsError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let target = dir.join(name);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let temp = dir.join(format!("{TEMP_PREFIX}{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&temp)
            .map_err(FsError::new("create", &temp))?;
        if mode != 0o600 {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode))
                .map_err(FsError::new("write", &temp))?;
        }
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(FsError::new("write", &temp))?;
        drop(file);
        match existing {
            Existing::Replace => fs::rename(&temp, &target).map_err(FsError::new("write", &target)),
            Existing::Keep => link_new(&temp, &target),
        }
    })();
    // After a rename the temp name is gone; after a link (or a failure) it is removed here.
    if !(result.is_ok() && matches!(existing, Existing::Replace)) {
        let _ = fs::remove_file(&temp);
    }
    result?;
    Ok(target)
}

/// [`write_atomic`] of a whole path, replacing what is there.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    replace_file_mode(path, bytes, 0o600)
}

/// [`replace_file`] with the mode the file had (its permission bits), so a user's own file
/// (a record `followup mark` edits) stays as readable as they made it.
pub fn replace_keeping_mode(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(FsError::new("inspect", path))?
        .permissions()
        .mode()
        & 0o7777;
    replace_file_mode(path, bytes, mode)
}

fn replace_file_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let (dir, name) = split(path)?;
    write_atomic_mode(dir, name, bytes, Existing::Replace, mode).map(drop)
}

/// A file's directory (`.` for a bare name) and its name.
fn split(path: &Path) -> Result<(&Path, &str), FsError> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Err(FsError {
            action: "write",
            path: path.to_path_buf(),
            cause: io::Error::new(io::ErrorKind::InvalidInput, "not a file path"),
        });
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    Ok((dir, name))
}

/// Gives `temp` the name `target` unless `target` exists. A hard link is atomic and never
/// replaces; where the file system has no hard links, a checked rename does nearly as well.
fn link_new(temp: &Path, target: &Path) -> Result<(), FsError> {
    match fs::hard_link(temp, target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(FsError::new("write", target)(e)),
        Err(_) => match fs::symlink_metadata(target) {
            Ok(_) => Err(FsError::new("write", target)(
                io::ErrorKind::AlreadyExists.into(),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::rename(temp, target).map_err(FsError::new("write", target))
            }
            Err(e) => Err(FsError::new("inspect", target)(e)),
        },
    }
}

/// Makes `dir` (and its missing parents) private to the user (0700); an existing one is kept.
pub fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    match DirBuilder::new().mode(0o700).recursive(true).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(FsError::new("create", dir)(e)),
    }
}

/// Flushes a directory's entries, so a rename or a new name in it survives a power cut.
pub fn sync_dir(dir: &Path) -> Result<(), FsError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(FsError::new("sync", dir))
}

/// Removes what a crash in the middle of [`write_atomic`] left behind in `dir`. Only old ones:
/// another process (the CLI next to the daemon) may be writing one right now. Best effort: a
/// leftover is hidden and harmless, only untidy.
pub fn remove_stale_temps(dir: &Path) {
    const STALE: Duration = Duration::from_secs(3600);
    let Ok(items) = fs::read_dir(dir) else {
        return;
    };
    for item in items.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        let old = fs::symlink_metadata(item.path())
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE));
        if name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp") && old {
            let _ = fs::remove_file(item.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn an_atomic_write_is_private_and_keep_never_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_atomic(dir.path(), "a.eml", b"one", Existing::Keep).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = write_atomic(dir.path(), "a.eml", b"two", Existing::Keep).unwrap_err();
        assert!(e.already_exists(), "{e}");
        assert_eq!(fs::read(&path).unwrap(), b"one");
        replace_file(&path, b"three").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "a temporary was left behind");
    }

    #[test]
    fn replacing_a_users_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme.yaml");
        fs::write(&path, b"old").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        replace_keeping_mode(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o644
        );
    }

    #[test]
    fn an_atomic_write_never_follows_a_link_over_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, b"keep").unwrap();
        std::os::unix::fs::symlink(&elsewhere, dir.path().join("state.json")).unwrap();
        replace_file(&dir.path().join("state.json"), b"new").unwrap();
        assert_eq!(fs::read(&elsewhere).unwrap(), b"keep");
    }
}
