//! Hostile or broken input: each gets a clear error, and nothing is sent or lost because of it.

use std::path::PathBuf;

use crate::support::api::{Folder, SendState, Step};
use crate::support::world::{JANE, LiveDaemon, RECORD, TestDaemon, World, at, key};

/// Replaces the record with `bytes`, runs one round in send mode, and checks that the daemon
/// refused to start with a message naming the file and that the server saw no connection.
fn refused_and_nothing_sent(bytes: &[u8], needle: &str) -> String {
    let w = World::globex("send");
    w.write_file("interviews/globex.yaml", bytes);
    let err = w.round_at("2026-11-03 13:00").output().exit(1).stderr;
    assert!(err.contains("globex.yaml"), "names the file: {err}");
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert_eq!(w.server().connection_count(), 0, "nothing sent");
    err
}

#[test]
fn a_truncated_record_is_an_error_with_its_line() {
    let cut = &RECORD[..RECORD.find("    email: zoe").unwrap() + 12];
    let text = format!("{cut}\"unterminated\n");
    let err = refused_and_nothing_sent(text.as_bytes(), "globex.yaml:");
    assert!(err.contains(":11:") || err.contains(":12:"), "{err}");
}

#[test]
fn a_binary_record_is_refused() {
    let bytes: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
    refused_and_nothing_sent(&bytes, "UTF-8");
}

#[test]
fn a_100_mb_record_is_refused_before_it_is_read() {
    let w = World::globex("send");
    let file = std::fs::File::create(w.path("interviews/huge.yaml")).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let err = w.run(&["validate"]).exit(1).stderr;
    assert!(err.contains("huge.yaml") && err.contains("MiB"), "{err}");
}

#[test]
fn a_deeply_nested_record_is_refused_quickly() {
    let text = format!("company: {}\n", "[".repeat(200_000));
    refused_and_nothing_sent(text.as_bytes(), "nest");
}

#[test]
fn billion_laughs_aliases_are_refused() {
    let mut text = String::from(
        "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10 {
        let prev = format!("*a{}", i - 1);
        text.push_str(&format!("a{i}: &a{i} [{}]\n", vec![prev; 9].join(",")));
    }
    text.push_str(&RECORD.replace("company: Globex", "company: *a9"));
    let err = refused_and_nothing_sent(text.as_bytes(), "globex.yaml");
    assert!(!err.is_empty());
}

#[test]
fn a_duplicate_key_is_refused_at_the_second_key() {
    let text = format!("{RECORD}company: Initech\n");
    refused_and_nothing_sent(text.as_bytes(), "globex.yaml:12:");
}

#[test]
fn a_name_holding_a_line_break_cannot_add_a_header() {
    let text = RECORD.replace(
        "name: Jane Roe",
        "name: \"Jane Roe\\r\\nBcc: evil@example.org\"",
    );
    refused_and_nothing_sent(text.as_bytes(), "globex.yaml:5:");
}

