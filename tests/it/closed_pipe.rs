//! A closed pipe (`followup plan | head -1`) ends a command quietly, whatever the command.

use crate::support::runner::Output;
use crate::support::world::{RECORD, World};

/// Enough interviews that `plan` and `simulate` print far more than the test's pipe holds, so
/// the command is still writing when the reader goes away.
fn busy_home() -> World {
    let w = World::empty().with_portfolio();
    for i in 0..12 {
        w.write(&format!("globex-{i:03}.yaml"), RECORD);
    }
    w
}

/// Exit 0, or death by SIGPIPE (141 in a shell); nothing on stderr.
#[track_caller]
fn ended_quietly(out: &Output, what: &str) {
    let by_sigpipe = out.signal == Some(libc::SIGPIPE);
    assert!(
        out.code == Some(0) || by_sigpipe,
        "{what}: exited {:?}:\n{}",
        out.code,
        out.stderr
    );
    assert_eq!(out.stderr, "", "{what} wrote to stderr");
    assert!(!out.stdout.is_empty(), "{what} printed nothing");
}

#[test]
fn plan_and_simulate_end_quietly_when_the_pipe_closes() {
    let w = busy_home();
    let now = ["--now", "2026-11-03 09:00"];
    ended_quietly(&w.followup().arg("plan").args(now).first_line(), "plan");
    ended_quietly(
        &w.followup().args(["plan", "--json"]).args(now).first_line(),
        "plan --json",
    );
    let from = ["--from", "2026-11-03 09:00"];
    ended_quietly(
        &w.followup().arg("simulate").args(from).first_line(),
        "simulate",
    );
}

#[test]
fn status_and_queue_show_end_quietly_when_the_pipe_closes() {
    let w = World::empty().with_globex();
    // Many unusable queue files, as the daemon records them: status lists each.
    let problems: Vec<String> = (0..200)
        .map(|i| {
            format!(
                "{}/pending/broken-{i}.eml: not a message",
                w.root().display()
            )
        })
        .collect();
    w.write_file(
        "state/queue-problems.json",
        serde_json::to_string(&problems).unwrap().as_bytes(),
    );
    ended_quietly(&w.followup().arg("status").first_line(), "status");

    let body = "A long line of a long message.\n".repeat(800);
    let eml = format!(
        "From: Sam Seeker <sam@example.org>\nTo: Jane Roe <jane@globex.example.com>\n\
         Subject: Thank you\nX-Followup-Key: globex/thank_you/jane@globex.example.com\n\n{body}"
    );
    w.write_file(
        "state/queue/pending/20261103T1300Z_globex_thank_you_jane@globex.example.com.eml",
        eml.as_bytes(),
    );
    ended_quietly(
        &w.followup()
            .args(["queue", "show", "globex/thank_you/jane@globex.example.com"])
            .first_line(),
        "queue show",
    );
}
