use std::sync::{Arc, Barrier};

use chrono::{DateTime, TimeZone, Utc};
use tempfile::TempDir;

use super::*;
use crate::core::Step;
use crate::core::heard::Heard;

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, day, hour, 0, 0).unwrap()
}

fn key(interview: &str, step: Step) -> SendKey {
    SendKey::new(interview, step, "ana@example.com")
}

fn fresh() -> (TempDir, SledStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path().join("state")).unwrap();
    (dir, store)
}

fn sending(key: &SendKey, attempts: u32) -> SendRecord {
    let mut r = SendRecord::new(key.clone(), SendState::Sending, at(3, 9));
    r.attempts = attempts;
    r.to = Some("ana@example.com".into());
    r.rendered = Some("Subject: Thank you\r\n\r\nHello Ana\r\n".into());
    r
}

#[test]
fn transition_from_absent_creates_the_record() {
    let (_dir, store) = fresh();
    let k = key("acme", Step::ThankYou);
    assert_eq!(store.get(&k).unwrap(), None);
    assert!(store.transition(&k, &[None], &sending(&k, 1)).unwrap());
    assert_eq!(store.get(&k).unwrap(), Some(sending(&k, 1)));
    // Absent is no longer true: a second claim from absent loses.
    assert!(!store.transition(&k, &[None], &sending(&k, 2)).unwrap());
    assert_eq!(store.get(&k).unwrap().unwrap().attempts, 1);
}

#[test]
fn transition_loses_when_the_state_changed() {
    let (_dir, store) = fresh();
    let k = key("acme", Step::ThankYou);
    store.transition(&k, &[None], &sending(&k, 1)).unwrap();
    let mut sent = sending(&k, 1);
    sent.state = SendState::Sent;
    sent.sent_at = Some(at(3, 10));
    assert!(
        store
            .transition(&k, &[Some(SendState::Sending)], &sent)
            .unwrap()
    );
    // Someone expecting it still deferred or sending must not overwrite `sent`.
    let retry = sending(&k, 2);
    let expected = [Some(SendState::Deferred), Some(SendState::Sending)];
    assert!(!store.transition(&k, &expected, &retry).unwrap());
    assert_eq!(store.get(&k).unwrap(), Some(sent));
}

#[test]
fn transition_refuses_a_record_under_another_key() {
    let (_dir, store) = fresh();
    let k = key("acme", Step::ThankYou);
    let other = key("acme", Step::StatusCheck);
    let err = store.transition(&k, &[None], &sending(&other, 1));
    assert!(matches!(err, Err(StoreError::KeyMismatch { .. })));
}

#[test]
fn transition_refuses_an_interview_id_with_a_slash() {
    let (_dir, store) = fresh();
    let k = key("acme/2", Step::ThankYou);
    let err = store.transition(&k, &[None], &sending(&k, 1));
    assert!(matches!(err, Err(StoreError::InvalidKey { .. })), "{err:?}");
}

/// Eight threads race to move `k` from `from` to a `sending` record of their own; the ids of
/// those that won, and the store's record, are checked by the caller.
fn race(store: SledStore, k: &SendKey, from: Option<SendState>) -> (Vec<u32>, SledStore) {
    let store = Arc::new(store);
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads as u32)
        .map(|id| {
            let (store, barrier, k) = (store.clone(), barrier.clone(), k.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let won = store
                    .transition(&k, &[from], &sending(&k, 100 + id))
                    .unwrap();
                won.then_some(100 + id)
            })
        })
        .collect();
    let winners = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .collect();
    let store = Arc::into_inner(store).expect("every thread has ended");
    (winners, store)
}

#[test]
fn racing_threads_on_one_key_have_exactly_one_winner() {
    let (_dir, store) = fresh();
    let k = key("acme", Step::ThankYou);
    let (winners, store) = race(store, &k, None);
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(store.get(&k).unwrap().unwrap().attempts, winners[0]);
}

#[test]
fn racing_threads_from_one_state_have_exactly_one_winner() {
    let (_dir, store) = fresh();
    let k = key("acme", Step::ThankYou);
    let mut deferred = sending(&k, 1);
    deferred.state = SendState::Deferred;
    store.transition(&k, &[None], &deferred).unwrap();
    let (winners, store) = race(store, &k, Some(SendState::Deferred));
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(store.get(&k).unwrap().unwrap().attempts, winners[0]);
}

