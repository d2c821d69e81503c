//! Replays the fuzzers' curated corpus and the inputs they found (`fuzz/corpus/<target>/`,
//! `fuzz/regressions/<target>/`) through the three parsers of user-edited files and the parser
//! of fetched mail, with the same checks as the fuzz targets (`fuzz/src/checks.rs`): no panic,
//! for queue files no line break in a header value and a faithful `to_eml` round trip, for
//! fetched mail no line break in a header value and the reply rules deciding. See
//! `fuzz/README.md`.

#[path = "../../fuzz/src/checks.rs"]
mod checks;

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use crate::support::api::{
    Draft, EmailAddress, Mailbox, Outgoing, SendKey, Step, ThreadRef, to_eml,
};
use chrono::{TimeZone, Utc};

/// What a fuzz target asserts about one input: it panics if the input breaks a rule.
type Check = fn(&[u8]);

/// Each target with the check its fuzz target runs.
const TARGETS: [(&str, Check); 5] = [
    ("records", checks::records),
    ("config", checks::config),
    ("queue_file", checks::queue_file),
    ("inbound", checks::inbound),
    ("invitation", checks::invitation),
];

/// The committed corpus stays small: the seeds and the minimized finds.
const MAX_FILE_BYTES: u64 = 64 * 1024;
const MAX_FILES: usize = 200;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Inputs known to fail until their bug is fixed, from `fuzz/regressions/OPEN` (paths relative
/// to `fuzz/`, one a line, `#` comments). Delete a line once its fix lands.
fn open_regressions() -> Vec<PathBuf> {
    let list = std::fs::read_to_string(fuzz_dir().join("regressions/OPEN")).unwrap_or_default();
    list.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(|l| fuzz_dir().join(l))
        .collect()
}

/// Every input file, with the check for its target.
fn inputs() -> Vec<(PathBuf, Check)> {
    let mut all = Vec::new();
    for (target, check) in TARGETS {
        for kind in ["corpus", "regressions"] {
            let dir = fuzz_dir().join(kind).join(target);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.is_file() {
                    all.push((path, check));
                }
            }
        }
    }
    all.sort();
    all
}

/// Runs each input through its check; returns the files that panicked, with the message.
fn failures(inputs: &[(PathBuf, Check)]) -> Vec<String> {
    let mut failed = Vec::new();
    for (path, check) in inputs {
        let bytes = std::fs::read(path).unwrap();
        if let Err(e) = panic::catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failed.push(format!("{}: {why}", path.display()));
        }
    }
    failed
}

#[test]
fn corpus_and_regressions_parse_without_panic() {
    let open = open_regressions();
    let all = inputs();
    assert!(
        all.iter()
            .any(|(p, _)| p.ends_with("queue_file/to_eml.eml")),
        "the corpus is missing"
    );
    assert!(
        all.len() <= MAX_FILES,
        "{} files in fuzz/corpus and fuzz/regressions: keep the committed corpus under {MAX_FILES}",
        all.len()
    );
    for (path, _) in &all {
        let len = std::fs::metadata(path).unwrap().len();
        assert!(
            len <= MAX_FILE_BYTES,
            "{} is {len} bytes: minimize it under {MAX_FILE_BYTES}",
            path.display()
        );
    }
    let known: Vec<_> = all.into_iter().filter(|(p, _)| !open.contains(p)).collect();
    let failed = failures(&known);
    assert!(
        failed.is_empty(),
        "inputs that fail:\n{}",
        failed.join("\n")
    );
}

/// Every calendar the tests hold (the invitations of `tests/it/fixtures/ics/` and the public
/// iCalendar corpus beside them) passes the `invitation` target's checks: no panic, and what is
/// read is in range.
#[test]
fn the_icalendar_corpus_reads_without_panic_and_in_range() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/ics");
    let mut calendars: Vec<(PathBuf, Check)> = Vec::new();
    for dir in [root.clone(), root.join("icalendar-py")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "ics") {
                calendars.push((path, checks::invitation as Check));
            }
        }
    }
    assert!(calendars.len() > 100, "the corpus is missing");
    let failed = failures(&calendars);
    assert!(
        failed.is_empty(),
        "calendars that fail:\n{}",
        failed.join("\n")
    );
}

/// The inputs of bugs not fixed yet: `cargo test --test it fuzz_regressions -- --ignored`.
#[test]
#[ignore = "known open bugs, listed in fuzz/regressions/OPEN"]
fn open_regressions_pass() {
    let open: Vec<_> = inputs()
        .into_iter()
        .filter(|(p, _)| open_regressions().contains(p))
        .collect();
    let failed = failures(&open);
    assert!(failed.is_empty(), "still failing:\n{}", failed.join("\n"));
}

/// The queue-file seed is what `to_eml` writes today. `FOLLOWUP_BLESS=1` rewrites it.
#[test]
fn queue_file_seed_is_current_to_eml_output() {
    let addr = |s: &str| EmailAddress::parse(s).unwrap();
    let date = Utc.with_ymd_and_hms(2026, 11, 3, 16, 0, 0).unwrap();
    let key = SendKey::new("acme-backend", Step::ThankYou, "jane@example.com");
    let mut m = Outgoing::new(
        Mailbox::new("Alex Rivera", addr("alex@example.org")),
        Mailbox::new("Jane Doe", addr("jane@example.com")),
        Draft {
            subject: "Thank you for the Backend Engineer interview".into(),
            body: "Dear Jane Doe,\n\nThank you.\n\nBest regards,\nAlex Rivera\n".into(),
        },
        date,
    )
    .threaded(&[ThreadRef {
        message_id: "<first.1@example.org>".parse().unwrap(),
        subject: "Backend Engineer".into(),
    }])
    .with_attachments(vec![PathBuf::from("docs/cv.pdf")]);
    m.message_id = "<fuzz-seed.1@example.org>".parse().unwrap();
    let eml = to_eml(&key, &m, Some("waiting for your approval"));
    let seed = fuzz_dir().join("corpus/queue_file/to_eml.eml");
    if std::env::var_os("FOLLOWUP_BLESS").is_some() {
        std::fs::write(&seed, &eml).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&seed).unwrap(), eml);
}
