//! The block parser of `message/delivery-status`, the outcome rules and the tie to our sends;
//! each test is named after the rule it shows.

use chrono::{TimeZone, Utc};

use super::*;
use crate::core::inbound::AutoHeaders;

fn code(s: &str) -> Option<EnhancedStatus> {
    EnhancedStatus::parse(s)
}

fn id(s: &str) -> MessageId {
    MessageId::from_header(s).unwrap()
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap()
}

const POSTFIX_BLOCKS: &str = "Reporting-MTA: dns; mail.example.org\n\
X-Postfix-Queue-ID: 4F1A2B3C4D\n\
Arrival-Date: Thu,  5 Nov 2026 09:12:40 +0100 (CET)\n\
\n\
Final-Recipient: rfc822; jane.roe@globex.example\n\
Original-Recipient: rfc822;jane.roe@globex.example\n\
Action: failed\n\
Status: 5.1.1\n\
Remote-MTA: dns; mx.globex.example\n\
Diagnostic-Code: smtp; 550 5.1.1 <jane.roe@globex.example>: Recipient address\n\
\x20   rejected: User unknown in virtual mailbox table\n";

#[test]
fn the_block_parser_reads_crlf_lf_and_cr_line_ends() {
    for ending in ["\n", "\r\n", "\r"] {
        let raw = POSTFIX_BLOCKS.replace('\n', ending);
        let blocks = parse_delivery_status(raw.as_bytes());
        assert_eq!(blocks.len(), 1, "{ending:?}");
        let b = &blocks[0];
        assert_eq!(
            b.final_recipient.as_deref(),
            Some("jane.roe@globex.example")
        );
        assert_eq!(b.action, Some(Action::Failed));
        assert_eq!(b.status, code("5.1.1"));
        assert!(
            b.diagnostic
                .as_deref()
                .unwrap()
                .ends_with("rejected: User unknown in virtual mailbox table"),
            "folded lines are one: {:?}",
            b.diagnostic
        );
    }
}

#[test]
fn the_block_parser_reads_recipients_without_a_blank_line_before_the_first_block() {
    let raw = "Reporting-MTA: dns; mx.example.net\n\
Final-Recipient: rfc822; a@example.com\n\
Action: failed\n\
Status: 5.1.1\n\
Final-Recipient: rfc822; b@example.com\n\
Action: delayed\n\
Status: 4.4.1\n";
    let blocks = parse_delivery_status(raw.as_bytes());
    let got: Vec<_> = blocks
        .iter()
        .map(|b| (b.final_recipient.clone().unwrap(), b.action, b.status))
        .collect();
    assert_eq!(
        got,
        [
            ("a@example.com".into(), Some(Action::Failed), code("5.1.1")),
            ("b@example.com".into(), Some(Action::Delayed), code("4.4.1")),
        ]
    );
}

#[test]
fn the_block_parser_reads_lenient_actions_comments_and_upper_case_types() {
    let cases = [
        ("Action: failure", Some(Action::Failed)),
        (
            "Action: failed (bad destination mailbox)",
            Some(Action::Failed),
        ),
        ("ACTION: FAILED", Some(Action::Failed)),
        ("Action: (a comment) delayed", Some(Action::Delayed)),
        ("Action: relayed", Some(Action::Relayed)),
        ("Action: expanded", Some(Action::Expanded)),
        ("Action: delivered", Some(Action::Delivered)),
        ("Action: exploded", None),
    ];
    for (line, want) in cases {
        let raw = format!("Final-Recipient: RFC822; <Jane.Roe@Globex.example>\n{line}\n");
        let blocks = parse_delivery_status(raw.as_bytes());
        assert_eq!(blocks[0].action, want, "{line}");
        assert_eq!(
            blocks[0].final_recipient.as_deref(),
            Some("jane.roe@globex.example")
        );
    }
}

