//! Requests from the command line to a running daemon, which holds the state's lock: a file
//! per request in `<state>/requests/`, applied and removed at the daemon's next round.

use std::path::{Path, PathBuf};

use crate::fsutil::{self, Existing, FsError};

const REQUESTS_DIR: &str = "requests";
const RESUME: &str = "resume.";

/// Where the requests wait; the daemon watches it.
pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join(REQUESTS_DIR)
}

/// Asks the daemon to undo the replies heard for `interview` (`followup resume`).
pub fn request_resume(state_dir: &Path, interview: &str) -> Result<PathBuf, FsError> {
    let dir = dir(state_dir);
    fsutil::create_private_dir(&dir)?;
    fsutil::write_atomic(
        &dir,
        &format!("{RESUME}{interview}"),
        b"",
        Existing::Replace,
    )
}

/// The interviews whose resume waits, with the file to remove once it is applied.
pub fn resumes(state_dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir(state_dir)) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let interview = name.strip_prefix(RESUME)?.to_string();
            Some((interview, e.path()))
        })
        .collect();
    out.sort();
    out
}
