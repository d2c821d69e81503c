//! `followup run` under a service manager: the real binary, told by `$NOTIFY_SOCKET` to report to
//! a datagram socket this test listens on, as systemd's would (Type=notify, WatchdogSec=).

use std::time::{Duration, Instant};

use crate::support::runner::Running;
use crate::support::service_manager::{Heard, ServiceManager};
use crate::support::world::{JANE, World, interview_ending_now};

/// The watchdog the test's "manager" asks for: the daemon should ping every second.
const WATCHDOG: Duration = Duration::from_secs(2);

/// A home in approve mode whose one interview, with Jane, has its thank-you due now (so the
/// first round queues it whenever the test runs).
fn home_with_a_thank_you_due() -> World {
    World::serving("approve").with(
        "globex.yaml",
        &interview_ending_now("Globex", "Jane Roe", JANE),
    )
}

/// `followup <args>` as systemd would start it for a unit with `WatchdogSec=2s`, and the manager.
fn started(home: &World, args: &[&str]) -> (ServiceManager, Running) {
    let manager = ServiceManager::listen(home.root(), Some(WATCHDOG));
    let daemon = home
        .followup()
        .env_remove("RUST_LOG")
        .under(&manager)
        .args(args)
        .spawn(&home.path("daemon.log"));
    (manager, daemon)
}

fn count(lines: &[Heard], line: &str) -> usize {
    lines.iter().filter(|(_, l)| l == line).count()
}

fn position(lines: &[Heard], from: usize, pred: impl Fn(&str) -> bool) -> Option<usize> {
    lines
        .iter()
        .skip(from)
        .position(|(_, l)| pred(l))
        .map(|i| i + from)
}

#[test]
fn daemon_reports_ready_status_watchdog_reload_and_stop_in_order() {
    let home = home_with_a_thank_you_due();
    let (manager, mut daemon) = started(&home, &["run"]);
    manager.wait_until("READY=1", |l| count(l, "READY=1") >= 1);
    // Validation comes first: nothing at all is said before READY=1.
    let lines = manager.lines();
    assert_eq!(lines[0].1, "READY=1", "{lines:?}");

    // A status line after the first round, then the watchdog fed at about half its interval.
    manager.wait_until("a status line counting the queued thank-you", |l| {
        l.iter()
            .any(|(_, l)| l.starts_with("STATUS=") && l.contains("1 waiting for approval"))
    });
    manager.wait_until("five watchdog pings", |l| count(l, "WATCHDOG=1") >= 5);
    let lines = manager.lines();
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

    // SIGHUP: RELOADING=1 with the monotonic time in the same message, then READY=1 again.
    let before = manager.lines().len();
    daemon.signal(libc::SIGHUP);
    manager.wait_until("READY=1 after the reload", |l| {
        position(l, before, |l| l == "READY=1").is_some()
    });
    let datagrams = manager.datagrams();
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
    let lines = manager.lines();
    let reload = position(&lines, before, |l| l == "RELOADING=1").unwrap();
    let ready = position(&lines, before, |l| l == "READY=1").unwrap();
    assert!(reload < ready, "{lines:?}");

    // SIGTERM: STOPPING=1, and a clean exit.
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.log());
    let lines = manager.lines();
    assert_eq!(
        lines.last().map(|(_, l)| l.as_str()),
        Some("STOPPING=1"),
        "{lines:?}"
    );
}

#[test]
fn broken_config_at_start_never_reports_ready_and_exits_1() {
    let home =
        World::serving("approve").with("globex.yaml", "company: Globex\nposition: [unclosed\n");
    let (manager, mut daemon) = started(&home, &["run"]);
    let code = daemon.exit_code();
    let log = daemon.log();
    assert_eq!(code, Some(1), "{log}");
    assert!(
        log.contains("globex.yaml"),
        "the error names the file: {log}"
    );
    let heard = manager.heard_so_far();
    assert!(heard.is_empty(), "told the manager {heard:?}");
}

#[test]
fn run_once_is_a_command_not_a_service_and_tells_the_manager_nothing() {
    let home = home_with_a_thank_you_due();
    let (manager, mut daemon) = started(&home, &["run", "--once"]);
    let code = daemon.exit_code();
    let log = daemon.log();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("queued 1"), "{log}");
    let heard = manager.heard_so_far();
    assert!(heard.is_empty(), "told the manager {heard:?}");
}