#[test]
fn transition_is_durable_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let k = key("acme", Step::ThankYou);
    {
        let store = SledStore::open(&path).unwrap();
        assert!(store.transition(&k, &[None], &sending(&k, 1)).unwrap());
        store
            .note_status("acme", Status::Rejected, at(5, 8))
            .unwrap();
        store
            .set_meta("digest_sent_at", "2025-03-05T08:00:00Z")
            .unwrap();
    }
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.get(&k).unwrap(), Some(sending(&k, 1)));
    assert_eq!(
        store.meta("digest_sent_at").unwrap().as_deref(),
        Some("2025-03-05T08:00:00Z")
    );
    let history = store.history().unwrap();
    assert_eq!(history.status_seen["acme"], (Status::Rejected, at(5, 8)));
}

#[test]
fn state_directory_is_created_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a/b/state");
    let _store = SledStore::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn history_maps_records_to_past_sends() {
    let (_dir, store) = fresh();
    let thanks = key("acme", Step::ThankYou);
    let check = key("acme", Step::StatusCheck);
    let mut sent = sending(&thanks, 1);
    sent.state = SendState::Sent;
    sent.sent_at = Some(at(3, 10));
    sent.reserved_at = at(3, 9);
    let mut deferred = sending(&check, 2);
    deferred.state = SendState::Deferred;
    deferred.reserved_at = at(10, 9);
    deferred.next_attempt = Some(at(10, 11));
    deferred.last_error = Some("421 try later".into());
    deferred.note = Some("retrying".into());
    store.transition(&thanks, &[None], &sent).unwrap();
    store.transition(&check, &[None], &deferred).unwrap();

    let history = store.history().unwrap();
    assert_eq!(history.sends.len(), 2);
    assert_eq!(
        history.sends[&thanks],
        PastSend {
            state: SendState::Sent,
            reserved_at: at(3, 9),
            sent_at: Some(at(3, 10)),
            next_attempt: None,
            note: None,
        }
    );
    assert_eq!(
        history.sends[&check],
        PastSend {
            state: SendState::Deferred,
            reserved_at: at(10, 9),
            sent_at: None,
            next_attempt: Some(at(10, 11)),
            note: Some("retrying; last error: 421 try later".into()),
        }
    );
    assert!(history.status_seen.is_empty());
}

#[test]
fn status_seen_keeps_the_first_instant_until_the_status_changes() {
    let (_dir, store) = fresh();
    store
        .note_status("acme", Status::Waiting, at(1, 8))
        .unwrap();
    store
        .note_status("acme", Status::Waiting, at(2, 8))
        .unwrap();
    assert_eq!(
        store.history().unwrap().status_seen["acme"],
        (Status::Waiting, at(1, 8))
    );
    store
        .note_status("acme", Status::Rejected, at(3, 8))
        .unwrap();
    store
        .note_status("acme", Status::Rejected, at(4, 8))
        .unwrap();
    store
        .note_status("globex", Status::Offer, at(4, 9))
        .unwrap();
    let seen = store.history().unwrap().status_seen;
    assert_eq!(seen["acme"], (Status::Rejected, at(3, 8)));
    assert_eq!(seen["globex"], (Status::Offer, at(4, 9)));
}

#[test]
fn schema_version_is_written_on_create() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    drop(SledStore::open(&path).unwrap());
    let db = sled::open(path.join(open::DB_DIR)).unwrap();
    let meta = db.open_tree("meta").unwrap();
    assert_eq!(meta.get("schema_version").unwrap().unwrap(), b"1".as_ref());
}

