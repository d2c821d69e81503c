//! The approval queue: one `.eml` file per message, in folders the user moves files between.
//!
//! The folders are the user interface, so everything in them is treated as untrusted input: an
//! editor's swap file, a symlink, a huge or binary file or a file with a broken header is never
//! sent and never panics the daemon. It is either ignored (editor temporaries) or reported as an
//! error entry naming the file, and left where it is for the user to fix.
//!
//! Every write is atomic (a dot-temp file in the same folder, fsync, rename or link, fsync of the
//! folder), so a crash leaves either the old state or the new one, never a half-written message
//! that the daemon could send.

pub mod decide;
pub mod eml;

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::core::SendKey;
use crate::fsutil::{self, Existing, FsError};
use crate::input::diagnostic::Diagnostic;
use crate::mail::message::Outgoing;
use eml::{EmlError, MAX_EML_BYTES, QueueFile, parse_eml, to_eml};

/// The longest a single name component (interview id, step, recipient) may be in a file name,
/// so a whole name stays far below the 255-byte limit of common file systems.
const MAX_COMPONENT: usize = 60;

/// One folder of the queue. (Not called `Box`, which would shadow `std::boxed::Box`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Folder {
    /// Written by the daemon, waiting for the user to read, edit and approve.
    Pending,
    /// Moved here by the user (or `queue approve`): the daemon sends what the file says.
    Approved,
    /// What was actually sent, kept as a record.
    Sent,
    /// Rejected by the user or by `queue reject`; never sent.
    Rejected,
}

impl Folder {
    pub const ALL: [Folder; 4] = [
        Folder::Pending,
        Folder::Approved,
        Folder::Sent,
        Folder::Rejected,
    ];

    /// The directory name under the queue root.
    pub fn dir_name(self) -> &'static str {
        match self {
            Folder::Pending => "pending",
            Folder::Approved => "approved",
            Folder::Sent => "sent",
            Folder::Rejected => "rejected",
        }
    }
}

impl fmt::Display for Folder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// Why one file in the queue cannot be used. The file is left untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error(
        "it is a symbolic link; followup never reads through links: put the message itself here"
    )]
    Symlink,
    #[error("it is not a regular file; remove it from the queue")]
    NotAFile,
    #[error("the file is {0} bytes; a queue file may hold at most {MAX_EML_BYTES}")]
    TooLarge(u64),
    #[error("the file name is not UTF-8; rename it")]
    BadName,
    #[error("the file changed while it was read; it is read again at the next change")]
    Changed,
    #[error("cannot read it: {0}")]
    Io(String),
    #[error("{0}")]
    Eml(#[from] EmlError),
}

/// One file in a queue folder, parsed or with the reason it could not be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file stem: what `followup queue approve ID` takes, as do [`Entry::number`], the
    /// interview's id and a unique prefix of either.
    pub id: String,
    /// The short number followup gave the file when it queued it (`followup queue approve 3`):
    /// unique among the queue's files, kept as the file moves between folders.
    pub number: Option<u32>,
    /// When it was due, from its name.
    pub due: Option<DateTime<Utc>>,
    pub folder: Folder,
    pub path: PathBuf,
    pub parsed: Result<QueueFile, EntryError>,
    pub modified: Option<SystemTime>,
}

impl Entry {
    /// The send key from the `X-Followup-Key` header, when the file parsed.
    pub fn key(&self) -> Option<&SendKey> {
        self.parsed.as_ref().ok().map(|q| &q.key)
    }

    /// The problem as `path:line: message`, for logs and `followup validate`.
    pub fn diagnostic(&self) -> Option<Diagnostic> {
        let error = self.parsed.as_ref().err()?;
        let line = match error {
            EntryError::Eml(e) => e.line(),
            _ => None,
        };
        Some(Diagnostic {
            file: self.path.clone(),
            line,
            column: None,
            message: error.to_string(),
        })
    }
}

