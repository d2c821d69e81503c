//! The small things a newcomer trips over in the first hour: each answered with the fix.

use crate::support::runner::followup;
use crate::support::world::{RECORD, World, cause_of, plan_row};

/// `validate` of [`RECORD`] changed by `edit`: its stderr, exit 1.
fn refused(edit: impl Fn(&str) -> String) -> String {
    World::empty()
        .with_portfolio()
        .with("globex.yaml", &edit(RECORD))
        .run(&["validate"])
        .exit(1)
        .stderr
}

#[test]
fn a_zone_abbreviation_or_a_city_suggests_the_iana_zone() {
    for (written, meant) in [
        ("PST", "America/Los_Angeles"),
        ("EST", "America/New_York"),
        ("America/San_Francisco", "America/Los_Angeles"),
    ] {
        let err = refused(|r| format!("{r}timezone: {written}\n"));
        assert!(
            err.contains("globex.yaml:12:") && err.contains(&format!("write {meant}")),
            "{written}: {err}"
        );
    }
    let config = World::empty().configure(|c| c.timezone = "PST".into());
    let err = config.run(&["validate"]).exit(1).stderr;
    assert!(err.contains("write America/Los_Angeles"), "{err}");
}

#[test]
fn an_address_without_a_dot_in_its_domain_is_refused_with_the_fix() {
    let err = refused(|r| r.replace("zoe@globex.example.com", "monica@piedpiper"));
    assert!(
        err.contains("globex.yaml:10:") && err.contains("no dot in its domain"),
        "{err}"
    );
}

#[test]
fn two_addresses_in_one_field_are_not_called_a_display_name() {
    let err = refused(|r| {
        r.replace(
            "zoe@globex.example.com",
            "zoe@globex.example.com,omar@globex.example.com",
        )
    });
    assert!(err.contains("more than one address"), "{err}");
    assert!(!err.contains("display name"), "{err}");
}

#[test]
fn simulate_help_says_what_until_defaults_to() {
    let help = followup().args(["simulate", "--help"]).succeeds().stdout;
    assert!(help.contains("at most a year"), "{help}");
    let w = World::empty().with_globex();
    let out = w.ok(&["simulate", "--from", "2026-11-03 09:00"]);
    assert!(
        out.stdout
            .starts_with("Simulated from Tue 2026-11-03 09:00 EST until nothing more is due"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_primary_without_an_address_has_the_checks_go_to_the_next_one_and_validate_warns() {
    let record = "company: Globex\nposition: Backend Engineer\nstart: 2026-11-03 10:00\n\
                  interviewers:\n  - name: Pat Lee\n    primary: true\n  - name: Jane Roe\n    \
                  email: jane@globex.example.com\n";
    let w = World::empty().with("globex.yaml", record);
    let out = w.ok(&["validate"]);
    assert!(
        out.stderr.contains("warning: ")
            && out.stderr.contains("globex.yaml:5:")
            && out
                .stderr
                .contains("the status checks and the later follow-ups go to Jane Roe"),
        "{}",
        out.stderr
    );
    let rows = w.plan_rows("2026-11-03 09:00");
    let check = plan_row(&rows, "status_check", None);
    assert_eq!(check["to"], "jane@globex.example.com", "{check}");
    assert_eq!(check["state"], "scheduled", "{check}");
    let stands_in = cause_of(check, "stands_in").unwrap_or_else(|| panic!("{check}"));
    assert_eq!(stands_in["primary"], "Pat Lee", "{check}");
    assert_eq!(stands_in["stand_in"], "Jane Roe", "{check}");
    let text = w.ok(&["plan", "--now", "2026-11-03 09:00"]).stdout;
    assert!(text.contains("Jane Roe stands in"), "{text}");
}

#[test]
fn check_smtp_says_what_the_server_offers_in_words() {
    let w = World::globex("approve");
    let out = w.ok(&["check-smtp"]).stdout;
    assert!(out.contains(" offers "), "{out}");
    assert!(
        !out.contains('{') && !out.contains("Authentication("),
        "{out}"
    );
}

#[test]
fn init_at_the_default_place_says_the_next_command_without_config() {
    let home = tempfile::tempdir().unwrap();
    let out = followup().env("HOME", home.path()).arg("init").succeeds();
    assert!(
        out.stdout.contains("\n  followup validate\n"),
        "{}",
        out.stdout
    );
}