#[test]
fn newer_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    drop(SledStore::open(&path).unwrap());
    {
        let db = sled::open(path.join(open::DB_DIR)).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", "2")
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(&path)
        .err()
        .expect("a newer schema must be refused");
    assert!(
        matches!(
            err,
            StoreError::NewerSchema {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer followup"), "{err}");
}

#[test]
fn schema_version_cannot_be_set_as_meta() {
    let (_dir, store) = fresh();
    let err = store.set_meta("schema_version", "9");
    assert!(matches!(err, Err(StoreError::ReservedMeta { .. })));
    assert_eq!(store.meta("missing").unwrap(), None);
}

#[test]
fn second_open_of_the_same_path_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let first = SledStore::open(&path).unwrap();
    let err = SledStore::open(&path).err().expect("second open must fail");
    assert!(
        matches!(&err, StoreError::Locked { path: p } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("another followup daemon"), "{err}");
    drop(first);
    wait_until_unlocked(&path);
    SledStore::open(&path).expect("the lock goes with the store");
}

/// Waits, within a deadline, until no one holds the lock of `path`. A dropped store lets go of
/// it at once, but a child process that another test starts at that moment holds a copy of
/// every descriptor until it executes its program, the lock's too.
fn wait_until_unlocked(path: &std::path::Path) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while SledStore::in_use(path).unwrap() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock of {} was not let go",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn in_use_asks_the_lock_without_taking_or_creating_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    assert!(!SledStore::in_use(&path).unwrap());
    assert!(!path.exists(), "asking created nothing");
    let store = SledStore::open(&path).unwrap();
    assert!(SledStore::in_use(&path).unwrap());
    drop(store);
    wait_until_unlocked(&path);
    SledStore::open(&path).expect("asking left no lock behind");
}

/// What sled does by itself, under our lock: its own `flock` on `db` also refuses a second
/// handle in the same process.
#[test]
fn second_open_is_locked_by_sled_too() {
    let dir = tempfile::tempdir().unwrap();
    let _first = sled::open(dir.path()).unwrap();
    let err = sled::open(dir.path()).expect_err("sled must refuse");
    assert!(err.to_string().contains("could not acquire lock"), "{err}");
    assert!(matches!(
        open::open_error(dir.path(), err),
        StoreError::Locked { .. }
    ));
}

/// Re-runs this test binary as a second process on the same state directory: both our lock
/// and sled's own (on `db/db`) must refuse it.
#[test]
fn second_process_is_locked() {
    const ENV: &str = "FOLLOWUP_STORE_LOCK_CHILD";
    if let Ok(path) = std::env::var(ENV) {
        let path = std::path::PathBuf::from(path);
        let ours = matches!(SledStore::open(&path), Err(StoreError::Locked { .. }));
        let sleds = sled::open(path.join(open::DB_DIR))
            .err()
            .is_some_and(|e| e.to_string().contains("could not acquire lock"));
        std::process::exit(if ours && sleds { 42 } else { 1 });
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let _first = SledStore::open(&path).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "store::tests::second_process_is_locked"])
        .env(ENV, &path)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(42),
        "the child should have been refused twice"
    );
}

#[test]
fn export_then_import_round_trips() {
    let (_dir, source) = fresh();
    let k = key("acme", Step::ThankYou);
    let mut rec = sending(&k, 1);
    rec.rendered = Some("Subject: Merci, Zoë\r\n\r\nBonjour — à bientôt\r\n".into());
    rec.message_id = Some("<1@example.com>".parse().unwrap());
    source.transition(&k, &[None], &rec).unwrap();
    source
        .note_status("acme", Status::Replied, at(6, 8))
        .unwrap();
    source.set_meta("digest_sent_at", "2025-03-06").unwrap();
    let json = export(&source).unwrap();
    assert!(json.contains("\"schema_version\": 1"), "{json}");

    let (_dir2, target) = fresh();
    let summary = import(&target, &json, false).unwrap();
    assert_eq!(
        summary,
        ImportSummary {
            sends: 1,
            status_seen: 1,
            meta: 1,
            undeliverable: 0,
            replaced_sends: 0
        }
    );
    assert_eq!(target.snapshot().unwrap(), source.snapshot().unwrap());
    assert_eq!(target.get(&k).unwrap(), Some(rec));
}

#[test]
fn an_undeliverable_address_is_kept_durably_with_its_first_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let ana = EmailAddress::parse("Ana@Example.com").unwrap();
    {
        let store = SledStore::open(&path).unwrap();
        assert!(
            store
                .mark_undeliverable(&ana, at(3, 9), "550 5.1.1 No such user")
                .unwrap()
        );
        assert!(
            !store
                .mark_undeliverable(&ana, at(4, 9), "550 again")
                .unwrap()
        );
        store
            .note_undeliverable_notice("ana@example.com", at(3, 10))
            .unwrap();
        store
            .note_undeliverable_notice("ana@example.com", at(5, 10))
            .unwrap();
    }
    let store = SledStore::open(&path).unwrap();
    let all = store.undeliverable().unwrap();
    assert_eq!(
        all,
        [UndeliverableAddress {
            address: "ana@example.com".into(),
            at: at(3, 9),
            reason: "550 5.1.1 No such user".into(),
            notice_sent_at: Some(at(3, 10)),
        }]
    );
    let history = store.history().unwrap();
    assert_eq!(
        history.undeliverable["ana@example.com"].reason,
        "550 5.1.1 No such user"
    );
    assert_eq!(store.snapshot().unwrap().history(), history);

    // Through an export and an import.
    let json = export(&store).unwrap();
    let (_dir2, target) = fresh();
    assert_eq!(import(&target, &json, false).unwrap().undeliverable, 1);
    assert_eq!(target.undeliverable().unwrap(), all);
    // An import replaces them too.
    let mut empty: Snapshot = serde_json::from_str(&json).unwrap();
    empty.undeliverable.clear();
    empty.sends.clear();
    import(&target, &serde_json::to_string(&empty).unwrap(), true).unwrap();
    assert!(target.undeliverable().unwrap().is_empty());
}

