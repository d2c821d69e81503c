//! `followup run`: the loop around the planner.
//!
//! Each [`Daemon::tick`] loads nothing and decides nothing itself: it asks the planner what is
//! due at `now`, claims each due send in the state with a compare-and-swap, and acts on it by
//! the mode (queue it, send it, or only show it). The alarm clock, the file watcher and the
//! signals only decide *when* to tick; the truth is in the store, so a tick that runs twice
//! sends nothing twice.

/// Logs an event about one send: its key, and its parts as fields of their own for the journal
/// (`journalctl -u followup INTERVIEW=globex`); on a line of text the key alone is shown.
macro_rules! send_event {
    ($level:ident, $key:expr, $($rest:tt)+) => {{
        let key: &$crate::core::SendKey = &$key;
        tracing::$level!(
            key = %key,
            interview = %key.interview,
            step = %key.step,
            recipient = %key.recipient,
            $($rest)+
        )
    }};
}

mod alarm;
mod approval;
mod by_reply;
mod dry_run;
pub mod hearing;
mod notices;
mod round;
mod sending;
mod serve;
mod status_line;
pub mod watch;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tracing::{error, info, warn};

pub use alarm::{Alarm, Wake};
pub use status_line::{Next, Tally, status_line};

use crate::core::SendKey;
use crate::delivery::Transport;
use crate::delivery::queue::{QueueDir, QueueError};
use crate::fsutil::FsError;
use crate::input::diagnostic::Diagnostics;
use crate::mailbox::Reading;
use crate::shutdown::Shutdown;
use crate::store::snapshot::{self, SnapshotError};
use crate::store::{Store, StoreError};
use crate::workspace::Workspace;
pub use dry_run::DryRun;
use round::Round;

/// Why a tick could not do its work. Nothing is sent when the state cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Dry-run could not print (its reader went away): the run ends.
    #[error("cannot write the output")]
    Output(#[from] std::io::Error),
}

/// What one tick did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub queued: Vec<SendKey>,
    pub sent: Vec<SendKey>,
    pub deferred: Vec<SendKey>,
    pub failed: Vec<SendKey>,
    pub uncertain: Vec<SendKey>,
    /// Shown in dry-run mode.
    pub shown: Vec<SendKey>,
    /// When to look again: the next due action or retry; `None` when nothing is planned.
    pub next: Option<DateTime<Utc>>,
    /// The first action planned after this round, for the status line.
    pub next_action: Option<Next>,
    /// The sends that need the user or a later round; `None` in dry-run.
    pub tally: Option<Tally>,
}

impl TickReport {
    /// Moves `next` earlier to `at` when that is sooner.
    fn wake_at(&mut self, at: DateTime<Utc>) {
        self.next = Some(self.next.map_or(at, |next| next.min(at)));
    }
}

/// What the daemon does with a due message, holding exactly what that needs.
pub enum Mode<T: Transport> {
    /// Queue it for the user's approval; send what the user approved.
    Approve(Live<T>),
    /// Send it as soon as it is due.
    Send(Live<T>),
    /// Show it once; no state, no queue change, no connection.
    DryRun(DryRun),
}

impl<T: Transport> Mode<T> {
    /// Dry-run, with nothing shown yet.
    pub fn dry_run() -> Self {
        Mode::DryRun(DryRun::default())
    }
}

/// What approve and send mode act with: the state, the approval queue and the transport.
pub struct Live<T: Transport> {
    pub store: Box<dyn Store>,
    pub queue: QueueDir,
    pub transport: T,
    /// The mailbox, when the config has an `imap` section.
    pub reading: Option<Reading>,
    /// Writes the snapshot for read-only commands when the state changed.
    snapshots: snapshot::Writer,
    /// Which lasting problems were logged and when (see [`crate::retry::ProblemLog`]).
    problem_log: std::sync::Mutex<crate::retry::ProblemLog>,
    /// When the next notice may be tried after a notice could not go out.
    notices: std::sync::Mutex<crate::retry::Schedule>,
}

