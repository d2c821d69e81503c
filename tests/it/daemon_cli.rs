//! `followup run` end to end: the real binary on real files and a real sled state, sending to a
//! real SMTP server on loopback (in this process), in each mode, through failures, edits and
//! signals.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Duration as Span, Utc};
use serde_json::Value;

use crate::support::api::SendState;
use crate::support::mail::Mail;
use crate::support::runner::{Output, Running};
use crate::support::smtp_server::{Behaviour, FailAt, ServerOptions, StallAt, TestSmtpServer};
use crate::support::wait::{PATIENCE, wait_for};
use crate::support::world::{World, interview_ending_now};

const OWNER: &str = "sam@example.org";
const ZOE: &str = "zoe@globex.example.com";
const OMAR: &str = "omar@globex.example.com";
const LEE: &str = "lee@globex.example.com";
const ANA: &str = "ana@initech.example.net";

/// The thank-you time of [`GLOBEX`]: its end (11:00 in New York) plus two hours.
const THANK_YOU_AT: &str = "2026-11-03 13:00";

const GLOBEX: &str = "\
company: Globex
position: Backend Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Zoë Müller
    title: Engineering Manager
    email: zoe@globex.example.com
    primary: true
  - name: Omar Diaz
    email: omar@globex.example.com
attachments:
  - cv.pdf
";

const INITECH: &str = "\
company: Initech
position: Platform Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Ana Lima
    email: ana@initech.example.net
";

const ATTACHMENT: &[u8] = b"%PDF-1.4 not really a pdf \x00\x01\x02\xff";

// --- the user's home ------------------------------------------------------------------------------

/// A home in `mode`, its queue in `queue/`, sending to a new server that behaves so, with the
/// attachment [`GLOBEX`] names.
fn home(mode: &str, behaviour: Behaviour) -> World {
    let options = ServerOptions {
        behaviour,
        ..ServerOptions::default()
    };
    let home = World::serving_with(mode, options).configure(|c| c.queue_dir = Some("queue".into()));
    home.write_file("interviews/cv.pdf", ATTACHMENT);
    home
}

fn status_json(home: &World) -> Value {
    home.ok(&["status", "--json"]).json()
}

/// When `step` to `recipient` is due, from `plan --json` as of `now`.
fn due_at(home: &World, step: &str, recipient: &str, now: &str) -> String {
    let plan = home.ok(&["plan", "--now", now, "--json"]).json();
    plan.as_array()
        .unwrap()
        .iter()
        .find(|r| r["step"] == step && r["recipient"] == recipient)
        .and_then(|r| r["due"].as_str())
        .unwrap_or_else(|| panic!("no {step} for {recipient} in the plan: {plan:#}"))
        .to_string()
}

fn message_id_domain(id: &str) -> &str {
    id.trim_matches(['<', '>']).rsplit('@').next().unwrap_or("")
}

// --- 1. send mode ---------------------------------------------------------------------------------

