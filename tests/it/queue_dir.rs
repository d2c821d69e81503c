//! The approval queue as the user meets it: real files in a temporary directory.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};

use crate::support::api::{
    Draft, EmailAddress, EmlError, EntryError, Folder, MAX_EML_BYTES, Mailbox, Outgoing, QueueDir,
    QueueError, SendKey, Step, to_eml,
};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

fn key(interview: &str, step: Step, to: &str) -> SendKey {
    SendKey::new(interview, step, to)
}

fn msg(k: &SendKey) -> Outgoing {
    Outgoing::new(
        Mailbox::new(
            "Alex Rivera",
            EmailAddress::parse("alex@example.org").unwrap(),
        ),
        Mailbox::new("Jane Doe", EmailAddress::parse(&k.recipient).unwrap()),
        Draft {
            subject: "Thank you for the interview".into(),
            body: "Dear Jane,\n\nThank you for your time.\n\nAlex\n".into(),
        },
        at(3, 13),
    )
}

/// The queue file of `msg(k)`.
fn eml(k: &SendKey) -> String {
    to_eml(k, &msg(k), None)
}

fn jane() -> SendKey {
    key("acme", Step::ThankYou, "jane@acme.example.com")
}

fn queue() -> (tempfile::TempDir, QueueDir) {
    let dir = tempfile::tempdir().unwrap();
    let q = QueueDir::open(&dir.path().join("queue")).unwrap();
    (dir, q)
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn names(q: &QueueDir, folder: Folder) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(q.dir(folder))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn open_creates_private_folders() {
    let (_d, q) = queue();
    for folder in Folder::ALL {
        assert_eq!(mode(&q.dir(folder)), 0o700, "{folder}");
    }
}

#[test]
fn enqueue_writes_one_private_file_with_a_telling_name_that_parses_back() {
    let (_d, q) = queue();
    let done = q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    assert!(!done.existed);
    assert_eq!(
        done.path.file_name().unwrap(),
        "20261103T1300Z_1_acme_thank_you_jane@acme.example.com.eml"
    );
    assert_eq!(mode(&done.path), 0o600);
    assert_eq!(
        names(&q, Folder::Pending),
        ["20261103T1300Z_1_acme_thank_you_jane@acme.example.com.eml"]
    );
    let entries = q.scan(Folder::Pending).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].id,
        "20261103T1300Z_1_acme_thank_you_jane@acme.example.com"
    );
    assert_eq!(entries[0].key(), Some(&jane()));
    assert_eq!(
        entries[0].parsed.as_ref().unwrap().subject,
        "Thank you for the interview"
    );
}

#[test]
fn enqueue_is_idempotent_per_key() {
    let (_d, q) = queue();
    let first = q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    // Even planned for another time, the same key is not queued twice.
    let second = q.enqueue(&jane(), &msg(&jane()), None, at(4, 9)).unwrap();
    assert!(second.existed);
    assert_eq!(second.path, first.path);
    assert_eq!(names(&q, Folder::Pending).len(), 1);

    // Nor once approved.
    q.approve(&q.scan(Folder::Pending).unwrap()[0].id).unwrap();
    let third = q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    assert!(third.existed);
    assert!(names(&q, Folder::Pending).is_empty());
    assert_eq!(names(&q, Folder::Approved).len(), 1);
}

#[test]
fn names_sort_by_due_time() {
    let (_d, q) = queue();
    let late = key("zeta", Step::ThankYou, "a@example.com");
    let early = key("alpha", Step::StatusCheck, "z@example.com");
    let middle = key("mid", Step::FinalCheck, "m@example.com");
    q.enqueue(&late, &msg(&late), None, at(20, 9)).unwrap();
    q.enqueue(&early, &msg(&early), None, at(3, 9)).unwrap();
    q.enqueue(&middle, &msg(&middle), None, at(10, 23)).unwrap();
    let keys: Vec<SendKey> = q
        .scan(Folder::Pending)
        .unwrap()
        .iter()
        .map(|e| e.key().unwrap().clone())
        .collect();
    assert_eq!(keys, [early, middle, late]);
}

#[test]
fn scan_ignores_editor_temporaries_hidden_and_non_eml_files() {
    let (_d, q) = queue();
    let path = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    let eml = fs::read(&path).unwrap();
    let dir = q.dir(Folder::Pending);
    for name in [
        ".20261103T1300Z_x.eml.swp",
        "20261103T1300Z_x.eml.swp",
        "20261103T1300Z_x.eml~",
        ".hidden.eml",
        "#20261103T1300Z_x.eml#",
        "notes.txt",
        "4913",
        "x.eml.tmp",
    ] {
        fs::write(dir.join(name), &eml).unwrap();
    }
    let entries = q.scan(Folder::Pending).unwrap();
    assert_eq!(entries.len(), 1, "{entries:#?}");
    assert_eq!(entries[0].path, path);
}

