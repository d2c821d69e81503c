//! `followup doctor`: checks everything a user can set up wrong, each with how to fix it.
//!
//! Each check says `ok`, `warn` (worth knowing, nothing breaks) or `FAIL` (the daemon will
//! refuse to start or a message will not go out); the command exits 1 when any check fails.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::outln;
use anyhow::{Result, bail};

use crate::input::config::{self, Config, Mode, PasswordSource};

use crate::workspace::Workspace;

/// The lock file the store holds while a daemon (or another command) has the state open.
const LOCK_FILE: &str = "followup.lock";

/// The highest exposure `systemd-analyze security` may give each unit we ship.
const SYSTEM_UNIT_EXPOSURE: f64 = 1.5;
const USER_UNIT_EXPOSURE: f64 = 4.0;

enum Outcome {
    Ok(String),
    /// Worth knowing; nothing breaks.
    Warn(String),
    /// Something will not work: what is wrong, and how to fix it.
    Fail(String, String),
}

struct Report {
    failures: usize,
}

impl Report {
    /// Prints one check. A reader that went away (`doctor | head`) ends the printing, not
    /// the checks: their verdict is the exit status.
    fn say(&mut self, name: &str, outcome: Outcome) {
        let _ = match outcome {
            Outcome::Ok(detail) => outln!("ok    {name:<10} {detail}"),
            Outcome::Warn(detail) => outln!("warn  {name:<10} {detail}"),
            Outcome::Fail(problem, fix) => {
                self.failures += 1;
                outln!("FAIL  {name:<10} {problem}\n      {:<10} fix: {fix}", "")
            }
        };
    }
}

pub fn run(explicit: Option<&Path>, offline: bool) -> Result<()> {
    let mut report = Report { failures: 0 };
    if let Some(config) = check_config(&mut report, explicit) {
        check_dir(&mut report, "state", &config.state_dir);
        check_dir(&mut report, "queue", &config.queue_dir);
        report.say("lock", lock(&config.state_dir));
        check_smtp(&mut report, &config, offline);
        // The mailbox's password command, run as each login will run it.
        if let Some(imap) = &config.imap
            && let PasswordSource::Command(_) = &imap.password
        {
            report.say("imap pass", password(&imap.password, &config));
        }
    }
    report.say("clock", clock());
    report.say("unit", unit());
    match report.failures {
        0 => Ok(()),
        1 => bail!("1 check failed; fix it and run `followup doctor` again"),
        n => bail!("{n} checks failed; fix them and run `followup doctor` again"),
    }
}

/// The config, records and templates, as `validate` sees them; the config when it loads.
fn check_config(report: &mut Report, explicit: Option<&Path>) -> Option<Config> {
    let path = match config::locate(explicit) {
        Ok(path) => path,
        Err(e) => {
            report.say(
                "config",
                Outcome::Fail(
                    e.to_string(),
                    "run `followup init` to write a starter config".into(),
                ),
            );
            return None;
        }
    };
    let config = match config::load_config(&path) {
        Ok(config) => config,
        Err(problems) => {
            report.say(
                "config",
                Outcome::Fail(
                    first_problems(&problems),
                    format!(
                        "edit it; `followup --config {} validate` lists every problem",
                        path.display()
                    ),
                ),
            );
            return None;
        }
    };
    match Workspace::load(&path) {
        Ok(ws) => report.say(
            "config",
            Outcome::Ok(format!(
                "{}: valid, {} interview(s), mode {}",
                ws.config.path.display(),
                ws.interviews.len(),
                ws.config.mode
            )),
        ),
        Err(problems) => report.say(
            "records",
            Outcome::Fail(
                first_problems(&problems),
                format!(
                    "fix the records or templates; `followup --config {} validate` lists every problem",
                    path.display()
                ),
            ),
        ),
    }
    Some(config)
}

fn first_problems(problems: &crate::input::diagnostic::Diagnostics) -> String {
    let n = problems.0.len();
    let first = problems
        .0
        .first()
        .map(|d| d.to_string())
        .unwrap_or_default();
    match n {
        1 => first,
        _ => format!("{first} (and {} more)", n - 1),
    }
}

/// A directory followup writes: there, a directory, private, owned by this user, writable.
fn check_dir(report: &mut Report, what: &str, dir: &Path) {
    report.say(what, private_dir(dir));
}