/// What [`QueueDir::enqueue`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    pub path: PathBuf,
    /// The key already had a file in `pending/` or `approved/`; nothing was written.
    pub existed: bool,
}

/// Why a queue operation failed. Each names the file or id and what to do.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Fs(FsError),
    #[error(
        "{} is not a directory (a link or a file?); the queue's folders must be real directories: move it away",
        .0.display()
    )]
    NotADirectory(PathBuf),
    #[error(
        "`{0}` is not a queue id: give a file name from the queue (without `/` or `..`), a unique prefix of one, or a send key"
    )]
    BadId(String),
    #[error("no message `{id}` in {folders}; `followup queue list` shows them")]
    NotFound { id: String, folders: String },
    #[error(
        "`{id}` matches several messages: {}; give the number of the one you mean",
        matches.join(", ")
    )]
    Ambiguous { id: String, matches: Vec<String> },
    #[error("{}: {error}; fix the file, then try again", path.display())]
    Invalid { path: PathBuf, error: EntryError },
    #[error("{} already exists; move or remove it first", .0.display())]
    Exists(PathBuf),
    #[error("{} is not in the queue's pending/ or approved/ folder", .0.display())]
    NotQueued(PathBuf),
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> QueueError + 'a {
    move |cause| {
        QueueError::Fs(FsError {
            action,
            path: path.to_path_buf(),
            cause,
        })
    }
}

/// A taken name is [`QueueError::Exists`], which callers try the next name on.
impl From<FsError> for QueueError {
    fn from(e: FsError) -> Self {
        if e.already_exists() {
            QueueError::Exists(e.path)
        } else {
            QueueError::Fs(e)
        }
    }
}

/// The queue directory and its folders.
#[derive(Debug, Clone)]
pub struct QueueDir {
    root: PathBuf,
}

impl QueueDir {
    /// Opens the queue, creating the root and every folder private to the user (0700): the
    /// messages name the people the user is talking to.
    pub fn open(root: &Path) -> Result<Self, QueueError> {
        fsutil::create_private_dir(root)?;
        let queue = Self {
            root: root.to_path_buf(),
        };
        for folder in Folder::ALL {
            let dir = queue.dir(folder);
            fsutil::create_private_dir(&dir)?;
            let meta = fs::symlink_metadata(&dir).map_err(io_err("inspect", &dir))?;
            if !meta.is_dir() {
                return Err(QueueError::NotADirectory(dir));
            }
            if meta.permissions().mode() & 0o077 != 0 {
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
                    .map_err(io_err("make private", &dir))?;
            }
            fsutil::remove_stale_temps(&dir);
        }
        Ok(queue)
    }

