//! Disk and database faults, secrets and file modes: no send without a durable record, a clear
//! error, and nothing private left lying around.
//!
//! The disk tests mount a small tmpfs for the state, so they need root; they are skipped
//! elsewhere unless `FOLLOWUP_FAULTS=1` (set by `.ci/run`), which makes a missing capability a
//! failure instead.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::api::{SendState, Store};
use crate::support::gate::Gate;
use crate::support::runner::Followup;
use crate::support::smtp_server::ServerOptions;
use crate::support::wait::{PATIENCE, wait_for};
use crate::support::world::{Smtp, World, at, open_state};

/// The disk tests: they run where a tmpfs can be mounted, and must under `FOLLOWUP_FAULTS=1`.
const TMPFS: Gate = Gate {
    var: "FOLLOWUP_FAULTS",
    only_when_asked: false,
    how_to_run: "run the tests as root (`.ci/run` does, with FOLLOWUP_FAULTS=1)",
};

/// A tmpfs mounted on a directory for as long as it lives.
struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` on `at`; `None` (the test skips) where that is not possible.
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        TMPFS.check(|| {
            std::fs::create_dir_all(at)
                .map_err(|e| format!("cannot make {}: {e}", at.display()))?;
            let mounted = Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={size},mode=0700"),
                    "tmpfs",
                ])
                .arg(at)
                .status()
                .is_ok_and(|s| s.success());
            if mounted {
                Ok(Mount(at.to_path_buf()))
            } else {
                Err("a tmpfs cannot be mounted (that needs root)".into())
            }
        })
    }

    fn remount_read_only(&self) {
        let ok = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .status()
            .unwrap();
        assert!(ok.success());
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_state_disk_never_lets_a_message_out_without_a_durable_record() {
    let w = World::globex("send");
    let Some(_mount) = Mount::tmpfs(&w.path("state"), "4m") else {
        return;
    };
    // The daemon is up; then the disk fills to the last byte.
    let mut d = w.daemon();
    let filler = w.path("state/filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 16 * 1024];
    while std::io::Write::write_all(&mut f, &chunk).is_ok() {}
    while std::io::Write::write_all(&mut f, &[0u8; 1]).is_ok() {}
    drop(f);

    let outcome = d.tick(at("2026-11-03 13:00")).await;
    let received = w.server().mails();
    eprintln!("full disk: {outcome:?}, {} received", received.len());
    if received.is_empty() {
        let err = outcome
            .expect_err("a state that cannot be written is an error")
            .to_string();
        assert!(err.contains("space") || err.contains("flush"), "{err}");
    }
    drop(d);
    // Whatever did go out has a record on disk that says so.
    std::fs::remove_file(&filler).unwrap();
    let store = open_state(&w.path("state"));
    let records = store.all().unwrap();
    for message in &received {
        let id = message.header("Message-ID").unwrap();
        let record = records
            .iter()
            .find(|r| r.message_id.as_ref().map(|m| m.as_str()) == Some(id.as_str()))
            .unwrap_or_else(|| panic!("{id} went out with no record: {records:#?}"));
        assert!(
            matches!(
                record.state,
                SendState::Sending | SendState::Sent | SendState::Uncertain
            ),
            "{record:?}"
        );
    }
}

#[test]
fn a_read_only_state_directory_is_a_clear_error_and_nothing_is_sent() {
    let w = World::globex("send");
    let Some(mount) = Mount::tmpfs(&w.path("state"), "8m") else {
        return;
    };
    drop(open_state(&w.path("state")));
    mount.remount_read_only();
    let err = w.round_at("2026-11-03 13:00").output().exit(1).stderr;
    assert!(err.contains("state"), "{err}");
    assert_eq!(w.server().connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_database_is_a_fatal_error_naming_the_path_and_the_way_back_and_is_kept() {
    let w = World::globex("send");
    let mut d = w.daemon();
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    drop(d);
    assert_eq!(w.server().received().len(), 2);
    let db = w.path("state/db");
    for entry in std::fs::read_dir(&db).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"this is not a sled database").unwrap();
        }
    }
    let err = w.round_at("2026-11-03 14:00").output().exit(1).stderr;
    assert!(
        err.contains(&w.path("state").display().to_string()),
        "names the path: {err}"
    );
    assert!(err.contains("state import"), "says how to restore: {err}");
    assert_eq!(w.server().received().len(), 2, "nothing sent again");
    assert!(db.exists(), "never wiped");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_import_restores_the_state() {
    let w = World::globex("send");
    let mut d = w.daemon();
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    drop(d);
    let export = w.ok(&["state", "export"]);
    w.write_file("backup.json", export.stdout.as_bytes());
    std::fs::remove_dir_all(w.path("state")).unwrap();
    w.followup()
        .args(["state", "import"])
        .arg(w.path("backup.json"))
        .succeeds();
    w.once_at("2026-11-03 14:00");
    assert_eq!(
        w.server().received().len(),
        2,
        "the restored state remembers what was sent"
    );
}

const PASSWORD: &str = "correct-horse-battery-staple-4711";

#[test]
fn the_smtp_password_never_appears_in_logs_status_state_or_queue_files() {
    let w = World::serving_with(
        "approve",
        ServerOptions {
            auth: Some(("sam".into(), PASSWORD.into())),
            ..ServerOptions::default()
        },
    )
    .with_globex()
    .configure(|c| {
        let smtp = c.smtp.as_mut().unwrap();
        smtp.extra = "  username: sam\n  password_env: FU_TEST_PASSWORD\n".into();
    });
    let run = |command: Followup| {
        command
            .env("FU_TEST_PASSWORD", PASSWORD)
            .env("RUST_LOG", "trace")
            .output()
    };
    let command = |args: &[&str]| w.followup().args(args);
    let mut seen = String::new();
    for out in [
        run(w.round_at("2026-11-03 13:00")),
        run(command(&["queue", "approve", "globex_thank_you_jane"])),
        run(w.round_at("2026-11-03 13:05")),
        run(command(&["status"])),
        run(command(&["status", "--json"])),
        run(command(&["check-smtp"])),
        run(command(&["validate"])),
    ] {
        seen.push_str(&out.stdout);
        seen.push_str(&out.stderr);
    }
    assert!(seen.contains("approved"), "the flow ran: {seen}");
    let server = w.server();
    assert_eq!(
        server
            .received()
            .iter()
            .filter(|r| r.authenticated_as.is_some())
            .count(),
        server.received().len()
    );
    assert!(!server.received().is_empty(), "{seen}");
    assert!(!seen.contains(PASSWORD), "the password leaked into output");
    for file in walk(w.dir.path()) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(PASSWORD),
            "the password is in {}",
            file.display()
        );
    }
}

#[test]
fn state_and_queue_are_private_to_the_user() {
    let w = World::globex("approve");
    w.once_at("2026-11-03 13:00");
    let state = w.path("state");
    for path in walk(&state) {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
    }
    for dir in [
        state.clone(),
        state.join("queue"),
        state.join("queue/pending"),
    ] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{} is {mode:o}", dir.display());
    }
    assert!(walk(&state.join("queue/pending")).len() == 2);
}

#[test]
fn a_password_file_readable_by_others_draws_a_warning() {
    let w = World::empty().configure(|c| {
        c.timezone = "UTC".into();
        c.smtp = Some(Smtp {
            extra: "  username: sam\n  password_file: pw\n".into(),
            ..Smtp::loopback(9)
        });
    });
    w.write_file("pw", b"secret-for-test\n");
    std::fs::set_permissions(w.path("pw"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = w.run(&["check-smtp"]).stderr;
    assert!(err.contains("chmod 600") && err.contains("pw"), "{err}");
    assert!(!err.contains("secret-for-test"), "{err}");
}

/// Every file below `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push(path.clone());
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_daemon_never_opens_a_network_listener() {
    let w = World::globex("approve");
    let mut daemon = w.spawn("daemon");
    // Up: the scheduler, the watcher and the signal handlers started, and the first round done
    // (it writes the snapshot).
    daemon.wait_log("the daemon to start", |l| l.contains("followup is running"));
    wait_for("the first round", PATIENCE, || {
        w.path("state/state.json").exists()
    });
    let pid = daemon.pid();
    let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy().into_owned();
            t.strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                .map(str::to_owned)
        })
        .collect();
    let mut listening = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // st 0A is LISTEN for TCP; any bound UDP socket of ours would be a listener too.
            let is_listener = table.starts_with("udp") || cols.get(3) == Some(&"0A");
            if is_listener
                && cols
                    .get(9)
                    .is_some_and(|inode| sockets.iter().any(|s| s == inode))
            {
                listening.push(line.to_string());
            }
        }
    }
    daemon.signal(libc::SIGTERM);
    let code = daemon.exit_code();
    assert!(listening.is_empty(), "listening sockets: {listening:?}");
    assert_eq!(code, Some(0), "exits 0 on SIGTERM:\n{}", daemon.log());
}
