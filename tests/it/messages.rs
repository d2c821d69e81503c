//! The messages themselves, as they go over SMTP: every step, the notices and the digest, built
//! from a record that tries hard to break them (a non-ASCII name, a name with quotes and a
//! comma, an ampersand in the company, an attachment with a non-ASCII name, a long position
//! title), and held to the standards a receiving server and a strict parser check.
//!
//! With `FOLLOWUP_MESSAGES_DIR` set, the suite writes each message it received to that
//! directory (`<kind>.eml`, exactly as the server stored it), for `.ci/spamassassin.sh` to score.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::support::api::{EmailAddress, Mailbox, SendKey, SendState, Step};
use crate::support::gate::Gate;
use crate::support::mail::Mail;
use crate::support::smtp_server::{Behaviour, FailAt};
use crate::support::world::{ME, World, at, run_until};

const DANA: &str = "dana.oneil@att.example.com";
const JUERGEN: &str = "juergen.weiss@smith-wesson.example.com";
const DANA_NAME: &str = "Dana \"DJ\" O'Neil, Jr.";
const ATTACHMENT: &str = "Lebenslauf Sam Seeker – 2026.pdf";

/// Tue 2026-11-03 10:00-11:00 in New York; Dana is the primary.
const RECORD: &str = "\
company: Smith & Wesson Tools
position: Senior Staff Software Engineer, Payments Infrastructure and Risk Platform (Remote, EMEA)
start: 2026-11-03 10:00
interviewers:
  - name: \"Dana \\\"DJ\\\" O'Neil, Jr.\"
    title: VP Engineering, Payments & Risk
    email: dana.oneil@att.example.com
    primary: true
  - name: Jürgen Weiß
    greeting: Dear Dr. Weiß
    email: juergen.weiss@smith-wesson.example.com
notes:
  highlight: the ledger you are moving to event sourcing
