//! The approval queue by hand: short numbers, interview ids and prefixes; what `status` and
//! `queue approve` say about it.

use crate::support::api::SledStore;
use crate::support::world::{JANE, World, ZOE};

/// A home in approve mode with Globex's two thank-yous waiting (numbers 1 and 2).
fn waiting() -> World {
    let w = World::globex("approve");
    let out = w.once_at("2026-11-03 13:00");
    assert!(out.stderr.contains("queued 2"), "{}", out.stderr);
    w
}

#[test]
fn queue_list_numbers_the_messages_and_every_command_takes_a_number() {
    let w = waiting();
    let list = w.ok(&["queue", "list"]).stdout;
    assert!(list.contains("Waiting for your approval (2):"), "{list}");
    let first = list.lines().nth(1).unwrap();
    assert!(
        first.starts_with("    1  due Tue 2026-11-03 13:00 EST  globex/thank_you/"),
        "{list}"
    );
    assert!(list.contains("    2  due"), "{list}");
    assert!(list.contains("`followup queue approve 1`"), "{list}");

    let one = w.ok(&["queue", "show", "1"]).stdout;
    let who = if one.contains(&format!("<{JANE}>")) {
        JANE
    } else {
        ZOE
    };
    assert!(one.contains("number 1"), "{one}");
    let out = w.ok(&["queue", "approve", "1"]).stdout;
    assert!(
        out.contains(&format!("approved 1 (globex/thank_you/{who})")),
        "{out}"
    );
    assert_eq!(w.queue_files("approved").len(), 1);
    let other = w.ok(&["queue", "reject", "#2"]).stdout;
    assert!(other.contains("rejected 2 (globex/thank_you/"), "{other}");
    assert!(w.queue_files("pending").is_empty());
}

#[test]
fn an_interview_id_or_a_unique_prefix_names_a_message_and_an_ambiguous_one_lists_them() {
    let w = waiting();
    let err = w.run(&["queue", "show", "glob"]).exit(1).stderr;
    assert!(
        err.contains("matches several messages") && err.contains("1 (globex/thank_you/"),
        "{err}"
    );
    w.ok(&["queue", "approve", "1"]);
    // Only one of Globex's waits now: the interview id names it.
    let out = w.ok(&["queue", "approve", "globex"]).stdout;
    assert!(out.contains("approved 2 ("), "{out}");
    let name = w.queue_files("approved")[0]
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    w.ok(&["queue", "show", &name[..20]]);
}

#[test]
fn queue_approve_says_whether_the_daemon_will_send_it() {
    let w = waiting();
    let out = w.ok(&["queue", "approve", "1"]).stdout;
    assert!(out.contains("The daemon is not running"), "{out}");
    assert!(out.contains("followup run --once"), "{out}");
    // The daemon holds the state's lock while it runs.
    let store = SledStore::open(w.path("state")).unwrap();
    let out = w.ok(&["queue", "approve", "2"]).stdout;
    assert!(out.contains("The daemon is running"), "{out}");
    drop(store);
}

#[test]
fn status_shows_unusable_queue_files_first() {
    let w = waiting();
    let file = w.queue_files("pending").remove(0);
    std::fs::write(&file, "Subject: half an edit\n").unwrap();
    let out = w.ok(&["status"]).stdout;
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with("Queue files that cannot be used (1)"),
        "{out}"
    );
    assert!(
        out.lines()
            .nth(1)
            .unwrap()
            .contains(&file.display().to_string()),
        "{out}"
    );
}

#[test]
fn a_thank_you_approved_after_its_limit_is_not_listed_as_about_to_be_sent() {
    let w = waiting();
    w.ok(&["queue", "approve", "1"]);
    let out = w.ok(&["status", "--now", "2026-11-05 12:00"]).stdout;
    assert!(
        out.contains("Approved, sent once the daemon runs (it is not running) (0):"),
        "{out}"
    );
    assert!(
        out.contains("Approved after the limit, not sent (1):"),
        "{out}"
    );
    assert!(out.contains("`followup queue approve --late 1`"), "{out}");
}

#[test]
fn approving_a_message_sent_or_rejected_already_says_so() {
    let w = waiting();
    w.ok(&["queue", "approve", "1"]);
    let again = w.ok(&["queue", "approve", "1"]).stdout;
    assert!(again.contains("is approved already"), "{again}");
    w.ok(&["queue", "reject", "2"]);
    let err = w.run(&["queue", "approve", "2"]).exit(1).stderr;
    assert!(
        err.contains("2 (globex/thank_you/") && err.contains("was rejected"),
        "{err}"
    );
    w.once_at("2026-11-03 13:05");
    let err = w.run(&["queue", "approve", "1"]).exit(1).stderr;
    assert!(err.contains("was sent already"), "{err}");
}