/// In send mode each due message goes out once, one per interviewer, well formed, with the
/// attachment on the thank-you; later steps thread under it; a second round sends nothing again.
#[test]
fn send_mode_sends_each_message_once_threaded_under_the_thank_you() {
    let home = home("send", Behaviour::Accept).with("globex.yaml", GLOBEX);
    let smtp = home.server();

    let out = home.once_at(THANK_YOU_AT);
    assert!(out.stderr.contains("sent 2"), "{}", out.stderr);
    let all = smtp.mails();
    assert_eq!(all.len(), 2, "one thank-you per interviewer");
    let zoe = smtp.mails_to(ZOE);
    let omar = smtp.mails_to(OMAR);
    assert_eq!((zoe.len(), omar.len()), (1, 1));

    for (mail, name, first) in [
        (&zoe[0], "Zoë Müller", "Zoë"),
        (&omar[0], "Omar Diaz", "Omar"),
    ] {
        let to_addr = mail.to().to_string();
        let id = mail.one("Message-ID");
        assert!(id.starts_with('<') && id.ends_with('>'), "{id}");
        assert_eq!(message_id_domain(&id), "example.org", "{id}");
        let date = mail.one("Date");
        let date = DateTime::parse_from_rfc2822(&date).unwrap_or_else(|e| panic!("{date}: {e}"));
        assert_eq!(
            date.with_timezone(&Utc).to_rfc3339(),
            "2026-11-03T18:00:00+00:00"
        );
        assert!(mail.one("From").contains("<sam@example.org>"));
        let to = mail.one("To");
        assert!(to.contains(&format!("<{to_addr}>")), "{to}");
        assert!(!to.contains(','), "one recipient in To: {to}");
        assert_eq!(mail.mailbox("To"), format!("{name} <{to_addr}>"));
        assert!(mail.all("Cc").is_empty() && mail.all("Bcc").is_empty());
        assert!(
            !mail.raw.to_ascii_lowercase().contains("x-followup"),
            "no internal header goes out:\n{}",
            mail.raw
        );
        let content_type = mail.one("Content-Type");
        assert!(
            content_type.starts_with("multipart/mixed"),
            "{content_type}"
        );
        assert!(
            mail.raw.contains("text/plain; charset=utf-8"),
            "{}",
            mail.raw
        );
        assert!(
            mail.raw.contains("Content-Disposition: attachment") && mail.raw.contains("cv.pdf"),
            "the attachment is on the thank-you:\n{}",
            mail.raw
        );
        assert!(mail.text().contains(&format!("Dear {first},")));
        assert!(!mail.one("Subject").starts_with("Re:"));
    }
    let to = zoe[0].one("To");
    assert!(
        to.is_ascii() && to.to_ascii_lowercase().contains("=?utf-8?"),
        "a non-ASCII name goes as RFC 2047 words: {to}"
    );
    let thank_you_id = zoe[0].one("Message-ID").to_string();
    let thank_you_subject = zoe[0].subject();

    // Never twice: the same instant again, and a little later.
    home.once_at(THANK_YOU_AT);
    home.once_at("2026-11-03 15:00");
    assert_eq!(smtp.received().len(), 2, "nothing is sent twice");

    // The status check, to the primary only, threaded under the thank-you.
    let due = due_at(&home, "status_check", ZOE, THANK_YOU_AT);
    assert_eq!(due, "2026-11-10T16:00:00Z");
    home.once_at(&due);
    let zoe = smtp.mails_to(ZOE);
    assert_eq!(zoe.len(), 2, "the status check went to the primary");
    assert_eq!(smtp.received().len(), 3, "and to nobody else");
    let check = &zoe[1];
    assert_eq!(check.one("In-Reply-To"), thank_you_id);
    assert!(check.one("References").contains(&thank_you_id));
    assert_eq!(check.subject(), format!("Re: {thank_you_subject}"));
    assert!(check.raw.contains("text/plain; charset=utf-8"));
    assert!(
        !check.raw.contains("cv.pdf"),
        "no attachment on the status check"
    );
    let check_id = check.one("Message-ID").to_string();
    assert_ne!(check_id, thank_you_id);
    assert_eq!(message_id_domain(&check_id), "example.org");

    // The call reminder: to the user, about calling the primary.
    let due = due_at(&home, "call_reminder", ZOE, &due);
    home.once_at(&due);
    let mine = smtp.mails_to(OWNER);
    assert_eq!(mine.len(), 1, "the call reminder went to the user");
    assert_eq!(smtp.received().len(), 4);
    assert!(mine[0].one("To").contains(OWNER));

    // The final check: threaded under everything sent to the primary before.
    let due = due_at(&home, "final_check", ZOE, &due);
    home.once_at(&due);
    let zoe = smtp.mails_to(ZOE);
    assert_eq!(zoe.len(), 3, "the final check went to the primary");
    let last = &zoe[2];
    let references = last.one("References");
    assert!(
        references.contains(&thank_you_id) && references.contains(&check_id),
        "References holds the whole chain: {references}"
    );
    assert!(
        references.find(&thank_you_id) < references.find(&check_id),
        "{references}"
    );
    assert_eq!(last.one("In-Reply-To"), check_id);
    assert_eq!(smtp.received().len(), 5);

    let sends = home.exported();
    for key in [
        format!("globex/thank_you/{ZOE}"),
        format!("globex/thank_you/{OMAR}"),
        format!("globex/status_check/{ZOE}"),
        format!("globex/final_check/{ZOE}"),
    ] {
        assert_eq!(sends[&key]["state"], "sent", "{key}: {:#}", sends[&key]);
    }
}

// --- 2. approve mode ------------------------------------------------------------------------------

/// Replaces the first line starting with `prefix` in a queue file.
fn edit_line(path: &Path, prefix: &str, new: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut done = false;
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                new.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line starting with `{prefix}` in\n{text}");
    std::fs::write(path, edited.join("\n") + "\n").unwrap();
}