impl<T: Transport> Live<T> {
    /// Opens the approval queue of `ws` (creating it, private) beside the given state.
    pub fn open(ws: &Workspace, store: Box<dyn Store>, transport: T) -> Result<Self, DaemonError> {
        Ok(Self {
            queue: QueueDir::open(&ws.config.queue_dir)?,
            store,
            transport,
            reading: None,
            snapshots: snapshot::Writer::default(),
            problem_log: Default::default(),
            notices: Default::default(),
        })
    }

    /// Reads replies from the mailbox (and files copies there) as `reading` says.
    pub fn with_mailbox(mut self, reading: Option<Reading>) -> Self {
        self.reading = reading;
        self
    }
}

/// The daemon's world: the last good workspace and what its mode acts with.
pub struct Daemon<T: Transport> {
    config_path: PathBuf,
    ws: Workspace,
    mode: Mode<T>,
    /// Queue files that cannot be used, by path: logged once, shown by `status`.
    problems: BTreeMap<PathBuf, String>,
    /// Checked before each send: after SIGTERM nothing new starts.
    shutdown: Shutdown,
}

impl<T: Transport> Daemon<T> {
    pub fn new(config_path: &Path, ws: Workspace, mode: Mode<T>) -> Self {
        Self {
            config_path: config_path.to_path_buf(),
            ws,
            mode,
            problems: BTreeMap::new(),
            shutdown: Shutdown::default(),
        }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// The state, queue and transport; `None` in dry-run mode.
    pub fn live(&self) -> Option<&Live<T>> {
        match &self.mode {
            Mode::Approve(live) | Mode::Send(live) => Some(live),
            Mode::DryRun(_) => None,
        }
    }

    /// The mode's name, as the config spells it.
    pub fn mode_name(&self) -> &'static str {
        match self.mode {
            Mode::Approve(_) => "approve",
            Mode::Send(_) => "send",
            Mode::DryRun(_) => "dry-run",
        }
    }

    /// Queue files that cannot be used, with their problems.
    pub fn problems(&self) -> &BTreeMap<PathBuf, String> {
        &self.problems
    }

    /// Reads the user's files again. A version that does not validate is logged with its file
    /// and line and changes nothing: the last good one stays in force.
    pub fn reload(&mut self) -> Result<(), Diagnostics> {
        match Workspace::load(&self.config_path) {
            Ok(mut ws) => {
                if ws.config.queue_dir != self.ws.config.queue_dir
                    || ws.config.state_dir != self.ws.config.state_dir
                {
                    warn!("state_dir and queue_dir changes take effect at the next start");
                }
                info!(interviews = ws.interviews.len(), "reloaded the records");
                ws.config.queue_dir = self.ws.config.queue_dir.clone();
                ws.config.state_dir = self.ws.config.state_dir.clone();
                self.ws = ws;
                Ok(())
            }
            Err(problems) => {
                for p in &problems.0 {
                    error!("{p}");
                }
                error!("the edit does not validate: the last good version stays in force");
                Err(problems)
            }
        }
    }

    /// Resolves sends that a previous process left half done (see [`Round::recover`]).
    pub async fn recover(&mut self, now: DateTime<Utc>) -> Result<TickReport, DaemonError> {
        let (approve, live) = match &self.mode {
            Mode::Approve(live) => (true, live),
            Mode::Send(live) => (false, live),
            Mode::DryRun(_) => return Ok(TickReport::default()),
        };
        let round = Round::new(&self.ws, live, approve, now, &self.shutdown);
        round.recover().await
    }

    /// Reads the mailbox once, to the end, and records what it says: before the first round of
    /// `run --once` and of the daemon. A mailbox that cannot be read is logged and waited for
    /// no longer; sending goes on.
    pub async fn read_mailbox_once(&mut self, now: DateTime<Utc>) -> Result<(), DaemonError> {
        let (approve, live) = match &self.mode {
            Mode::Approve(live) => (true, live),
            Mode::Send(live) => (false, live),
            Mode::DryRun(_) => return Ok(()),
        };
        let Some(reading) = &live.reading else {
            return Ok(());
        };
        let cursors = hearing::cursors(live.store.as_ref(), reading)?;
        let since = hearing::read_since(&self.ws, now);
        let copies = hearing::copies_dir(&self.ws.config.state_dir);
        let events = crate::mailbox::reader::read_once(reading, &cursors, since, &copies).await;
        let round = Round::new(&self.ws, live, approve, now, &self.shutdown);
        for event in events {
            round.hear(event).await?;
        }
        Ok(())
    }

