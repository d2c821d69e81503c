//! Disk and database faults, secrets and file modes: no send without a durable record, a clear
//! error, and nothing private left lying around.
//!
//! The disk tests mount a small tmpfs for the state, so they need root; they are skipped
//! elsewhere unless `FOLLOWUP_FAULTS=1` (set by `.ci/run`), which makes a missing capability a
//! failure instead.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use followup::core::SendState;
use followup::store::{SledStore, Store};
use support::world::*;

/// A tmpfs mounted on a directory for as long as it lives.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
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
        if ok {
            return Some(Mount(at.to_path_buf()));
        }
        assert!(
            std::env::var("FOLLOWUP_FAULTS").as_deref() != Ok("1"),
            "FOLLOWUP_FAULTS=1 but a tmpfs cannot be mounted (needs root)"
        );
        eprintln!("skipped: mounting a tmpfs needs root (set FOLLOWUP_FAULTS=1 to require it)");
        None
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

fn run_once(w: &World, now: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_followup"))
        .arg("--config")
        .arg(w.path("followup.yaml"))
        .args(["run", "--once", "--now", now])
        .env("RUST_LOG", "info")
        .output()
        .unwrap()
}

async fn run_once_async(w: &World, now: &'static str) -> Output {
    let config = w.path("followup.yaml");
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_followup"))
            .arg("--config")
            .arg(config)
            .args(["run", "--once", "--now", now])
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_state_disk_never_lets_a_message_out_without_a_durable_record() {
    let w = World::new("send").await;
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
    let received = w.server.received();
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
    let store = SledStore::open(w.path("state")).unwrap();
    let records = store.all().unwrap();
    for message in &received {
        let id = header(message, "Message-ID").unwrap();
        let record = records
            .iter()
            .find(|r| r.message_id.as_deref() == Some(id.as_str()))
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

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_state_directory_is_a_clear_error_and_nothing_is_sent() {
    let w = World::new("send").await;
    let Some(mount) = Mount::tmpfs(&w.path("state"), "8m") else {
        return;
    };
    drop(SledStore::open(w.path("state")).unwrap());
    mount.remount_read_only();
    let out = run_once_async(&w, "2026-11-03 13:00").await;
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("state"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(w.server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_database_is_a_fatal_error_naming_the_path_and_the_way_back_and_is_kept() {
    let w = World::new("send").await;
    let mut d = w.daemon();
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    drop(d);
    assert_eq!(w.server.received().len(), 2);
    let db = w.path("state/db");
    for entry in std::fs::read_dir(&db).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::write(&path, b"this is not a sled database").unwrap();
        }
    }
    let out = run_once(&w, "2026-11-03 14:00");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&w.path("state").display().to_string()),
        "names the path: {err}"
    );
    assert!(err.contains("state import"), "says how to restore: {err}");
    assert_eq!(w.server.received().len(), 2, "nothing sent again");
    assert!(db.exists(), "never wiped");
}

#[tokio::test(flavor = "multi_thread")]
async fn export_then_import_restores_the_state() {
    let w = World::new("send").await;
    let mut d = w.daemon();
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    drop(d);
    let config = w.path("followup.yaml");
    let export = Command::new(env!("CARGO_BIN_EXE_followup"))
        .arg("--config")
        .arg(&config)
        .args(["state", "export"])
        .output()
        .unwrap();
    assert_eq!(export.status.code(), Some(0));
    std::fs::write(w.path("backup.json"), &export.stdout).unwrap();
    std::fs::remove_dir_all(w.path("state")).unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_followup"))
        .arg("--config")
        .arg(&config)
        .args(["state", "import"])
        .arg(w.path("backup.json"))
        .output()
        .unwrap();
    assert_eq!(
        import.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );
    let out = run_once_async(&w, "2026-11-03 14:00").await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.server.received().len(),
        2,
        "the restored state remembers what was sent"
    );
}

const PASSWORD: &str = "correct-horse-battery-staple-4711";

#[tokio::test(flavor = "multi_thread")]
async fn the_smtp_password_never_appears_in_logs_status_state_or_queue_files() {
    use support::smtp_server::{ServerOptions, TestSmtpServer};
    let server = TestSmtpServer::start(ServerOptions {
        auth: Some(("sam".into(), PASSWORD.into())),
        ..ServerOptions::default()
    })
    .await;
    let w = World::new("approve").await;
    let config = std::fs::read_to_string(w.path("followup.yaml"))
        .unwrap()
        .replace(
            &format!("port: {}", w.server.port),
            &format!("port: {}", server.port),
        )
        .replace(
            "  timeout: 2s\n",
            "  timeout: 2s\n  username: sam\n  password_env: FU_TEST_PASSWORD\n",
        );
    std::fs::write(w.path("followup.yaml"), config).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_followup"))
            .arg("--config")
            .arg(w.path("followup.yaml"))
            .args(args)
            .env("FU_TEST_PASSWORD", PASSWORD)
            .env("RUST_LOG", "trace")
            .output()
            .unwrap()
    };
    let mut seen = String::new();
    for args in [
        &["run", "--once", "--now", "2026-11-03 13:00"][..],
        &["queue", "approve", "globex_thank_you_jane"],
        &["run", "--once", "--now", "2026-11-03 13:05"],
        &["status"],
        &["status", "--json"],
        &["check-smtp"],
        &["validate"],
    ] {
        let out = tokio::task::block_in_place(|| run(args));
        seen.push_str(&String::from_utf8_lossy(&out.stdout));
        seen.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    assert!(seen.contains("approved"), "the flow ran: {seen}");
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

#[tokio::test(flavor = "multi_thread")]
async fn state_and_queue_are_private_to_the_user() {
    let w = World::new("approve").await;
    let out = run_once_async(&w, "2026-11-03 13:00").await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pw");
    std::fs::write(&file, "secret-for-test\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = dir.path().join("followup.yaml");
    std::fs::create_dir(dir.path().join("interviews")).unwrap();
    std::fs::write(
        &config,
        "me: {name: Sam Seeker, email: sam@example.org}\ntimezone: UTC\nstate_dir: state\n\
         smtp: {host: 127.0.0.1, port: 9, security: plain, username: sam, password_file: pw}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_followup"))
        .arg("--config")
        .arg(&config)
        .arg("check-smtp")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
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

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_never_opens_a_network_listener() {
    let w = World::new("approve").await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_followup"))
        .arg("--config")
        .arg(w.path("followup.yaml"))
        .arg("run")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Long enough for the scheduler, the watcher and the first round to be up.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let pid = child.id();
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
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(listening.is_empty(), "listening sockets: {listening:?}");
    assert!(status.success(), "exits 0 on SIGTERM: {status:?}");
}