fn keys(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|r| r["key"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// In approve mode nothing goes to an interviewer until the user approves it; then what the
/// file says goes out. A rejected or deleted file never goes out.
#[test]
fn approve_mode_sends_only_what_the_user_approved_as_edited() {
    let globex = GLOBEX.replace(
        "attachments:",
        "  - name: Lee Park\n    email: lee@globex.example.com\nattachments:",
    );
    let home = home("approve", Behaviour::Accept)
        .with("globex.yaml", &globex)
        .with("initech.yaml", INITECH);
    let smtp = home.server();

    let out = home.once_at(THANK_YOU_AT);
    assert!(out.stderr.contains("queued 4"), "{}", out.stderr);
    assert_eq!(
        home.queue_files("pending").len(),
        4,
        "one file per due message"
    );
    for who in [ZOE, OMAR, LEE, ANA] {
        assert!(
            smtp.mails_to(who).is_empty(),
            "nothing goes to {who} before approval"
        );
    }
    assert!(
        smtp.mails().iter().all(|m| m.to() == OWNER),
        "only notices to the user may go out"
    );

    // Zoë's: edited, then approved by moving the file.
    let zoe = home.queue_file_to("pending", ZOE);
    edit_line(&zoe, "Subject:", "Subject: Thanks for Tuesday, Zoë");
    edit_line(
        &zoe,
        "I look forward to hearing",
        "I especially enjoyed the whiteboard session on sled.",
    );
    home.move_to(&zoe, "approved");
    // Omar's: rejected by moving it; Lee's: deleted; Ana's: approved with the command.
    let omar = home.queue_file_to("pending", OMAR);
    home.move_to(&omar, "rejected");
    std::fs::remove_file(home.queue_file_to("pending", LEE)).unwrap();
    let ana = home.queue_file_to("pending", ANA);
    let ana_id = ana.file_stem().unwrap().to_str().unwrap().to_string();
    home.ok(&["queue", "approve", &ana_id]);
    assert!(
        !ana.exists()
            && home
                .queue("approved")
                .join(ana.file_name().unwrap())
                .exists()
    );

    let out = home.once_at("2026-11-03 13:05");
    assert!(out.stderr.contains("sent 2"), "{}", out.stderr);
    let to_zoe = smtp.mails_to(ZOE);
    assert_eq!(to_zoe.len(), 1);
    assert_eq!(to_zoe[0].subject(), "Thanks for Tuesday, Zoë");
    let text = to_zoe[0].text();
    assert!(text.contains("whiteboard session on sled"), "{text}");
    assert!(!text.contains("Learning more about the team"), "{text}");
    assert!(
        to_zoe[0].raw.contains("cv.pdf"),
        "the approved thank-you keeps its attachment"
    );
    assert!(!to_zoe[0].raw.to_ascii_lowercase().contains("x-followup"));
    assert_eq!(smtp.mails_to(ANA).len(), 1, "approved with `queue approve`");
    assert_eq!(home.queue_files("approved").len(), 0);
    assert_eq!(
        home.queue_files("sent").len(),
        2,
        "{:?}",
        home.queue_files("sent")
    );
    home.queue_file_to("sent", ZOE);
    home.queue_file_to("sent", ANA);

    // Later rounds: the rejected and the deleted never go out, and nothing goes twice.
    home.once_at("2026-11-03 14:00");
    home.once_at("2026-11-04 10:00");
    assert!(smtp.mails_to(OMAR).is_empty(), "rejected: never sent");
    assert!(smtp.mails_to(LEE).is_empty(), "deleted: never sent");
    assert_eq!(smtp.mails_to(ZOE).len(), 1);
    assert_eq!(smtp.mails_to(ANA).len(), 1);

    let digests = smtp.mails_to(OWNER);
    assert_eq!(
        digests.len(),
        1,
        "one digest of what waits, not one per round"
    );
    assert!(
        digests[0]
            .subject()
            .contains("4 follow-ups wait for your approval"),
        "{}",
        digests[0].raw
    );

    let status = status_json(&home);
    let waiting = keys(&status["waiting_for_approval"]);
    assert!(waiting.is_empty(), "nothing waits: {status:#}");
    let sent = keys(&status["sent"]);
    assert!(
        sent.contains(&format!("globex/thank_you/{ZOE}")),
        "{status:#}"
    );
    assert!(
        !sent.iter().any(|k| k.contains(OMAR) || k.contains(LEE)),
        "{status:#}"
    );
    let sends = home.exported();
    assert_eq!(
        sends[&format!("globex/thank_you/{OMAR}")]["state"],
        "rejected"
    );
    assert_eq!(
        sends[&format!("globex/thank_you/{LEE}")]["state"],
        "rejected"
    );
}

/// A thank-you approved after its 48-hour limit is not sent until approved again with --late.
#[test]
fn thank_you_approved_after_its_limit_waits_for_approve_late() {
    let home = home("approve", Behaviour::Accept).with("initech.yaml", INITECH);
    let smtp = home.server();
    home.once_at(THANK_YOU_AT);
    let file = home.queue_file_to("pending", ANA);
    let id = file.file_stem().unwrap().to_str().unwrap().to_string();
    let approved = home.move_to(&file, "approved");

    // The interview ended 2026-11-03 11:00 in New York: the limit is two days later.
    let out = home.once_at("2026-11-05 12:00");
    assert!(smtp.mails_to(ANA).is_empty(), "not sent after its limit");
    assert!(approved.exists(), "the file stays where the user put it");
    assert!(
        out.stderr.contains("limit") && out.stderr.contains("--late"),
        "the log says why and what to do:\n{}",
        out.stderr
    );
    let status = status_json(&home);
    assert!(
        keys(&status["approved_too_late"]).contains(&id) && keys(&status["approved"]).is_empty(),
        "status shows it still waits, not as about to be sent: {status:#}"
    );

    // What the log tells the user to run, as it says it.
    let advice = out
        .stderr
        .split("`followup queue approve --late ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no `queue approve --late` advice in:\n{}", out.stderr))
        .to_string();
    let out = home.ok(&["queue", "approve", "--late", &advice]);
    assert!(
        out.stdout.contains("late") || out.stdout.contains("approved"),
        "{}",
        out.stdout
    );
    home.once_at("2026-11-05 12:05");
    let sent = smtp.mails_to(ANA);
    assert_eq!(sent.len(), 1, "sent once approved late");
    assert!(!sent[0].raw.to_ascii_lowercase().contains("x-followup"));
    assert_eq!(home.queue_files("sent").len(), 1);
    assert!(home.queue_files("approved").is_empty());
}

// --- 3. dry run -----------------------------------------------------------------------------------

/// Every file under `root` with its size, mtime and bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
                out.insert(path, (0, None, Vec::new()));
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(path, (meta.len(), meta.modified().ok(), bytes));
            }
        }
    }
    out
}