    /// Files the copies of what was sent that wait for the Sent folder, on one connection: the
    /// end of `run --once` (the daemon hands them to its copier after each round).
    pub async fn file_copies_once(&mut self, now: DateTime<Utc>) -> Result<(), DaemonError> {
        let (approve, live) = match &self.mode {
            Mode::Approve(live) => (true, live),
            Mode::Send(live) => (false, live),
            Mode::DryRun(_) => return Ok(()),
        };
        let Some(reading) = live.reading.as_ref().filter(|r| r.save_copies) else {
            return Ok(());
        };
        let copies = hearing::copies_dir(&self.ws.config.state_dir);
        if crate::mailbox::reader::waiting_copies(&copies).is_empty() {
            return Ok(());
        }
        let round = Round::new(&self.ws, live, approve, now, &self.shutdown);
        let events = match crate::mailbox::reader::sent_folder_once(reading).await {
            Ok((sent, listed)) => {
                let mut events = Vec::from_iter(listed);
                events.extend(
                    crate::mailbox::reader::file_waiting_copies(reading, &sent, &copies).await,
                );
                events
            }
            Err(e) => vec![crate::mailbox::MailboxEvent::Unreadable {
                folder: "Sent".into(),
                error: e,
            }],
        };
        for event in events {
            round.hear(event).await?;
        }
        Ok(())
    }

    /// Starts watching the mailbox's folders, each from where the state says reading stands;
    /// `None` without an `imap` section or in dry-run.
    pub fn start_mailbox(&self) -> Result<Option<crate::mailbox::Mailbox>, DaemonError> {
        let Some(live) = self.live() else {
            return Ok(None);
        };
        let Some(reading) = &live.reading else {
            return Ok(None);
        };
        let cursors = hearing::cursors(live.store.as_ref(), reading)?;
        let since = hearing::read_since(&self.ws, Utc::now());
        Ok(Some(crate::mailbox::Mailbox::start(
            reading.clone(),
            &cursors,
            since,
        )))
    }

    /// Records one piece of news from the mailbox (see [`hearing`]).
    pub async fn hear(
        &mut self,
        event: crate::mailbox::MailboxEvent,
        now: DateTime<Utc>,
    ) -> Result<(), DaemonError> {
        let (approve, live) = match &self.mode {
            Mode::Approve(live) => (true, live),
            Mode::Send(live) => (false, live),
            Mode::DryRun(_) => return Ok(()),
        };
        Round::new(&self.ws, live, approve, now, &self.shutdown)
            .hear(event)
            .await
    }

    /// When the approval digest is due, if one is (see [`Round::digest_due_at`]).
    pub fn digest_due_at(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, DaemonError> {
        match &self.mode {
            Mode::Approve(live) => {
                Round::new(&self.ws, live, true, now, &self.shutdown).digest_due_at()
            }
            Mode::Send(_) | Mode::DryRun(_) => Ok(None),
        }
    }

    /// Does everything that is due at `now`, and says when to look again.
    pub async fn tick(&mut self, now: DateTime<Utc>) -> Result<TickReport, DaemonError> {
        let Self {
            ws,
            mode,
            problems,
            shutdown,
            ..
        } = self;
        let (approve, live) = match mode {
            Mode::Approve(live) => (true, &*live),
            Mode::Send(live) => (false, &*live),
            Mode::DryRun(dry) => return dry.tick(ws, now),
        };
        Round::new(ws, live, approve, now, shutdown)
            .run(problems)
            .await
    }
}

/// The keys of the queue files that parsed.
fn keys_in(entries: &[crate::delivery::queue::Entry]) -> BTreeSet<SendKey> {
    entries.iter().filter_map(|e| e.key().cloned()).collect()
}
