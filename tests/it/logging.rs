//! The log as its readers meet it: a file or the journal gets no colour codes, a terminal gets
//! colour unless `$NO_COLOR`, the dependencies stay quiet unless `RUST_LOG` asks, values read as
//! the user wrote them (`mode=approve`, not `mode=Approve`), and `--log-format json` is JSON.

use crate::support::runner::Followup;
use crate::support::world::{JANE, World, interview_ending_now};

/// A home in approve mode whose one interview, with Jane, has its thank-you due now.
fn home() -> World {
    World::serving("approve").with(
        "globex.yaml",
        &interview_ending_now("Globex", "Jane Roe", JANE),
    )
}

/// `followup <args>` on `home` with the binary's own log filter.
fn followup(home: &World, args: &[&str]) -> Followup {
    home.followup().env_remove("RUST_LOG").args(args)
}

/// `followup run` until its first busy round is logged, then stopped; its stderr (a file).
fn daemon_log(home: &World, rust_log: Option<&str>) -> String {
    let mut cmd = followup(home, &["run"]);
    if let Some(filter) = rust_log {
        cmd = cmd.env("RUST_LOG", filter);
    }
    let mut daemon = cmd.spawn(&home.path("daemon.log"));
    let text = daemon.wait_log("a round logged", |l| l.contains("round done"));
    daemon.kill();
    text
}

#[test]
fn a_log_written_to_a_file_has_no_colour_no_dependency_noise_and_no_debug_formatting() {
    let log = daemon_log(&home(), None);
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

#[test]
fn rust_log_overrides_the_default_filter_and_shows_the_dependencies() {
    let log = daemon_log(&home(), Some("debug"));
    assert!(log.contains("Job creator created"), "{log}");
}

/// `followup run --once` with stderr on a new pseudo-terminal; what it printed there.
fn on_a_terminal(home: &World, no_color: Option<&str>) -> String {
    let mut cmd = followup(home, &["run", "--once"]);
    if let Some(value) = no_color {
        cmd = cmd.env("NO_COLOR", value);
    }
    let out = cmd.on_a_terminal();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    out.stderr
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let home = home();
    let coloured = on_a_terminal(&home, None);
    std::fs::remove_dir_all(home.path("state")).unwrap();
    let plain = on_a_terminal(&home, Some("1"));
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

#[test]
fn log_format_json_prints_one_object_per_event_with_the_send_fields() {
    let out = followup(&home(), &["--log-format", "json", "run", "--once"]).output();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let stderr = out.stderr;
    assert!(
        !stderr.contains(char::REPLACEMENT_CHARACTER),
        "not UTF-8: {stderr}"
    );
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
