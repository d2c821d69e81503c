//! `followup init`: a starter that is right where it is written, for someone doing this for the
//! first time.

use std::path::{Path, PathBuf};

use crate::support::runner::{Followup, followup};

/// A fresh `followup init DIR`, with a home and an XDG state directory of its own.
struct Fresh {
    root: tempfile::TempDir,
}

impl Fresh {
    fn new() -> Fresh {
        let fresh = Fresh {
            root: tempfile::tempdir().unwrap(),
        };
        fresh.followup().arg("init").arg(fresh.dir()).succeeds();
        fresh
    }

    fn dir(&self) -> PathBuf {
        self.root.path().join("cfg")
    }

    fn config(&self) -> PathBuf {
        self.dir().join("followup.yaml")
    }

    fn xdg_state(&self) -> PathBuf {
        self.root.path().join("xdg-state")
    }

    /// `followup` as this user, with the starter's config.
    fn followup(&self) -> Followup {
        followup()
            .env("HOME", self.root.path().join("home"))
            .env("XDG_STATE_HOME", self.xdg_state())
    }

    fn with_config(&self) -> Followup {
        self.followup().config(&self.config())
    }

    fn text(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir().join(rel)).unwrap()
    }

    /// Rewrites one line of the config, as the user would in an editor.
    fn edit(&self, from: &str, to: &str) {
        let text = self.text("followup.yaml");
        assert!(text.contains(from), "no `{from}` in the starter:\n{text}");
        std::fs::write(self.config(), text.replacen(from, to, 1)).unwrap();
    }
}

/// Every path below `dir`.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(tree(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn the_starter_keeps_its_state_in_the_xdg_state_directory() {
    let fresh = Fresh::new();
    let config = fresh.text("followup.yaml");
    assert!(
        !config.lines().any(|l| l.starts_with("state_dir:")),
        "no state_dir pointing anywhere:\n{config}"
    );
    fresh.with_config().args(["state", "export"]).succeeds();
    assert!(fresh.xdg_state().join("followup").is_dir());
    let outside: Vec<_> = tree(fresh.root.path())
        .into_iter()
        .filter(|p| !p.starts_with(fresh.dir()) && !p.starts_with(fresh.xdg_state()))
        .collect();
    assert!(outside.is_empty(), "written outside: {outside:?}");
}

#[test]
fn the_starter_takes_the_password_as_a_credential_or_a_file_it_explains() {
    let fresh = Fresh::new();
    let config = fresh.text("followup.yaml");
    assert!(
        config.contains("LoadCredential") && config.contains("# password_file: smtp-password"),
        "{config}"
    );
    // As written, run by hand: every place the password may be is named.
    let err = fresh.with_config().arg("validate").output().exit(1).stderr;
    for place in [
        "`password_file`",
        "`password_env`",
        "$CREDENTIALS_DIRECTORY/smtp-password",
    ] {
        assert!(err.contains(place), "`{place}` not named:\n{err}");
    }
    // Under systemd the credential is there.
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("smtp-password"), "pw\n").unwrap();
    fresh
        .with_config()
        .env("CREDENTIALS_DIRECTORY", credentials.path())
        .arg("validate")
        .succeeds();
    // By hand, as the comment says: the file must exist.
    fresh.edit(
        "  # password_file: smtp-password",
        "  password_file: smtp-password",
    );
    let err = fresh.with_config().arg("validate").output().exit(1).stderr;
    assert!(
        err.contains("followup.yaml:")
            && err.contains(&fresh.dir().join("smtp-password").display().to_string()),
        "{err}"
    );
    std::fs::write(fresh.dir().join("smtp-password"), "pw\n").unwrap();
    fresh.with_config().arg("validate").succeeds();
}

#[test]
fn the_example_record_says_true_things_and_has_nothing_due_yet() {
    let fresh = Fresh::new();
    let record = fresh.text("interviews/example.yaml");
    assert!(record.contains("(`example`)"), "{record}");
    let plan = fresh
        .with_config()
        .args(["plan", "--json"])
        .succeeds()
        .json();
    let rows = plan.as_array().unwrap();
    assert!(rows.iter().all(|r| r["interview"] == "example"), "{plan:#}");
    let now = chrono::Utc::now();
    for row in rows {
        let due: chrono::DateTime<chrono::Utc> = row["due"].as_str().unwrap().parse().unwrap();
        assert!(due > now + chrono::Duration::days(1), "due soon: {row}");
        assert_eq!(row["state"], "scheduled", "{row}");
    }
}

#[test]
fn init_writes_beside_the_config_that_config_names() {
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("jobs/my-followup.yaml");
    let out = followup().config(&config).arg("init").succeeds();
    assert!(config.is_file(), "{}", out.stdout);
    assert!(root.path().join("jobs/interviews/example.yaml").is_file());
    assert!(out.stdout.contains("validate"), "{}", out.stdout);
    let both = followup()
        .config(&config)
        .arg("init")
        .arg(root.path().join("elsewhere"))
        .output()
        .exit(1);
    assert!(both.stderr.contains("not both"), "{}", both.stderr);
}

#[test]
fn init_on_a_terminal_asks_the_address_and_fills_in_the_providers_smtp_and_imap() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("cfg");
    let out = followup()
        .env("HOME", root.path().join("home"))
        .env("XDG_STATE_HOME", root.path().join("xdg-state"))
        .arg("init")
        .arg(&dir)
        .on_terminal("sam.seeker@fastmail.com\n");
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(dir.join("followup.yaml")).unwrap();
    for line in [
        "email: sam.seeker@fastmail.com",
        "host: smtp.fastmail.com",
        "\nimap:\n  host: imap.fastmail.com",
        "username: sam.seeker@fastmail.com",
    ] {
        assert!(text.contains(line), "`{line}` not in:\n{text}");
    }
}

#[test]
fn without_an_imap_section_validate_says_once_what_is_lost() {
    let fresh = Fresh::new();
    let credentials = tempfile::tempdir().unwrap();
    std::fs::write(credentials.path().join("smtp-password"), "pw\n").unwrap();
    let out = fresh
        .with_config()
        .env("CREDENTIALS_DIRECTORY", credentials.path())
        .arg("validate")
        .succeeds();
    assert_eq!(
        out.stderr
            .matches("note: there is no `imap` section")
            .count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("replies"), "{}", out.stderr);
}
