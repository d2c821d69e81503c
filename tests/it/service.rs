//! `followup run` under a service manager: the real binary, told by `$NOTIFY_SOCKET` to report to
//! a datagram socket this test listens on, as systemd's would (Type=notify, WatchdogSec=).

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::smtp_server::{ServerOptions, TestSmtpServer};

/// The watchdog the test's "manager" asks for: the daemon should ping every second.
const WATCHDOG: Duration = Duration::from_secs(2);

const WAIT: Duration = Duration::from_secs(20);

/// A config in approve mode whose one interview ended an hour ago, with a thank-you due at once
/// at any hour (so the first round queues it whenever the test runs).
fn home(smtp_port: u16, record: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("interviews")).unwrap();
    std::fs::write(dir.path().join("interviews/globex.yaml"), record).unwrap();
    let config = format!(
        "me:\n  name: Sam Seeker\n  email: sam@example.org\ntimezone: UTC\n\
         interviews: interviews\nstate_dir: state\nmode: approve\n\
         smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: plain\n  timeout: 1s\n\
         policy:\n  thank_you: {{ delay: 1m, window: \"00:00-23:59\", days: every day }}\n"
    );
    std::fs::write(dir.path().join("followup.yaml"), config).unwrap();
    dir
}

fn record_ended_an_hour_ago() -> String {
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    format!(
        "company: Globex\nposition: Backend Engineer\nstart: {}\ntimezone: UTC\n\
         interviewers:\n  - name: Jane Roe\n    email: jane@globex.example.com\n",
        start.format("%Y-%m-%d %H:%M")
    )
}

/// What the daemon told the manager: one entry per datagram, with when it came.
#[derive(Clone, Default)]
struct Heard(Arc<Mutex<Vec<(Instant, String)>>>);

impl Heard {
    fn all(&self) -> Vec<(Instant, String)> {
        self.0.lock().unwrap().clone()
    }

    /// Every `NAME=value` line, in order.
    fn lines(&self) -> Vec<(Instant, String)> {
        self.all()
            .into_iter()
            .flat_map(|(at, d)| d.lines().map(|l| (at, l.to_string())).collect::<Vec<_>>())
            .collect()
    }

    /// Waits (bounded) until `done` holds of what was heard.
    fn wait_for(&self, what: &str, done: impl Fn(&[(Instant, String)]) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.lines()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; heard: {:#?}",
                self.all().iter().map(|(_, d)| d).collect::<Vec<_>>()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A stand-in for systemd's notification socket.
struct Manager {
    path: PathBuf,
    heard: Heard,
}

impl Manager {
    fn listen(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        let heard = Heard::default();
        let sink = heard.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            // Ends when the test process does; each read is bounded so the thread never hangs.
            socket
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            loop {
                if let Ok(n) = socket.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    sink.0.lock().unwrap().push((Instant::now(), text));
                }
            }
        });
        Self { path, heard }
    }

    /// Everything the daemon sent before now, once the listener has read it: a marker sent now
    /// arrives after all of it (a datagram socket keeps the order).
    fn heard_so_far(&self) -> Vec<String> {
        const MARKER: &str = "TEST_MARKER=1";
        let probe = UnixDatagram::unbound().unwrap();
        probe.send_to(MARKER.as_bytes(), &self.path).unwrap();
        self.heard
            .wait_for("the marker", |l| l.iter().any(|(_, l)| l == MARKER));
        self.heard
            .all()
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d.trim() != MARKER)
            .collect()
    }

    /// `followup run` as systemd would start it for a unit with `WatchdogSec=2s`.
    fn start(&self, home: &Path, args: &[&str]) -> Daemon {
        let log = home.join("daemon.log");
        let child = Command::new(env!("CARGO_BIN_EXE_followup"))
            .arg("--config")
            .arg(home.join("followup.yaml"))
            .args(args)
            .env("NOTIFY_SOCKET", &self.path)
            .env("WATCHDOG_USEC", WATCHDOG.as_micros().to_string())
            .env_remove("WATCHDOG_PID")
            .env_remove("JOURNAL_STREAM")
            .env_remove("RUST_LOG")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "followup did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn count(lines: &[(Instant, String)], line: &str) -> usize {
    lines.iter().filter(|(_, l)| l == line).count()
}