#[test]
fn the_code_is_taken_from_the_diagnostic_when_status_is_missing_or_5_0_0() {
    let cases = [
        (
            "Status: 5.0.0\nDiagnostic-Code: smtp; 550 5.1.1 user unknown",
            "5.1.1",
        ),
        ("Diagnostic-Code: smtp; 550 5.2.2 mailbox full", "5.2.2"),
        (
            "Status: 5.0.0\nDiagnostic-Code: X-Postal; 550 unknown",
            "5.0.0",
        ),
        (
            "Status: 5.7.1 (delivery not authorized)\nDiagnostic-Code: smtp; 550 5.1.1 x",
            "5.7.1",
        ),
    ];
    for (fields, want) in cases {
        let raw = format!("Final-Recipient: rfc822; a@example.com\nAction: failed\n{fields}\n");
        let blocks = parse_delivery_status(raw.as_bytes());
        assert_eq!(blocks[0].status, code(want), "{fields}");
    }
    // No action: the code's class tells.
    let raw = "Final-Recipient: rfc822; a@example.com\nStatus: 4.4.7\n";
    assert_eq!(
        parse_delivery_status(raw.as_bytes())[0].action,
        Some(Action::Delayed)
    );
}

#[test]
fn the_block_parser_is_total_and_bounded() {
    assert!(parse_delivery_status(b"").is_empty());
    assert!(parse_delivery_status(b"\r\n\r\n\r\n").is_empty());
    assert!(parse_delivery_status(b"Reporting-MTA: dns; x\n").is_empty());
    assert!(parse_delivery_status(&[0xff, 0xfe, b':', 0, b'\n', b' ', 0x80]).is_empty());
    let invalid = b"Final-Recipient: rfc822; a@example.com\nAction: failed\nDiagnostic-Code: smtp; 550 \xff\xfe no\n";
    assert_eq!(parse_delivery_status(invalid).len(), 1);
    let mut thousand = String::new();
    for i in 0..1000 {
        thousand.push_str(&format!(
            "Final-Recipient: rfc822; user{i}@example.com\nAction: failed\nStatus: 5.1.1\n\n"
        ));
    }
    assert_eq!(
        parse_delivery_status(thousand.as_bytes()).len(),
        MAX_RECIPIENTS
    );
    let long = format!(
        "Final-Recipient: rfc822; a@example.com\nDiagnostic-Code: smtp; {}\n",
        "x".repeat(MAX_STATUS_BYTES * 2)
    );
    let blocks = parse_delivery_status(long.as_bytes());
    assert!(blocks[0].diagnostic.as_ref().unwrap().chars().count() <= 301);
}

#[test]
fn a_failure_that_names_a_dead_address_makes_it_undeliverable() {
    let failed = Some(Action::Failed);
    let cases = [
        ("5.1.1", ""),
        ("5.1.2", ""),
        ("5.1.3", ""),
        ("5.1.6", ""),
        ("5.1.10", ""),
        ("5.0.0", "550 User unknown"),
        ("5.0.0", "550 No such user here"),
        ("5.1.0", "Recipient not found by SMTP address lookup"),
        ("5.4.4", "Host not found: NXDOMAIN"),
        (
            "5.0.0",
            "The email account that you tried to reach does not exist.",
        ),
        ("5.0.0", "Requested action not taken: mailbox unavailable"),
    ];
    for (c, words) in cases {
        assert_eq!(
            Outcome::of(failed, code(c), words),
            Outcome::Undeliverable,
            "{c} {words}"
        );
    }
}

#[test]
fn any_other_failure_is_a_bounce_and_the_address_stays() {
    let failed = Some(Action::Failed);
    let cases = [
        ("5.7.1", "Message rejected as spam"),
        ("5.7.26", "Unauthenticated email is not accepted"),
        ("5.2.2", "Mailbox full"),
        ("5.3.4", "Message too big for system"),
        ("4.4.7", "Delivery expired (message too old)"),
        ("5.0.0", "Message rejected by policy"),
        ("5.4.4", "Unable to route"),
    ];
    for (c, words) in cases {
        assert_eq!(
            Outcome::of(failed, code(c), words),
            Outcome::Bounced,
            "{c} {words}"
        );
    }
}

#[test]
fn delays_deliveries_relays_and_expansions_are_recorded_only() {
    for (action, want) in [
        (Some(Action::Delayed), Outcome::Delayed),
        (None, Outcome::Delayed),
        (Some(Action::Delivered), Outcome::Delivered),
        (Some(Action::Relayed), Outcome::Delivered),
        (Some(Action::Expanded), Outcome::Delivered),
    ] {
        let got = Outcome::of(action, code("5.1.1"), "user unknown");
        assert_eq!(got, want, "{action:?}");
        assert!(!got.is_failure());
    }
}