#[test]
fn an_address_with_a_display_name_trick_is_refused() {
    let text = RECORD.replace(
        "email: jane@globex.example.com",
        "email: \"jane@globex.example.com <evil@example.org>\"",
    );
    refused_and_nothing_sent(text.as_bytes(), "bare address");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_note_holding_a_line_break_cannot_add_a_header_or_recipient() {
    let w = World::globex("send");
    let record = format!("{RECORD}notes:\n  highlight: \"caching\\r\\nBcc: evil@example.org\"\n");
    w.write("globex.yaml", &record);
    w.write_file(
        "templates/thank_you.hbs",
        b"Subject: Thanks{{#if notes.highlight}}: {{notes.highlight}}{{/if}}\n\nDear {{interviewer.first_name}}, thank you.\n\n{{me.name}}\n",
    );
    let w = w.configure(|c| c.extra.push_str("templates: templates\n"));
    let mut d = w.daemon();
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    let got = w.to(JANE);
    assert_eq!(got.len(), 1);
    let head = got[0].raw.split("\r\n\r\n").next().unwrap();
    assert!(!head.to_ascii_lowercase().contains("\nbcc:"), "{head}");
    assert!(w.server().received().iter().all(|r| r.rcpt.len() == 1));
    assert!(w.to("evil@example.org").is_empty());
}

/// An approve-mode world one round in: both thank-yous wait in `pending/`.
async fn queued_world() -> (World, TestDaemon) {
    let w = World::globex("approve");
    let mut d = w.daemon();
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    assert_eq!(d.queue().scan(Folder::Pending).unwrap().len(), 2);
    (w, d)
}

fn approved_path(d: &TestDaemon, name: &str) -> PathBuf {
    d.queue().dir(Folder::Approved).join(name)
}

fn jane_file(d: &TestDaemon) -> (String, PathBuf) {
    let entry = d
        .queue()
        .find_in(&[Folder::Pending], &key(Step::ThankYou, JANE).to_string())
        .unwrap()
        .unwrap();
    (std::fs::read_to_string(&entry.path).unwrap(), entry.path)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_file_without_its_key_stays_put_with_an_error_and_is_not_sent() {
    let (w, mut d) = queued_world().await;
    let (text, path) = jane_file(&d);
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("X-Followup-Key"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::remove_file(&path).unwrap();
    let target = approved_path(&d, "no-key.eml");
    std::fs::write(&target, stripped).unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert!(target.exists(), "left where it is");
    assert!(
        d.problems()
            .get(&target)
            .is_some_and(|p| p.contains("X-Followup-Key")),
        "{:?}",
        d.problems()
    );
    assert!(w.to(JANE).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_file_for_an_unknown_send_is_not_sent() {
    let (w, mut d) = queued_world().await;
    let (text, _) = jane_file(&d);
    let forged = text.replace("globex/thank_you/", "nosuch/thank_you/");
    let target = approved_path(&d, "unknown.eml");
    std::fs::write(&target, forged).unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert!(
        d.problems()
            .get(&target)
            .is_some_and(|p| p.contains("not a send followup knows")),
        "{:?}",
        d.problems()
    );
    assert!(w.to(JANE).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_forged_copy_of_an_already_sent_message_is_never_sent_again() {
    let (w, mut d) = queued_world().await;
    let (text, path) = jane_file(&d);
    std::fs::rename(
        &path,
        approved_path(&d, path.file_name().unwrap().to_str().unwrap()),
    )
    .unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1);
    // The same key again, with a new Message-ID, approved.
    let copy = text.replace("Message-ID: <", "Message-ID: <forged.");
    let target = approved_path(&d, "copy.eml");
    std::fs::write(&target, copy).unwrap();
    d.tick(at("2026-11-03 13:10")).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1, "never twice");
    assert!(
        d.problems()
            .get(&target)
            .is_some_and(|p| p.contains("is sent")),
        "{:?}",
        d.problems()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_symlink_in_the_queue_is_never_followed() {
    let (w, mut d) = queued_world().await;
    let (text, path) = jane_file(&d);
    std::fs::remove_file(&path).unwrap();
    let outside = w.path("outside.eml");
    std::fs::write(&outside, text).unwrap();
    let link = approved_path(&d, "link.eml");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert!(w.to(JANE).is_empty());
    assert!(
        d.problems()
            .get(&link)
            .is_some_and(|p| p.contains("symbolic link") || p.contains("symlink")),
        "{:?}",
        d.problems()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_id_with_dot_dot_is_refused() {
    let (w, _d) = queued_world().await;
    let out = w.run(&["queue", "approve", "../../etc/passwd"]).exit(1);
    assert!(!out.stderr.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_50_mb_queue_file_is_refused_unread() {
    let (w, mut d) = queued_world().await;
    let (text, path) = jane_file(&d);
    std::fs::remove_file(&path).unwrap();
    let target = approved_path(&d, "big.eml");
    let mut big = text.into_bytes();
    big.resize(50 * 1024 * 1024, b'a');
    std::fs::write(&target, big).unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert!(w.to(JANE).is_empty());
    assert!(target.exists());
    assert!(d.problems().contains_key(&target), "{:?}", d.problems());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_file_that_is_not_utf8_is_refused() {
    let (w, mut d) = queued_world().await;
    let (text, path) = jane_file(&d);
    std::fs::remove_file(&path).unwrap();
    let target = approved_path(&d, "latin1.eml");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(b"\nCaf\xe9\n");
    std::fs::write(&target, bytes).unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert!(w.to(JANE).is_empty());
    assert!(
        d.problems()
            .get(&target)
            .is_some_and(|p| p.contains("UTF-8")),
        "{:?}",
        d.problems()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_file_edited_to_add_a_recipient_is_refused() {
    let (w, mut d) = queued_world().await;
    let (text, path) = jane_file(&d);
    std::fs::remove_file(&path).unwrap();
    let target = approved_path(&d, path.file_name().unwrap().to_str().unwrap());
    std::fs::write(&target, format!("Bcc: evil@example.org\n{text}")).unwrap();
    d.tick(at("2026-11-03 13:05")).await.unwrap();
    assert!(w.to(JANE).is_empty() && w.to("evil@example.org").is_empty());
    assert!(
        d.problems().get(&target).is_some_and(|p| p.contains("Bcc")),
        "{:?}",
        d.problems()
    );
    // Fixing the file sends it.
    std::fs::write(&target, text).unwrap();
    d.tick(at("2026-11-03 13:10")).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1);
    assert_eq!(w.record(&key(Step::ThankYou, JANE)).state, SendState::Sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_internationalized_domain_is_accepted_and_delivered() {
    let w = World::globex("send");
    w.write(
        "globex.yaml",
        &RECORD.replace("zoe@globex.example.com", "zoe@bücher.example"),
    );
    let mut d = w.daemon();
    let r = d.tick(at("2026-11-03 13:00")).await.unwrap();
    // Delivered if the server speaks SMTPUTF8, otherwise failed loudly: never silently dropped.
    let zoe = key(Step::ThankYou, "zoe@bücher.example");
    assert!(r.sent.contains(&zoe) || r.failed.contains(&zoe), "{r:?}");
}
