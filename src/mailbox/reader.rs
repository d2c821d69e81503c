//! The mailbox beside the daemon: one task per folder kept in view (IDLE, else polling; every
//! failure retried with backoff), whose batches the daemon's loop classifies and records, and
//! one task that files copies of what was sent in the Sent folder.
//!
//! Nothing here touches the state: the loop owns it. A folder's batch is handed over with the
//! cursor after it, and the loop records both in one step, so a message is never missed and,
//! read twice, never counted twice. IMAP being down never holds up sending: it only means
//! replies are noticed later.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::imap::{
    Backoff, Batch, Cursor, DEFAULT_BATCH, FolderWatch, ImapClient, ImapError, StartAt,
};
use super::inbound;
use crate::retry::Failure;

/// Where the copies of sent messages wait for the Sent folder, in the state directory: one
/// file each, the exact bytes that went out, removed once filed.
pub const SENT_COPIES_DIR: &str = "sent-copies";

/// What the daemon reads, and where it files its copies.
#[derive(Debug, Clone)]
pub struct Reading {
    pub client: ImapClient,
    /// Where replies arrive.
    pub folders: Vec<String>,
    /// The Sent folder as configured; `None`: the one flagged `\Sent`, else `Sent`.
    pub sent: Option<String>,
    pub poll: Duration,
    /// How long to wait between attempts after failures (`imap.retry_max`, `retry_lasting`).
    pub backoff: Backoff,
    /// Whether copies of what followup sends go into Sent.
    pub save_copies: bool,
}

/// What happened in the mailbox.
#[derive(Debug)]
pub enum MailboxEvent {
    /// What one folder holds since it was last read, and where reading stands after it.
    Read(Batch),
    /// A folder cannot be read now; it is tried again with backoff.
    Unreadable { folder: String, error: ImapError },
    /// A copy was filed in Sent (or found there already) and its file removed.
    Copied { file: PathBuf },
    /// A copy could not be filed: tried again with backoff when the server or the session is
    /// the cause; set aside until the next start when the file itself is.
    CopyFailed { file: PathBuf, error: CopyError },
    /// The folders that can be opened, as the server listed them (to find Sent), for
    /// `validate` to compare the configured ones with.
    Folders(Vec<String>),
}

/// Why a copy could not be filed in Sent.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Imap(#[from] ImapError),
    #[error("cannot read the copy {}: {cause}", path.display())]
    Unreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "the copy {} has no Message-ID, so it could not be told from one filed already",
        path.display()
    )]
    NoMessageId { path: PathBuf },
}

impl CopyError {
    /// Whether the file itself is the problem (not the server): no other copy has it.
    pub fn is_in_the_file(&self) -> bool {
        !matches!(self, CopyError::Imap(_))
    }

    /// Which kind of failure this is, the same however the server words it.
    pub fn kind(&self) -> &'static str {
        match self {
            CopyError::Imap(e) => e.kind(),
            CopyError::Unreadable { .. } => "unreadable",
            CopyError::NoMessageId { .. } => "no-message-id",
        }
    }

    /// What the user can do about it, in words for `status`.
    pub fn advice(&self) -> &'static str {
        match self {
            CopyError::Imap(ImapError::NoFolder { .. }) => {
                "set `imap.sent` to one of the folders `followup check-imap` lists (or create \
                 the folder); copies wait in the state directory meanwhile"
            }
            CopyError::Imap(e) if e.is_auth_failure() => {
                "check imap.username and the password (`followup check-imap`)"
            }
            CopyError::Imap(e) if e.is_transient() => "it is tried again",
            CopyError::Imap(_) => "check the `imap` settings with `followup check-imap`",
            CopyError::Unreadable { .. } => {
                "make the file readable by followup (it is tried again at the next start), or \
                 remove it"
            }
            CopyError::NoMessageId { .. } => {
                "it cannot be filed safely; remove the file and file the message yourself"
            }
        }
    }
}

impl Failure for CopyError {
    fn heals_by_itself(&self) -> bool {
        match self {
            CopyError::Imap(e) => e.heals_by_itself(),
            CopyError::Unreadable { .. } | CopyError::NoMessageId { .. } => false,
        }
    }
}

/// The running tasks, and the channel their news comes on.
pub struct Mailbox {
    events: mpsc::Receiver<MailboxEvent>,
    copies: mpsc::UnboundedSender<PathBuf>,
    /// Copies handed to the copier and not yet reported on.
    offered: BTreeSet<PathBuf>,
    tasks: Vec<JoinHandle<()>>,
}

