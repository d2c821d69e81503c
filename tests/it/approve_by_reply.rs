//! Approving from a phone, through the real binary, a real Dovecot and the in-process SMTP
//! server: the digest shows each waiting message and how to answer; a reply `approve N` sends
//! exactly that message once (a quoted `approve all` below it left alone) and a confirmation
//! comes back under it; `reject N` from an HTML-only reply rejects it; hostile replies, a replay
//! and a reply to an edited file send nothing. Skipped like every Dovecot test.
//!
//! Every test's interviewers are at a domain of its own, so what other tests left in the shared
//! mailbox never concerns it.

use crate::support::dovecot::Dovecot;
use crate::support::mail::Mail;
use crate::support::world::{ME, World};

/// A home in approve mode reading the Dovecot test user's mailbox, with one interview (Tue 3 Nov
/// 10:00 New York) with Jane and Zoë at a domain no other test uses. Returns the home and their
/// addresses.
fn home(d: &Dovecot) -> (World, String, String) {
    let domain = format!("initech-{}.example.com", uuid::Uuid::new_v4().simple());
    let (jane, zoe) = (format!("jane@{domain}"), format!("zoe@{domain}"));
    let record = format!(
        "company: Initech\nposition: Backend Engineer\nstart: 2026-11-03 10:00\n\
         interviewers:\n  - name: Jane Roe\n    email: {jane}\n    primary: true\n  \
         - name: Zoe Park\n    email: {zoe}\n"
    );
    let imap = format!(
        "imap:\n  host: {}\n  port: {}\n  security: plain\n  username: {}\n  \
         password_file: imap-password\n  poll: 2s\n",
        d.host, d.starttls_port, d.user
    );
    let w = World::serving("approve")
        .with("initech.yaml", &record)
        .configure(|c| c.extra.push_str(&imap));
    w.write_file("imap-password", d.password.as_bytes());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        w.path("imap-password"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    (w, jane, zoe)
}

/// The one digest the user got; fails when there is none or several.
#[track_caller]
fn the_digest(w: &World) -> Mail {
    let mut digests: Vec<Mail> = w
        .to(ME)
        .into_iter()
        .filter(|m| m.subject().contains("wait for your approval"))
        .collect();
    assert_eq!(digests.len(), 1, "one digest");
    digests.remove(0)
}

/// The queue number the digest shows for the message to `to`.
#[track_caller]
fn number_for(digest: &Mail, to: &str) -> u32 {
    let text = digest.text();
    let lines: Vec<&str> = text.lines().collect();
    lines
        .windows(2)
        .find_map(|pair| {
            let n = pair[0].strip_prefix("===== ")?.strip_suffix(" =====")?;
            pair[1].contains(to).then(|| n.parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("no number for {to} in the digest:\n{text}"))
}

/// The confirmations the user got (everything to them but digests and reply notices).
fn confirmations(w: &World) -> Vec<Mail> {
    w.to(ME)
        .into_iter()
        .filter(|m| m.text().starts_with("Your reply to the digest was read"))
        .collect()
}

/// A reply to `digest` as a mail program writes it, from `from`, with `extra` headers.
fn reply(
    digest: &Mail,
    from: &str,
    extra: &str,
    content_type: &str,
    body: &str,
) -> (String, Vec<u8>) {
    let id = format!("<reply.{}@example.org>", uuid::Uuid::new_v4().simple());
    let parent = digest.one("Message-ID");
    let quoted: String = digest
        .text()
        .lines()
        .map(|l| format!("> {l}\r\n"))
        .collect();
    let body = body.replace("{quote}", &quoted);
    let raw = format!(
        "From: {from}\r\nTo: Sam Seeker <{ME}>\r\nSubject: Re: {}\r\n\
         Date: Tue, 03 Nov 2026 14:30:00 -0500\r\nMessage-ID: {id}\r\nIn-Reply-To: {parent}\r\n\
         References: {parent}\r\n{extra}MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\r\n\
         {body}\r\n",
        digest.subject()
    );
    (id, raw.into_bytes())
}

fn plain(digest: &Mail, text: &str) -> (String, Vec<u8>) {
    reply(
        digest,
        &format!("Sam Seeker <{ME}>"),
        "",
        "text/plain; charset=utf-8",
        text,
    )
}

/// A message's header as sent, then its text decoded (quoted-printable undone).
fn readable(m: &Mail) -> String {
    let header = m.raw.split("\r\n\r\n").next().unwrap_or_default();
    format!("{}\n\n{}", header.replace("\r\n", "\n"), m.text())
}

/// Writes the digest and an exchange under `target/`, for people to read.
fn keep_for_reading(name: &str, parts: &[(&str, &str)]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/approve-by-reply");
    std::fs::create_dir_all(&dir).unwrap();
    let text: String = parts
        .iter()
        .map(|(title, raw)| format!("########## {title}\n{raw}\n"))
        .collect();
    std::fs::write(dir.join(name), text).unwrap();
}

#[tokio::test]
async fn approve_n_by_reply_sends_exactly_that_message_once_and_confirms() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane, zoe) = home(&d);
    w.once_at("2026-11-03 13:00");
    let digest = the_digest(&w);
    let text = digest.text();
    // The digest shows what it asks about, and how to answer.
    assert!(text.contains(&format!("To: Jane Roe <{jane}>")), "{text}");
    assert!(text.contains(&format!("To: Zoe Park <{zoe}>")), "{text}");
    assert!(text.contains("Subject: "), "{text}");
    assert!(text.contains("Approve by: "), "{text}");
    assert!(text.contains("Dear Jane"), "the message's own text: {text}");
    assert!(
        text.contains("approve all") && text.contains("reject "),
        "{text}"
    );
    let id = digest.one("Message-ID");
    let left = id.trim_matches(['<', '>']).split('@').next().unwrap();
    assert!(
        left.chars().filter(char::is_ascii_hexdigit).count() >= 60,
        "at least 128 random bits (hex): {id}"
    );
    assert_eq!(w.to(&jane).len(), 0, "nothing goes before approval");

    let n = number_for(&digest, &jane);
    let (reply_id, raw) = plain(
        &digest,
        &format!(
            "approve {n}\r\n\r\nOn Tue, Nov 3, 2026 at 1:00 PM Sam Seeker <{ME}> wrote:\r\n{{quote}}> approve all\r\n"
        ),
    );
    d.deliver(&raw);
    w.once_at("2026-11-03 14:35");

    assert_eq!(
        w.to(&jane).len(),
        1,
        "the approved one went, in the same round"
    );
    assert_eq!(w.to(&zoe).len(), 0, "the quoted `approve all` did nothing");
    let confirmed = confirmations(&w);
    assert_eq!(confirmed.len(), 1, "one confirmation");
    let confirmation = &confirmed[0];
    assert_eq!(confirmation.to(), ME);
    assert_eq!(confirmation.one("In-Reply-To"), reply_id);
    assert!(
        confirmation.text().contains("approved and sent"),
        "{}",
        confirmation.text()
    );
    keep_for_reading(
        "exchange.txt",
        &[
            ("the digest, as sent", &readable(&digest)),
            ("the reply", &String::from_utf8_lossy(&raw)),
            ("the confirmation", &readable(confirmation)),
        ],
    );

    // The same reply again (appended twice, or replayed): nothing more.
    d.deliver(&raw);
    w.once_at("2026-11-03 15:00");
    assert_eq!(w.to(&jane).len(), 1, "a replay sends nothing twice");
    assert_eq!(confirmations(&w).len(), 1, "a replay is not answered");
    let status = w.ok(&["status"]).stdout;
    assert!(status.contains("command heard by mail"), "{status}");
}

#[tokio::test]
async fn reject_n_from_an_html_only_reply_rejects_it() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane, zoe) = home(&d);
    w.once_at("2026-11-03 13:00");
    let digest = the_digest(&w);
    let n = number_for(&digest, &zoe);
    let html = format!(
        "<html><body><div dir=\"auto\">Reject {n}</div><div dir=\"auto\"><br></div>\
         <div id=\"appendonsend\"></div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> Sam Seeker\
         </div><div>approve all</div></body></html>"
    );
    let (_, raw) = reply(
        &digest,
        &format!("Sam Seeker <{ME}>"),
        "",
        "text/html; charset=utf-8",
        &html,
    );
    d.deliver(&raw);
    w.once_at("2026-11-03 14:35");
    assert_eq!(w.to(&zoe).len(), 0);
    assert_eq!(w.to(&jane).len(), 0, "the quoted `approve all` did nothing");
    let rejected = w.queue_files("rejected");
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let file = std::fs::read_to_string(&rejected[0]).unwrap();
    assert!(file.contains(&zoe), "{file}");
    assert_eq!(confirmations(&w).len(), 1);
}

