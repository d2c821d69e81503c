//! Noticing the user's edits as they happen, so an approval or a fixed interview file takes
//! effect in a second instead of at the next minute tick.
//!
//! The watcher is an optimisation, never a dependency: the daemon's periodic tick rescans
//! everything anyway, so a directory that cannot be watched (missing, or over the inotify limit)
//! is a warning, and the daemon stays correct without any events at all.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher as _};
use tokio::sync::mpsc;

use crate::delivery::queue::is_temporary;

/// How long a burst must be quiet before it is reported: an editor's save is several events
/// (write a temp file, rename, chmod) within a few milliseconds.
pub const QUIET: Duration = Duration::from_millis(200);

/// The longest a report waits while events keep coming, so a busy directory still gets seen.
pub const MAX_DELAY: Duration = Duration::from_secs(1);

/// Which of the user's inputs changed. A change to the queue only needs a new round; any other
/// makes the daemon reload the whole workspace, so what is in force always validated together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    Config,
    Interviews,
    Templates,
    Queue,
}

/// The inputs that changed during one burst of events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes(BTreeSet<Change>);

impl Changes {
    pub fn contains(&self, change: Change) -> bool {
        self.0.contains(&change)
    }

    pub fn iter(&self) -> impl Iterator<Item = Change> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn insert(&mut self, change: Change) {
        self.0.insert(change);
    }

    fn extend(&mut self, other: Changes) {
        self.0.extend(other.0);
    }
}

/// Which files of a directory matter, so that the daemon's own state files or an editor's
/// leftovers next to them do not wake it up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    /// One file, watched through its directory: editors replace a file by renaming a new one
    /// over it, which a watch on the file itself would lose.
    File(OsString),
    Extensions(&'static [&'static str]),
}

/// One directory to watch and what a change in it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRoot {
    pub change: Change,
    pub dir: PathBuf,
    filter: Filter,
}

impl WatchRoot {
    /// The config file, watched through its directory.
    pub fn config_file(path: &Path) -> Self {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        Self {
            change: Change::Config,
            dir,
            filter: Filter::File(name),
        }
    }

    pub fn interviews(dir: &Path) -> Self {
        Self::dir(Change::Interviews, dir, &["yaml", "yml"])
    }

    pub fn templates(dir: &Path) -> Self {
        Self::dir(Change::Templates, dir, &["hbs"])
    }

    /// A queue folder: `pending/` (a deletion is a rejection) or `approved/`.
    pub fn queue(dir: &Path) -> Self {
        Self::dir(Change::Queue, dir, &["eml"])
    }

    fn dir(change: Change, dir: &Path, extensions: &'static [&'static str]) -> Self {
        Self {
            change,
            dir: dir.to_path_buf(),
            filter: Filter::Extensions(extensions),
        }
    }

    /// Whether an event about `path` concerns this root.
    fn matches(&self, path: &Path) -> bool {
        if path == self.dir {
            // The directory itself was removed, moved or replaced.
            return true;
        }
        if path.parent() != Some(self.dir.as_path()) {
            return false;
        }
        let Some(name) = path.file_name() else {
            return false;
        };
        let lossy = name.to_string_lossy();
        if is_temporary(&lossy) {
            return false;
        }
        match &self.filter {
            Filter::File(wanted) => name == wanted.as_os_str(),
            Filter::Extensions(exts) => path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| exts.iter().any(|x| e.eq_ignore_ascii_case(x))),
        }
    }
}

/// Why some or all watching could not be set up. The daemon logs it as a warning and relies on
/// its periodic tick.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "cannot watch files for changes ({0}){hint}; changes are picked up at the next periodic check instead",
        hint = hint(.0)
    )]
    Init(#[source] notify::Error),
    #[error(
        "cannot watch {} for changes ({source}){hint}; changes there are picked up at the next periodic check instead",
        path.display(),
        hint = hint(source)
    )]
    Path {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
}

