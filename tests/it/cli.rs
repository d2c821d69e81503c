//! The real binary on real files in a temp dir: exit codes, messages with file and line, JSON.

use std::path::Path;

use serde_json::Value;

use crate::support::runner::{Output, followup};
use crate::support::smtp_server::{ServerOptions, TestSmtpServer};
use crate::support::world::{RECORD, Smtp, World};

/// A home with the attachment [`RECORD`] names and no record yet.
fn home() -> World {
    World::empty().with_portfolio()
}

/// Runs `validate` on one broken record and returns its stderr, checking exit 1.
fn invalid(record: &str) -> String {
    home()
        .with("broken.yaml", record)
        .run(&["validate"])
        .exit(1)
        .stderr
}

fn assert_at(err: &str, line: usize, needle: &str) {
    let want = format!("broken.yaml:{line}:");
    assert!(
        err.lines().any(|l| l.contains(&want) && l.contains(needle)),
        "expected `{want}` with `{needle}` in:\n{err}"
    );
}

#[test]
fn good_records_validate_with_exit_0_counting_in_words() {
    let out = home().with("globex.yaml", RECORD).ok(&["validate"]);
    assert!(
        out.stdout.contains("ok (1 interview, 2 interviewers"),
        "{}",
        out.stdout
    );
}

/// The shipped example as the system service runs it: the password comes as a credential.
#[test]
fn shipped_example_config_validates() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/followup.yaml");
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("smtp-password"), "example\n").unwrap();
    followup()
        .config(&example)
        .env("CREDENTIALS_DIRECTORY", credentials.path())
        .arg("validate")
        .succeeds();
}

#[test]
fn yaml_syntax_error_names_file_line_and_column() {
    let err = invalid("company: Globex\nposition: [unclosed\nstart: 2026-11-03 10:00\n");
    assert!(err.contains("broken.yaml:"), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("broken.yaml:2:") || l.contains("broken.yaml:3:")),
        "{err}"
    );
}

#[test]
fn type_error_names_its_line() {
    let err = invalid(&RECORD.replace("    primary: true", "    primary: sometimes"));
    assert_at(&err, 8, "primary");
}

#[test]
fn unknown_field_is_rejected_with_the_field_named() {
    let err = invalid(&RECORD.replace("interviewers:", "interviewrs:"));
    assert_at(&err, 4, "interviewrs");
    assert!(
        err.contains("interviewers"),
        "suggests the right name: {err}"
    );
}

#[test]
fn duplicate_key_is_rejected_at_the_second_key() {
    let err = invalid(&format!("{RECORD}company: Initech\n"));
    assert_at(&err, 12, "company");
}

#[test]
fn invalid_address_is_rejected_at_its_line() {
    let err = invalid(&RECORD.replace("zoe@globex.example.com", "zoe-at-globex"));
    assert_at(&err, 10, "zoe-at-globex");
}

#[test]
fn display_name_in_an_address_is_rejected() {
    let err = invalid(&RECORD.replace(
        "email: zoe@globex.example.com",
        "email: \"Zoe <zoe@globex.example.com>\"",
    ));
    assert_at(&err, 10, "bare address");
}

#[test]
fn unknown_time_zone_is_rejected_at_its_line() {
    let err = invalid(&RECORD.replace(
        "start: 2026-11-03 10:00",
        "start: 2026-11-03 10:00\ntimezone: Europe/Berln",
    ));
    assert_at(&err, 4, "Europe/Berln");
}

#[test]
fn start_in_a_dst_gap_is_rejected() {
    let err = invalid(&RECORD.replace("2026-11-03 10:00", "2026-03-08 02:30"));
    assert_at(&err, 3, "does not exist");
}

#[test]
fn start_in_a_dst_fold_is_rejected() {
    let err = invalid(&RECORD.replace("2026-11-03 10:00", "2026-11-01 01:30"));
    assert_at(&err, 3, "twice");
}

#[test]
fn interview_with_no_interviewer_is_rejected() {
    let err =
        invalid("company: Globex\nposition: Engineer\nstart: 2026-11-03 10:00\ninterviewers: []\n");
    assert!(err.contains("broken.yaml:4:"), "{err}");
    assert!(err.contains("interviewer"), "{err}");
}