#[tokio::test]
async fn hostile_replies_send_nothing() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane, zoe) = home(&d);
    w.once_at("2026-11-03 13:00");
    let digest = the_digest(&w);
    let n = number_for(&digest, &jane);
    let me = format!("Sam Seeker <{ME}>");
    let text = "text/plain; charset=utf-8";
    let approve_all = "approve all\r\n\r\n{quote}";
    let hostile = [
        // A stranger who got the digest forwarded.
        reply(
            &digest,
            "Mallory <mallory@example.net>",
            "",
            text,
            approve_all,
        ),
        // A forged From that the user's own server caught.
        reply(
            &digest,
            &me,
            "Authentication-Results: mx.example.org; dkim=none; dmarc=fail (p=none) header.from=example.org\r\n",
            text,
            approve_all,
        ),
        // An out-of-office that quotes the digest.
        reply(
            &digest,
            &me,
            "Auto-Submitted: auto-replied\r\n",
            text,
            "I am away until Monday.\r\n\r\n{quote}",
        ),
        // Only quoted commands.
        plain(&digest, "{quote}> approve all\r\n"),
        // A number the digest did not show.
        plain(&digest, "approve 99\r\n"),
        // The same number approved and rejected.
        plain(&digest, &format!("approve {n}\r\nreject {n}\r\n")),
        // Two senders.
        reply(
            &digest,
            &format!("{me}, Mallory <mallory@example.net>"),
            "",
            text,
            approve_all,
        ),
        // A big reply, its command far below the fold.
        plain(
            &digest,
            &format!("{}approve all\r\n", "words words words\r\n".repeat(560_000)),
        ),
    ];
    for (_, raw) in &hostile {
        d.deliver(raw);
    }
    // A forwarded copy.
    let (_, mut fwd) = plain(&digest, approve_all);
    let fwd_text = String::from_utf8_lossy(&fwd).replace("Subject: Re: ", "Subject: Fwd: ");
    fwd = fwd_text.into_bytes();
    d.deliver(&fwd);
    w.once_at("2026-11-03 14:35");

    assert_eq!(w.to(&jane).len(), 0);
    assert_eq!(w.to(&zoe).len(), 0);
    assert_eq!(w.queue_files("approved").len(), 0);
    assert_eq!(w.queue_files("pending").len(), 2, "both still wait");
    let answered: Vec<Mail> = w
        .server()
        .mails()
        .into_iter()
        .filter(|m| m.rcpt.iter().any(|r| r != ME))
        .collect();
    assert!(answered.is_empty(), "nothing to anyone but the user");
    // Only the user's own unreadable replies are answered (only quoted, 99, the conflict, the
    // big one): never the stranger, the forgery, the robot or the forward.
    let confirmations = confirmations(&w);
    assert_eq!(
        confirmations.len(),
        4,
        "{:#?}",
        confirmations.iter().map(Mail::text).collect::<Vec<_>>()
    );

    // An old digest: a reply four days later is not acted on.
    let (_, late) = plain(&digest, &format!("approve {n}\r\n"));
    d.deliver(&late);
    w.once_at("2026-11-07 15:00");
    assert_eq!(
        w.to(&jane).len(),
        0,
        "a reply to an expired digest sends nothing"
    );
}

