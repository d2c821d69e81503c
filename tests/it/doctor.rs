//! `followup doctor` on a good setup (exit 0) and on each fault it knows (exit 1, the fault named
//! with its fix): the real binary, real files, a real SMTP server with AUTH on loopback.

use std::fs::{DirBuilder, File};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::support::gate::Gate;
use crate::support::runner::{Followup, followup};
use crate::support::smtp_server::ServerOptions;
use crate::support::world::{ME, RECORD, World};

const PASSWORD: &str = "correct horse";

/// The unit check asks `systemd-analyze`; CI has it (`.ci/run` sets FOLLOWUP_INTEROP=1).
const UNIT_RATER: Gate = Gate {
    var: "FOLLOWUP_INTEROP",
    only_when_asked: false,
    how_to_run: "install systemd, which has systemd-analyze",
};

/// A user's complete, correct setup: config (no `mode`: approve, the default), one record,
/// private state and queue directories, a private password file, the shipped user unit in the
/// user's home, a synchronised clock.
fn good_setup() -> World {
    let setup = World::serving_with(
        "approve",
        ServerOptions {
            auth: Some((ME.into(), PASSWORD.into())),
            ..ServerOptions::default()
        },
    )
    .with_globex()
    .configure(|c| {
        c.mode = None;
        let smtp = c.smtp.as_mut().expect("an smtp section");
        smtp.timeout = "5s".into();
        smtp.extra = format!("  username: {ME}\n  password_file: smtp-password\n");
    });
    for dir in ["state", "state/queue"] {
        DirBuilder::new()
            .mode(0o700)
            .create(setup.path(dir))
            .unwrap();
    }
    setup.write_file("smtp-password", format!("{PASSWORD}\n").as_bytes());
    chmod(&setup.path("smtp-password"), 0o600);
    let unit =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/followup-user.service"))
            .unwrap();
    setup.write_file("home/.config/systemd/user/followup.service", &unit);
    clock_says(&setup, "yes");
    setup
}

/// What `timedatectl show --property=NTPSynchronized --value` answers: a stand-in first on
/// `$PATH`, since the machine's own clock is not the test's to set.
fn clock_says(setup: &World, answer: &str) {
    setup.write_file(
        "bin/timedatectl",
        format!("#!/bin/sh\necho {answer}\n").as_bytes(),
    );
    chmod(&setup.path("bin/timedatectl"), 0o755);
}

/// `followup` as the user runs it: in their home, with the stand-in clock, the default log
/// filter, and no `$TERM` (as under cron or a unit, where `systemd-analyze` words its verdict
/// differently).
fn as_the_user(setup: &World) -> Followup {
    setup
        .followup()
        .user_home(&setup.path("home"))
        .path_first(&setup.path("bin"))
        .env_remove("TERM")
        .env_remove("RUST_LOG")
}

/// `followup doctor`: its exit code and what it printed.
fn doctor(setup: &World) -> (Option<i32>, String) {
    let out = as_the_user(setup).arg("doctor").output();
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(!text.contains("panicked"), "{text}");
    (out.code, text)
}

/// Doctor fails, naming the check, the problem and the fix.
#[track_caller]
fn fails_with(setup: &World, check: &str, problem: &str, fix: &str) -> String {
    let (code, text) = doctor(setup);
    assert_eq!(code, Some(1), "doctor passed a broken setup:\n{text}");
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(&format!("FAIL  {check} ")))
        .unwrap_or_else(|| panic!("no failed `{check}` check:\n{text}"));
    assert!(
        lines[at].contains(problem),
        "`{problem}` not in: {}",
        lines[at]
    );
    let fix_line = lines.get(at + 1).copied().unwrap_or_default();
    assert!(
        fix_line.trim_start().starts_with("fix:") && fix_line.contains(fix),
        "`fix: ...{fix}` not after the failure:\n{text}"
    );
    text
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_good_setup_passes_every_check() {
    let setup = good_setup();
    let (code, text) = doctor(&setup);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    for check in [
        "config", "state", "queue", "lock", "password", "smtp", "clock", "unit",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("ok    {check} "))
                    || (check == "unit" && l.starts_with("warn  unit "))),
            "no passing `{check}` check:\n{text}"
        );
    }
    assert!(text.contains(&format!("authenticated as {ME}")), "{text}");
}

#[test]
fn a_missing_config_is_named_with_init_as_the_fix() {
    let setup = good_setup();
    std::fs::remove_file(setup.config_path()).unwrap();
    fails_with(&setup, "config", "no config file at", "followup init");
}

#[test]
fn a_broken_record_fails_with_its_file_and_line() {
    let setup = good_setup();
    setup.write(
        "globex.yaml",
        &RECORD.replace("interviewers:", "interviewrs:"),
    );
    fails_with(&setup, "records", "globex.yaml:", "validate");
}

