//! `followup doctor` on a good setup (exit 0) and on each fault it knows (exit 1, the fault named
//! with its fix): the real binary, real files, a real SMTP server with AUTH on loopback.

use std::fs::{DirBuilder, File};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::smtp_server::{ServerOptions, TestSmtpServer};

const USER: &str = "sam@example.org";
const PASSWORD: &str = "correct horse";

const RECORD: &str = "\
company: Globex
position: Backend Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Jane Roe
    email: jane@globex.example.com
";

/// A user's complete, correct setup: config, one record, private state and queue directories,
/// a private password file, the shipped user unit, a synchronised clock.
struct Setup {
    dir: tempfile::TempDir,
    server: TestSmtpServer,
}

impl Setup {
    async fn good() -> Self {
        let server = TestSmtpServer::start(ServerOptions {
            auth: Some((USER.into(), PASSWORD.into())),
            ..ServerOptions::default()
        });
        let setup = Self {
            dir: tempfile::tempdir().unwrap(),
            server,
        };
        setup.write_config(&format!(
            "smtp:\n  host: 127.0.0.1\n  port: {}\n  security: plain\n  username: {USER}\n  \
             password_file: smtp-password\n  timeout: 5s\n",
            setup.server.port
        ));
        std::fs::create_dir(setup.path("interviews")).unwrap();
        std::fs::write(setup.path("interviews/globex.yaml"), RECORD).unwrap();
        for dir in ["state", "state/queue"] {
            DirBuilder::new()
                .mode(0o700)
                .create(setup.path(dir))
                .unwrap();
        }
        std::fs::write(setup.path("smtp-password"), format!("{PASSWORD}\n")).unwrap();
        chmod(&setup.path("smtp-password"), 0o600);
        let units = setup.path("home/.config/systemd/user");
        std::fs::create_dir_all(&units).unwrap();
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/followup-user.service"),
            units.join("followup.service"),
        )
        .unwrap();
        setup.clock_says("yes");
        setup
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write_config(&self, smtp: &str) {
        let config = format!(
            "me:\n  name: Sam Seeker\n  email: {USER}\ntimezone: America/New_York\n\
             interviews: interviews\nstate_dir: state\n{smtp}"
        );
        std::fs::write(self.path("followup.yaml"), config).unwrap();
    }

    /// What `timedatectl show --property=NTPSynchronized --value` answers: a stand-in first on
    /// `$PATH`, since the machine's own clock is not the test's to set.
    fn clock_says(&self, answer: &str) {
        let bin = self.path("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let script = bin.join("timedatectl");
        std::fs::write(&script, format!("#!/bin/sh\necho {answer}\n")).unwrap();
        chmod(&script, 0o755);
    }

    fn command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_followup"));
        cmd.arg("--config")
            .arg(self.path("followup.yaml"))
            .args(args)
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("FOLLOWUP_CONFIG")
            .env_remove("RUST_LOG");
        cmd
    }

    /// `followup doctor`: its exit code and what it printed.
    async fn doctor(&self) -> (Option<i32>, String) {
        let mut cmd = self.command(&["doctor"]);
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains("panicked"), "{text}");
        (out.status.code(), text)
    }

    /// Doctor fails, naming the check, the problem and the fix.
    async fn fails_with(&self, check: &str, problem: &str, fix: &str) -> String {
        let (code, text) = self.doctor().await;
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
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn a_good_setup_passes_every_check() {
    let setup = Setup::good().await;
    let (code, text) = setup.doctor().await;
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
    assert!(text.contains(&format!("authenticated as {USER}")), "{text}");
}

#[tokio::test]
async fn a_missing_config_is_named_with_init_as_the_fix() {
    let setup = Setup::good().await;
    std::fs::remove_file(setup.path("followup.yaml")).unwrap();
    setup
        .fails_with("config", "no config file at", "followup init")
        .await;
}

#[tokio::test]
async fn a_broken_record_fails_with_its_file_and_line() {
    let setup = Setup::good().await;
    std::fs::write(
        setup.path("interviews/globex.yaml"),
        RECORD.replace("interviewers:", "interviewrs:"),
    )
    .unwrap();
    setup
        .fails_with("records", "globex.yaml:", "validate")
        .await;
}

#[tokio::test]
async fn a_missing_state_directory_is_named_with_how_to_create_it() {
    let setup = Setup::good().await;
    std::fs::remove_dir_all(setup.path("state")).unwrap();
    setup
        .fails_with("state", "does not exist", "install -d -m 0700")
        .await;
}

#[tokio::test]
async fn a_state_directory_open_to_others_fails_with_chmod() {
    let setup = Setup::good().await;
    chmod(&setup.path("state"), 0o755);
    setup
        .fails_with("state", "open to others (mode 0755)", "chmod 700")
        .await;
}

#[tokio::test]
async fn a_queue_that_is_a_file_fails() {
    let setup = Setup::good().await;
    std::fs::remove_dir(setup.path("state/queue")).unwrap();
    std::fs::write(setup.path("state/queue"), "").unwrap();
    setup
        .fails_with("queue", "is not a directory", "install -d -m 0700")
        .await;
}

#[tokio::test]
async fn a_lock_held_by_another_program_is_named_with_its_pid() {
    let setup = Setup::good().await;
    let lock = File::create(setup.path("state/followup.lock")).unwrap();
    lock.lock().unwrap();
    let text = setup
        .fails_with("lock", "which is not followup", "kill ")
        .await;
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "{text}"
    );
}