fn position(
    lines: &[(Instant, String)],
    from: usize,
    pred: impl Fn(&str) -> bool,
) -> Option<usize> {
    lines
        .iter()
        .skip(from)
        .position(|(_, l)| pred(l))
        .map(|i| i + from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daemon_reports_ready_status_watchdog_reload_and_stop_in_order() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port, &record_ended_an_hour_ago());
    let manager = Manager::listen(home.path());
    let mut daemon = manager.start(home.path(), &["run"]);
    let heard = manager.heard.clone();
    tokio::task::spawn_blocking(move || {
        heard.wait_for("READY=1", |l| count(l, "READY=1") >= 1);
        // Validation comes first: nothing at all is said before READY=1.
        let lines = heard.lines();
        assert_eq!(lines[0].1, "READY=1", "{lines:?}");

        // A status line after the first round, then the watchdog fed at about half its interval.
        heard.wait_for("a status line counting the queued thank-you", |l| {
            l.iter()
                .any(|(_, l)| l.starts_with("STATUS=") && l.contains("1 waiting for approval"))
        });
        heard.wait_for("five watchdog pings", |l| count(l, "WATCHDOG=1") >= 5);
        let lines = heard.lines();
        let status = lines
            .iter()
            .find(|(_, l)| l.starts_with("STATUS="))
            .unwrap();
        assert!(
            status
                .1
                .starts_with("STATUS=next: status_check to Jane Roe ")
                && status.1.ends_with("; 1 waiting for approval; 0 failed"),
            "{}",
            status.1
        );
        let pings: Vec<Instant> = lines
            .iter()
            .filter(|(_, l)| l == "WATCHDOG=1")
            .map(|(at, _)| *at)
            .collect();
        let ready_at = lines[0].0;
        let mut previous = ready_at;
        for at in &pings {
            assert!(
                *at - previous < WATCHDOG,
                "a gap of {:?} between pings would have fired a {WATCHDOG:?} watchdog",
                *at - previous
            );
            previous = *at;
        }
        let elapsed = *pings.last().unwrap() - ready_at;
        // At most one ping per quarter interval, plus one per round the file watcher started.
        assert!(
            pings.len() as f64 <= elapsed.as_secs_f64() / (WATCHDOG.as_secs_f64() / 4.0) + 4.0,
            "{} pings in {elapsed:?} floods the manager",
            pings.len()
        );
        assert!(
            lines
                .iter()
                .all(|(_, l)| l != "STOPPING=1" && l != "RELOADING=1"),
            "{lines:?}"
        );
    })
    .await
    .unwrap();

    // SIGHUP: RELOADING=1 with the monotonic time in the same message, then READY=1 again.
    let before = manager.heard.lines().len();
    daemon.signal(libc::SIGHUP);
    let heard = manager.heard.clone();
    tokio::task::spawn_blocking(move || {
        heard.wait_for("READY=1 after the reload", |l| {
            position(l, before, |l| l == "READY=1").is_some()
        });
        let datagrams = heard.all();
        let reloading = datagrams
            .iter()
            .find(|(_, d)| d.starts_with("RELOADING=1"))
            .unwrap_or_else(|| panic!("no RELOADING=1: {datagrams:?}"));
        assert!(
            reloading.1.lines().any(|l| l
                .strip_prefix("MONOTONIC_USEC=")
                .is_some_and(|v| v.parse::<u64>().is_ok())),
            "{reloading:?}"
        );
        let lines = heard.lines();
        let reload = position(&lines, before, |l| l == "RELOADING=1").unwrap();
        let ready = position(&lines, before, |l| l == "READY=1").unwrap();
        assert!(reload < ready, "{lines:?}");
    })
    .await
    .unwrap();

    // SIGTERM: STOPPING=1, and a clean exit.
    daemon.signal(libc::SIGTERM);
    let code = tokio::task::spawn_blocking(move || {
        let code = daemon.exit_code();
        (code, daemon.log())
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "{}", code.1);
    let lines = manager.heard.lines();
    assert_eq!(
        lines.last().map(|(_, l)| l.as_str()),
        Some("STOPPING=1"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_config_at_start_never_reports_ready_and_exits_1() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port, "company: Globex\nposition: [unclosed\n");
    let manager = Manager::listen(home.path());
    let mut daemon = manager.start(home.path(), &["run"]);
    let (code, log) = tokio::task::spawn_blocking(move || (daemon.exit_code(), daemon.log()))
        .await
        .unwrap();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("globex.yaml"),
        "the error names the file: {log}"
    );
    let heard = manager.heard_so_far();
    assert!(heard.is_empty(), "told the manager {heard:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_is_a_command_not_a_service_and_tells_the_manager_nothing() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port, &record_ended_an_hour_ago());
    let manager = Manager::listen(home.path());
    let mut daemon = manager.start(home.path(), &["run", "--once"]);
    let (code, log) = tokio::task::spawn_blocking(move || (daemon.exit_code(), daemon.log()))
        .await
        .unwrap();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("queued 1"), "{log}");
    let heard = manager.heard_so_far();
    assert!(heard.is_empty(), "told the manager {heard:?}");
}
