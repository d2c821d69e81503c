//! The log as its readers meet it: a file or the journal gets no colour codes, a terminal gets
//! colour unless `$NO_COLOR`, the dependencies stay quiet unless `RUST_LOG` asks, values read as
//! the user wrote them (`mode=approve`, not `mode=Approve`), and `--log-format json` is JSON.

use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::smtp_server::{ServerOptions, TestSmtpServer};

const WAIT: Duration = Duration::from_secs(20);

fn home(smtp_port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("interviews")).unwrap();
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    let record = format!(
        "company: Globex\nposition: Backend Engineer\nstart: {}\ntimezone: UTC\n\
         interviewers:\n  - name: Jane Roe\n    email: jane@globex.example.com\n",
        start.format("%Y-%m-%d %H:%M")
    );
    std::fs::write(dir.path().join("interviews/globex.yaml"), record).unwrap();
    let config = format!(
        "me:\n  name: Sam Seeker\n  email: sam@example.org\ntimezone: UTC\n\
         interviews: interviews\nstate_dir: state\nmode: approve\n\
         smtp:\n  host: 127.0.0.1\n  port: {smtp_port}\n  security: plain\n  timeout: 2s\n\
         policy:\n  thank_you: {{ delay: 1m, window: \"00:00-23:59\", days: every day }}\n"
    );
    std::fs::write(dir.path().join("followup.yaml"), config).unwrap();
    dir
}

fn followup(home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_followup"));
    cmd.arg("--config")
        .arg(home.join("followup.yaml"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("JOURNAL_STREAM")
        .env_remove("NOTIFY_SOCKET")
        .stdout(Stdio::null());
    cmd
}

/// `followup run` until its first busy round is logged, then stopped; its stderr (a file).
fn daemon_log(home: &Path, rust_log: Option<&str>) -> String {
    let log = home.join("daemon.log");
    let mut cmd = followup(home, &["run"]);
    if let Some(filter) = rust_log {
        cmd.env("RUST_LOG", filter);
    }
    let mut child = cmd
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WAIT;
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("round done") {
            break text;
        }
        assert!(Instant::now() < deadline, "no round logged:\n{text}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let _ = child.kill();
    let _ = child.wait();
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_written_to_a_file_has_no_colour_no_dependency_noise_and_no_debug_formatting() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port);
    let path = home.path().to_path_buf();
    let log = tokio::task::spawn_blocking(move || daemon_log(&path, None))
        .await
        .unwrap();
    assert!(!log.contains('\x1b'), "escape codes in a file:\n{log:?}");
    for noise in ["Uninited", "Job creator created", "Scheduler"] {
        assert!(
            !log.contains(noise),
            "`{noise}` at the default level:\n{log}"
        );
    }
    assert!(log.contains("followup is running mode=approve"), "{log}");
    let round = log.lines().find(|l| l.contains("round done")).unwrap();
    let next = round
        .split_whitespace()
        .find_map(|w| w.strip_prefix("next="))
        .unwrap_or_else(|| panic!("no next= in {round}"));
    assert!(
        chrono::DateTime::parse_from_rfc3339(next).is_ok() && next.ends_with('Z'),
        "next={next} is not an RFC 3339 time"
    );
    assert!(!log.contains("Some("), "Rust debug formatting:\n{log}");
    // A send is named by its key alone on a line of text; the split fields are for the journal.
    let queued = log
        .lines()
        .find(|l| l.contains("queued for approval"))
        .unwrap();
    assert!(
        queued.contains("key=globex/thank_you/jane@globex.example.com")
            && !queued.contains("interview="),
        "{queued}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_log_overrides_the_default_filter_and_shows_the_dependencies() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port);
    let path = home.path().to_path_buf();
    let log = tokio::task::spawn_blocking(move || daemon_log(&path, Some("debug")))
        .await
        .unwrap();
    assert!(log.contains("Job creator created"), "{log}");
}

/// Runs `followup run --once` with stderr on a new pseudo-terminal; what it printed there.
fn on_a_terminal(home: &Path, no_color: Option<&str>) -> String {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills in two new descriptors, which are then owned below.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both were just opened and are owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = followup(home, &["run", "--once"]);
    if let Some(value) = no_color {
        cmd.env("NO_COLOR", value);
    }
    let mut child = cmd.stderr(Stdio::from(slave)).spawn().unwrap();
    // The child holds the terminal now; our copy would keep it open after the child exits.
    drop(cmd);
    let mut reader = std::fs::File::from(master);
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        // The terminal reports EIO once the child (its only other user) has closed it.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    });
    assert!(child.wait().unwrap().success());
    String::from_utf8_lossy(&collector.join().unwrap()).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn colour_only_on_a_terminal_and_never_with_no_color() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port);
    let path = home.path().to_path_buf();
    let (coloured, plain) = tokio::task::spawn_blocking(move || {
        let coloured = on_a_terminal(&path, None);
        std::fs::remove_dir_all(path.join("state")).unwrap();
        (coloured, on_a_terminal(&path, Some("1")))
    })
    .await
    .unwrap();
    assert!(coloured.contains("queued for approval"), "{coloured}");
    assert!(
        coloured.contains("\x1b["),
        "no colour on a terminal: {coloured:?}"
    );
    assert!(plain.contains("queued for approval"), "{plain}");
    assert!(
        !plain.contains('\x1b'),
        "colour despite NO_COLOR: {plain:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_format_json_prints_one_object_per_event_with_the_send_fields() {
    let smtp = TestSmtpServer::start(ServerOptions::default());
    let home = home(smtp.port);
    let path = home.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        followup(&path, &["--log-format", "json", "run", "--once"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let mut lines: Vec<&str> = stderr.lines().collect();
    // The command's own summary closes the output; every line before it is a log event.
    assert!(lines.pop().unwrap().starts_with("queued 1,"), "{stderr}");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let queued = events
        .iter()
        .find(|e| e["message"] == "queued for approval")
        .unwrap_or_else(|| panic!("{stderr}"));
    assert_eq!(queued["level"], "INFO");
    assert_eq!(queued["key"], "globex/thank_you/jane@globex.example.com");
    assert_eq!(queued["interview"], "globex");
    assert_eq!(queued["step"], "thank_you");
    assert_eq!(queued["recipient"], "jane@globex.example.com");
}
