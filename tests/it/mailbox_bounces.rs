//! Mail that comes back, read by the daemon from a real Dovecot: a Gmail bounce (a standard
//! report) and a Yahoo one (plain text) of the thank-you make the interviewer's address
//! undeliverable, exactly as a refusal at SMTP time does, and nothing is stopped as a reply; a
//! Postfix delay warning changes nothing. Skipped like every Dovecot test.
//!
//! The fixtures (`fixtures/bounces/`) are rewritten as the answer to this test's own send: the
//! thank-you's Message-ID, the interviewer's address at a domain no other test uses, and the
//! user's address.

use std::path::Path;

use serde_json::Value;

use crate::support::api::Step;
use crate::support::dovecot::Dovecot;
use crate::support::world::{ME, World};

/// A home sending for real whose mailbox is the Dovecot test user's, with one interview (Tue 3
/// Nov 10:00 New York) with Jane at a domain of its own. Returns the home and Jane's address.
fn home(d: &Dovecot) -> (World, String) {
    let domain = format!("globex-{}.example.com", uuid::Uuid::new_v4().simple());
    let jane = format!("jane@{domain}");
    let record = format!(
        "company: Globex\nposition: Backend Engineer\nstart: 2026-11-03 10:00\n\
         interviewers:\n  - name: Jane Roe\n    email: {jane}\n"
    );
    let imap = format!(
        "imap:\n  host: {}\n  port: {}\n  security: plain\n  username: {}\n  \
         password_file: imap-password\n  poll: 2s\n",
        d.host, d.starttls_port, d.user
    );
    let w = World::serving("send")
        .with("globex.yaml", &record)
        .configure(|c| c.extra.push_str(&imap));
    w.write_file("imap-password", d.password.as_bytes());
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            w.path("imap-password"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    (w, jane)
}

/// The fixture rewritten as the answer to our thank-you `id` to `jane`.
fn bounce_of(name: &str, id: &str, jane: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/bounces")
        .join(name.trim_start_matches("policy:"));
    let text = std::fs::read_to_string(path).unwrap();
    // `policy:` turns a bounce for an unknown user into one for a message refused as spam.
    let text = if name.starts_with("policy:") {
        text.replace("5.1.1", "5.7.1").replace(
            "User unknown in virtual mailbox table",
            "Message refused as spam",
        )
    } else {
        text
    };
    text.replace("<followup.thank_you.7f3a9c1e@example.org>", id)
        .replace("jane.roe@globex.example", jane)
        .replace("sam.rivera@yahoo.com", ME)
        .replace("sam@example.org", ME)
        .replace('\n', "\r\n")
        .into_bytes()
}

fn planned(w: &World, now: &str, step: Step) -> Value {
    let plan = w.ok(&["plan", "--json", "--now", now]).json();
    plan.as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == step.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no {step} in {plan:#}"))
}

/// Sends the thank-you, delivers the bounce of it, and runs the day the status check is due.
async fn bounced(fixture: &str) -> Option<(World, String)> {
    let (d, _turn) = Dovecot::take().await?;
    let (w, jane) = home(&d);
    w.once_at("2026-11-03 13:00");
    let sent = w.to(&jane);
    assert_eq!(sent.len(), 1, "one thank-you to {jane}");
    let id = sent[0].one("Message-ID");
    d.deliver(&bounce_of(fixture, &id, &jane));
    w.once_at("2026-11-10 09:00");
    Some((w, jane))
}

/// The row `replies --json` shows of the report about `jane` (the shared mailbox holds the
/// reports of other tests too: tied to nothing of this home's, they are shown as such).
fn report_to(w: &World, jane: &str) -> Value {
    let json = w.ok(&["replies", "--json"]).json();
    json.as_array()
        .unwrap()
        .iter()
        .find(|r| r["recipient"] == jane)
        .cloned()
        .unwrap_or_else(|| panic!("no report about {jane} in {json:#}"))
}

fn assert_undeliverable_and_no_reply(w: &World, jane: &str) {
    assert_eq!(w.to(jane).len(), 1, "nothing more goes to a dead address");
    let check = planned(w, "2026-11-10 09:00", Step::StatusCheck);
    assert_eq!(check["state"], "cancelled", "{check:#}");
    let reason = check["reason"].as_str().unwrap();
    assert!(reason.contains("undeliverable"), "{reason}");
    assert!(!reason.contains("answered"), "{reason}");
    let told = w.to(ME);
    assert!(
        !told.iter().any(|m| m.subject().contains("answered")),
        "the user was told the interviewer answered"
    );
    let notice = told
        .iter()
        .find(|m| m.subject().contains("bounced"))
        .unwrap_or_else(|| panic!("no notice asking for a better address"));
    assert!(notice.text().contains(jane), "{}", notice.text());
    let status = w.ok(&["status"]).stdout;
    assert!(status.contains("came back undeliverable"), "{status}");
    let replies = w.ok(&["replies"]).stdout;
    assert!(replies.contains("delivery report"), "{replies}");
    assert!(!replies.contains("reply from"), "{replies}");
    let row = report_to(w, jane);
    assert_eq!(row["kind"], "delivery_report", "{row:#}");
    assert_eq!(row["outcome"], "undeliverable", "{row:#}");
    assert_eq!(row["recipient"], jane, "{row:#}");
    assert_eq!(row["code"], "5.1.1", "{row:#}");
}

#[tokio::test]
async fn a_gmail_bounce_of_the_thank_you_makes_the_address_undeliverable_and_is_no_reply() {
    let Some((w, jane)) = bounced("gmail-bounce.eml").await else {
        return;
    };
    assert_undeliverable_and_no_reply(&w, &jane);
}

#[tokio::test]
async fn a_yahoo_plain_text_bounce_makes_the_address_undeliverable_and_is_no_reply() {
    let Some((w, jane)) = bounced("yahoo-bounce.eml").await else {
        return;
    };
    assert_undeliverable_and_no_reply(&w, &jane);
}

#[tokio::test]
async fn a_delay_warning_changes_nothing() {
    let Some((w, jane)) = bounced("postfix-delay.eml").await else {
        return;
    };
    let check = planned(&w, "2026-11-10 09:00", Step::StatusCheck);
    assert_ne!(check["state"], "cancelled", "{check:#}");
    let told = w.to(ME);
    assert!(
        !told
            .iter()
            .any(|m| m.subject().contains("answered") || m.subject().contains("bounced")),
        "{:?}",
        told.iter().map(|m| m.subject()).collect::<Vec<_>>()
    );
    assert_eq!(report_to(&w, &jane)["outcome"], "delayed");
}

#[tokio::test]
async fn a_bounce_for_another_reason_is_told_once_with_the_servers_words_and_the_address_stays() {
    let Some((w, jane)) = bounced("policy:postfix-bounce.eml").await else {
        return;
    };
    let check = planned(&w, "2026-11-10 09:00", Step::StatusCheck);
    assert_ne!(check["state"], "cancelled", "{check:#}");
    let thanks = planned(&w, "2026-11-10 09:00", Step::ThankYou);
    let reason = thanks["reason"].as_str().unwrap();
    assert!(reason.contains("came back bounced"), "{reason}");
    let notices: Vec<_> = w
        .to(ME)
        .into_iter()
        .filter(|m| m.subject().contains("bounced"))
        .collect();
    assert_eq!(notices.len(), 1, "one notice");
    assert!(
        notices[0].text().contains("Message refused as spam"),
        "{}",
        notices[0].text()
    );
    assert!(!w.to(ME).iter().any(|m| m.subject().contains("answered")));
    assert_eq!(report_to(&w, &jane)["outcome"], "bounced");
    let status = w.ok(&["status"]).stdout;
    assert!(status.contains("came back bounced"), "{status}");
}
