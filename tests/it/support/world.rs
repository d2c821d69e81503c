//! The test world: a user's home in a temporary directory (a config, interview records, the
//! state and the queue as the daemon leaves them), an in-process SMTP server on loopback when
//! the test sends mail, and the ways a test meets them: the real binary, or the daemon in this
//! process driven tick by tick in virtual time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde_json::Value;

use super::api::{
    QueueDir, SendKey, SendRecord, SledStore, SmtpSender, Snapshot, Step, Store, StoreError,
};
use super::mail::Mail;
use super::runner::{Followup, Output, Running, followup};
use super::smtp_server::{ServerOptions, TestSmtpServer};

pub const JANE: &str = "jane@globex.example.com";
pub const ZOE: &str = "zoe@globex.example.com";
pub const ME: &str = "sam@example.org";

/// The environment variable that sets the clock of a real `run --once`, for tests only.
pub const TEST_CLOCK: &str = "FOLLOWUP_TEST_NOW";

/// Tue 2026-11-03 10:00-11:00 in New York, with Jane (primary) and Zoë; `globex.yaml` of
/// [`World::with_globex`]. Tests name its lines: keep them where they are.
pub const RECORD: &str = "\
company: Globex
position: Backend Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Jane Roe
    title: Engineering Manager
    email: jane@globex.example.com
    primary: true
  - name: Zoë Müller
    email: zoe@globex.example.com
attachments: [portfolio.pdf]
";

/// The daemon as the tests drive it in this process.
pub type TestDaemon = followup::daemon::Daemon<SmtpSender>;

/// What the tests read of a daemon in approve or send mode.
pub trait LiveDaemon {
    /// The approval queue it acts on.
    fn queue(&self) -> &QueueDir;
}

impl LiveDaemon for TestDaemon {
    #[track_caller]
    fn queue(&self) -> &QueueDir {
        &self.live().expect("a daemon in approve or send mode").queue
    }
}

/// What `followup.yaml` says; [`World::configure`] rewrites it.
pub struct Config {
    /// `me.name`; the address is always [`ME`].
    pub owner_name: String,
    pub timezone: String,
    pub mode: Option<String>,
    pub queue_dir: Option<String>,
    pub smtp: Option<Smtp>,
    /// Top-level lines appended as they are, such as `templates: templates\n`.
    pub extra: String,
}

/// The `smtp` section: plain SMTP, which the daemon allows to loopback only.
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub timeout: String,
    /// Lines inside the section, such as `  username: sam\n`.
    pub extra: String,
}

impl Smtp {
    pub fn loopback(port: u16) -> Smtp {
        Smtp {
            host: "127.0.0.1".into(),
            port,
            timeout: "2s".into(),
            extra: String::new(),
        }
    }
}

impl Config {
    fn yaml(&self) -> String {
        let mut y = format!(
            "me:\n  name: {}\n  email: {ME}\ntimezone: {}\n",
            self.owner_name, self.timezone
        );
        if let Some(mode) = &self.mode {
            y.push_str(&format!("mode: {mode}\n"));
        }
        y.push_str("interviews: interviews\nstate_dir: state\n");
        if let Some(queue) = &self.queue_dir {
            y.push_str(&format!("queue_dir: {queue}\n"));
        }
        if let Some(s) = &self.smtp {
            y.push_str(&format!(
                "smtp:\n  host: {}\n  port: {}\n  security: plain\n  timeout: {}\n{}",
                s.host, s.port, s.timeout, s.extra
            ));
        }
        y.push_str(&self.extra);
        y
    }
}

pub struct World {
    pub dir: tempfile::TempDir,
    server: Option<TestSmtpServer>,
    config: Config,
}