/// An export written before addresses could be marked undeliverable still imports.
#[test]
fn an_export_without_undeliverable_addresses_imports() {
    let (_dir, source) = fresh();
    source
        .note_status("acme", Status::Replied, at(6, 8))
        .unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&export(&source).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("undeliverable");
    let (_dir2, target) = fresh();
    import(&target, &value.to_string(), false).unwrap();
    assert!(target.undeliverable().unwrap().is_empty());
    assert_eq!(target.snapshot().unwrap().status_seen.len(), 1);
}

#[test]
fn import_refuses_an_undeliverable_entry_that_is_not_an_address() {
    let (_dir, source) = fresh();
    let mut value: serde_json::Value = serde_json::from_str(&export(&source).unwrap()).unwrap();
    value["undeliverable"] = serde_json::json!([
        {"address": "Not An Address", "at": "2025-03-03T09:00:00Z", "reason": "550"}
    ]);
    let e = import(&source, &value.to_string(), false).unwrap_err();
    assert!(
        e.to_string().contains("not a lower-case e-mail address"),
        "{e}"
    );
}

#[test]
fn import_refuses_a_non_empty_store_without_replace() {
    let (_dir, store) = fresh();
    let old = key("old", Step::ThankYou);
    store.transition(&old, &[None], &sending(&old, 1)).unwrap();

    let (_dir2, other) = fresh();
    let new = key("new", Step::ThankYou);
    other.transition(&new, &[None], &sending(&new, 1)).unwrap();
    let json = export(&other).unwrap();

    let err = import(&store, &json, false);
    assert!(
        matches!(err, Err(StoreError::NotEmpty { sends: 1, .. })),
        "{err:?}"
    );
    assert!(store.get(&old).unwrap().is_some(), "nothing changed");

    let summary = import(&store, &json, true).unwrap();
    assert_eq!(summary.replaced_sends, 1);
    assert_eq!(store.get(&old).unwrap(), None, "replace means replace");
    assert!(store.get(&new).unwrap().is_some());
}

#[test]
fn import_validates_before_changing_anything() {
    let (_dir, store) = fresh();
    let bad_json = import(&store, "{ not json", false);
    assert!(matches!(bad_json, Err(StoreError::InvalidImport { .. })));

    let k = key("acme", Step::ThankYou);
    let mut snapshot = Snapshot {
        sends: vec![sending(&k, 1), sending(&k, 2)],
        ..Snapshot::empty()
    };
    let dup = serde_json::to_string(&snapshot).unwrap();
    let err = import(&store, &dup, false).unwrap_err();
    assert!(err.to_string().contains("appears twice"), "{err}");

    snapshot.sends.pop();
    snapshot.schema_version = 7;
    let newer = serde_json::to_string(&snapshot).unwrap();
    assert!(matches!(
        import(&store, &newer, false),
        Err(StoreError::NewerSchema { found: 7, .. })
    ));

    snapshot.schema_version = 1;
    snapshot.format = "something-else".into();
    let foreign = serde_json::to_string(&snapshot).unwrap();
    assert!(matches!(
        import(&store, &foreign, false),
        Err(StoreError::InvalidImport { .. })
    ));
    assert!(store.all().unwrap().is_empty());
}

#[test]
fn undecodable_record_names_its_key() {
    let (_dir, store) = fresh();
    store
        .sends
        .insert("acme/thank_you/ana@example.com", "{oops")
        .unwrap();
    let err = store.all().unwrap_err();
    assert!(
        matches!(&err, StoreError::Decode { key, .. } if key == "acme/thank_you/ana@example.com"),
        "{err:?}"
    );
}