/// `--dry-run` prints what is due and touches nothing: no connection, no state, no queue file.
#[test]
fn dry_run_prints_due_messages_and_changes_nothing() {
    let home = home("approve", Behaviour::Accept)
        .with("globex.yaml", GLOBEX)
        .with("initech.yaml", INITECH);
    let smtp = home.server();
    // A real state and queue to leave alone: Ana's thank-you sent, Globex's waiting.
    home.once_at(THANK_YOU_AT);
    let ana = home.queue_file_to("pending", ANA);
    let id = ana.file_stem().unwrap().to_str().unwrap().to_string();
    home.ok(&["queue", "approve", &id]);
    home.once_at("2026-11-03 13:05");
    assert_eq!(smtp.mails_to(ANA).len(), 1);
    let connections = smtp.connection_count();
    let before = tree(home.root());

    let due = due_at(&home, "status_check", ANA, "2026-11-03 13:05");
    let out = home.ok(&["run", "--once", "--dry-run", "--now", &due]);
    assert!(
        out.stdout
            .contains(&format!("# dry run: initech/status_check/{ANA}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("To: Ana Lima <{ANA}>")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Message-ID: <"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("initech/thank_you"),
        "what was sent is not shown again:\n{}",
        out.stdout
    );
    assert_eq!(smtp.connection_count(), connections, "no SMTP connection");
    let after = tree(home.root());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "no file appeared or went"
    );
    for (path, was) in &before {
        assert!(after[path] == *was, "{} changed", path.display());
    }
}

/// What dry-run shows is what would go out: a follow-up is threaded under the thank-you sent.
#[test]
fn dry_run_shows_a_follow_up_threaded_as_it_would_be_sent() {
    let home = home("send", Behaviour::Accept).with("initech.yaml", INITECH);
    let smtp = home.server();
    home.once_at(THANK_YOU_AT);
    let sent = smtp.mails_to(ANA);
    assert_eq!(sent.len(), 1);
    let thank_you_id = sent[0].one("Message-ID").to_string();
    let subject = sent[0].subject();

    let due = due_at(&home, "status_check", ANA, THANK_YOU_AT);
    let out = home.ok(&["run", "--once", "--dry-run", "--now", &due]);
    assert!(
        out.stdout.contains("initech/status_check"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("In-Reply-To: {thank_you_id}"))
            && out.stdout.contains(&format!("Subject: Re: {subject}")),
        "the dry run shows the status check as it would go out (threaded):\n{}",
        out.stdout
    );
    // And the real one is threaded, for comparison.
    home.once_at(&due);
    let real = smtp.mails_to(ANA);
    assert_eq!(real[1].one("In-Reply-To"), thank_you_id);
}

/// `mode: dry-run` on a fresh home: the messages on stdout, no connection, no state database
/// and no queue created.
#[test]
fn dry_run_mode_connects_nowhere_and_creates_no_state_or_queue() {
    let home = home("dry-run", Behaviour::Accept).with("globex.yaml", GLOBEX);
    let smtp = home.server();
    let before = tree(home.root());
    let out = home.once_at(THANK_YOU_AT);
    for who in [ZOE, OMAR] {
        assert!(
            out.stdout
                .contains(&format!("# dry run: globex/thank_you/{who}")),
            "{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("Dear Zoë,"), "{}", out.stdout);
    assert_eq!(smtp.connection_count(), 0, "dry-run never connects");
    assert!(!home.path("state").exists(), "no state dir, no sled db");
    let after = tree(home.root());
    let appeared: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(appeared.is_empty(), "dry-run created {appeared:?}");
}

// --- 4. and 5. SMTP failures ----------------------------------------------------------------------

/// The round at the thank-you's time against a server that refuses: nothing arrives, the log's
/// summary says `summary` (`deferred 2`), and `status --json` lists the sends under `list`.
fn refused_first_round(home: &World, summary: &str, list: &str) -> (Output, Vec<Value>) {
    let out = home.once_at(THANK_YOU_AT);
    assert!(out.stderr.contains(summary), "{}", out.stderr);
    assert!(home.server().received().is_empty());
    let status = status_json(home);
    let rows = status[list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {status:#}"))
        .clone();
    (out, rows)
}

/// A 4xx defers the send (shown as retrying); the retry after the backoff sends it once.
#[test]
fn temporary_failure_is_retried_after_the_backoff_and_sent_once() {
    let home = home("send", Behaviour::TempFail(FailAt::Rcpt)).with("globex.yaml", GLOBEX);
    let smtp = home.server();

    let (_, deferred) = refused_first_round(&home, "deferred 2", "deferred");
    assert_eq!(deferred.len(), 2, "{deferred:#?}");
    for row in &deferred {
        assert_eq!(
            row["at"], "2026-11-03T18:05:00Z",
            "retried in 5 minutes: {row}"
        );
        assert!(
            row["note"].as_str().unwrap_or_default().contains("451"),
            "{row}"
        );
    }
    let sends = home.exported();
    assert_eq!(
        sends[&format!("globex/thank_you/{ZOE}")]["state"],
        "deferred"
    );

    // Before the retry is due nothing is tried, even when the server would take it.
    smtp.set_behaviour(Behaviour::Accept);
    home.once_at("2026-11-03 13:02");
    assert!(smtp.received().is_empty(), "not retried before its time");

    home.once_at("2026-11-03 13:06");
    assert_eq!(smtp.mails_to(ZOE).len(), 1);
    assert_eq!(smtp.mails_to(OMAR).len(), 1);
    home.once_at("2026-11-03 14:30");
    assert_eq!(smtp.received().len(), 2, "sent exactly once each");
    let status = status_json(&home);
    assert!(
        status["deferred"].as_array().unwrap().is_empty(),
        "{status:#}"
    );
    assert_eq!(status["sent"].as_array().unwrap().len(), 2, "{status:#}");
    // The retried message is the same message: same Message-ID as recorded.
    let sends = home.exported();
    let recorded = sends[&format!("globex/thank_you/{ZOE}")]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(smtp.mails_to(ZOE)[0].one("Message-ID"), recorded);
}

/// A 5xx fails the send at once (shown by `status`, never retried) and a notice to the user is
/// attempted. (A refusal that names the recipient marks the address instead: see
/// `messages::a_hard_bounce_*`.)
#[test]
fn permanent_failure_fails_at_once_is_shown_and_notifies_the_user() {
    let home = home("send", Behaviour::PermFail(FailAt::EndOfData)).with("initech.yaml", INITECH);
    let smtp = home.server();

    let (out, failed) = refused_first_round(&home, "failed 1", "failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["key"], format!("initech/thank_you/{ANA}"));
    assert!(
        failed[0]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("554"),
        "{failed:?}"
    );
    // The server refuses every message, the notice too: the attempt is in the log, its
    // subject in plain words.
    assert!(
        out.stderr.contains("cannot send a notice")
            && out.stderr.contains("followup: thank-you to Ana"),
        "a notice was attempted:\n{}",
        out.stderr
    );

    // Failed is final: the server accepting again changes nothing for it.
    smtp.set_behaviour(Behaviour::Accept);
    home.once_at("2026-11-03 14:00");
    home.once_at("2026-11-04 09:00");
    assert!(
        smtp.mails_to(ANA).is_empty(),
        "a failed send is never retried"
    );
    let sends = home.exported();
    assert_eq!(
        sends[&format!("initech/thank_you/{ANA}")]["state"],
        "failed"
    );
}

// --- 6. to 8. the long-running daemon -------------------------------------------------------------

/// A broken edit to a running daemon's record is reported with file and line, changes nothing,
/// and the next good edit is picked up by the watcher; SIGTERM then stops it with exit 0.
#[test]
fn broken_record_edit_keeps_the_last_good_version_and_the_daemon_running() {
    let good = interview_ending_now("Globex", "Zoë Müller", ZOE);
    let home = home("send", Behaviour::Accept).with("globex.yaml", &good);
    let smtp = home.server();
    let mut daemon = home.spawn("daemon");
    wait_for("the thank-you", PATIENCE, || !smtp.received().is_empty());
    assert_eq!(smtp.mails_to(ZOE).len(), 1);

    // A YAML syntax error on line 2 (`status` and `state export` refuse to load such records,
    // so what the daemon did is read from its own snapshot).
    let broken = good.replacen(
        "position: Site Reliability Engineer",
        "position: [unclosed",
        1,
    );
    assert_ne!(broken, good);
    home.write("globex.yaml", &broken);
    let log = daemon.wait_log("the error about the broken record", |l| {
        l.contains("the last good version stays in force")
    });
    assert!(
        log.lines().any(|l| l.contains("ERROR")
            && (l.contains("globex.yaml:2:") || l.contains("globex.yaml:3:"))),
        "the log names the file and line:\n{log}"
    );
    assert!(daemon.running(), "the daemon keeps running:\n{log}");
    // Give a tick the chance to act on the broken version, then check it did not.
    home.write("initech.yaml", "company: [still broken\n");
    daemon.wait_log("the second error", |l| {
        l.matches("the last good version stays in force").count() >= 2
    });
    std::fs::remove_file(home.path("interviews/initech.yaml")).unwrap();
    let sends = home.snapshot().sends;
    assert_eq!(
        sends
            .iter()
            .find(|r| r.key.to_string() == format!("globex/thank_you/{ZOE}"))
            .map(|r| r.state),
        Some(SendState::Sent),
        "{sends:#?}"
    );
    assert!(
        sends.iter().all(|r| r.state != SendState::Cancelled),
        "nothing is cancelled: {sends:#?}"
    );
    assert_eq!(smtp.received().len(), 1, "nothing more is sent");
    assert!(!daemon.log().contains("cancelled"), "{}", daemon.log());

    // A fix and a new interview: the new thank-you goes out within seconds.
    home.write("globex.yaml", &good);
    home.write(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    wait_for("the new interview's thank-you", PATIENCE, || {
        !smtp.mails_to(ANA).is_empty()
    });
    assert_eq!(smtp.mails_to(ZOE).len(), 1, "the first is not sent again");
    assert_eq!(smtp.received().len(), 2, "{}", daemon.log());

    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.log());
    let sends = home.exported();
    assert_eq!(sends[&format!("initech/thank_you/{ANA}")]["state"], "sent");
    assert_eq!(sends[&format!("globex/thank_you/{ZOE}")]["state"], "sent");
}

/// A second daemon on the same state refuses to start, saying why; the first carries on.
#[test]
fn second_daemon_on_the_same_state_refuses_to_start() {
    let home = home("send", Behaviour::Accept).with("globex.yaml", GLOBEX);
    let smtp = home.server();
    let mut first = home.spawn("first");
    first.wait_log("the first daemon to start", |l| {
        l.contains("followup is running")
    });

    let second = home.run(&["run"]);
    assert_ne!(second.code, Some(0), "the second daemon must not run");
    assert!(!second.stderr.contains("panicked"), "{}", second.stderr);
    let err = second.stderr.to_lowercase();
    assert!(
        err.contains("state")
            && err.contains(&home.path("state").display().to_string().to_lowercase()),
        "names the state directory: {}",
        second.stderr
    );
    assert!(
        err.contains("in use by another followup daemon") || err.contains("lock"),
        "says it is in use: {}",
        second.stderr
    );
    assert!(first.running(), "the first is unaffected:\n{}", first.log());

    // The first still works: a new record is picked up and sent.
    home.write(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    wait_for("the first daemon to send", PATIENCE, || {
        !smtp.mails_to(ANA).is_empty()
    });
    first.signal(libc::SIGTERM);
    assert_eq!(first.exit_code(), Some(0), "{}", first.log());
}

/// `followup run` on a home whose one interview (Initech, with Ana) has its thank-you due now,
/// sending to a server that behaves so, with this SMTP timeout.
fn running_with_a_thank_you_due(behaviour: Behaviour, timeout: &str) -> (World, Running) {
    let home = home("send", behaviour).with_smtp_timeout(timeout).with(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    let daemon = home.spawn("daemon");
    (home, daemon)
}

/// SIGTERM while a send is stuck: the process waits for the transaction to end (bounded by the
/// SMTP timeout), exits 0, and the state says the send must be retried or decided, never lost.
#[test]
fn sigterm_during_a_send_exits_0_and_leaves_the_send_recoverable() {
    let (home, mut daemon) = running_with_a_thank_you_due(Behaviour::Stall(StallAt::Rcpt), "1s");
    let smtp = home.server();
    wait_for("the stalled RCPT", PATIENCE, || smtp.saw_command("RCPT"));
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.log());
    assert!(smtp.received().is_empty());

    let sends = home.exported();
    let key = sends
        .keys()
        .find(|k| k.ends_with(&format!("/thank_you/{ANA}")))
        .unwrap_or_else(|| panic!("the send is not in the state: {sends:#?}"))
        .clone();
    let state = sends[&key]["state"].as_str().unwrap().to_string();
    assert!(
        state == "deferred" || state == "uncertain",
        "{key} is {state}, not deferred or uncertain:\n{:#}\n{}",
        sends[&key],
        daemon.log()
    );

    // And it is not lost: the next run sends it once the server answers.
    smtp.set_behaviour(Behaviour::Accept);
    if state == "deferred" {
        let retry = sends[&key]["next_attempt"].as_str().unwrap().to_string();
        let at = DateTime::parse_from_rfc3339(&retry).unwrap() + Span::minutes(1);
        home.once_at(&at.to_rfc3339());
        assert_eq!(smtp.mails_to(ANA).len(), 1, "sent at the retry");
    }
}

/// Checks the aftermath of a send whose body went out without an answer: `uncertain`, never
/// resent by itself, waiting in `pending/` with a note, the user told; approving it sends it with
/// the same Message-ID.
fn check_uncertain_is_decided_by_the_user(home: &World, smtp: &TestSmtpServer) {
    let key = format!("/thank_you/{ANA}");
    let sends = home.exported();
    let (_, send) = sends
        .iter()
        .find(|(k, _)| k.ends_with(&key))
        .unwrap_or_else(|| panic!("no send in {sends:#?}"));
    assert_eq!(send["state"], "uncertain", "{send:#}");
    let message_id = send["message_id"].as_str().unwrap().to_string();

    let pending = home.queue_file_to("pending", ANA);
    let text = std::fs::read_to_string(&pending).unwrap();
    assert!(
        text.contains("X-Followup-Note:") && text.contains(&message_id),
        "queued for a decision, with a note and the same Message-ID:\n{text}"
    );
    let notices: Vec<Mail> = smtp.mails_to(OWNER);
    assert_eq!(notices.len(), 1, "the user is told once");
    assert!(
        notices[0].subject().contains("may have gone out"),
        "{}",
        notices[0].raw
    );

    // Rounds later: still not resent by itself, no second notice.
    home.ok(&["run", "--once"]);
    assert!(
        smtp.mails_to(ANA).is_empty(),
        "an uncertain send is never resent by itself"
    );
    assert_eq!(smtp.mails_to(OWNER).len(), 1);

    let id = pending.file_stem().unwrap().to_str().unwrap().to_string();
    home.ok(&["queue", "approve", &id]);
    home.ok(&["run", "--once"]);
    let sent = smtp.mails_to(ANA);
    assert_eq!(sent.len(), 1, "sent again once the user approved it");
    assert_eq!(
        sent[0].one("Message-ID"),
        message_id,
        "with the same Message-ID"
    );
}

/// A daemon killed (SIGKILL) after it handed the body over leaves a send that the next start
/// must treat as uncertain: never resent automatically.
#[test]
fn send_killed_after_the_body_is_uncertain_at_the_next_start() {
    let (home, mut daemon) =
        running_with_a_thank_you_due(Behaviour::Stall(StallAt::AfterBody), "2s");
    let smtp = home.server();
    // The server has read the body (and the daemon marked it handed over before writing it).
    wait_for("the body, then silence", PATIENCE, || smtp.stalls() > 0);
    daemon.signal(libc::SIGKILL);
    assert_eq!(daemon.exit_code(), None, "killed by the signal");

    let sends = home.exported();
    let send = sends
        .values()
        .find(|s| s["key"]["recipient"] == ANA)
        .unwrap_or_else(|| panic!("{sends:#?}"));
    assert_eq!(send["state"], "sending", "{send:#}");
    assert_eq!(send["body_handed_over"], true, "{send:#}");

    smtp.set_behaviour(Behaviour::Accept);
    let out = home.ok(&["run", "--once"]);
    assert!(out.stderr.contains("uncertain"), "{}", out.stderr);
    check_uncertain_is_decided_by_the_user(&home, smtp);
}

/// SIGTERM while the server sits on the answer to the body: the daemon waits out the SMTP
/// timeout, exits 0, and the send is uncertain (it may have been delivered), not lost.
#[test]
fn sigterm_while_the_answer_to_the_body_is_pending_leaves_it_uncertain() {
    let (home, mut daemon) =
        running_with_a_thank_you_due(Behaviour::Stall(StallAt::AfterBody), "1s");
    let smtp = home.server();
    wait_for("the body, then silence", PATIENCE, || smtp.stalls() > 0);
    // The notice to the user after the timeout needs a server that answers.
    daemon.signal(libc::SIGTERM);
    smtp.set_behaviour(Behaviour::Accept);
    assert_eq!(daemon.exit_code(), Some(0), "{}", daemon.log());
    assert!(smtp.mails_to(ANA).is_empty());
    check_uncertain_is_decided_by_the_user(&home, smtp);
}

/// A 4xx or 5xx answer to the end of DATA is a definite "not delivered": the send is deferred or
/// failed, not uncertain, and nothing waits in the queue for a decision.
#[test]
fn refusal_after_the_body_is_a_definite_answer_not_uncertain() {
    for (behaviour, want) in [
        (Behaviour::TempFail(FailAt::EndOfData), "deferred"),
        (Behaviour::PermFail(FailAt::EndOfData), "failed"),
    ] {
        let home = home("send", behaviour).with("initech.yaml", INITECH);
        let smtp = home.server();
        home.once_at(THANK_YOU_AT);
        let sends = home.exported();
        let send = &sends[&format!("initech/thank_you/{ANA}")];
        assert_eq!(send["state"], want, "{behaviour:?}: {send:#}");
        assert!(home.queue_files("pending").is_empty(), "{behaviour:?}");
        if want == "deferred" {
            smtp.set_behaviour(Behaviour::Accept);
            home.once_at("2026-11-03 13:06");
            assert_eq!(smtp.mails_to(ANA).len(), 1, "retried and sent");
        }
    }
}

/// `status` tells the user why an approved file is not being sent (here: a thank-you approved
/// after its limit), instead of listing it as "about to be sent".
#[test]
fn status_says_why_an_approved_file_is_not_sent() {
    let home = home("approve", Behaviour::Accept).with("initech.yaml", INITECH);
    let smtp = home.server();
    home.once_at(THANK_YOU_AT);
    let file = home.queue_file_to("pending", ANA);
    home.move_to(&file, "approved");
    home.once_at("2026-11-05 12:00");
    assert!(smtp.mails_to(ANA).is_empty());

    let status = status_json(&home);
    let text = status.to_string();
    assert!(
        text.contains("limit") || text.contains("--late"),
        "status --json says nothing about why it is not sent: {status:#}"
    );
    let out = home.ok(&["status", "--now", "2026-11-05 12:01"]);
    assert!(
        out.stdout.contains("--late") || out.stdout.contains("limit"),
        "status lists it as about to be sent:\n{}",
        out.stdout
    );
}