fn private_dir(dir: &Path) -> Outcome {
    let d = dir.display();
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::Fail(
                format!("{d} does not exist"),
                format!("`followup init` creates it, or `install -d -m 0700 {d}`"),
            );
        }
        Err(e) => {
            return Outcome::Fail(
                format!("cannot read {d}: {e}"),
                format!("check the permissions of its parents: `namei -l {d}`"),
            );
        }
    };
    if !meta.is_dir() {
        return Outcome::Fail(
            format!("{d} is not a directory"),
            format!("move it away, then `install -d -m 0700 {d}`"),
        );
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Outcome::Fail(
            format!(
                "{d} belongs to uid {}, not to the user followup runs as (uid {me})",
                meta.uid()
            ),
            format!("`chown -R $(id -un): {d}`, or run followup as its owner"),
        );
    }
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Outcome::Fail(
            format!("{d} is open to others (mode {mode:04o}): the state and messages are private"),
            format!("chmod 700 {d}"),
        );
    }
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Outcome::Ok(format!("{d}: private (mode {mode:04o}), writable"))
        }
        Err(e) => Outcome::Fail(
            format!("cannot write in {d}: {e}"),
            format!(
                "make it writable (`chmod u+w {d}`), or check that its file system is not read-only or full"
            ),
        ),
    }
}

/// The state's lock: free (no daemon), or held by a live followup.
fn lock(state_dir: &Path) -> Outcome {
    let path = state_dir.join(LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Outcome::Ok("free: the state was never opened".into());
        }
        Err(e) => {
            return Outcome::Fail(
                format!("cannot open {}: {e}", path.display()),
                "run doctor as the user followup runs as".into(),
            );
        }
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            Outcome::Ok("free: no followup is using the state".into())
        }
        Err(TryLockError::WouldBlock) => match lock_holder(&file) {
            Some((pid, name)) if name == "followup" => {
                Outcome::Ok(format!("held by followup (pid {pid}), a running daemon"))
            }
            Some((pid, name)) => Outcome::Fail(
                format!("held by pid {pid} ({name}), which is not followup"),
                format!("stop that process (`kill {pid}`) so the daemon can open the state"),
            ),
            None => Outcome::Ok("held by a running process (cannot tell which)".into()),
        },
        Err(TryLockError::Error(e)) => Outcome::Fail(
            format!("cannot test the lock {}: {e}", path.display()),
            "check the state directory's file system".into(),
        ),
    }
}

/// Who holds a lock on `file`, from /proc/locks: its pid and command name.
fn lock_holder(file: &File) -> Option<(u32, String)> {
    let meta = file.metadata().ok()?;
    let dev = meta.dev();
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    let id = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let pid: u32 = locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // `1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF`; a blocked waiter has a `->`.
        let fields = if fields.get(1) == Some(&"->") {
            return None;
        } else {
            fields
        };
        (fields.get(5) == Some(&id.as_str())).then(|| fields.get(4)?.parse().ok())?
    })?;
    let name = std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    Some((pid, name))
}

/// The password's file is private; the server answers and takes the login.
fn check_smtp(report: &mut Report, config: &Config, offline: bool) {
    let Some(smtp) = &config.smtp else {
        report.say(
            "smtp",
            match config.mode {
                Mode::DryRun => Outcome::Ok("not needed in mode dry-run".into()),
                mode => Outcome::Fail(
                    format!("mode {mode} sends mail but the config has no `smtp` section"),
                    "add one (see docs/configuration.md), then `followup check-smtp`".into(),
                ),
            },
        );
        return;
    };
    if smtp.username.is_some() {
        report.say("password", password(&smtp.password, config));
    }
    if offline {
        report.say("smtp", Outcome::Warn("not checked (--offline)".into()));
        return;
    }
    let sender = match crate::settings::smtp_sender(config) {
        Ok(sender) => sender,
        Err(e) => {
            report.say(
                "smtp",
                Outcome::Fail(
                    format!("{e:#}"),
                    "fix the `smtp` section or the password".into(),
                ),
            );
            return;
        }
    };
    let checked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(async {
                let result = sender.check().await;
                sender.shutdown().await;
                result.map_err(|e| e.to_string())
            })
        });
    report.say(
        "smtp",
        match checked {
            Ok(summary) => Outcome::Ok(summary),
            Err(e) => Outcome::Fail(
                e,
                format!(
                    "check smtp.host ({}), port ({}), security and the username and password; \
                     `followup check-smtp` tries again",
                    smtp.host, smtp.port
                ),
            ),
        },
    );
}