impl World {
    /// A home with an empty `interviews/` and a config in dry-run mode with no SMTP server (the
    /// one setup that needs no mail server, so it validates).
    pub fn empty() -> World {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("interviews")).expect("interviews/");
        let world = World {
            dir,
            server: None,
            config: Config {
                owner_name: "Sam Seeker".into(),
                timezone: "America/New_York".into(),
                mode: Some("dry-run".into()),
                queue_dir: None,
                smtp: None,
                extra: String::new(),
            },
        };
        world.write_config();
        world
    }

    /// A home in `mode` whose SMTP server is a fresh in-process one.
    pub fn serving(mode: &str) -> World {
        World::serving_with(mode, ServerOptions::default())
    }

    pub fn serving_with(mode: &str, options: ServerOptions) -> World {
        let server = TestSmtpServer::start(options);
        let port = server.port;
        let mut world = World::empty().configure(|c| {
            c.mode = Some(mode.into());
            c.smtp = Some(Smtp::loopback(port));
        });
        world.server = Some(server);
        world
    }

    /// [`World::serving`] with [`RECORD`] as `globex.yaml`.
    pub fn globex(mode: &str) -> World {
        World::serving(mode).with_globex()
    }

    /// Adds [`RECORD`] as `globex.yaml`, and its attachment.
    pub fn with_globex(self) -> World {
        self.with_portfolio().with("globex.yaml", RECORD)
    }

    /// Adds `interviews/portfolio.pdf`, the attachment [`RECORD`] names.
    pub fn with_portfolio(self) -> World {
        self.write_file("interviews/portfolio.pdf", b"%PDF-1.4 test\n");
        self
    }

    /// Adds `interviews/<name>`.
    pub fn with(self, name: &str, text: &str) -> World {
        self.write(name, text);
        self
    }

    /// Writes `interviews/<name>`.
    pub fn write(&self, name: &str, text: &str) {
        self.write_file(&format!("interviews/{name}"), text.as_bytes());
    }

    /// Writes a file anywhere in the home, making its directory.
    pub fn write_file(&self, rel: &str, bytes: &[u8]) {
        let path = self.path(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("a directory in the home");
        }
        std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// Changes the config and writes it again.
    pub fn configure(mut self, change: impl FnOnce(&mut Config)) -> World {
        change(&mut self.config);
        self.write_config();
        self
    }

    /// [`World::configure`] on a world in place.
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut Config)) {
        change(&mut self.config);
        self.write_config();
    }

    /// The SMTP timeout, for a test that waits one out on purpose.
    pub fn with_smtp_timeout(self, timeout: &str) -> World {
        self.configure(|c| {
            c.smtp.as_mut().expect("an smtp section").timeout = timeout.into();
        })
    }

    fn write_config(&self) {
        self.write_file("followup.yaml", self.config.yaml().as_bytes());
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn config_path(&self) -> PathBuf {
        self.path("followup.yaml")
    }

    /// The world's SMTP server; only a [`World::serving`] one has one.
    #[track_caller]
    pub fn server(&self) -> &TestSmtpServer {
        self.server.as_ref().expect("this world has no SMTP server")
    }

    /// What the server received for `address`.
    pub fn to(&self, address: &str) -> Vec<Mail> {
        self.server().mails_to(address)
    }

    // --- the real binary ------------------------------------------------------------------------

    /// `followup --config <this home's config>`, to add arguments to.
    pub fn followup(&self) -> Followup {
        followup().config(&self.config_path())
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.followup().args(args).output()
    }

    /// [`World::run`] that must succeed.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Output {
        self.followup().args(args).succeeds()
    }

    /// The rows of `followup plan --now <now> --json`.
    #[track_caller]
    pub fn plan_rows(&self, now: &str) -> Vec<Value> {
        let plan = self.ok(&["plan", "--now", now, "--json"]).json();
        plan.as_array()
            .unwrap_or_else(|| panic!("plan --json is not a list: {plan}"))
            .clone()
    }

    /// One real round at `now`: `followup run --once` with the test suite's clock set (a real
    /// run takes no `--now`), to add arguments to.
    pub fn round_at(&self, now: &str) -> Followup {
        self.followup().env(TEST_CLOCK, now).args(["run", "--once"])
    }

    /// [`World::round_at`] that must succeed.
    #[track_caller]
    pub fn once_at(&self, now: &str) -> Output {
        self.round_at(now).succeeds()
    }

    /// `followup run` in the background, logging to `<name>.log` in the home.
    pub fn spawn(&self, name: &str) -> Running {
        self.followup()
            .arg("run")
            .spawn(&self.path(&format!("{name}.log")))
    }

    /// The sends as `followup state export` prints them, by key.
    #[track_caller]
    pub fn exported(&self) -> BTreeMap<String, Value> {
        let state = self.ok(&["state", "export"]).json();
        state["sends"]
            .as_array()
            .unwrap_or_else(|| panic!("no sends in the export: {state}"))
            .iter()
            .map(|s| (key_of(s), s.clone()))
            .collect()
    }

    // --- the state and the queue, as files ------------------------------------------------------

    /// The snapshot the daemon writes beside its database after each round (`state/state.json`).
    #[track_caller]
    pub fn snapshot(&self) -> Snapshot {
        let path = self.path("state/state.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The snapshot's record of `key`.
    #[track_caller]
    pub fn record(&self, key: &SendKey) -> SendRecord {
        let snapshot = self.snapshot();
        snapshot
            .sends
            .into_iter()
            .find(|r| &r.key == key)
            .unwrap_or_else(|| panic!("no record of {key} in the snapshot"))
    }

    /// A queue folder (`pending`, `approved`, ...), where the config puts the queue.
    pub fn queue(&self, folder: &str) -> PathBuf {
        match &self.config.queue_dir {
            Some(dir) => self.path(dir).join(folder),
            None => self.path("state/queue").join(folder),
        }
    }

    /// The `.eml` files in a queue folder, sorted.
    pub fn queue_files(&self, folder: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(self.queue(folder)) {
            Ok(dir) => dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }

    /// The one `.eml` in a queue folder addressed to `to`.
    #[track_caller]
    pub fn queue_file_to(&self, folder: &str, to: &str) -> PathBuf {
        let found: Vec<PathBuf> = self
            .queue_files(folder)
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .lines()
                    .any(|l| l.starts_with("To:") && l.contains(to))
            })
            .collect();
        assert_eq!(found.len(), 1, "files to {to} in {folder}: {found:?}");
        found[0].clone()
    }

    /// Moves a queue file into another folder, as the user would; its new path.
    pub fn move_to(&self, file: &Path, folder: &str) -> PathBuf {
        let to = self
            .queue(folder)
            .join(file.file_name().expect("a file name"));
        std::fs::rename(file, &to).expect("move a queue file");
        to
    }

    // --- the daemon in this process -------------------------------------------------------------

    /// The daemon on this home, as `followup run` builds it: the config and records loaded, the
    /// state opened, SMTP to the world's server. The one place the tests construct it.
    #[track_caller]
    pub fn daemon(&self) -> TestDaemon {
        let config = self.config_path();
        let ws = followup::workspace::Workspace::load(&config).expect("the world's workspace");
        let mode = match ws.config.mode {
            followup::input::config::Mode::DryRun => followup::daemon::Mode::dry_run(),
            configured => {
                let store: Box<dyn Store> = Box::new(open_state(&ws.config.state_dir));
                let transport =
                    followup::settings::smtp_sender(&ws.config).expect("the world's SMTP");
                let live = followup::daemon::Live::open(&ws, store, transport).expect("the queue");
                match configured {
                    followup::input::config::Mode::Send => followup::daemon::Mode::Send(live),
                    _ => followup::daemon::Mode::Approve(live),
                }
            }
        };
        followup::daemon::Daemon::new(&config, ws, mode)
    }
}