fn sends() -> Vec<OurSend> {
    vec![
        OurSend {
            interview: "globex-backend".into(),
            message_id: Some(id("<followup.thank_you.7f3a9c1e@example.org>")),
            to: "jane.roe@globex.example".into(),
            at: received() - Duration::days(2),
        },
        OurSend {
            interview: "initech-data".into(),
            message_id: Some(id("<followup.thank_you.0a1b2c3d@example.org>")),
            to: "k.weber@initech.example".into(),
            at: received() - Duration::days(40),
        },
    ]
}

fn dsn(blocks: &str) -> InboundMessage {
    InboundMessage {
        from: Some(Party::new(
            Some("Mail Delivery System"),
            "MAILER-DAEMON@mail.example.org",
        )),
        subject: "Undelivered Mail Returned to Sender".into(),
        report: ReportParts {
            report_type: Some("delivery-status".into()),
            delivery_status: Some(blocks.as_bytes().to_vec()),
            ..ReportParts::default()
        },
        ..InboundMessage::default()
    }
}

#[test]
fn a_report_is_tied_by_the_returned_messages_id_first() {
    let mut m = dsn(POSTFIX_BLOCKS);
    m.report.returned = Some(Returned {
        message_id: Some(id("<followup.thank_you.7f3a9c1e@example.org>")),
        to: vec![],
    });
    // A References naming another of ours loses to the returned message.
    m.references = vec![id("<followup.thank_you.0a1b2c3d@example.org>")];
    let r = read_report(&m, &sends(), received()).unwrap();
    let one = &r.recipients[0];
    assert_eq!(
        one.tie,
        Some(Tie::ReturnedMessage(id(
            "<followup.thank_you.7f3a9c1e@example.org>"
        )))
    );
    assert_eq!(one.interviews, ["globex-backend"]);
    assert_eq!(one.outcome, Outcome::Undeliverable);
    assert_eq!(one.ours.as_deref(), Some("jane.roe@globex.example"));
}

#[test]
fn a_report_is_tied_by_x_original_message_id_threading_or_our_id_in_the_text() {
    let ours = id("<followup.thank_you.7f3a9c1e@example.org>");
    let mut m = dsn(POSTFIX_BLOCKS);
    m.report.x_original_message_id = Some(ours.clone());
    let r = read_report(&m, &sends(), received()).unwrap();
    assert_eq!(
        r.recipients[0].tie,
        Some(Tie::OriginalMessageId(ours.clone()))
    );

    let mut m = dsn(POSTFIX_BLOCKS);
    m.in_reply_to = vec![ours.clone()];
    let r = read_report(&m, &sends(), received()).unwrap();
    assert_eq!(r.recipients[0].tie, Some(Tie::Threaded(ours.clone())));

    let mut m = dsn(POSTFIX_BLOCKS);
    m.report.more_text =
        "Message-ID: <followup.thank_you.7f3a9c1e@example.org>\nSubject: Thank you".into();
    let r = read_report(&m, &sends(), received()).unwrap();
    assert_eq!(r.recipients[0].tie, Some(Tie::IdInText(ours)));
}

#[test]
fn a_report_is_tied_by_a_recipient_we_wrote_to_in_the_last_30_days_only() {
    let r = read_report(&dsn(POSTFIX_BLOCKS), &sends(), received()).unwrap();
    assert_eq!(
        r.recipients[0].tie,
        Some(Tie::Recipient("jane.roe@globex.example".into()))
    );
    // Initech's send is 40 days old: a report about k.weber is tied to nothing.
    let old = POSTFIX_BLOCKS.replace("jane.roe@globex.example", "k.weber@initech.example");
    let r = read_report(&dsn(&old), &sends(), received()).unwrap();
    assert_eq!(r.recipients[0].tie, None);
    assert!(r.recipients[0].interviews.is_empty());
    assert_eq!(r.recipients[0].ours, None);
}

#[test]
fn a_report_about_the_users_other_mail_concerns_no_interview() {
    let ours = read_report(&dsn(POSTFIX_BLOCKS), &sends(), received()).unwrap();
    assert!(ours.concerns_us());
    let elsewhere = POSTFIX_BLOCKS.replace("jane.roe@globex.example", "friend@example.net");
    let other = read_report(&dsn(&elsewhere), &sends(), received()).unwrap();
    assert!(!other.concerns_us());
}