#[test]
fn a_symlink_is_an_error_entry_and_its_target_is_never_read() {
    let (d, q) = queue();
    let outside = d.path().join("outside.eml");
    fs::write(&outside, eml(&jane())).unwrap();
    // Unreadable, so any attempt to read through the link would fail differently.
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o000)).unwrap();
    let link = q.dir(Folder::Approved).join("20261103T1300Z_evil.eml");
    std::os::unix::fs::symlink(&outside, &link).unwrap();

    let entries = q.scan(Folder::Approved).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].parsed, Err(EntryError::Symlink));
    assert!(
        entries[0]
            .diagnostic()
            .unwrap()
            .to_string()
            .contains("20261103T1300Z_evil.eml")
    );
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(matches!(
        q.missing(&[jane()]).unwrap().as_slice(),
        [k] if *k == jane()
    ));
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn a_symlinked_folder_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("queue");
    fs::create_dir(&root).unwrap();
    fs::create_dir(d.path().join("elsewhere")).unwrap();
    std::os::unix::fs::symlink(d.path().join("elsewhere"), root.join("approved")).unwrap();
    assert!(matches!(
        QueueDir::open(&root),
        Err(QueueError::NotADirectory(p)) if p.ends_with("approved")
    ));
}

#[test]
fn a_dot_dot_id_is_refused_by_approve_reject_and_find() {
    let (_d, q) = queue();
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    for id in ["..", "../pending/x", "../../etc/passwd", "a/../b", "x..y"] {
        assert!(matches!(q.approve(id), Err(QueueError::BadId(_))), "{id}");
        assert!(matches!(q.reject(id), Err(QueueError::BadId(_))), "{id}");
        assert!(matches!(q.find(id), Err(QueueError::BadId(_))), "{id}");
    }
}

#[test]
fn an_oversize_file_is_an_error_entry() {
    let (_d, q) = queue();
    let path = q.dir(Folder::Approved).join("big.eml");
    let mut eml = eml(&jane());
    eml.push_str(&"x".repeat(MAX_EML_BYTES));
    fs::write(&path, eml).unwrap();
    let entries = q.scan(Folder::Approved).unwrap();
    assert!(matches!(entries[0].parsed, Err(EntryError::TooLarge(n)) if n > MAX_EML_BYTES as u64));
}

#[test]
fn invalid_utf8_is_an_error_entry() {
    let (_d, q) = queue();
    let mut bytes = eml(&jane()).into_bytes();
    bytes.extend_from_slice(&[0xff, 0xfe, 0x00]);
    fs::write(q.dir(Folder::Approved).join("bin.eml"), bytes).unwrap();
    let entries = q.scan(Folder::Approved).unwrap();
    assert!(matches!(
        entries[0].parsed,
        Err(EntryError::Eml(EmlError::NotUtf8(_)))
    ));
}

#[test]
fn a_file_missing_the_key_header_is_an_error_entry_naming_the_file() {
    let (_d, q) = queue();
    let eml: String = eml(&jane())
        .lines()
        .filter(|l| !l.starts_with("X-Followup-Key"))
        .map(|l| format!("{l}\n"))
        .collect();
    let path = q.dir(Folder::Approved).join("nokey.eml");
    fs::write(&path, eml).unwrap();
    let entries = q.scan(Folder::Approved).unwrap();
    assert_eq!(
        entries[0].parsed,
        Err(EntryError::Eml(EmlError::Missing("X-Followup-Key")))
    );
    let diagnostic = entries[0].diagnostic().unwrap().to_string();
    assert!(diagnostic.contains("nokey.eml"), "{diagnostic}");
    assert!(diagnostic.contains("X-Followup-Key"), "{diagnostic}");
}

#[test]
fn a_directory_or_garbage_never_panics_the_scan() {
    let (_d, q) = queue();
    let dir = q.dir(Folder::Approved);
    fs::create_dir(dir.join("folder.eml")).unwrap();
    fs::write(dir.join("empty.eml"), "").unwrap();
    fs::write(dir.join("junk.eml"), [0u8, 1, 2, b'\n', b':', b'\n', b'\n']).unwrap();
    let entries = q.scan(Folder::Approved).unwrap();
    assert_eq!(entries.len(), 3);
    assert!(entries.iter().all(|e| e.parsed.is_err()));
    assert!(
        entries
            .iter()
            .any(|e| e.parsed == Err(EntryError::NotAFile))
    );
}