/// Where the password comes from, and that only its owner can read it.
fn password(source: &PasswordSource, config: &Config) -> Outcome {
    let path = match source {
        PasswordSource::File(path) => path.clone(),
        PasswordSource::Env(name) => {
            return match std::env::var_os(name).filter(|v| !v.is_empty()) {
                Some(_) => Outcome::Ok(format!("from ${name}")),
                None => Outcome::Fail(
                    format!("smtp.password_env names ${name}, which is not set"),
                    "set it where the daemon runs (the unit's `Environment=` or `EnvironmentFile=`), or use password_file".into(),
                ),
            };
        }
        PasswordSource::Command(command) => {
            // Run once, as each login will: says whether it works, never what it printed.
            return match command.run() {
                Ok(_) => Outcome::Ok(format!("from {command}: it printed one")),
                Err(e) => Outcome::Fail(
                    e.to_string(),
                    "run the command by hand as the user the daemon runs as; a token helper may \
                     need you to sign in again"
                        .into(),
                ),
            };
        }
        PasswordSource::Credential(name) => match std::env::var_os("CREDENTIALS_DIRECTORY") {
            Some(dir) => PathBuf::from(dir).join(name),
            // The units hand over `smtp-password` beside the config (`LoadCredential=`).
            None => config.path.parent().unwrap_or(Path::new("/")).join(name),
        },
    };
    let p = path.display();
    match std::fs::metadata(&path) {
        Err(e) => Outcome::Fail(
            format!("no password at {p} ({e})"),
            format!(
                "write it there, readable by its owner only: `install -m 0600 /dev/null {p}`, then put the password in it; or set smtp.password_file"
            ),
        ),
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => Outcome::Fail(
            format!(
                "{p} is readable by others (mode {:04o})",
                meta.permissions().mode() & 0o777
            ),
            format!("chmod 600 {p}"),
        ),
        Ok(_) => Outcome::Ok(format!("{p}: private")),
    }
}

/// Whether the clock is synchronised: the schedule and the Date: header depend on it.
fn clock() -> Outcome {
    let out = Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .output();
    match out {
        Ok(out) if out.status.success() => {
            match String::from_utf8_lossy(&out.stdout).trim() {
                "yes" => Outcome::Ok("synchronised (timedatectl)".into()),
                _ => Outcome::Fail(
                    "not synchronised (timedatectl): follow-ups may go out at the wrong time".into(),
                    "turn on time synchronisation: `sudo timedatectl set-ntp true` (needs systemd-timesyncd or chrony)".into(),
                ),
            }
        }
        Ok(_) => Outcome::Warn("cannot tell whether it is synchronised (timedatectl cannot ask systemd-timedated)".into()),
        Err(_) => Outcome::Warn("cannot tell whether it is synchronised (no timedatectl)".into()),
    }
}

/// The installed unit, and how exposed `systemd-analyze security` rates it.
fn unit() -> Outcome {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config_home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| home.map(|h| h.join(".config")));
    // Your own user unit first, then a system one, then a user unit for everyone.
    let user = |dir: PathBuf| (dir.join("followup.service"), true, USER_UNIT_EXPOSURE);
    let system = |dir: &str| {
        let path = Path::new(dir).join("followup.service");
        (path, false, SYSTEM_UNIT_EXPOSURE)
    };
    let mut candidates: Vec<(PathBuf, bool, f64)> = config_home
        .map(|c| user(c.join("systemd/user")))
        .into_iter()
        .collect();
    let system_dirs = [
        "/etc/systemd/system",
        "/usr/lib/systemd/system",
        "/lib/systemd/system",
    ];
    candidates.extend(system_dirs.map(system));
    candidates.extend(["/etc/systemd/user", "/usr/lib/systemd/user"].map(|d| user(d.into())));
    let Some((path, user, limit)) = candidates.into_iter().find(|(p, _, _)| p.is_file()) else {
        return Outcome::Warn(
            "no followup.service installed (fine for `run --once` from cron); `deploy/install.sh` installs one".into(),
        );
    };
    let kind = if user { "user" } else { "system" };
    match exposure(&path) {
        Some(score) if score > limit => Outcome::Fail(
            format!(
                "{} ({kind} unit): exposure {score:.1}, above {limit:.1}: its sandboxing was loosened",
                path.display()
            ),
            "reinstall the shipped unit (`deploy/install.sh`), and keep local changes in `systemctl edit followup`".into(),
        ),
        Some(score) => Outcome::Ok(format!("{} ({kind} unit): exposure {score:.1}", path.display())),
        None => Outcome::Ok(format!(
            "{} ({kind} unit); cannot rate its exposure (no systemd-analyze)",
            path.display()
        )),
    }
}

/// `systemd-analyze security --offline=true`'s overall score for a unit file.
/// Offline, a user unit rates as a system one would (and `--user` would need a session).
fn exposure(path: &Path) -> Option<f64> {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(path)
        .output()
        .ok()?;
    overall_exposure(&String::from_utf8_lossy(&out.stdout))
}

/// The number after "Overall exposure level": `... for followup.service: 1.3 OK 🙂`, or with
/// `:-{` in place of the emoji when `$TERM` is unset, so the line is not split at its last colon.
fn overall_exposure(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))?;
    let (_, rest) = line.split_once(": ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposure_is_read_whatever_the_terminal() {
        let with_term = "→ Overall exposure level for followup.service: 1.3 OK 🙂\n";
        let without = "→ Overall exposure level for followup.service: 1.3 OK :-)\n";
        let bad = "→ Overall exposure level for followup-user.service: 9.6 UNSAFE :-{\n";
        assert_eq!(overall_exposure(with_term), Some(1.3));
        assert_eq!(overall_exposure(without), Some(1.3));
        assert_eq!(overall_exposure(bad), Some(9.6));
        assert_eq!(overall_exposure("nothing"), None);
    }
}