#[test]
fn a_report_tied_by_id_that_names_a_rewritten_address_concerns_the_address_we_sent_to() {
    let blocks = POSTFIX_BLOCKS.replace("jane.roe@globex.example", "jroe@mailhost.globex.example");
    let mut m = dsn(&blocks);
    m.report.x_original_message_id = Some(id("<followup.thank_you.7f3a9c1e@example.org>"));
    let r = read_report(&m, &sends(), received()).unwrap();
    assert_eq!(r.recipients[0].address, "jroe@mailhost.globex.example");
    assert_eq!(
        r.recipients[0].ours.as_deref(),
        Some("jane.roe@globex.example")
    );
}

#[test]
fn a_report_with_nothing_in_it_is_still_a_report_and_changes_nothing() {
    let r = read_report(&dsn(""), &sends(), received()).unwrap();
    assert_eq!(r.recipients.len(), 1);
    assert!(!r.recipients[0].outcome.is_failure());
}

fn plain(from: &str, subject: &str, text: &str) -> InboundMessage {
    InboundMessage {
        from: Some(Party::new(None, from)),
        subject: subject.into(),
        text: text.into(),
        ..InboundMessage::default()
    }
}

#[test]
fn a_plain_text_bounce_from_a_mail_system_is_a_report() {
    let qmail = plain(
        "MAILER-DAEMON@mx.example.net",
        "failure notice",
        "Hi. This is the qmail-send program at mx.example.net.\n\
         I'm afraid I wasn't able to deliver your message to the following addresses.\n\
         This is a permanent error; I've given up. Sorry it didn't work out.\n\n\
         <jane.roe@globex.example>:\n\
         Sorry, no mailbox here by that name. (#5.1.1)\n\n\
         --- Below this line is a copy of the message.\n\n\
         From: sam@example.org\nTo: jane.roe@globex.example\n",
    );
    let r = read_report(&qmail, &sends(), received()).unwrap();
    assert_eq!(r.kind, ReportKind::PlainText);
    assert_eq!(r.recipients.len(), 1, "{r:?}");
    assert_eq!(r.recipients[0].address, "jane.roe@globex.example");
    assert_eq!(r.recipients[0].outcome, Outcome::Undeliverable);
}

#[test]
fn a_plain_text_warning_is_a_delay() {
    let warning = plain(
        "postmaster@mx.example.net",
        "Warning: message delayed",
        "This is a warning only: you do not need to resend your message.\n\
         Delivery to <jane.roe@globex.example> has been delayed; it will be retried.\n\
         451 4.4.1 connection timed out\n",
    );
    let r = read_report(&warning, &sends(), received()).unwrap();
    assert_eq!(r.recipients[0].outcome, Outcome::Delayed);
}

#[test]
fn a_person_or_a_mail_system_without_bounce_words_is_no_report() {
    let person = plain(
        "jane.roe@globex.example",
        "Re: thanks",
        "Your message could not be delivered, they said; I got it though.",
    );
    assert!(read_report(&person, &sends(), received()).is_none());
    let notice = plain(
        "postmaster@example.net",
        "Your quota",
        "Your mailbox is 80% full.",
    );
    assert!(read_report(&notice, &sends(), received()).is_none());
    let mut null_sender = plain("jane.roe@globex.example", "Out of office", "I am away.");
    null_sender.auto = AutoHeaders {
        null_return_path: true,
        ..AutoHeaders::default()
    };
    assert!(read_report(&null_sender, &sends(), received()).is_none());
}

#[test]
fn a_bounce_naming_the_users_own_address_marks_nothing_of_theirs() {
    use crate::core::EmailAddress;
    use crate::core::inbound::{Context, Verdict, classify};
    let me = [EmailAddress::parse("sam@example.org").unwrap()];
    let mut sent = sends();
    sent.push(OurSend {
        interview: "globex-backend".into(),
        message_id: None,
        to: "sam@example.org".into(),
        at: received() - Duration::days(1),
    });
    let blocks = POSTFIX_BLOCKS.replace("jane.roe@globex.example", "sam@example.org");
    let ctx = Context {
        me: &me,
        open: &[],
        sent: &sent,
    };
    let Verdict::DeliveryReport(r) = classify(&dsn(&blocks), &ctx, received()) else {
        panic!("not a report");
    };
    assert_eq!(r.recipients[0].ours, None);
    assert!(r.recipients[0].interviews.is_empty());
}
