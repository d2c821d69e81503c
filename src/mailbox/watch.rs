//! The watch policy: [`FolderWatch`] keeps one folder in view across dropped connections,
//! reconnecting with capped exponential backoff ([`Backoff`]), catching up from its [`Cursor`]
//! in batches, then waiting for news (IDLE, or polling). A folder with no cursor yet begins
//! where [`StartAt`] says. The tasks that run the watches are in `reader.rs`.

use std::time::Duration;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::imap::{Fetched, FolderState, ImapClient, ImapError, Session};
use crate::retry::Backoff;

/// How many messages one fetch returns at most; the rest come with the next.
pub const DEFAULT_BATCH: usize = 50;

/// Where a folder's reading stands: everything up to `last_seen` under this `uid_validity` was
/// handed over (a new UIDVALIDITY voids it). The state stores it as it is, per folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub uid_validity: u32,
    /// The highest UID already handed over.
    pub last_seen: u32,
}

/// Where to begin reading a folder that has no cursor yet (or whose UIDVALIDITY changed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// Messages received on or after this day (the earliest interview still open).
    Since(NaiveDate),
    /// Only messages that arrive from now on.
    New,
}

/// What one round of [`FolderWatch::next`] found.
#[derive(Debug, Clone)]
pub struct Batch {
    pub folder: String,
    /// Where reading stands after these messages: persist it once they are handled.
    pub cursor: Cursor,
    pub messages: Vec<Fetched>,
    /// The folder's UIDVALIDITY changed (or it was read for the first time): reading began
    /// again from [`StartAt`]; messages seen before may come again.
    pub restarted: bool,
}

/// One folder kept in view: connects (with backoff after failures), catches up from the
/// cursor, then waits for news (IDLE, or polling) and fetches what is new. Every failure drops
/// the connection and is returned, so the caller can log it and show it; the next call waits
/// out the backoff and reconnects.
#[derive(Debug)]
pub struct FolderWatch {
    client: ImapClient,
    folder: String,
    start: StartAt,
    cursor: Option<Cursor>,
    session: Option<Session>,
    backoff: Backoff,
    poll: Duration,
    batch: usize,
    /// Fetch before waiting: after (re)connecting, and while a full batch suggests more.
    catch_up: bool,
}

impl FolderWatch {
    pub fn new(
        client: ImapClient,
        folder: impl Into<String>,
        cursor: Option<Cursor>,
        start: StartAt,
        poll: Duration,
    ) -> Self {
        Self {
            client,
            folder: folder.into(),
            start,
            cursor,
            session: None,
            backoff: Backoff::default(),
            poll,
            batch: DEFAULT_BATCH,
            catch_up: true,
        }
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        self.batch = batch.max(1);
        self
    }

    pub fn folder(&self) -> &str {
        &self.folder
    }

    pub fn cursor(&self) -> Option<Cursor> {
        self.cursor
    }

    /// Consecutive failures since the last success (0 when healthy).
    pub fn failures(&self) -> u32 {
        self.backoff.failures()
    }

    /// Whether a connection is up.
    pub fn is_connected(&self) -> bool {
        self.session.as_ref().is_some_and(Session::is_open)
    }

    /// The next messages: at once when there is something to catch up on, else after the
    /// server reports news or the wait times out (then possibly an empty batch).
    pub async fn next(&mut self) -> Result<Batch, ImapError> {
        match self.round().await {
            Ok(batch) => {
                self.backoff.succeeded();
                Ok(batch)
            }
            Err(e) => {
                self.session = None;
                self.catch_up = true;
                self.backoff.failed(&e);
                Err(e)
            }
        }
    }

    async fn round(&mut self) -> Result<Batch, ImapError> {
        let mut restarted = false;
        if let Some(session) = self.session.take_if(|s| s.is_open() && s.needs_relogin()) {
            tracing::debug!(folder = %self.folder, "logging in again with a fresh token");
            let _ = session.logout().await;
        }
        if !self.is_connected() {
            tokio::time::sleep(self.backoff.delay()).await;
            let mut session = self.client.connect().await?;
            let state = session.examine(&self.folder).await?;
            let cursor = match self.cursor {
                Some(c) if c.uid_validity == state.uid_validity => c,
                _ => {
                    restarted = true;
                    self.begin(&mut session, state).await?
                }
            };
            self.cursor = Some(cursor);
            self.session = Some(session);
            self.catch_up = true;
        }
        let session = self.session.as_mut().expect("connected above");
        if !self.catch_up {
            session.wait(self.poll).await?;
        }
        let cursor = self.cursor.expect("set when connecting");
        let messages = session.fetch_after(cursor.last_seen, self.batch).await?;
        let last_seen = messages
            .iter()
            .map(|m| m.uid)
            .max()
            .unwrap_or(cursor.last_seen);
        let cursor = Cursor {
            last_seen,
            ..cursor
        };
        self.cursor = Some(cursor);
        self.catch_up = messages.len() >= self.batch;
        Ok(Batch {
            folder: self.folder.clone(),
            cursor,
            messages,
            restarted,
        })
    }

    /// The cursor of a folder read for the first time (or renumbered).
    async fn begin(&self, session: &mut Session, state: FolderState) -> Result<Cursor, ImapError> {
        let last_seen = match self.start {
            StartAt::Since(day) => match session.uids_since(day).await?.first() {
                Some(&first) => first - 1,
                None => newest_uid(session, state).await?,
            },
            StartAt::New => newest_uid(session, state).await?,
        };
        Ok(Cursor {
            uid_validity: state.uid_validity,
            last_seen,
        })
    }
}

/// The highest UID in use: UIDNEXT - 1 when the server says, else the highest found.
async fn newest_uid(session: &mut Session, state: FolderState) -> Result<u32, ImapError> {
    match state.uid_next {
        Some(next) => Ok(next.saturating_sub(1)),
        None => Ok(session.uids_after(0).await?.last().copied().unwrap_or(0)),
    }
}