impl Mailbox {
    /// Starts watching every folder (the Sent folder too, for the user's own follow-ups) from
    /// its cursor; a folder never read before is read from `since` (the earliest interview
    /// still open).
    pub fn start(reading: Reading, cursors: &BTreeMap<String, Cursor>, since: NaiveDate) -> Self {
        let (tx, events) = mpsc::channel(64);
        let (copies, copy_requests) = mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for folder in &reading.folders {
            let watch = watch(&reading, folder, cursors.get(folder).copied(), since);
            tasks.push(tokio::spawn(keep_reading(watch, tx.clone())));
        }
        let cursors = cursors.clone();
        tasks.push(tokio::spawn(async move {
            let Some(sent) = sent_folder(&reading, &tx).await else {
                return;
            };
            let watch = watch(&reading, &sent, cursors.get(&sent).copied(), since);
            let copier = tokio::spawn(file_copies(
                reading.client.clone(),
                reading.backoff,
                sent,
                copy_requests,
                tx.clone(),
            ));
            keep_reading(watch, tx).await;
            copier.abort();
        }));
        Self {
            events,
            copies,
            offered: BTreeSet::new(),
            tasks,
        }
    }

    /// The next thing that happened; `None` once every task has ended.
    pub async fn next(&mut self) -> Option<MailboxEvent> {
        let event = self.events.recv().await?;
        if let MailboxEvent::Copied { file } = &event {
            self.offered.remove(file);
        }
        Some(event)
    }