#[tokio::test]
async fn a_queue_file_edited_after_the_digest_is_not_approved_by_it() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane, _zoe) = home(&d);
    w.once_at("2026-11-03 13:00");
    let digest = the_digest(&w);
    let n = number_for(&digest, &jane);
    let file = w.queue_file_to("pending", &jane);
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\nP.S. One more thing I forgot to say.\n");
    std::fs::write(&file, text).unwrap();

    let (_, raw) = plain(&digest, &format!("approve {n}\r\n"));
    d.deliver(&raw);
    w.once_at("2026-11-03 14:35");
    assert_eq!(w.to(&jane).len(), 0, "not approved: it changed since shown");
    assert!(file.exists(), "it still waits");
    let confirmations = confirmations(&w);
    assert_eq!(confirmations.len(), 1);
    assert!(
        confirmations[0].text().contains("changed since the digest"),
        "{}",
        confirmations[0].text()
    );
}

#[tokio::test]
async fn a_thank_you_past_its_limit_needs_approve_late_by_reply_too() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane, _zoe) = home(&d);
    w.once_at("2026-11-03 13:00");
    let digest = the_digest(&w);
    let n = number_for(&digest, &jane);
    // The limit is Thu 5 Nov 11:00 in New York; the digest still counts (3 days).
    let (_, raw) = plain(&digest, &format!("approve {n}\r\n"));
    d.deliver(&raw);
    w.once_at("2026-11-05 12:00");
    assert_eq!(w.to(&jane).len(), 0, "past its limit: not sent");
    let told = confirmations(&w);
    assert_eq!(told.len(), 1);
    assert!(
        told[0].text().contains(&format!("approve late {n}")),
        "{}",
        told[0].text()
    );

    let (_, raw) = plain(&digest, &format!("approve late {n}\r\n"));
    d.deliver(&raw);
    w.once_at("2026-11-05 12:10");
    assert_eq!(w.to(&jane).len(), 1, "sent, although late, as asked");
}