#[test]
fn duplicate_ids_across_files_name_both_files() {
    let err = home()
        .with("a.yaml", &format!("id: same\n{RECORD}"))
        .with("b.yaml", &format!("id: same\n{RECORD}"))
        .run(&["validate"])
        .exit(1)
        .stderr;
    assert!(err.contains("b.yaml:1:") && err.contains("a.yaml"), "{err}");
}

#[test]
fn validate_reports_every_error_not_just_the_first() {
    let err = home()
        .with("one.yaml", &RECORD.replace("interviewers:", "interviewrs:"))
        .with(
            "two.yaml",
            &RECORD.replace("zoe@globex.example.com", "nope"),
        )
        .run(&["validate"])
        .exit(1)
        .stderr;
    assert!(
        err.contains("one.yaml:4:") && err.contains("two.yaml:10:"),
        "{err}"
    );
    assert!(err.contains("2 problems found"), "{err}");
}

#[test]
fn broken_template_is_reported_with_file_and_line() {
    let w = home()
        .with("globex.yaml", RECORD)
        .configure(|c| c.extra.push_str("templates: templates\n"));
    w.write_file(
        "templates/thank_you.hbs",
        b"Subject: Hi\n\nDear {{interviewer.nmae}},\n",
    );
    let err = w.run(&["validate"]).exit(1).stderr;
    assert!(err.contains("thank_you.hbs"), "{err}");
}