#[test]
fn an_undecodable_entry_of_any_tree_names_its_tree_and_key() {
    for (tree, key, named) in [
        ("status_seen", "acme", "status_seen/acme"),
        (
            "undeliverable",
            "ana@example.com",
            "undeliverable/ana@example.com",
        ),
        (
            "heard",
            "acme/<a@example.com>",
            "heard/acme/<a@example.com>",
        ),
        ("mailbox", "INBOX", "mailbox/INBOX"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        drop(SledStore::open(&path).unwrap());
        {
            let db = sled::open(path.join(open::DB_DIR)).unwrap();
            db.open_tree(tree).unwrap().insert(key, "{oops").unwrap();
            db.flush().unwrap();
        }
        let store = SledStore::open(&path).unwrap();
        let err = store.snapshot().unwrap_err();
        assert!(
            matches!(&err, StoreError::Decode { key, .. } if key == named),
            "{tree}: {err:?}"
        );
    }
}

fn files_under(path: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(path)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    out.sort();
    out
}

/// A state directory with fifty sends, closed.
fn populated() -> (TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    let store = SledStore::open(&path).unwrap();
    for i in 0..50 {
        let k = key(&format!("acme{i}"), Step::ThankYou);
        store.transition(&k, &[None], &sending(&k, 1)).unwrap();
    }
    (dir, path)
}

fn garbage(len: usize) -> Vec<u8> {
    (0..len.max(64)).map(|i| (i * 7 + 13) as u8).collect()
}

/// Asserts a refused open: `Corrupt`, naming the directory and the way back, with the files
/// as found kept in `db.damaged/`.
fn assert_corrupt_and_kept(path: &std::path::Path, as_found: &[(std::path::PathBuf, Vec<u8>)]) {
    let err = SledStore::open(path)
        .err()
        .expect("a damaged database must be refused");
    assert!(
        matches!(&err, StoreError::Corrupt { path: p, .. } if p == path),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("followup state import"), "{message}");
    let kept = path.join("db.damaged");
    let kept_files: Vec<_> = files_under(&kept)
        .into_iter()
        .map(|(p, b)| (p.file_name().unwrap().to_owned(), b))
        .collect();
    let found: Vec<_> = as_found
        .iter()
        .map(|(p, b)| (p.file_name().unwrap().to_owned(), b.clone()))
        .collect();
    assert_eq!(kept_files, found, "the damaged files are kept as found");
    // Opening again still refuses, and the first copy is not replaced.
    assert!(matches!(
        SledStore::open(path),
        Err(StoreError::Corrupt { .. })
    ));
    assert_eq!(files_under(&kept).len(), found.len());
}

/// Garbage in every sled file: sled 0.34 rejects the `conf` file itself.
#[test]
fn corrupt_database_is_refused_and_kept() {
    let (_dir, path) = populated();
    let db = path.join(open::DB_DIR);
    for (file, bytes) in files_under(&db) {
        std::fs::write(&file, garbage(bytes.len())).unwrap();
    }
    assert_corrupt_and_kept(&path, &files_under(&db));
}

/// Garbage in the log alone: sled 0.34 opens it as an empty database without complaint.
#[test]
fn damaged_log_that_sled_opens_empty_is_refused() {
    let (_dir, path) = populated();
    let log = path.join(open::DB_DIR).join("db");
    let len = std::fs::metadata(&log).unwrap().len() as usize;
    std::fs::write(&log, garbage(len)).unwrap();
    assert_corrupt_and_kept(&path, &files_under(&path.join(open::DB_DIR)));
}

/// Damage in the middle of the log: sled 0.34 keeps what comes before it and drops the rest.
#[test]
fn damaged_log_that_sled_opens_short_is_refused() {
    let (_dir, path) = populated();
    let log = path.join(open::DB_DIR).join("db");
    let mut bytes = std::fs::read(&log).unwrap();
    let n = bytes.len();
    bytes[n / 4..n / 2].iter_mut().for_each(|b| *b ^= 0x5a);
    std::fs::write(&log, bytes).unwrap();
    assert_corrupt_and_kept(&path, &files_under(&path.join(open::DB_DIR)));
}

#[test]
fn a_good_open_keeps_the_previous_copy() {
    let (_dir, path) = populated();
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.all().unwrap().len(), 50);
    assert!(path.join("db.last-open").join("conf").exists());
    assert!(!path.join("db.opening").exists());
}