    /// The queue at `root` without creating or touching anything: for dry-run, which must leave
    /// the disk as it found it. Scans of folders that do not exist find nothing.
    pub fn untouched(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of one folder, e.g. for the watcher.
    pub fn dir(&self, folder: Folder) -> PathBuf {
        self.root.join(folder.dir_name())
    }

    /// Puts the due message for `key` in `pending/` for the user to approve, with `note` (why it
    /// is there) for the user, named so that `ls` lists the queue in due order and says what each
    /// file is. At most one file per key lives in `pending/` and `approved/`: if there is one
    /// already (even one the user broke while editing), it is returned and nothing is written.
    pub fn enqueue(
        &self,
        key: &SendKey,
        msg: &Outgoing,
        note: Option<&str>,
        due: DateTime<Utc>,
    ) -> Result<Enqueued, QueueError> {
        for folder in [Folder::Pending, Folder::Approved] {
            if let Some(entry) = self.scan(folder)?.into_iter().find(|e| holds_key(e, key)) {
                return Ok(Enqueued {
                    path: entry.path,
                    existed: true,
                });
            }
        }
        let dir = self.dir(Folder::Pending);
        let eml = to_eml(key, msg, note);
        let first = self.next_number()?;
        // Each file gets a number of its own, so a different key that sanitizes to the same
        // name still gets a name of its own, never another key's file.
        for number in first..first + 9 {
            let name = format!("{}.eml", file_stem(key, due, number));
            match write_new(&dir, &name, eml.as_bytes()) {
                Err(QueueError::Exists(_)) => continue,
                Ok(path) => {
                    return Ok(Enqueued {
                        path,
                        existed: false,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        Err(QueueError::Exists(
            dir.join(format!("{}.eml", file_stem(key, due, first))),
        ))
    }

    /// One more than the highest number any file in any folder has: numbers are not reused
    /// while the files that had them are kept, so a number the user read in `queue list` still
    /// means the same message after it was sent.
    fn next_number(&self) -> Result<u32, QueueError> {
        let mut highest = 0;
        for folder in Folder::ALL {
            let dir = self.dir(folder);
            let listing = match fs::read_dir(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                listing => listing.map_err(io_err("list", &dir))?,
            };
            for item in listing.flatten() {
                let name = item.file_name();
                let stem = name.to_string_lossy();
                if let Some((_, Some(n), _)) = parse_name(stem.trim_end_matches(".eml")) {
                    highest = highest.max(n);
                }
            }
        }
        Ok(highest + 1)
    }

    /// Every `.eml` in a folder, in name (due) order. Editor temporaries and hidden files are
    /// skipped; anything else that cannot be used is an error entry, never dropped or moved.
    pub fn scan(&self, folder: Folder) -> Result<Vec<Entry>, QueueError> {
        let dir = self.dir(folder);
        let mut entries = Vec::new();
        let listing = match fs::read_dir(&dir) {
            // Only an untouched queue (dry-run, `status`) can lack a folder: it holds nothing.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(entries),
            listing => listing.map_err(io_err("list", &dir))?,
        };
        for item in listing {
            let item = item.map_err(io_err("list", &dir))?;
            let raw = item.file_name();
            let lossy = raw.to_string_lossy();
            if is_ignored(&lossy) {
                continue;
            }
            let path = item.path();
            let id = lossy.strip_suffix(".eml").unwrap_or(&lossy).to_string();
            let (parsed, modified) = if raw.to_str().is_none() {
                (Err(EntryError::BadName), None)
            } else {
                read_entry(&path)
            };
            let (due, number) = parse_name(&id).map_or((None, None), |(d, n, _)| (Some(d), n));
            entries.push(Entry {
                id,
                number,
                due,
                folder,
                path,
                parsed,
                modified,
            });
        }
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// Finds a message in any folder by what the user calls it: its number, its file name (or a
    /// unique prefix), its interview's id (or a unique prefix) or its send key
    /// (`interview/step/recipient`). Pending and approved messages come first.
    pub fn find(&self, query: &str) -> Result<Option<Entry>, QueueError> {
        self.find_in(&Folder::ALL, query)
    }

    /// As [`QueueDir::find`], in the given folders only.
    pub fn find_in(&self, folders: &[Folder], query: &str) -> Result<Option<Entry>, QueueError> {
        let parsed = Query::parse(query)?;
        let mut all = Vec::new();
        for folder in folders {
            all.extend(self.scan(*folder)?);
        }
        let id = match parsed {
            Query::Key(key) => return Ok(all.into_iter().find(|e| holds_key(e, &key))),
            Query::Number(n) => {
                return one_of(query, all.into_iter().filter(|e| e.number == Some(n)));
            }
            Query::Id(id) => id,
        };
        if let Some(i) = all.iter().position(|e| e.id == id) {
            return Ok(Some(all.swap_remove(i)));
        }
        // Pending and approved messages first: `queue show acme` means what waits.
        let waiting = |e: &Entry| matches!(e.folder, Folder::Pending | Folder::Approved);
        let (first, rest): (Vec<Entry>, Vec<Entry>) = all.into_iter().partition(waiting);
        for group in [first, rest] {
            let interview = Entry::interview;
            let exact: Vec<&Entry> = group.iter().filter(|e| interview(e) == Some(&id)).collect();
            let matches: Vec<Entry> = if exact.is_empty() {
                group
                    .into_iter()
                    .filter(|e| {
                        e.id.starts_with(&id) || interview(e).is_some_and(|i| i.starts_with(&id))
                    })
                    .collect()
            } else {
                exact.into_iter().cloned().collect()
            };
            if !matches.is_empty() {
                return one_of(query, matches.into_iter());
            }
        }
        Ok(None)
    }

    /// What moving a file from `pending/` to `approved/` does, for the command line. A file that
    /// does not parse is refused here, so the user hears about it now rather than in the log.
    pub fn approve(&self, id: &str) -> Result<PathBuf, QueueError> {
        let entry = self.expect(&[Folder::Pending], id)?;
        if let Err(error) = entry.parsed {
            return Err(QueueError::Invalid {
                path: entry.path,
                error,
            });
        }
        self.move_to(&entry, Folder::Approved)
    }

    /// Puts an approved message back in `pending/`, for the user to decide again.
    pub fn return_to_pending(&self, entry: &Entry) -> Result<PathBuf, QueueError> {
        self.move_to(entry, Folder::Pending)
    }

    /// Moves a pending or approved message to `rejected/`, so it is never sent. Works on files
    /// that do not parse too: rejecting is how a broken one is put aside.
    pub fn reject(&self, id: &str) -> Result<PathBuf, QueueError> {
        let entry = self.expect(&[Folder::Pending, Folder::Approved], id)?;
        self.move_to(&entry, Folder::Rejected)
    }

    /// Records a successful send: writes `final_eml` (what was sent) into `sent/`, then removes
    /// the queue file. In that order, so a crash in between leaves the message in both places,
    /// never in neither; calling this again then finishes the job.
    pub fn mark_sent(&self, entry: &Entry, final_eml: &str) -> Result<PathBuf, QueueError> {
        let parent = entry.path.parent();
        let queued = [Folder::Pending, Folder::Approved]
            .iter()
            .any(|f| parent == Some(self.dir(*f).as_path()));
        let name = entry.path.file_name().and_then(|n| n.to_str());
        let Some(name) = name.filter(|n| queued && valid_name(n)) else {
            return Err(QueueError::NotQueued(entry.path.clone()));
        };
        let sent_dir = self.dir(Folder::Sent);
        let stem = name.strip_suffix(".eml").unwrap_or(name);
        let mut written = None;
        for n in 1..=99 {
            let candidate = match n {
                1 => name.to_string(),
                n => format!("{stem}_sent{n}.eml"),
            };
            let path = sent_dir.join(&candidate);
            // A repeated call after a crash finds its own copy.
            if same_content(&path, final_eml.as_bytes()) {
                written = Some(path);
                break;
            }
            match write_new(&sent_dir, &candidate, final_eml.as_bytes()) {
                Err(QueueError::Exists(_)) => continue,
                Ok(path) => {
                    written = Some(path);
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let written = written.ok_or_else(|| QueueError::Exists(sent_dir.join(name)))?;
        match fs::remove_file(&entry.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &entry.path)(e)),
        }
        if let Some(parent) = parent {
            fsutil::sync_dir(parent)?;
        }
        Ok(written)
    }

    /// Lets a pending or approved message go out although it is past its step's limit (a late
    /// thank-you): adds the header that says so. Returns the folder it is in.
    pub fn approve_late(&self, id: &str) -> Result<Folder, QueueError> {
        let entry = self.expect(&[Folder::Pending, Folder::Approved], id)?;
        let text = fs::read_to_string(&entry.path).map_err(io_err("read", &entry.path))?;
        if let Some(marked) = eml::approved_late(&text) {
            fsutil::replace_file(&entry.path, marked.as_bytes())?;
        }
        Ok(entry.folder)
    }

    /// Of the keys the state says are queued, those with no file left in `pending/` or
    /// `approved/`: the user deleted them, which is a rejection. A file the user broke while
    /// editing still counts as present (by its name), so an edit is never taken for a deletion.
    pub fn missing(&self, queued: &[SendKey]) -> Result<Vec<SendKey>, QueueError> {
        let mut present = self.scan(Folder::Pending)?;
        present.extend(self.scan(Folder::Approved)?);
        Ok(queued
            .iter()
            .filter(|key| !present.iter().any(|e| holds_key(e, key)))
            .cloned()
            .collect())
    }

    fn expect(&self, folders: &[Folder], id: &str) -> Result<Entry, QueueError> {
        self.find_in(folders, id)?
            .ok_or_else(|| QueueError::NotFound {
                id: id.to_string(),
                folders: folders
                    .iter()
                    .map(|f| format!("{f}/"))
                    .collect::<Vec<_>>()
                    .join(" or "),
            })
    }

    fn move_to(&self, entry: &Entry, to: Folder) -> Result<PathBuf, QueueError> {
        let name = entry
            .path
            .file_name()
            .ok_or_else(|| QueueError::BadId(entry.id.clone()))?;
        let target = self.dir(to).join(name);
        match fs::symlink_metadata(&target) {
            Ok(_) => return Err(QueueError::Exists(target)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("inspect", &target)(e)),
        }
        fs::rename(&entry.path, &target).map_err(io_err("move", &entry.path))?;
        fsutil::sync_dir(&self.dir(to))?;
        fsutil::sync_dir(&self.dir(entry.folder))?;
        Ok(target)
    }
}

/// The one entry `query` matched, or the candidates when it matched several.
fn one_of(query: &str, matches: impl Iterator<Item = Entry>) -> Result<Option<Entry>, QueueError> {
    let mut matches: Vec<Entry> = matches.collect();
    matches.sort_by(|a, b| (a.number, &a.id).cmp(&(b.number, &b.id)));
    match matches.len() {
        0 | 1 => Ok(matches.pop()),
        _ => Err(QueueError::Ambiguous {
            id: query.trim().to_string(),
            matches: matches.iter().map(Entry::describe).collect(),
        }),
    }
}

impl Entry {
    /// The interview the message is about, when the file parsed.
    pub fn interview(&self) -> Option<&str> {
        self.key().map(|k| k.interview.as_str())
    }

    /// `3 (acme/thank_you/jane@example.com)`: how the queue's messages are named to the user.
    pub fn describe(&self) -> String {
        let what = self
            .key()
            .map_or_else(|| self.id.clone(), SendKey::to_string);
        match self.number {
            Some(n) => format!("{n} ({what})"),
            None => what,
        }
    }
}

/// What the user typed to name a message.
enum Query {
    Number(u32),
    Id(String),
    Key(SendKey),
}

impl Query {
    fn parse(s: &str) -> Result<Self, QueueError> {
        let s = s.trim();
        if let Ok(n) = s.trim_start_matches('#').parse::<u32>() {
            return Ok(Query::Number(n));
        }
        if s.contains('/') {
            return s
                .parse::<SendKey>()
                .map(Query::Key)
                .map_err(|_| QueueError::BadId(s.to_string()));
        }
        let id = s.strip_suffix(".eml").unwrap_or(s);
        if id.is_empty() || id.contains("..") || id.contains(['\\', '\0']) || id.starts_with('.') {
            return Err(QueueError::BadId(s.to_string()));
        }
        Ok(Query::Id(id.to_string()))
    }
}

/// Whether a file in `pending/` or `approved/` stands for `key`: by its header, or, when the user
/// broke the file while editing, by the name followup gave it.
fn holds_key(entry: &Entry, key: &SendKey) -> bool {
    match &entry.parsed {
        Ok(q) => &q.key == key,
        Err(_) => {
            let tail = key_tail(key);
            let named = |rest: &str| {
                rest == tail
                    || rest
                        .strip_prefix(&tail)
                        .and_then(|n| n.strip_prefix('_'))
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            };
            // Named with its number (`<due>_<n>_<tail>`), or before numbers were given.
            parse_name(&entry.id).is_some_and(|(_, _, rest)| named(rest))
                || entry.id.get(15..).is_some_and(named)
        }
    }
}

/// `20261103T1300Z_3_acme_thank_you_jane@example.com`: sorts by due time, has a short number,
/// says what it is.
fn file_stem(key: &SendKey, due: DateTime<Utc>, number: u32) -> String {
    format!("{}_{number}_{}", due.format(DUE_FORMAT), key_tail(key))
}

/// How a file name says when it was due.
const DUE_FORMAT: &str = "%Y%m%dT%H%MZ";

/// A name followup gave: when it was due, its number (absent in names from before numbers),
/// and the rest, which names the send.
fn parse_name(id: &str) -> Option<(DateTime<Utc>, Option<u32>, &str)> {
    let (stamp, rest) = (id.get(..14)?, id.get(14..)?.strip_prefix('_')?);
    let due = chrono::NaiveDateTime::parse_from_str(stamp, DUE_FORMAT)
        .ok()?
        .and_utc();
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    match rest[digits..].strip_prefix('_') {
        Some(tail) if digits > 0 => Some((due, rest[..digits].parse().ok(), tail)),
        _ => Some((due, None, rest)),
    }
}

fn key_tail(key: &SendKey) -> String {
    format!(
        "{}_{}_{}",
        sanitize(&key.interview),
        sanitize(key.step.as_str()),
        sanitize(&key.recipient)
    )
}

/// Keeps `[A-Za-z0-9@._-]`, replaces anything else by `-`, never leaves `..`, and bounds the
/// length, so a record's id can never make a path or a hidden file.
fn sanitize(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-') {
            c
        } else {
            '-'
        };
        if c == '.' && out.ends_with('.') {
            continue;
        }
        if out.len() >= MAX_COMPONENT {
            break;
        }
        out.push(c);
    }
    if out.is_empty() { "-".to_string() } else { out }
}

/// Editor temporaries, hidden files and anything that is not an `.eml`: never messages.
pub fn is_ignored(name: &str) -> bool {
    is_temporary(name) || !name.ends_with(".eml")
}

/// Files editors and sync tools write next to the real one (vim, emacs, nano, most tools).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.ends_with(".tmp")
        || (name.starts_with('#') && name.ends_with('#'))
        || name == "4913"
}

/// A plain file name followup could have written.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.contains("..")
        && !name.contains(['/', '\\', '\0'])
        && !is_ignored(name)
}

/// Reads one queue file without ever following a link or reading more than the limit.
fn read_entry(path: &Path) -> (Result<QueueFile, EntryError>, Option<SystemTime>) {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => return (Err(EntryError::Io(e.to_string())), None),
    };
    let modified = meta.modified().ok();
    (read_checked(path, &meta), modified)
}

fn read_checked(path: &Path, meta: &fs::Metadata) -> Result<QueueFile, EntryError> {
    if meta.file_type().is_symlink() {
        return Err(EntryError::Symlink);
    }
    if !meta.is_file() {
        return Err(EntryError::NotAFile);
    }
    if meta.len() > MAX_EML_BYTES as u64 {
        return Err(EntryError::TooLarge(meta.len()));
    }
    // O_NOFOLLOW: a link swapped in after the check is refused by the kernel; O_NONBLOCK: a FIFO
    // swapped in cannot hang the daemon.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => EntryError::Symlink,
            _ => EntryError::Io(e.to_string()),
        })?;
    let opened = file.metadata().map_err(|e| EntryError::Io(e.to_string()))?;
    if !opened.is_file() || opened.ino() != meta.ino() || opened.dev() != meta.dev() {
        return Err(EntryError::Changed);
    }
    let mut bytes = Vec::new();
    file.take(MAX_EML_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| EntryError::Io(e.to_string()))?;
    Ok(parse_eml(&bytes)?)
}

fn same_content(path: &Path, bytes: &[u8]) -> bool {
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {
            fs::read(path).is_ok_and(|b| b == bytes)
        }
        _ => false,
    }
}

