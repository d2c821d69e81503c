//! `validate` checks everything `run` checks before it touches the network, by the same rule:
//! what one refuses, the other refuses with the same words.

use crate::support::world::World;

/// A home in approve mode whose `smtp` section gets `lines` (indented two spaces).
fn home_with_smtp(lines: &str) -> World {
    World::globex("approve").configure(|c| {
        c.smtp.as_mut().unwrap().extra = lines.into();
    })
}

/// `validate` and `run --once` both refuse, both with `needle` at the config's `line`; nothing
/// reached the server.
#[track_caller]
fn both_refuse(w: &World, line: usize, needle: &str) -> String {
    let at = format!("followup.yaml:{line}:");
    let validate = w.run(&["validate"]).exit(1).stderr;
    assert!(
        validate
            .lines()
            .any(|l| l.contains(&at) && l.contains(needle)),
        "validate: expected `{at}` with `{needle}`:\n{validate}"
    );
    let run = w.round_at("2026-11-03 13:00").output().exit(1).stderr;
    assert!(
        run.lines().any(|l| l.contains(&at) && l.contains(needle)),
        "run: expected `{at}` with `{needle}`:\n{run}"
    );
    assert_eq!(w.server().connection_count(), 0);
    validate
}

#[test]
fn a_missing_password_file_is_refused_by_validate_as_by_run() {
    let w = home_with_smtp("  username: sam\n  password_file: smtp-password\n");
    let err = both_refuse(&w, 14, "cannot read the password file");
    assert!(
        err.contains(&w.path("smtp-password").display().to_string()),
        "{err}"
    );
    w.write_file("smtp-password", b"pw\n");
    w.ok(&["validate"]);
}

#[test]
fn a_username_with_no_password_anywhere_names_every_place_looked() {
    let w = home_with_smtp("  username: sam\n");
    let err = both_refuse(&w, 13, "no SMTP password was found");
    for place in [
        "`password_file`",
        "`password_env`",
        "$CREDENTIALS_DIRECTORY/smtp-password",
    ] {
        assert!(err.contains(place), "`{place}` not named:\n{err}");
    }
    let unset = home_with_smtp("  username: sam\n  password_env: FU_NOT_SET\n");
    both_refuse(&unset, 14, "FU_NOT_SET");
}

#[test]
fn outside_systemd_the_credential_file_the_units_hand_over_is_named_with_how_to_check_it() {
    let w = home_with_smtp("  username: sam\n");
    w.write_file("smtp-password", b"pw\n");
    let err = both_refuse(&w, 13, "no SMTP password was found");
    let beside = w.path("smtp-password").display().to_string();
    assert!(
        err.contains(&format!("{beside} exists")) && err.contains("CREDENTIALS_DIRECTORY="),
        "{err}"
    );
    w.followup()
        .env("CREDENTIALS_DIRECTORY", w.root())
        .args(["validate"])
        .succeeds();
}

#[test]
fn a_sending_mode_without_an_smtp_section_is_refused_by_validate_as_by_run() {
    let w = World::globex("approve").configure(|c| c.smtp = None);
    both_refuse(&w, 5, "there is no `smtp` section");
    let dry = World::globex("dry-run").configure(|c| c.smtp = None);
    dry.ok(&["validate"]);
}

#[test]
fn a_password_without_a_username_is_refused() {
    let w = home_with_smtp("  password_env: FU_SMTP_PW\n");
    both_refuse(&w, 13, "`username` is not");
}