fn hint(e: &notify::Error) -> &'static str {
    match &e.kind {
        notify::ErrorKind::MaxFilesWatch => {
            ": the inotify watch limit is reached; raise it with `sysctl fs.inotify.max_user_watches`"
        }
        notify::ErrorKind::Io(io) if io.raw_os_error() == Some(libc::EMFILE) => {
            ": too many inotify instances; raise `sysctl fs.inotify.max_user_instances`"
        }
        notify::ErrorKind::PathNotFound => ": the directory does not exist",
        notify::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound => {
            ": the directory does not exist"
        }
        _ => "",
    }
}

/// Watches the user's inputs for as long as it lives; dropping it stops the watching and closes
/// the channel.
pub struct Watcher {
    _inner: RecommendedWatcher,
    watched: Vec<PathBuf>,
    warnings: Vec<WatchError>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("watched", &self.watched)
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl Watcher {
    /// Starts watching each root's directory (not recursively) and returns the watcher and the
    /// channel of coalesced [`Changes`]: one message per burst, at most one waiting at a time
    /// (later bursts merge into it), so a slow daemon never falls behind.
    ///
    /// Fails only when no watching is possible at all; a root that cannot be watched is kept in
    /// [`Watcher::warnings`] and the others are watched. Needs no tokio runtime: the debouncing
    /// runs on its own thread, which ends when the watcher is dropped.
    pub fn start(roots: &[WatchRoot]) -> Result<(Watcher, mpsc::Receiver<Changes>), WatchError> {
        let (raw_tx, raw_rx) = std_mpsc::channel::<notify::Result<Event>>();
        let mut inner = notify::recommended_watcher(move |event| {
            let _ = raw_tx.send(event);
        })
        .map_err(WatchError::Init)?;

        let mut watched: Vec<PathBuf> = Vec::new();
        let mut warnings = Vec::new();
        for root in roots {
            if watched.contains(&root.dir) {
                continue;
            }
            match inner.watch(&root.dir, RecursiveMode::NonRecursive) {
                Ok(()) => watched.push(root.dir.clone()),
                Err(source) => warnings.push(WatchError::Path {
                    path: root.dir.clone(),
                    source,
                }),
            }
        }
        if watched.is_empty()
            && let Some(only) = warnings.pop()
        {
            return Err(only);
        }

        let (tx, rx) = mpsc::channel(1);
        let roots = roots.to_vec();
        std::thread::Builder::new()
            .name("followup-watch".into())
            .spawn(move || debounce(&roots, &raw_rx, &tx))
            .map_err(|e| WatchError::Init(notify::Error::io(e)))?;
        Ok((
            Watcher {
                _inner: inner,
                watched,
                warnings,
            },
            rx,
        ))
    }

    /// The directories being watched.
    pub fn watched(&self) -> &[PathBuf] {
        &self.watched
    }

    /// The roots that could not be watched, to log as warnings.
    pub fn warnings(&self) -> &[WatchError] {
        &self.warnings
    }
}

/// Collects events until the burst has been quiet for [`QUIET`] (or [`MAX_DELAY`] has passed),
/// then hands the set on; returns when either side of it is gone.
fn debounce(
    roots: &[WatchRoot],
    raw: &std_mpsc::Receiver<notify::Result<Event>>,
    tx: &mpsc::Sender<Changes>,
) {
    let mut pending = Changes::default();
    let mut first: Option<Instant> = None;
    loop {
        let wait = match first {
            None => Duration::from_secs(3600),
            Some(start) => QUIET.min(MAX_DELAY.saturating_sub(start.elapsed())),
        };
        match raw.recv_timeout(wait) {
            Ok(event) => {
                let changes = classify(roots, event);
                if !changes.is_empty() {
                    pending.extend(changes);
                    first.get_or_insert_with(Instant::now);
                }
                let due = first.is_some_and(|s| s.elapsed() >= MAX_DELAY);
                if !due {
                    continue;
                }
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if pending.is_empty() {
            first = None;
            continue;
        }
        match tx.try_send(std::mem::take(&mut pending)) {
            Ok(()) => first = None,
            // The daemon has not taken the last report yet: keep merging, try again shortly.
            Err(mpsc::error::TrySendError::Full(back)) => {
                pending = back;
                first = Some(Instant::now());
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return,
        }
    }
}

/// What one notify event means. An error or an overflowed event queue means anything may have
/// changed.
fn classify(roots: &[WatchRoot], event: notify::Result<Event>) -> Changes {
    let mut changes = Changes::default();
    let everything = |changes: &mut Changes| {
        for root in roots {
            changes.insert(root.change);
        }
    };
    let event = match event {
        Ok(event) => event,
        Err(_) => {
            everything(&mut changes);
            return changes;
        }
    };
    if event.need_rescan() {
        everything(&mut changes);
        return changes;
    }
    match event.kind {
        // Reading a file (the daemon's own scans included) is not a change.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => {}
        EventKind::Access(_) => return changes,
        _ => {}
    }
    for path in &event.paths {
        for root in roots.iter().filter(|r| r.matches(path)) {
            changes.insert(root.change);
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    use notify::event::{CreateKind, ModifyKind, RenameMode};

    fn event(kind: EventKind, path: &str) -> notify::Result<Event> {
        Ok(Event::new(kind).add_path(PathBuf::from(path)))
    }

    fn roots() -> Vec<WatchRoot> {
        vec![
            WatchRoot::config_file(Path::new("/c/followup.yaml")),
            WatchRoot::interviews(Path::new("/c/interviews")),
            WatchRoot::templates(Path::new("/c/templates")),
            WatchRoot::queue(Path::new("/q/approved")),
        ]
    }

    fn one(kind: EventKind, path: &str) -> Vec<Change> {
        classify(&roots(), event(kind, path)).iter().collect()
    }

    #[test]
    fn events_map_to_the_root_they_are_in() {
        let create = EventKind::Create(CreateKind::File);
        assert_eq!(one(create, "/c/followup.yaml"), [Change::Config]);
        assert_eq!(one(create, "/c/interviews/acme.yaml"), [Change::Interviews]);
        assert_eq!(
            one(create, "/c/templates/thank_you.hbs"),
            [Change::Templates]
        );
        assert_eq!(one(create, "/q/approved/x.eml"), [Change::Queue]);
        let moved = EventKind::Modify(ModifyKind::Name(RenameMode::To));
        assert_eq!(one(moved, "/q/approved/x.eml"), [Change::Queue]);
    }

    #[test]
    fn temporaries_other_files_and_reads_are_ignored() {
        let create = EventKind::Create(CreateKind::File);
        for path in [
            "/c/other.yaml",
            "/c/.followup.yaml.swp",
            "/c/followup.yaml~",
            "/c/interviews/.acme.yaml.swp",
            "/c/interviews/4913",
            "/c/interviews/#acme.yaml#",
            "/c/interviews/sub/acme.yaml",
            "/c/templates/notes.txt",
            "/q/approved/.x.eml.1.2.tmp",
            "/q/sent/x.eml",
        ] {
            assert!(one(create, path).is_empty(), "{path}");
        }
        let open = EventKind::Access(AccessKind::Open(AccessMode::Read));
        assert!(one(open, "/q/approved/x.eml").is_empty());
        let written = EventKind::Access(AccessKind::Close(AccessMode::Write));
        assert_eq!(one(written, "/q/approved/x.eml"), [Change::Queue]);
    }

    #[test]
    fn an_error_or_overflow_means_everything_changed() {
        let all = classify(&roots(), Err(notify::Error::generic("overflow")));
        assert_eq!(all.iter().count(), 4);
        let rescan = Event::new(EventKind::Other).set_flag(notify::event::Flag::Rescan);
        assert_eq!(classify(&roots(), Ok(rescan)).iter().count(), 4);
    }

    /// Waits for the next report, at most `limit`.
    async fn next(rx: &mut mpsc::Receiver<Changes>, limit: Duration) -> Option<Changes> {
        tokio::time::timeout(limit, rx.recv()).await.ok().flatten()
    }

    fn queue_dirs() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let pending = d.path().join("pending");
        let approved = d.path().join("approved");
        std::fs::create_dir(&pending).unwrap();
        std::fs::create_dir(&approved).unwrap();
        (d, pending, approved)
    }

    #[tokio::test]
    async fn a_file_moved_into_approved_is_reported_within_two_seconds() {
        let (_d, pending, approved) = queue_dirs();
        std::fs::write(pending.join("a.eml"), "x").unwrap();
        let (watcher, mut rx) = Watcher::start(&[WatchRoot::queue(&approved)]).unwrap();
        assert!(watcher.warnings().is_empty());
        std::fs::rename(pending.join("a.eml"), approved.join("a.eml")).unwrap();
        let changes = next(&mut rx, Duration::from_secs(2))
            .await
            .expect("no event");
        assert!(changes.contains(Change::Queue));
    }

    #[tokio::test]
    async fn a_burst_is_coalesced_into_few_reports() {
        let (_d, pending, _approved) = queue_dirs();
        let (_watcher, mut rx) = Watcher::start(&[WatchRoot::queue(&pending)]).unwrap();
        for i in 0..30 {
            let path = pending.join(format!("{i}.eml"));
            std::fs::write(&path, "x").unwrap();
            std::fs::write(&path, "xy").unwrap();
        }
        let first = next(&mut rx, Duration::from_secs(2))
            .await
            .expect("no event");
        assert!(first.contains(Change::Queue));
        let mut more = 0;
        while next(&mut rx, QUIET * 3).await.is_some() {
            more += 1;
        }
        assert!(more <= 1, "{more} more reports after the first");
    }

    #[tokio::test]
    async fn editor_temporaries_and_reads_wake_nothing() {
        let (_d, pending, _approved) = queue_dirs();
        let real = pending.join("a.eml");
        std::fs::write(&real, "x").unwrap();
        let (_watcher, mut rx) = Watcher::start(&[WatchRoot::queue(&pending)]).unwrap();
        std::fs::write(pending.join(".a.eml.swp"), "x").unwrap();
        std::fs::write(pending.join("a.eml~"), "x").unwrap();
        std::fs::write(pending.join("4913"), "x").unwrap();
        std::fs::remove_file(pending.join("4913")).unwrap();
        let _ = std::fs::read(&real).unwrap();
        assert_eq!(next(&mut rx, QUIET * 2).await, None);
    }

    #[tokio::test]
    async fn only_the_config_file_counts_in_its_directory() {
        let d = tempfile::tempdir().unwrap();
        let config = d.path().join("followup.yaml");
        let (_watcher, mut rx) = Watcher::start(&[WatchRoot::config_file(&config)]).unwrap();
        std::fs::write(d.path().join("other.yaml"), "x").unwrap();
        assert_eq!(next(&mut rx, QUIET * 2).await, None);
        // An editor's save: write a temporary, rename it over the file.
        std::fs::write(d.path().join(".followup.yaml.tmp"), "a: 1").unwrap();
        std::fs::rename(d.path().join(".followup.yaml.tmp"), &config).unwrap();
        let changes = next(&mut rx, Duration::from_secs(2))
            .await
            .expect("no event");
        assert_eq!(changes.iter().collect::<Vec<_>>(), [Change::Config]);
    }

    #[tokio::test]
    async fn a_missing_directory_is_a_warning_not_a_failure() {
        let (d, pending, _approved) = queue_dirs();
        let missing = d.path().join("templates");
        let (watcher, mut rx) =
            Watcher::start(&[WatchRoot::templates(&missing), WatchRoot::queue(&pending)]).unwrap();
        assert_eq!(watcher.warnings().len(), 1);
        let message = watcher.warnings()[0].to_string();
        assert!(message.contains("templates"), "{message}");
        assert!(message.contains("periodic check"), "{message}");
        std::fs::write(pending.join("a.eml"), "x").unwrap();
        assert!(next(&mut rx, Duration::from_secs(2)).await.is_some());
        // With nothing watchable at all, the caller hears it as an error.
        assert!(Watcher::start(&[WatchRoot::templates(&missing)]).is_err());
    }

    #[tokio::test]
    async fn dropping_the_watcher_closes_the_channel() {
        let (_d, pending, _approved) = queue_dirs();
        let (watcher, mut rx) = Watcher::start(&[WatchRoot::queue(&pending)]).unwrap();
        drop(watcher);
        assert_eq!(next(&mut rx, Duration::from_secs(2)).await, None);
        assert!(rx.is_closed());
    }
}