/// Writes `dir/name` whole, refusing a name that followup could not have written or that is
/// taken.
fn write_new(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, QueueError> {
    if !valid_name(name) {
        return Err(QueueError::BadId(name.to_string()));
    }
    Ok(fsutil::write_atomic(dir, name, bytes, Existing::Keep)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    use chrono::TimeZone;

    use crate::core::{EmailAddress, Step};
    use crate::mail::message::Mailbox;
    use crate::mail::render::Draft;

    fn key(interview: &str, to: &str) -> SendKey {
        SendKey::new(interview, Step::ThankYou, to)
    }

    fn msg(k: SendKey) -> Outgoing {
        let to = EmailAddress::parse(&k.recipient).unwrap();
        Outgoing::new(
            Mailbox::new(
                "Alex Rivera",
                EmailAddress::parse("alex@example.org").unwrap(),
            ),
            Mailbox::new("Jane Doe", to),
            Draft {
                subject: "Thank you".into(),
                body: "Dear Jane,\n\nThank you.\n".into(),
            },
            due(),
        )
    }

    fn due() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 13, 0, 0).unwrap()
    }

    #[test]
    fn sanitize_keeps_safe_characters_only_and_bounds_length() {
        assert_eq!(sanitize("acme/../etc"), "acme-.-etc");
        assert_eq!(sanitize("a..b...c"), "a.b.c");
        assert_eq!(sanitize("café bar"), "caf--bar");
        assert_eq!(sanitize(""), "-");
        assert_eq!(sanitize(&"x".repeat(500)).len(), MAX_COMPONENT);
        let stem = file_stem(&key("../../x", "jane@example.com"), due(), 1);
        assert!(!stem.contains("..") && !stem.contains('/'), "{stem}");
    }

    #[test]
    fn temporaries_and_non_eml_files_are_ignored() {
        for name in [
            ".x.eml",
            "a.eml~",
            "a.eml.swp",
            ".a.eml.swx",
            "#a.eml#",
            "a.txt",
            "4913",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        assert!(!is_ignored("20261103T1300Z_a_thank_you_j@example.com.eml"));
    }

    #[test]
    fn query_refuses_paths_and_dot_dot() {
        for bad in ["..", "../x", "a/b", "a..b", "", ".hidden", "a\\b", "x/y/z"] {
            assert!(Query::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(Query::parse("abc.eml"), Ok(Query::Id(id)) if id == "abc"));
        assert!(matches!(
            Query::parse("acme/thank_you/jane@example.com"),
            Ok(Query::Key(_))
        ));
    }

    #[test]
    fn a_broken_file_still_holds_its_key_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let q = QueueDir::open(dir.path()).unwrap();
        let k = key("acme", "jane@example.com");
        let path = q.enqueue(&k, &msg(k.clone()), None, due()).unwrap().path;
        fs::write(&path, "not a message").unwrap();
        assert_eq!(q.missing(std::slice::from_ref(&k)).unwrap(), vec![]);
        let again = q.enqueue(&k, &msg(k.clone()), None, due()).unwrap();
        assert!(again.existed);
        assert_eq!(again.path, path);
        // A longer recipient with the same start is a different key.
        let other = key("acme", "jane@example.com.example");
        assert!(!holds_key(&q.scan(Folder::Pending).unwrap()[0], &other));
    }
}