#[test]
fn a_missing_state_directory_is_named_with_how_to_create_it() {
    let setup = good_setup();
    std::fs::remove_dir_all(setup.path("state")).unwrap();
    fails_with(&setup, "state", "does not exist", "install -d -m 0700");
}

#[test]
fn a_state_directory_open_to_others_fails_with_chmod() {
    let setup = good_setup();
    chmod(&setup.path("state"), 0o755);
    fails_with(&setup, "state", "open to others (mode 0755)", "chmod 700");
}

#[test]
fn a_queue_that_is_a_file_fails() {
    let setup = good_setup();
    std::fs::remove_dir(setup.path("state/queue")).unwrap();
    setup.write_file("state/queue", b"");
    fails_with(&setup, "queue", "is not a directory", "install -d -m 0700");
}

#[test]
fn a_lock_held_by_another_program_is_named_with_its_pid() {
    let setup = good_setup();
    let lock = File::create(setup.path("state/followup.lock")).unwrap();
    lock.lock().unwrap();
    let text = fails_with(&setup, "lock", "which is not followup", "kill ");
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
}

#[test]
fn a_lock_held_by_a_running_daemon_is_fine() {
    let setup = good_setup();
    let mut daemon = as_the_user(&setup)
        .arg("run")
        .spawn(&setup.path("daemon.log"));
    daemon.wait_log("the daemon to start", |l| l.contains("followup is running"));
    let (code, text) = doctor(&setup);
    daemon.kill();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("held by followup (pid {})", daemon.pid())),
        "{text}"
    );
}

#[test]
fn a_password_file_others_can_read_fails_with_chmod() {
    let setup = good_setup();
    chmod(&setup.path("smtp-password"), 0o644);
    fails_with(
        &setup,
        "password",
        "readable by others (mode 0644)",
        "chmod 600",
    );
}

#[test]
fn a_missing_password_file_says_where_it_looked() {
    let setup = good_setup();
    std::fs::remove_file(setup.path("smtp-password")).unwrap();
    fails_with(&setup, "password", "smtp-password", "install -m 0600");
}

#[test]
fn a_wrong_password_fails_the_smtp_check() {
    let setup = good_setup();
    setup.write_file("smtp-password", b"wrong\n");
    fails_with(&setup, "smtp", "AUTH", "username and password");
}

#[test]
fn an_smtp_server_that_does_not_answer_fails_the_smtp_check() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let setup = good_setup().configure(|c| c.smtp.as_mut().expect("an smtp section").port = port);
    fails_with(&setup, "smtp", "connect", "check smtp.host (127.0.0.1)");
}

#[test]
fn approve_mode_without_smtp_fails() {
    let setup = good_setup().configure(|c| c.smtp = None);
    fails_with(&setup, "smtp", "no `smtp` section", "add one");
}

#[test]
fn a_clock_that_is_not_synchronised_fails_with_set_ntp() {
    let setup = good_setup();
    clock_says(&setup, "no");
    fails_with(
        &setup,
        "clock",
        "not synchronised",
        "timedatectl set-ntp true",
    );
}

#[test]
fn a_unit_with_its_sandbox_loosened_fails_with_its_exposure() {
    let Some(_) = UNIT_RATER.check(|| {
        Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .map_err(|e| format!("no systemd-analyze to rate the unit ({e})"))
    }) else {
        return;
    };
    let setup = good_setup();
    setup.write_file(
        "home/.config/systemd/user/followup.service",
        b"[Service]\nType=notify\nExecStart=/usr/bin/followup run\n",
    );
    fails_with(
        &setup,
        "unit",
        "its sandboxing was loosened",
        "reinstall the shipped unit",
    );
}

#[test]
fn init_creates_private_state_and_queue_directories_that_doctor_accepts() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| followup().user_home(home.path()).args(args).output();
    let out = run(&["init"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("created "), "{}", out.stdout);
    let text = run(&["doctor", "--offline"]).stdout;
    for check in ["config", "state", "queue"] {
        assert!(
            text.lines()
                .any(
                    |l| l.starts_with(&format!("ok    {check} ")) && l.contains("private")
                        || check == "config" && l.starts_with("ok    config ")
                ),
            "`{check}` not ok after init:\n{text}"
        );
    }
}

#[test]
fn a_failing_password_command_is_named_with_its_words_and_how_to_check_it() {
    let setup = good_setup();
    setup.write_file(
        "bin/token-helper",
        b"#!/bin/sh\necho 'pizauth: token expired, run pizauth refresh' >&2\nexit 1\n",
    );
    chmod(&setup.path("bin/token-helper"), 0o755);
    let helper = setup.path("bin/token-helper").display().to_string();
    let setup = setup.configure(|c| {
        c.smtp.as_mut().unwrap().extra =
            format!("  username: {ME}\n  password_command: [\"{helper}\"]\n");
    });
    let text = fails_with(
        &setup,
        "password",
        "run pizauth refresh",
        "run the command by hand",
    );
    assert!(text.contains("exited with status 1"), "{text}");
}