#[test]
fn bad_config_is_reported_with_its_line() {
    let err = home()
        .with("globex.yaml", RECORD)
        .configure(|c| c.timezone = "Mars/Olympus".into())
        .run(&["validate"])
        .exit(1)
        .stderr;
    assert!(
        err.contains("followup.yaml:4:") && err.contains("Mars/Olympus"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_2() {
    home().run(&["plan", "--bogus"]).exit(2);
}

#[test]
fn every_command_has_help() {
    for cmd in ["validate", "plan", "simulate", "preview", "init"] {
        let out = followup().args([cmd, "--help"]).succeeds();
        assert!(out.stdout.contains("Usage"), "{cmd}");
    }
}

fn json(out: Output) -> Vec<Value> {
    out.success().json().as_array().unwrap().clone()
}

#[test]
fn plan_json_has_the_documented_fields_each_interview_soonest_first() {
    let out =
        home()
            .with("globex.yaml", RECORD)
            .run(&["plan", "--now", "2026-11-03 09:00", "--json"]);
    let rows = json(out);
    assert_eq!(rows.len(), 6);
    for row in &rows {
        for field in [
            "interview",
            "step",
            "recipient",
            "to",
            "channel",
            "due",
            "state",
            "reason",
        ] {
            assert!(row.get(field).is_some(), "{field} missing in {row}");
        }
    }
    let first = &rows[0];
    assert_eq!(first["step"], "thank_you");
    assert_eq!(first["due"], "2026-11-03T18:00:00Z");
    assert_eq!(first["state"], "scheduled");
    let call = rows.iter().find(|r| r["step"] == "call_reminder").unwrap();
    assert_eq!(call["channel"], "call");
    assert_eq!(call["recipient"], "jane@globex.example.com");
    assert_eq!(call["to"], "sam@example.org");
    let dues: Vec<_> = rows
        .iter()
        .map(|r| r["due"].as_str().unwrap().to_string())
        .collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted);
}

#[test]
fn plan_json_goes_interview_by_interview_in_id_order_each_soonest_first() {
    // initech's interview is two days earlier, yet globex comes first by id.
    let initech = RECORD
        .replace("Globex", "Initech")
        .replace("globex", "initech")
        .replace("2026-11-03", "2026-11-01");
    let out = home()
        .with("globex.yaml", RECORD)
        .with("initech.yaml", &initech)
        .run(&["plan", "--now", "2026-10-30 09:00", "--json"]);
    let rows = json(out);
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["interview"].as_str().unwrap())
        .collect();
    let globex = ids.iter().take_while(|id| **id == "globex").count();
    assert!(
        globex > 0 && ids[globex..].iter().all(|id| *id == "initech"),
        "{ids:?}"
    );
    for interview in rows.chunk_by(|a, b| a["interview"] == b["interview"]) {
        let dues: Vec<&str> = interview
            .iter()
            .map(|r| r["due"].as_str().unwrap())
            .collect();
        assert!(dues.is_sorted(), "{dues:?}");
    }
}

#[test]
fn simulate_json_plays_the_whole_sequence_in_time_order() {
    let out = home().with("globex.yaml", RECORD).run(&[
        "simulate",
        "--from",
        "2026-11-03 09:00",
        "--fresh",
        "--json",
    ]);
    let events = json(out);
    let steps: Vec<_> = events.iter().map(|e| e["step"].as_str().unwrap()).collect();
    assert_eq!(
        steps,
        [
            "thank_you",
            "thank_you",
            "status_check",
            "call_reminder",
            "final_check",
            "close"
        ]
    );
    for e in &events {
        for field in [
            "at",
            "interview",
            "step",
            "recipient",
            "to",
            "channel",
            "subject",
            "event",
            "reason",
        ] {
            assert!(e.get(field).is_some(), "{field} missing in {e}");
        }
        assert_eq!(e["event"], "sent");
    }
    let check = &events[2];
    assert!(
        check["subject"].as_str().unwrap().starts_with("Re: "),
        "{check}"
    );
}

#[test]
fn simulate_until_stops_early() {
    let out = home().with("globex.yaml", RECORD).run(&[
        "simulate",
        "--from",
        "2026-11-03 09:00",
        "--until",
        "2026-11-05",
        "--json",
    ]);
    assert_eq!(json(out).len(), 2);
}

#[test]
fn preview_prints_the_rfc5322_text_that_would_go_out() {
    let out = home().with("globex.yaml", RECORD).ok(&[
        "preview",
        "globex",
        "--step",
        "thank_you",
        "--recipient",
        "JANE@globex.example.com",
    ]);
    let text = out.stdout;
    for header in [
        "Message-ID: <",
        "Date: ",
        "From: Sam Seeker <sam@example.org>",
        "To: Jane Roe <jane@globex.example.com>",
        "MIME-Version: 1.0",
        "Subject: ",
        "Content-Type: text/plain; charset=utf-8",
    ] {
        assert!(text.contains(header), "{header} missing:\n{text}");
    }
    assert!(!text.contains("zoe@"), "only the one recipient:\n{text}");
}

#[test]
fn preview_of_an_unknown_interview_is_an_error() {
    let out = home()
        .with("globex.yaml", RECORD)
        .run(&["preview", "nope"])
        .exit(1);
    assert!(out.stderr.contains("no interview `nope`"));
}

#[test]
fn init_writes_a_starter_that_validates_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fu");
    let run_init = || followup().arg("init").arg(&target).output();
    run_init().success();
    assert!(target.join("templates/thank_you.hbs").exists());
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("smtp-password"), "pw\n").unwrap();
    followup()
        .config(&target.join("followup.yaml"))
        .env("HOME", dir.path())
        .env("CREDENTIALS_DIRECTORY", credentials.path())
        .arg("validate")
        .succeeds();
    let before = std::fs::read_to_string(target.join("followup.yaml")).unwrap();
    let again = run_init().exit(1);
    assert!(again.stderr.contains("refusing to overwrite"));
    assert_eq!(
        before,
        std::fs::read_to_string(target.join("followup.yaml")).unwrap()
    );
}

#[test]
fn validate_and_check_smtp_agree_that_a_bracketed_ipv6_loopback_may_be_plain() {
    let server = TestSmtpServer::start(ServerOptions {
        ipv6: true,
        ..ServerOptions::default()
    });
    let w = World::empty().with_globex().configure(|c| {
        c.smtp = Some(Smtp {
            host: "\"[::1]\"".into(),
            ..Smtp::loopback(server.port)
        });
    });
    w.ok(&["validate"]);
    let out = w.ok(&["check-smtp"]);
    assert!(out.stdout.contains("ok: [::1]"), "{}", out.stdout);
}