fn heard_reply(interview: &str, message: &str) -> HeardRecord {
    HeardRecord {
        interview: interview.into(),
        message: message.into(),
        at: chrono::Utc::now(),
        subject: "Re: Backend Engineer".into(),
        first_lines: "Thank you, we will be in touch.".into(),
        heard: Heard::Reply {
            from: "Jane Roe <jane@globex.example.com>".into(),
            rule: "from an interviewer".into(),
            rejection: None,
            message_id: None,
        },
        dismissed: false,
    }
}

#[test]
fn what_the_mailbox_said_is_recorded_once_with_its_cursor() {
    let (_dir, store) = fresh();
    let cursor = Cursor {
        uid_validity: 7,
        last_seen: 12,
    };
    let first = heard_reply("globex", "<a@globex.example.com>");
    let added = store
        .record_heard("INBOX", cursor, std::slice::from_ref(&first))
        .unwrap();
    assert_eq!(added, std::slice::from_ref(&first));
    let later = Cursor {
        last_seen: 13,
        ..cursor
    };
    // Read again (a restart, a new UIDVALIDITY): nothing is told twice; the cursor moves on.
    let again = store.record_heard("INBOX", later, &[first]).unwrap();
    assert!(again.is_empty());
    assert_eq!(store.cursor("INBOX").unwrap(), Some(later));
    assert_eq!(store.history().unwrap().heard["globex"].len(), 1);
}

#[test]
fn a_folder_cursor_is_stored_as_it_always_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state");
    drop(SledStore::open(&path).unwrap());
    {
        // A cursor as an earlier followup wrote it, before the mailbox and the store shared
        // one type.
        let db = sled::open(path.join(open::DB_DIR)).unwrap();
        db.open_tree("mailbox")
            .unwrap()
            .insert("INBOX", br#"{"uid_validity":7,"last_seen":42}"#.as_ref())
            .unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(&path).unwrap();
    let read = Cursor {
        uid_validity: 7,
        last_seen: 42,
    };
    assert_eq!(store.cursor("INBOX").unwrap(), Some(read));
    assert_eq!(store.snapshot().unwrap().cursors["INBOX"], read);
    store
        .record_heard(
            "Sent",
            Cursor {
                uid_validity: 3,
                last_seen: 9,
            },
            &[],
        )
        .unwrap();
    drop(store);
    let db = sled::open(path.join(open::DB_DIR)).unwrap();
    assert_eq!(
        db.open_tree("mailbox")
            .unwrap()
            .get("Sent")
            .unwrap()
            .unwrap(),
        br#"{"uid_validity":3,"last_seen":9}"#.as_ref()
    );
}

#[test]
fn a_resumed_interview_no_longer_counts_its_replies_and_exports_keep_them() {
    let (_dir, store) = fresh();
    let cursor = Cursor {
        uid_validity: 1,
        last_seen: 2,
    };
    store
        .record_heard(
            "INBOX",
            cursor,
            &[
                heard_reply("globex", "<a@x.example>"),
                heard_reply("initech", "<b@x.example>"),
            ],
        )
        .unwrap();
    assert_eq!(store.dismiss_replies("globex").unwrap(), 1);
    assert_eq!(store.dismiss_replies("globex").unwrap(), 0);
    let json = export(&store).unwrap();
    let (_dir2, other) = fresh();
    import(&other, &json, false).unwrap();
    let heard = other.heard().unwrap();
    assert_eq!(heard.len(), 2);
    assert!(heard.iter().any(|r| r.interview == "globex" && r.dismissed));
    assert_eq!(other.cursor("INBOX").unwrap(), Some(cursor));
}

/// The count `check.json` holds, as written.
fn checked_count(dir: &TempDir) -> u64 {
    let text = std::fs::read_to_string(dir.path().join("state/check.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["sends"].as_u64().unwrap()
}

#[test]
fn check_json_never_counts_a_claim_before_it_is_flushed() {
    let (dir, store) = fresh();
    let (a, b) = (key("acme", Step::ThankYou), key("globex", Step::ThankYou));
    assert!(store.claim(&a, &[None], &sending(&a, 1)).unwrap());
    // A crash now may lose the claim: the high-water mark must not already count it.
    assert_eq!(checked_count(&dir), 0);
    assert_eq!(store.get(&a).unwrap(), Some(sending(&a, 1)));
    // The next flushed transition (the before-body mark, in the protocol) makes both durable.
    assert!(store.transition(&b, &[None], &sending(&b, 1)).unwrap());
    assert_eq!(checked_count(&dir), 2);
    drop(store);
    let store = SledStore::open(dir.path().join("state")).unwrap();
    assert_eq!(store.all().unwrap().len(), 2);
}