attachments: [\"Lebenslauf Sam Seeker – 2026.pdf\"]
";

/// The home with [`RECORD`] as `smith.yaml` and its attachment, in `mode`.
fn home(mode: &str) -> World {
    let w = World::serving(mode).with("smith.yaml", RECORD);
    w.write_file(&format!("interviews/{ATTACHMENT}"), b"%PDF-1.4 a CV\n");
    w
}

fn key(step: Step, who: &str) -> SendKey {
    SendKey::new("smith", step, who)
}

/// The one message the server received with the Message-ID the state recorded for `key`.
#[track_caller]
fn sent_for(w: &World, key: &SendKey) -> Mail {
    let record = w.record(key);
    assert_eq!(record.state, SendState::Sent, "{key}: {record:?}");
    let id = record.message_id.expect("a Message-ID").to_string();
    let mut found: Vec<Mail> = w
        .server()
        .mails()
        .into_iter()
        .filter(|m| m.header("Message-ID").as_deref() == Some(id.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{key}: one message with {id}");
    found.remove(0)
}

/// The messages to the user whose subject starts with `prefix`.
fn notices(w: &World, prefix: &str) -> Vec<Mail> {
    w.to(ME)
        .into_iter()
        .filter(|m| m.subject().starts_with(prefix))
        .collect()
}

/// Every step sent with everyone accepting: both thank-yous, the sequence to Dana to its end,
/// then the note after a rejection recorded the day after the close.
async fn the_whole_playbook() -> (World, Vec<(&'static str, Mail)>) {
    let w = home("send");
    let mut d = w.daemon();
    run_until(&mut d, at("2026-11-03 12:00"), at("2026-12-02 00:00")).await;
    w.write(
        "smith.yaml",
        &format!("{RECORD}status: rejected\nstatus_on: 2026-12-02\n"),
    );
    d.reload().expect("the rejected record loads");
    run_until(&mut d, at("2026-12-02 08:00"), at("2026-12-31 00:00")).await;
    drop(d);
    let mut out = Vec::new();
    for (kind, step, who) in [
        ("thank_you", Step::ThankYou, DANA),
        ("thank_you_non_ascii", Step::ThankYou, JUERGEN),
        ("status_check", Step::StatusCheck, DANA),
        ("call_reminder", Step::CallReminder, DANA),
        ("final_check", Step::FinalCheck, DANA),
        ("close", Step::Close, ME),
        ("after_rejection", Step::AfterRejection, DANA),
    ] {
        out.push((kind, sent_for(&w, &key(step, who))));
    }
    (w, out)
}

/// Dana's address refuses the recipient (550 5.1.1), Jürgen's server refuses the message (554):
/// one bounce notice, one failure notice, and the call reminder that says the address bounced.
async fn the_failures() -> (World, Vec<(&'static str, Mail)>) {
    let w = home("send");
    w.server()
        .set_behaviour_for(DANA, Behaviour::PermFail(FailAt::Rcpt));
    w.server()
        .set_behaviour_for(JUERGEN, Behaviour::PermFail(FailAt::EndOfData));
    let mut d = w.daemon();
    run_until(&mut d, at("2026-11-03 12:00"), at("2026-11-20 00:00")).await;
    drop(d);
    let mut out = Vec::new();
    let bounce = notices(&w, "followup: mail to");
    assert_eq!(bounce.len(), 1, "one bounce notice");
    out.push(("bounce_notice", bounce.into_iter().next().unwrap()));
    let failed = notices(&w, "followup: thank-you to");
    assert_eq!(failed.len(), 1, "one failure notice, for Jürgen's");
    out.push(("failure_notice", failed.into_iter().next().unwrap()));
    out.push((
        "call_reminder_bounced",
        sent_for(&w, &key(Step::CallReminder, DANA)),
    ));
    (w, out)
}

/// Approve mode, through the real binary: the digest of both thank-yous; both approved (Dana's
/// name with its quotes and comma comes back from the queue file intact); Jürgen's answered by
/// nobody after the body (uncertain), which brings the uncertain notice.
fn the_queue() -> (World, Vec<(&'static str, Mail)>) {
    let w = home("approve");
    w.once_at("2026-11-03 13:00");
    let mut out = Vec::new();
    let digest = notices(&w, "followup: 2 follow-ups wait");
    assert_eq!(digest.len(), 1, "{:?}", subjects(&w.to(ME)));
    out.push(("digest", digest.into_iter().next().unwrap()));
    w.server()
        .set_behaviour_for(JUERGEN, Behaviour::DeliverThenDrop);
    for who in [DANA, JUERGEN] {
        let file = w.queue_file_to("pending", who);
        let id = file.file_stem().unwrap().to_str().unwrap().to_string();
        w.ok(&["queue", "approve", &id]);
    }
    w.once_at("2026-11-03 13:05");
    let uncertain = notices(&w, "followup: thank-you to");
    assert_eq!(uncertain.len(), 1, "{:?}", subjects(&w.to(ME)));
    out.push(("uncertain_notice", uncertain.into_iter().next().unwrap()));
    out.push((
        "thank_you_approved",
        sent_for(&w, &key(Step::ThankYou, DANA)),
    ));
    (w, out)
}

fn subjects(mails: &[Mail]) -> Vec<String> {
    mails.iter().map(Mail::subject).collect()
}

/// One test for the whole suite, so that CI can write every kind of message in one run.
#[tokio::test(flavor = "multi_thread")]
async fn every_message_meets_the_standards_as_it_goes_over_smtp() {
    let (playbook, mut all) = the_whole_playbook().await;
    let (_failures, more) = the_failures().await;
    all.extend(more);
    let (queue, more) = tokio::task::spawn_blocking(the_queue).await.unwrap();
    all.extend(more);

    for (kind, mail) in &all {
        meets_the_standards(kind, mail);
    }
    threads_follow_ups(&all);
    for (w, kind, key) in [
        (&playbook, "thank_you", key(Step::ThankYou, DANA)),
        (
            &playbook,
            "thank_you_non_ascii",
            key(Step::ThankYou, JUERGEN),
        ),
        (&playbook, "status_check", key(Step::StatusCheck, DANA)),
        (&playbook, "final_check", key(Step::FinalCheck, DANA)),
        (
            &playbook,
            "after_rejection",
            key(Step::AfterRejection, DANA),
        ),
        (&queue, "thank_you_approved", key(Step::ThankYou, DANA)),
    ] {
        round_trips_through_the_queue_file(w, kind, &key, find(&all, kind));
    }
    strict_parser_finds_no_defects(&all);
    if let Some(dir) = std::env::var_os("FOLLOWUP_MESSAGES_DIR") {
        write_all(Path::new(&dir), &all);
    }
}

fn find<'a>(all: &'a [(&str, Mail)], kind: &str) -> &'a Mail {
    &all.iter()
        .find(|(k, _)| *k == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
        .1
}

/// The head of a message as received: one entry per header, each with its lines as written.
fn header_lines(raw: &str) -> Vec<Vec<&str>> {
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    let mut out: Vec<Vec<&str>> = Vec::new();
    for line in head.split("\r\n") {
        match out.last_mut() {
            Some(last) if line.starts_with([' ', '\t']) => last.push(line),
            _ => out.push(vec![line]),
        }
    }
    out
}

/// Every MIME part's header lines, the message's own first (one level of parts: the messages
/// are text, or text and attachments).
fn all_header_lines(raw: &str, content_type: &str) -> Vec<String> {
    let boundary = content_type
        .split_once("boundary=")
        .map(|(_, b)| format!("--{}", b.trim_matches('"')));
    let mut lines: Vec<String> = Vec::new();
    let mut in_head = true;
    for line in raw.split("\r\n") {
        if in_head {
            if line.is_empty() {
                in_head = false;
            } else {
                lines.push(line.to_string());
            }
        } else if boundary.as_deref() == Some(line) {
            in_head = true;
        }
    }
    lines
}

#[track_caller]
fn meets_the_standards(kind: &str, mail: &Mail) {
    let raw = &mail.raw;
    let fail = |what: String| -> ! { panic!("{kind}: {what}\n{raw}") };

    // RFC 2045 section 4, RFC 5322 section 3.6.
    if mail.all("MIME-Version") != ["1.0"] {
        fail(format!("MIME-Version is {:?}", mail.all("MIME-Version")));
    }
    let date = mail.one("Date");
    if DateTime::parse_from_rfc2822(&date).is_err() {
        fail(format!("Date `{date}` is not RFC 5322"));
    }
    let id = mail.one("Message-ID");
    if !(id.starts_with('<') && id.ends_with("@example.org>")) {
        fail(format!("Message-ID {id} is not on the sender's domain"));
    }
    assert!(mail.one("From").ends_with("<sam@example.org>"), "{kind}");
    assert_eq!(mail.all("To").len(), 1, "{kind}");
    assert!(mail.header("X-Followup-Key").is_none(), "{kind}");

    // The head is ASCII, no line in any head is longer than 78 characters.
    let head = raw.split("\r\n\r\n").next().unwrap_or_default();
    if !head.is_ascii() {
        fail("the header section is not ASCII".into());
    }
    let part_heads = all_header_lines(raw, &mail.one("Content-Type"));
    assert!(
        part_heads.len() > header_lines(raw).len() || mail.parts().is_empty(),
        "{kind}: the parts' headers are read too"
    );
    for line in part_heads {
        if line.len() > 78 {
            fail(format!(
                "a header line of {} characters: {line}",
                line.len()
            ));
        }
    }

    // RFC 2047 only where needed: an encoded-word only in a header whose text is not ASCII.
    for header in header_lines(raw) {
        let (name, _) = header[0].split_once(':').unwrap_or_default();
        let written = header.join(" ");
        if !written.contains("=?") {
            continue;
        }
        let decoded = decoded_header(mail, name);
        if decoded.is_ascii() {
            fail(format!(
                "{name} is RFC 2047-encoded but its text is ASCII: {written}"
            ));
        }
    }

    match kind {
        k if k.starts_with("thank_you") || k == "status_check" || k == "final_check" => {
            to_dana_or_juergen(kind, mail)
        }
        "after_rejection" => to_dana_or_juergen(kind, mail),
        _ => {
            assert_eq!(mail.to(), ME, "{kind} goes to the user");
            assert_eq!(mail.mailbox("To"), format!("Sam Seeker <{ME}>"), "{kind}");
        }
    }
    let subject = mail.subject();
    assert!(
        !subject.is_empty() && !subject.contains("{{"),
        "{kind}: {subject}"
    );
}

/// What a reader sees of header `name`.
fn decoded_header(mail: &Mail, name: &str) -> String {
    match name.to_ascii_lowercase().as_str() {
        "subject" => mail.subject(),
        "to" | "from" => mail.mailbox(name),
        _ => String::new(),
    }
}

#[track_caller]
fn to_dana_or_juergen(kind: &str, mail: &Mail) {
    match mail.to() {
        DANA => {
            let to = mail.one("To");
            assert_eq!(
                to,
                format!(r#""Dana \"DJ\" O'Neil, Jr." <{DANA}>"#),
                "{kind}: an ASCII name goes as a quoted-string"
            );
            assert_eq!(mail.mailbox("To"), format!("{DANA_NAME} <{DANA}>"));
            assert!(
                mail.text().starts_with("Dear Dana,"),
                "{kind}:\n{}",
                mail.text()
            );
        }
        JUERGEN => {
            let to = mail.one("To");
            assert!(to.starts_with("=?utf-8?"), "{kind}: {to}");
            assert_eq!(mail.mailbox("To"), format!("Jürgen Weiß <{JUERGEN}>"));
            assert!(mail.text().starts_with("Dear Dr. Weiß,"), "{kind}");
        }
        other => panic!("{kind} went to {other}"),
    }
    let text = mail.text();
    assert!(
        text.contains("Smith & Wesson Tools") || kind != "thank_you",
        "{text}"
    );
    assert!(!text.contains("&amp;"), "{kind}: {text}");
    if kind.starts_with("thank_you") {
        let parts = mail.parts();
        assert_eq!(parts.len(), 2, "{kind}: the text and the attachment");
        let ct = parts[1].header("Content-Type").unwrap_or_default();
        assert!(
            ct.contains("name=\"Lebenslauf Sam Seeker - 2026.pdf\""),
            "{kind}: an ASCII name= fallback: {ct}"
        );
        let cd = parts[1].header("Content-Disposition").unwrap_or_default();
        assert!(cd.contains("filename*"), "{kind}: RFC 2231: {cd}");
    }
}

/// Dana's e-mails after the thank-you reply to the one before, reference the whole thread, and
/// read as `Re:` the first subject.
fn threads_follow_ups(all: &[(&str, Mail)]) {
    let chain: Vec<&Mail> = [
        "thank_you",
        "status_check",
        "final_check",
        "after_rejection",
    ]
    .iter()
    .map(|k| find(all, k))
    .collect();
    let first_subject = chain[0].subject();
    for i in 1..chain.len() {
        let ids: Vec<String> = chain[..i].iter().map(|m| m.one("Message-ID")).collect();
        assert_eq!(chain[i].one("In-Reply-To"), ids[i - 1]);
        assert_eq!(chain[i].one("References"), ids.join(" "));
        assert_eq!(chain[i].subject(), format!("Re: {first_subject}"));
    }
    for kind in ["thank_you", "thank_you_non_ascii"] {
        assert!(find(all, kind).header("In-Reply-To").is_none(), "{kind}");
    }
}

/// The queue file the state holds for a sent message reads back as the same message, and built
/// again it goes out as it did: what the user approves is what is sent.
#[track_caller]
fn round_trips_through_the_queue_file(w: &World, kind: &str, key: &SendKey, sent: &Mail) {
    let record = w.record(key);
    let eml = record.rendered.expect("the message as stored");
    let file = followup::delivery::queue::eml::parse_eml(eml.as_bytes())
        .unwrap_or_else(|e| panic!("{kind}: the stored queue file does not parse: {e}\n{eml}"));
    assert_eq!(&file.key, key);
    assert_eq!(
        file.message_id.to_string(),
        sent.one("Message-ID"),
        "{kind}"
    );
    assert_eq!(
        format!("{} <{}>", file.to.name, file.to.email),
        sent.mailbox("To")
    );
    let me = Mailbox::new("Sam Seeker", EmailAddress::parse(ME).unwrap());
    let again = file.into_outgoing(me, Utc::now()).unwrap();
    let raw = again.to_lettre().unwrap().formatted();
    let rebuilt = Mail::parse(vec![], &raw);
    for header in ["From", "To", "Subject", "Message-ID", "MIME-Version"] {
        assert_eq!(rebuilt.one(header), sent.one(header), "{kind}: {header}");
    }
    for header in ["In-Reply-To", "References"] {
        assert_eq!(
            rebuilt.header(header),
            sent.header(header),
            "{kind}: {header}"
        );
    }
    assert_eq!(rebuilt.text(), sent.text(), "{kind}");
    assert_eq!(rebuilt.parts().len(), sent.parts().len(), "{kind}");
}

const STRICT: Gate = Gate {
    var: "FOLLOWUP_INTEROP",
    only_when_asked: false,
    how_to_run: "install python3 (`.ci/run` does)",
};

/// Python's `email` package with `policy.strict`: no defect in any part or header.
const STRICT_CHECK: &str = r#"
import email, email.policy, pathlib, sys
bad = []
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.eml")):
    try:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.strict)
        for part in msg.walk():
            bad += [f"{path.name}: {d!r}" for d in part.defects]
            for name, value in part.items():
                bad += [f"{path.name}: {name}: {d!r}" for d in getattr(value, "defects", [])]
            if not part.is_multipart():
                part.get_content()
    except Exception as e:
        bad.append(f"{path.name}: {e!r}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
"#;

fn strict_parser_finds_no_defects(all: &[(&str, Mail)]) {
    let Some(()) = STRICT.check(|| {
        std::process::Command::new("python3")
            .arg("--version")
            .output()
            .map_err(|e| format!("python3 cannot run: {e}"))
            .map(drop)
    }) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), all);
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(STRICT_CHECK)
        .arg(dir.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "defects found by Python's strict parser:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_all(dir: &Path, all: &[(&str, Mail)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (kind, mail) in all {
        std::fs::write(dir.join(format!("{kind}.eml")), mail.raw.as_bytes()).unwrap();
    }
}

// --- a hard bounce ----------------------------------------------------------------------------------

/// `plan --json` as the binary prints it, by key.
fn planned(w: &World, now: &str) -> BTreeMap<String, Value> {
    let rows = w.ok(&["plan", "--json", "--now", now]).json();
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| (crate::support::world::key_of(r), r.clone()))
        .collect()
}

/// A refusal that names the recipient (550 5.1.1) marks the address undeliverable: nothing more
/// is sent to it (the status check and the final check are cancelled with that reason, never
/// tried), the call reminder says it bounced, and one notice (not one per step) asks for a
/// better address. A different address in the record resumes the sequence.
#[tokio::test(flavor = "multi_thread")]
async fn a_hard_bounce_stops_mail_to_the_address_and_asks_once_for_a_better_one() {
    let w = home("send");
    w.server()
        .set_behaviour_for(DANA, Behaviour::PermFail(FailAt::Rcpt));
    let mut d = w.daemon();
    run_until(&mut d, at("2026-11-03 12:00"), at("2026-11-27 00:00")).await;

    let snapshot = w.snapshot();
    assert_eq!(
        snapshot.undeliverable.len(),
        1,
        "{:?}",
        snapshot.undeliverable
    );
    let bounce = &snapshot.undeliverable[0];
    assert_eq!(bounce.address, DANA);
    assert_eq!(bounce.reason, "550 5.1.1 No such user");
    assert!(bounce.notice_sent_at.is_some());

    assert_eq!(
        w.record(&key(Step::ThankYou, DANA)).state,
        SendState::Failed
    );
    let rcpts = w
        .server()
        .commands()
        .iter()
        .filter(|c| c.as_str() == "RCPT")
        .count();
    let delivered = w.server().received().len();
    // Dana's thank-you was tried once; everything else that went out was accepted.
    assert_eq!(rcpts, delivered + 1, "no second try at {DANA}");

    let plan = planned(&w, "2026-11-27 00:00");
    for step in ["status_check", "final_check"] {
        let row = &plan[&format!("smith/{step}/{DANA}")];
        assert_eq!(row["state"], "cancelled", "{row}");
        assert_eq!(row["cause"]["kind"], "undeliverable", "{row}");
        assert_eq!(
            row["cause"]["server_said"], "550 5.1.1 No such user",
            "{row}"
        );
    }
    let reminder = sent_for(&w, &key(Step::CallReminder, DANA));
    assert!(
        reminder
            .text()
            .contains("Your e-mail to Dana bounced (550 5.1.1 No such user)"),
        "{}",
        reminder.text()
    );
    let bounces = notices(&w, "followup: mail to");
    assert_eq!(bounces.len(), 1, "{:?}", subjects(&w.to(ME)));
    assert_eq!(
        bounces[0].subject(),
        format!("followup: mail to {DANA_NAME} bounced")
    );
    let text = bounces[0].text();
    assert!(
        text.contains("550 5.1.1 No such user") && text.contains("smith.yaml"),
        "{text}"
    );
    assert!(
        notices(&w, "followup: thank-you to").is_empty(),
        "the bounce notice replaces the failure notice"
    );

    let status = w.ok(&["status", "--json"]).json();
    assert_eq!(status["undeliverable"][0]["key"], DANA, "{status:#}");
    let shown = w.ok(&["status"]).stdout;
    assert!(shown.contains("Undeliverable addresses (1)"), "{shown}");

    // The user puts a working address in the record: the sequence resumes at it.
    let fixed = "dana@att.example.com";
    w.write("smith.yaml", &RECORD.replace(DANA, fixed));
    d.reload().expect("the fixed record loads");
    run_until(&mut d, at("2026-11-30 09:00"), at("2026-11-30 18:00")).await;
    let resumed = w.to(fixed);
    assert_eq!(resumed.len(), 1, "{:?}", subjects(&resumed));
    assert!(resumed[0].text().starts_with("Dear Dana,"));
    assert_eq!(
        w.record(&key(Step::StatusCheck, fixed)).state,
        SendState::Sent
    );
}

// --- preview ----------------------------------------------------------------------------------------

/// `preview --step` shows a follow-up as it would go out: threaded under the thank-you the
/// daemon's snapshot says was sent.
#[tokio::test(flavor = "multi_thread")]
async fn preview_threads_a_follow_up_under_what_was_sent() {
    let w = home("send");
    let mut d = w.daemon();
    run_until(&mut d, at("2026-11-03 12:00"), at("2026-11-04 00:00")).await;
    drop(d);
    let thank_you = sent_for(&w, &key(Step::ThankYou, DANA));
    let out = w.ok(&["preview", "smith", "--step", "status_check"]).stdout;
    let id = thank_you.one("Message-ID");
    assert!(out.contains(&format!("In-Reply-To: {id}\r\n")), "{out}");
    assert!(out.contains(&format!("References: {id}\r\n")), "{out}");
    assert!(
        out.contains(&format!("Subject: Re: {}\r\n", thank_you.subject())),
        "{out}"
    );
    assert!(
        out.contains(&format!("# threaded under thank_you, {id}\n")),
        "{out}"
    );
}

/// Before anything was sent, a follow-up is previewed under the thank-you as it will go out
/// first (said so in a `#` line), so its subject and threading are those it will carry.
#[test]
fn preview_before_anything_was_sent_threads_under_the_coming_thank_you() {
    // Preview works at the real time: an interview on a Tuesday a few weeks from now.
    let mut day = Utc::now().date_naive() + chrono::Days::new(30);
    while chrono::Datelike::weekday(&day) != chrono::Weekday::Tue {
        day = day.succ_opt().unwrap();
    }
    let w = home("send");
    w.write(
        "smith.yaml",
        &RECORD.replace("2026-11-03", &day.to_string()),
    );
    let out = w.ok(&["preview", "smith", "--step", "final_check"]).stdout;
    assert!(
        out.contains("Subject: Re: Thank you for your time on Tuesday\r\n"),
        "{out}"
    );
    assert!(out.contains("(not sent yet: as previewed"), "{out}");
    assert_eq!(out.matches("# threaded under").count(), 2, "{out}");
}

// --- the approval queue -----------------------------------------------------------------------------

/// A name with quotes and a comma comes back from the queue file intact, so the file can be
/// approved, and the digest gives its deadline.
#[test]
fn a_name_with_quotes_and_a_comma_can_be_approved() {
    let w = home("approve");
    w.once_at("2026-11-03 13:00");
    let file = w.queue_file_to("pending", DANA);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(&format!("To: \"Dana \\\"DJ\\\" O'Neil, Jr.\" <{DANA}>\n")),
        "{text}"
    );
    let digest = notices(&w, "followup: 2 follow-ups wait");
    assert_eq!(digest.len(), 1);
    assert_eq!(
        digest[0].text().matches("approve by").count(),
        2,
        "{}",
        digest[0].text()
    );
    let id = file.file_stem().unwrap().to_str().unwrap().to_string();
    w.ok(&["queue", "approve", &id]);
    w.once_at("2026-11-03 13:05");
    let sent = w.to(DANA);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].mailbox("To"), format!("{DANA_NAME} <{DANA}>"));
}

#[test]
fn one_waiting_follow_up_is_one_follow_up_in_the_digest() {
    let w = World::serving("approve").with(
        "solo.yaml",
        "company: Initech\nposition: Analyst\nstart: 2026-11-03 10:00\n\
         interviewers:\n  - name: Ana Lima\n    email: ana@initech.example.net\n",
    );
    w.once_at("2026-11-03 13:00");
    let subjects = subjects(&w.to(ME));
    assert_eq!(
        subjects,
        ["followup: 1 follow-up waits for your approval"],
        "{subjects:?}"
    );
}