/// The row of `plan --json` for `step` (and `recipient`, when given).
#[track_caller]
/// The reason of `kind` among a row's `causes` (`plan --json`, `simulate --json`), if any.
pub fn cause_of<'a>(row: &'a Value, kind: &str) -> Option<&'a Value> {
    row["causes"]
        .as_array()
        .unwrap_or_else(|| panic!("no causes in {row}"))
        .iter()
        .find(|c| c["kind"] == kind)
}

pub fn plan_row<'a>(rows: &'a [Value], step: &str, recipient: Option<&str>) -> &'a Value {
    rows.iter()
        .find(|r| r["step"] == step && recipient.is_none_or(|who| r["recipient"] == who))
        .unwrap_or_else(|| panic!("no {step} for {recipient:?} in {rows:#?}"))
}

/// A send's key as the JSON of `state export` or `status --json` writes it.
pub fn key_of(v: &Value) -> String {
    let k = &v["key"];
    match k.as_str() {
        Some(s) => s.to_string(),
        None => format!(
            "{}/{}/{}",
            k["interview"].as_str().unwrap_or_default(),
            k["step"].as_str().unwrap_or_default(),
            k["recipient"].as_str().unwrap_or_default()
        ),
    }
}

/// A local time in New York, the world's zone, as UTC.
pub fn at(local: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::America::New_York
        .from_local_datetime(&naive)
        .unwrap()
        .with_timezone(&Utc)
}

/// An interview, in a zone where it is mid-afternoon now, that ended three hours ago: its
/// thank-you is due now (inside the 08:00-20:00 window and well within its limit).
pub fn interview_ending_now(company: &str, name: &str, email: &str) -> String {
    let now = Utc::now();
    let hour = i32::try_from(chrono::Timelike::hour(&now)).unwrap();
    let offset = 14 - hour; // local hour 14:xx; from UTC+14 down to UTC-9
    let zone = match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    let local = now.with_timezone(&FixedOffset::east_opt(offset * 3600).unwrap());
    let start = local - chrono::Duration::hours(4);
    format!(
        "company: {company}\nposition: Site Reliability Engineer\nstart: {}\nduration: 1h\n\
         timezone: {zone}\ninterviewers:\n  - name: {name}\n    email: {email}\n",
        start.format("%Y-%m-%d %H:%M")
    )
}

/// A send of [`RECORD`]'s interview.
pub fn key(step: Step, who: &str) -> SendKey {
    SendKey::new("globex", step, who)
}

/// Ticks at each instant the daemon asks for, until nothing is left or `until`.
pub async fn run_until(d: &mut TestDaemon, from: DateTime<Utc>, until: DateTime<Utc>) {
    let mut now = from;
    for _ in 0..200 {
        let report = d.tick(now).await.unwrap();
        match report.next {
            Some(next) if next <= until => now = next,
            _ => return,
        }
    }
    panic!("the daemon never settled");
}

/// Opens the state at `dir` in this process, as a daemon would, right after another handle in
/// this process was dropped. A test that spawns a child at that moment shares the lock file's
/// open description with it until the child's exec closes it (the descriptor is close-on-exec,
/// not closed at fork), so the lock may still be held for a moment: wait that out, never longer.
#[track_caller]
pub fn open_state(dir: &Path) -> SledStore {
    super::wait::wait_for(
        "the state's lock to be free",
        STATE_LOCK_WAIT,
        || match SledStore::open(dir) {
            Ok(store) => Some(store),
            Err(StoreError::Locked { .. }) => None,
            Err(e) => panic!("cannot open the state in {}: {e}", dir.display()),
        },
    )
}

/// Far longer than a fork-to-exec window, short enough to fail fast on a real second holder.
const STATE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