#[tokio::test]
async fn a_lock_held_by_a_running_daemon_is_fine() {
    let setup = Setup::good().await;
    let log = setup.path("daemon.log");
    let mut daemon = setup
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("followup is running")
    {
        assert!(Instant::now() < deadline, "the daemon did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, text) = setup.doctor().await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("held by followup (pid {})", daemon.id())),
        "{text}"
    );
}

#[tokio::test]
async fn a_password_file_others_can_read_fails_with_chmod() {
    let setup = Setup::good().await;
    chmod(&setup.path("smtp-password"), 0o644);
    setup
        .fails_with("password", "readable by others (mode 0644)", "chmod 600")
        .await;
}

#[tokio::test]
async fn a_missing_password_file_says_where_it_looked() {
    let setup = Setup::good().await;
    std::fs::remove_file(setup.path("smtp-password")).unwrap();
    setup
        .fails_with("password", "smtp-password", "install -m 0600")
        .await;
}

#[tokio::test]
async fn a_wrong_password_fails_the_smtp_check() {
    let setup = Setup::good().await;
    std::fs::write(setup.path("smtp-password"), "wrong\n").unwrap();
    setup
        .fails_with("smtp", "AUTH", "username and password")
        .await;
}

#[tokio::test]
async fn an_smtp_server_that_does_not_answer_fails_the_smtp_check() {
    let setup = Setup::good().await;
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    setup.write_config(&format!(
        "smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: plain\n  username: {USER}\n  \
         password_file: smtp-password\n  timeout: 5s\n"
    ));
    setup
        .fails_with("smtp", "connect", "check smtp.host (127.0.0.1)")
        .await;
}

#[tokio::test]
async fn approve_mode_without_smtp_fails() {
    let setup = Setup::good().await;
    setup.write_config("");
    setup
        .fails_with("smtp", "no `smtp` section", "add one")
        .await;
}

#[tokio::test]
async fn a_clock_that_is_not_synchronised_fails_with_set_ntp() {
    let setup = Setup::good().await;
    setup.clock_says("no");
    setup
        .fails_with("clock", "not synchronised", "timedatectl set-ntp true")
        .await;
}

#[tokio::test]
async fn a_unit_with_its_sandbox_loosened_fails_with_its_exposure() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("FOLLOWUP_INTEROP").as_deref() != Ok("1"),
            "CI must have systemd-analyze"
        );
        println!("skipped: no systemd-analyze to rate the unit");
        return;
    }
    let setup = Setup::good().await;
    std::fs::write(
        setup.path("home/.config/systemd/user/followup.service"),
        "[Service]\nType=notify\nExecStart=/usr/bin/followup run\n",
    )
    .unwrap();
    setup
        .fails_with(
            "unit",
            "its sandboxing was loosened",
            "reinstall the shipped unit",
        )
        .await;
}

#[test]
fn init_creates_private_state_and_queue_directories_that_doctor_accepts() {
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_followup"))
            .args(args)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env("XDG_STATE_HOME", home.path().join(".local/state"))
            .env_remove("FOLLOWUP_CONFIG")
            .env_remove("STATE_DIRECTORY")
            .output()
            .unwrap()
    };
    let out = run(&["init"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("created "),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(&["doctor", "--offline"]);
    let text = String::from_utf8_lossy(&out.stdout);
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