    /// Hands every copy waiting in `dir` to the copier, once each.
    pub fn offer_copies(&mut self, dir: &Path) {
        for file in waiting_copies(dir) {
            if self.offered.insert(file.clone()) {
                let _ = self.copies.send(file);
            }
        }
    }

    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// The copies waiting to be filed, oldest name first.
pub fn waiting_copies(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    files
}

/// Reads every folder once, to the end, and files the waiting copies: `followup run --once`
/// and the daemon's start do this before their first round, so a cron user hears of replies
/// as the daemon would. A folder that cannot be read is reported and skipped.
pub async fn read_once(
    reading: &Reading,
    cursors: &BTreeMap<String, Cursor>,
    since: NaiveDate,
    copies: &Path,
) -> Vec<MailboxEvent> {
    // Gathered here, not through a channel: nobody reads a channel before the end, and a
    // bounded one would stop the reading once it held a channel's worth of batches.
    let mut events = Vec::new();
    // A server that cannot be reached at all is reported once, not once per folder.
    match reading.client.connect().await {
        Ok(session) => {
            let _ = session.logout().await;
        }
        Err(e) => return vec![unreadable(&reading.folders.join(", "), e)],
    }
    let mut folders = reading.folders.clone();
    let sent = match sent_folder_once(reading).await {
        Ok((sent, listed)) => {
            if let Some(listed) = listed {
                events.push(listed);
            }
            Some(sent)
        }
        Err(e) => {
            events.push(unreadable("Sent", e));
            None
        }
    };
    folders.extend(sent.clone());
    for folder in &folders {
        let mut watch = watch(reading, folder, cursors.get(folder).copied(), since)
            .with_backoff(Backoff::new(Duration::ZERO, Duration::ZERO, Duration::ZERO));
        loop {
            match watch.next().await {
                Ok(batch) => {
                    let done = batch.messages.len() < DEFAULT_BATCH;
                    events.push(MailboxEvent::Read(batch));
                    if done {
                        break;
                    }
                }
                Err(e) => {
                    events.push(unreadable(folder, e));
                    break;
                }
            }
        }
    }
    if let Some(sent) = sent.filter(|_| reading.save_copies) {
        events.extend(file_waiting_copies(reading, &sent, copies).await);
    }
    events
}

/// Files every copy waiting in `copies` in `sent`, on one connection.
pub async fn file_waiting_copies(
    reading: &Reading,
    sent: &str,
    copies: &Path,
) -> Vec<MailboxEvent> {
    let files = waiting_copies(copies);
    if files.is_empty() {
        return Vec::new();
    }
    let mut session = match reading.client.connect().await {
        Ok(session) => session,
        // The first copy says why; the others wait for the next run.
        Err(e) => {
            return vec![MailboxEvent::CopyFailed {
                file: files[0].clone(),
                error: e.into(),
            }];
        }
    };
    let mut events = Vec::new();
    for file in files {
        events.push(match copy_one(&mut session, sent, &file).await {
            Ok(()) => MailboxEvent::Copied { file },
            Err(error) => MailboxEvent::CopyFailed { file, error },
        });
    }
    let _ = session.logout().await;
    events
}

/// The Sent folder as configured, else as the server says (one connection), for a single run.
/// With it, the [`MailboxEvent::Folders`] the server listed when it was asked.
pub async fn sent_folder_once(
    reading: &Reading,
) -> Result<(String, Option<MailboxEvent>), ImapError> {
    if let Some(sent) = &reading.sent {
        return Ok((sent.clone(), None));
    }
    let mut session = reading.client.connect().await?;
    let found = find_sent(&mut session).await;
    let _ = session.logout().await;
    let (sent, listed) = found?;
    Ok((sent, Some(listed)))
}

/// The Sent folder as the server says (else `Sent`), and what it listed.
async fn find_sent(session: &mut super::Session) -> Result<(String, MailboxEvent), ImapError> {
    let folders = session.list_folders().await?;
    let sent = super::imap::sent_folder(&folders).unwrap_or_else(|| "Sent".into());
    let selectable = folders
        .into_iter()
        .filter(|f| f.selectable)
        .map(|f| f.name)
        .collect();
    Ok((sent, MailboxEvent::Folders(selectable)))
}

fn watch(reading: &Reading, folder: &str, cursor: Option<Cursor>, since: NaiveDate) -> FolderWatch {
    FolderWatch::new(
        reading.client.clone(),
        folder,
        cursor,
        StartAt::Since(since),
        reading.poll,
    )
    .with_backoff(reading.backoff)
}

/// Reads `watch` for ever, handing each batch (even an empty one, which says the folder is
/// healthy) and each failure to the loop.
async fn keep_reading(mut watch: FolderWatch, tx: mpsc::Sender<MailboxEvent>) {
    loop {
        let event = match watch.next().await {
            Ok(batch) => MailboxEvent::Read(batch),
            Err(e) => unreadable(watch.folder(), e),
        };
        if tx.send(event).await.is_err() {
            return;
        }
    }
}

fn unreadable(folder: &str, error: ImapError) -> MailboxEvent {
    MailboxEvent::Unreadable {
        folder: folder.to_string(),
        error,
    }
}

/// The Sent folder: as configured, else the one the server flags `\Sent`, else `Sent`. Asking
/// the server is retried with backoff until it answers; `None` when the loop is gone.
async fn sent_folder(reading: &Reading, tx: &mpsc::Sender<MailboxEvent>) -> Option<String> {
    if let Some(sent) = &reading.sent {
        return Some(sent.clone());
    }
    let mut backoff = reading.backoff;
    loop {
        tokio::time::sleep(backoff.delay()).await;
        let found = async {
            let mut session = reading.client.connect().await?;
            let found = find_sent(&mut session).await;
            let _ = session.logout().await;
            found
        };
        match found.await {
            Ok((sent, listed)) => {
                tx.send(listed).await.ok()?;
                return Some(sent);
            }
            Err(e) => {
                backoff.failed(&e);
                tx.send(unreadable("Sent", e)).await.ok()?;
            }
        }
    }
}

/// Files each copy it is handed in `sent`, on one connection kept open between copies. Every
/// failure backs off (the server's, the session's, the file's alike): a copy the server could
/// not take is tried again after the delay before the next one; a copy whose file is the
/// problem is set aside (reported once; tried again at the next start) so it holds up no other.
async fn file_copies(
    client: ImapClient,
    mut backoff: Backoff,
    sent: String,
    mut requests: mpsc::UnboundedReceiver<PathBuf>,
    tx: mpsc::Sender<MailboxEvent>,
) {
    let mut session = None;
    while let Some(file) = requests.recv().await {
        loop {
            tokio::time::sleep(backoff.delay()).await;
            let outcome = match session.take() {
                Some(open) => Ok(open),
                None => client.connect().await.map_err(CopyError::from),
            };
            let outcome = match outcome {
                Ok(mut open) => {
                    let copied = copy_one(&mut open, &sent, &file).await;
                    if open.is_open() {
                        session = Some(open);
                    }
                    copied
                }
                Err(e) => Err(e),
            };
            let (event, done) = match outcome {
                Ok(()) => {
                    backoff.succeeded();
                    (MailboxEvent::Copied { file: file.clone() }, true)
                }
                Err(error) => {
                    backoff.failed(&error);
                    let set_aside = error.is_in_the_file();
                    let event = MailboxEvent::CopyFailed {
                        file: file.clone(),
                        error,
                    };
                    (event, set_aside)
                }
            };
            if tx.send(event).await.is_err() {
                return;
            }
            if done {
                break;
            }
        }
    }
}

/// Files one copy: never twice (the folder is searched for its Message-ID first), and its
/// file is removed once it is there.
async fn copy_one(session: &mut super::Session, sent: &str, file: &Path) -> Result<(), CopyError> {
    let bytes = match std::fs::read(file) {
        Ok(bytes) => bytes,
        // Filed and removed by an earlier attempt.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(cause) => {
            return Err(CopyError::Unreadable {
                path: file.to_path_buf(),
                cause,
            });
        }
    };
    let Some(id) = inbound::parse(&bytes).message_id else {
        return Err(CopyError::NoMessageId {
            path: file.to_path_buf(),
        });
    };
    session.append_once(sent, &id, &bytes).await?;
    let _ = std::fs::remove_file(file);
    Ok(())
}