#[test]
fn approve_moves_pending_to_approved() {
    let (_d, q) = queue();
    let pending = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    // By unique prefix, as typed at the command line.
    let approved = q.approve("20261103T1300Z_1_acme").unwrap();
    assert!(!pending.exists());
    assert_eq!(
        approved,
        q.dir(Folder::Approved).join(pending.file_name().unwrap())
    );
    assert_eq!(q.scan(Folder::Approved).unwrap()[0].key(), Some(&jane()));
    // Already approved: not pending any more.
    assert!(matches!(
        q.approve("20261103T1300Z_1_acme"),
        Err(QueueError::NotFound { .. })
    ));
}

#[test]
fn approve_refuses_a_broken_file_and_leaves_it_in_place() {
    let (_d, q) = queue();
    let path = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    fs::write(
        &path,
        "To: jane@acme.example.com\nBcc: spy@example.org\n\nhi\n",
    )
    .unwrap();
    let id = path.file_stem().unwrap().to_str().unwrap();
    assert!(matches!(q.approve(id), Err(QueueError::Invalid { .. })));
    assert!(path.exists());
}

#[test]
fn an_ambiguous_prefix_is_refused_with_the_candidates() {
    let (_d, q) = queue();
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    let check = key("acme", Step::StatusCheck, "jane@acme.example.com");
    q.enqueue(&check, &msg(&check), None, at(3, 14)).unwrap();
    match q.approve("20261103T1") {
        Err(QueueError::Ambiguous { matches, .. }) => assert_eq!(matches.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn find_takes_a_send_key() {
    let (_d, q) = queue();
    let path = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    let found = q
        .find("acme/thank_you/jane@acme.example.com")
        .unwrap()
        .unwrap();
    assert_eq!(found.path, path);
    assert_eq!(found.folder, Folder::Pending);
    assert!(
        q.find("acme/close/jane@acme.example.com")
            .unwrap()
            .is_none()
    );
    assert!(q.find("nothing-like-it").unwrap().is_none());
}

#[test]
fn reject_moves_pending_or_approved_to_rejected() {
    let (_d, q) = queue();
    let other = key("globex", Step::ThankYou, "hank@globex.example.com");
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    q.enqueue(&other, &msg(&other), None, at(3, 14)).unwrap();
    q.approve("acme/thank_you/jane@acme.example.com").unwrap();

    let a = q.reject("acme/thank_you/jane@acme.example.com").unwrap();
    let b = q
        .reject("globex/thank_you/hank@globex.example.com")
        .unwrap();
    assert!(a.starts_with(q.dir(Folder::Rejected)));
    assert!(b.starts_with(q.dir(Folder::Rejected)));
    assert!(names(&q, Folder::Pending).is_empty());
    assert!(names(&q, Folder::Approved).is_empty());
    assert_eq!(names(&q, Folder::Rejected).len(), 2);
}

#[test]
fn a_deleted_pending_file_is_reported_missing() {
    let (_d, q) = queue();
    let other = key("globex", Step::ThankYou, "hank@globex.example.com");
    let never = key("initech", Step::ThankYou, "bob@initech.example.com");
    let path = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    q.enqueue(&other, &msg(&other), None, at(3, 14)).unwrap();
    q.approve("globex/thank_you/hank@globex.example.com")
        .unwrap();
    let queued = [jane(), other.clone(), never.clone()];
    assert_eq!(q.missing(&queued).unwrap(), std::slice::from_ref(&never));
    fs::remove_file(path).unwrap();
    assert_eq!(q.missing(&queued).unwrap(), [jane(), never]);
}

#[test]
fn mark_sent_writes_sent_then_removes_approved() {
    let (_d, q) = queue();
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    let approved = q.approve("acme/thank_you/jane@acme.example.com").unwrap();
    let entry = q.scan(Folder::Approved).unwrap().remove(0);
    let final_eml = "From: Alex Rivera <alex@example.org>\nDate: x\n\nas sent\n";

    let sent = q.mark_sent(&entry, final_eml).unwrap();
    assert_eq!(
        sent,
        q.dir(Folder::Sent).join(approved.file_name().unwrap())
    );
    assert_eq!(fs::read_to_string(&sent).unwrap(), final_eml);
    assert_eq!(mode(&sent), 0o600);
    assert!(!approved.exists());

    // A crash after writing sent/ left the approved file: doing it again finishes the job
    // without a second copy.
    fs::write(&approved, eml(&jane())).unwrap();
    assert_eq!(q.mark_sent(&entry, final_eml).unwrap(), sent);
    assert!(!approved.exists());
    assert_eq!(names(&q, Folder::Sent).len(), 1);
}

#[test]
fn mark_sent_refuses_a_file_outside_the_queue() {
    let (d, q) = queue();
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    let mut entry = q.scan(Folder::Pending).unwrap().remove(0);
    let outside = d.path().join("precious.eml");
    fs::write(&outside, "keep me").unwrap();
    entry.path = outside.clone();
    assert!(matches!(
        q.mark_sent(&entry, "x"),
        Err(QueueError::NotQueued(_))
    ));
    assert!(outside.exists());
}

#[test]
fn a_broken_file_can_still_be_rejected_by_its_key() {
    let (_d, q) = queue();
    let path = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    fs::write(&path, "garbage").unwrap();
    let rejected = q.reject("acme/thank_you/jane@acme.example.com").unwrap();
    assert!(rejected.starts_with(q.dir(Folder::Rejected)));
    assert!(!path.exists());
}

#[test]
fn long_ids_make_bounded_names_that_still_work_end_to_end() {
    let (_d, q) = queue();
    let long = key(
        &"a-very-long-interview-id".repeat(20),
        Step::ThankYou,
        "jane@example.com",
    );
    let path = q.enqueue(&long, &msg(&long), None, at(3, 13)).unwrap().path;
    assert!(path.file_name().unwrap().len() < 160, "{}", path.display());
    let approved = q.approve(&long.to_string()).unwrap();
    let entry = q.scan(Folder::Approved).unwrap().remove(0);
    assert_eq!(entry.key(), Some(&long));
    q.mark_sent(&entry, &eml(&long)).unwrap();
    assert!(!approved.exists());
    assert_eq!(names(&q, Folder::Sent).len(), 1);
}

#[test]
fn each_file_gets_a_short_number_that_it_keeps_and_that_is_never_reused() {
    let (_d, q) = queue();
    let omar = key("acme", Step::ThankYou, "omar@acme.example.com");
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    q.enqueue(&omar, &msg(&omar), None, at(3, 13)).unwrap();
    let numbers: Vec<_> = q
        .scan(Folder::Pending)
        .unwrap()
        .iter()
        .map(|e| (e.number, e.key().cloned()))
        .collect();
    assert_eq!(
        numbers,
        [(Some(1), Some(jane())), (Some(2), Some(omar.clone()))]
    );
    // Approved and sent, it keeps its number; a new file never takes it.
    q.approve("1").unwrap();
    let approved = q.scan(Folder::Approved).unwrap().remove(0);
    assert_eq!(approved.number, Some(1));
    q.mark_sent(&approved, &eml(&jane())).unwrap();
    let check = key("acme", Step::StatusCheck, "jane@acme.example.com");
    q.enqueue(&check, &msg(&check), None, at(10, 9)).unwrap();
    let found = q.find("3").unwrap().expect("the new file is 3");
    assert_eq!(found.key(), Some(&check));
    assert_eq!(q.find("1").unwrap().unwrap().folder, Folder::Sent);
    assert_eq!(q.find("#2").unwrap().unwrap().key(), Some(&omar));
}

#[test]
fn an_interview_id_or_its_prefix_finds_what_waits_for_it() {
    let (_d, q) = queue();
    let other = key("initech", Step::ThankYou, "ana@initech.example.net");
    q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    q.enqueue(&other, &msg(&other), None, at(3, 14)).unwrap();
    assert_eq!(q.find("acme").unwrap().unwrap().key(), Some(&jane()));
    assert_eq!(q.find("init").unwrap().unwrap().key(), Some(&other));
    let omar = key("acme", Step::ThankYou, "omar@acme.example.com");
    q.enqueue(&omar, &msg(&omar), None, at(3, 13)).unwrap();
    match q.approve("acme") {
        Err(QueueError::Ambiguous { matches, .. }) => {
            assert_eq!(matches.len(), 2);
            assert!(matches[0].starts_with("1 (acme/thank_you/"), "{matches:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_broken_file_keeps_its_key_by_its_numbered_name() {
    let (_d, q) = queue();
    let path = q
        .enqueue(&jane(), &msg(&jane()), None, at(3, 13))
        .unwrap()
        .path;
    std::fs::write(&path, "Subject: half an edit\n").unwrap();
    assert!(
        q.missing(&[jane()]).unwrap().is_empty(),
        "not taken for a deletion"
    );
    let again = q.enqueue(&jane(), &msg(&jane()), None, at(3, 13)).unwrap();
    assert!(again.existed && again.path == path, "not queued twice");
    assert_eq!(names(&q, Folder::Pending).len(), 1);
}
