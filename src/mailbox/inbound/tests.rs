//! The reply rules of `core::inbound` on real-shaped messages (`tests/it/fixtures/mail/`), parsed
//! as fetched mail is: each test is named after the rule it shows.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::core::inbound::{
    AutoSignal, Context, Ignored, NamedIn, OpenInterview, OurSend, ReplyRule, Verdict, classify,
    company_domains,
};
use crate::core::{EmailAddress, Interview, MessageId};

const INTERVIEWS: &str = "\
- id: globex-backend
  company: Globex
  position: Backend Engineer
  start: 2026-11-03 14:00
  interviewers:
    - name: Jane Roe
      email: jane.roe@globex.example
      primary: true
    - name: Omar Haddad
      email: omar.haddad@globex.example
    - name: Lee Park
      email: lee.park.dev@gmail.com
- id: initech-data
  company: Initech
  position: Data Engineer
  start: 2026-11-10 10:00
  interviewers:
    - name: Klaus Müller-Weber
      email: k.weber@initech.example
";

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/mail")
        .join(name)
}

fn fixture(name: &str) -> InboundMessage {
    parse(&std::fs::read(fixture_path(name)).unwrap())
}

fn id(s: &str) -> MessageId {
    MessageId::from_header(s).unwrap()
}

/// The user's world for these fixtures: two open interviews and the ids we sent for Globex.
struct World {
    interviews: Vec<Interview>,
    ids: Vec<Vec<MessageId>>,
    domains: Vec<Vec<String>>,
    me: Vec<EmailAddress>,
    /// What we sent: the thank-you to Jane two days before the tests' now.
    sent: Vec<OurSend>,
}

impl World {
    fn new() -> Self {
        let interviews = crate::input::records::parse_interviews(
            INTERVIEWS,
            Path::new("/nonexistent/interviews/all.yaml"),
            chrono_tz::Europe::Berlin,
        )
        .unwrap();
        let ids = vec![
            vec![
                id("<followup.thank_you.7f3a9c1e@example.org>"),
                id("<followup.status_check.9b2d4f6a@example.org>"),
                id("<followup.status_check.c4e6a8b0@example.org>"),
            ],
            vec![],
        ];
        let domains = interviews.iter().map(company_domains).collect();
        let me = ["sam@example.org", "sam.rivera@example.net"]
            .map(|a| EmailAddress::parse(a).unwrap())
            .to_vec();
        let sent = vec![OurSend {
            interview: "globex-backend".into(),
            message_id: Some(id("<followup.thank_you.7f3a9c1e@example.org>")),
            to: "jane.roe@globex.example".into(),
            at: Utc.with_ymd_and_hms(2026, 11, 18, 9, 0, 0).unwrap(),
        }];
        Self {
            interviews,
            ids,
            domains,
            me,
            sent,
        }
    }

    fn classify(&self, msg: &InboundMessage) -> Verdict {
        let open: Vec<OpenInterview<'_>> = self
            .interviews
            .iter()
            .zip(&self.ids)
            .zip(&self.domains)
            .map(|((interview, our_ids), domains)| OpenInterview {
                interview,
                our_ids,
                domains,
            })
            .collect();
        let ctx = Context {
            me: &self.me,
            open: &open,
            sent: &self.sent,
        };
        classify(
            msg,
            &ctx,
            Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap(),
        )
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn a_reply_threaded_under_our_message_is_a_reply_to_its_interview() {
    let msg = fixture("threaded-reply.eml");
    assert_eq!(
        msg.subject,
        "Re: Thank you for the Backend Engineer interview"
    );
    assert!(msg.text.starts_with("Hi Sam,"), "{:?}", msg.text);
    let verdict = World::new().classify(&msg);
    assert_eq!(
        verdict,
        Verdict::Reply {
            interviews: vec!["globex-backend".into()],
            rule: ReplyRule::Threaded(id("followup.thank_you.7f3a9c1e@example.org")),
            rejection: None,
        }
    );
    assert!(
        verdict
            .to_string()
            .contains("answers our message <followup.thank_you.7f3a9c1e@example.org>"),
        "{verdict}"
    );
}

#[test]
fn a_reply_from_a_colleague_at_the_company_domain_is_a_reply() {
    let verdict = World::new().classify(&fixture("colleague-reply.eml"));
    assert_eq!(
        verdict,
        Verdict::Reply {
            interviews: vec!["globex-backend".into()],
            rule: ReplyRule::CompanyDomain("globex.example".into()),
            rejection: None,
        }
    );
    assert!(
        verdict
            .to_string()
            .contains("globex.example is the company's")
    );
}

#[test]
fn x_auto_response_suppress_alone_does_not_make_a_message_automatic() {
    let raw = std::fs::read(fixture_path("colleague-reply.eml")).unwrap();
    let mut with = b"X-Auto-Response-Suppress: All\n".to_vec();
    with.extend_from_slice(&raw);
    let verdict = World::new().classify(&parse(&with));
    assert!(matches!(verdict, Verdict::Reply { .. }), "{verdict}");
}

#[test]
fn an_ats_message_naming_the_company_is_a_reply_and_its_text_a_rejection() {
    let msg = fixture("ats-rejection.eml");
    // Sent by a machine, as every ATS message is: its own headers do not disqualify it.
    assert_eq!(msg.auto.auto_submitted.as_deref(), Some("auto-generated"));
    let verdict = World::new().classify(&msg);
    assert_eq!(
        verdict,
        Verdict::Reply {
            interviews: vec!["globex-backend".into()],
            rule: ReplyRule::Ats {
                domain: "greenhouse.io".into(),
                named_in: NamedIn::DisplayName,
            },
            rejection: Some("decided to move forward with other candidates"),
        }
    );
    assert!(
        verdict.to_string().contains("reads as a rejection"),
        "{verdict}"
    );
}

#[test]
fn an_ats_message_naming_no_open_company_is_not_a_reply() {
    let mut msg = fixture("ats-rejection.eml");
    msg.from.as_mut().unwrap().name = Some("Recruiting Team".into());
    msg.subject = "Your application for Backend Engineer at Globexico".into();
    assert_eq!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Unrelated)
    );
    msg.subject = "Your application at Globex".into();
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Reply {
            rule: ReplyRule::Ats {
                named_in: NamedIn::Subject,
                ..
            },
            ..
        }
    ));
}

#[test]
fn an_ats_mailing_list_is_still_automatic() {
    let mut msg = fixture("ats-rejection.eml");
    msg.auto.list_id = Some("<talent.greenhouse.io>".into());
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Automatic(AutoSignal::ListId(_)))
    ));
}

#[test]
fn the_users_own_auto_reply_is_no_follow_up() {
    let mut msg = fixture("own-followup-sent.eml");
    msg.auto.auto_submitted = Some("auto-replied".into());
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Automatic(_))
    ));
}

#[test]
fn an_ats_auto_reply_is_still_automatic() {
    let mut msg = fixture("ats-rejection.eml");
    msg.auto.auto_submitted = Some("auto-replied".into());
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Automatic(AutoSignal::AutoSubmitted(_)))
    ));
}

#[test]
fn an_out_of_office_holds_the_interviewer_until_the_day_after_the_return_date() {
    // Gmail's vacation responder: threaded under our message, yet never a reply.
    let msg = fixture("gmail-vacation.eml");
    let verdict = World::new().classify(&msg);
    assert_eq!(
        verdict,
        Verdict::OutOfOffice {
            interviews: vec!["globex-backend".into()],
            interviewer: "jane.roe@globex.example".into(),
            return_date: Some(day(2026, 12, 14)),
            until: day(2026, 12, 15),
            signal: AutoSignal::AutoSubmitted("auto-replied".into()),
        }
    );
    assert!(
        verdict.to_string().contains("waits until 2026-12-15"),
        "{verdict}"
    );
}

#[test]
fn an_exchange_automatic_reply_in_html_only_is_an_out_of_office_with_its_return_date() {
    let msg = fixture("exchange-autoreply.eml");
    assert!(msg.auto.null_return_path);
    assert!(msg.auto.exchange_generated.is_some());
    assert!(
        msg.text.contains("back on Monday 14 December"),
        "HTML reduced to text: {:?}",
        msg.text
    );
    let Verdict::OutOfOffice {
        interviewer,
        return_date,
        until,
        ..
    } = World::new().classify(&msg)
    else {
        panic!("not an out-of-office");
    };
    assert_eq!(interviewer, "omar.haddad@globex.example");
    assert_eq!(return_date, Some(day(2026, 12, 14)));
    assert_eq!(until, day(2026, 12, 15));
}

#[test]
fn the_users_own_follow_up_in_sent_counts_as_a_touch() {
    let verdict = World::new().classify(&fixture("own-followup-sent.eml"));
    assert_eq!(
        verdict,
        Verdict::ManualFollowUp {
            interviews: vec!["globex-backend".into()],
            interviewer: "jane.roe@globex.example".into(),
        }
    );
}

#[test]
fn our_own_message_seen_again_is_not_a_manual_follow_up() {
    let mut msg = fixture("own-followup-sent.eml");
    msg.message_id = Some(id("followup.thank_you.7f3a9c1e@example.org"));
    assert_eq!(World::new().classify(&msg), Verdict::Nothing(Ignored::Ours));
}

#[test]
fn mail_from_an_alias_of_the_user_is_the_users_own() {
    let mut msg = fixture("threaded-reply.eml");
    msg.from = Some(crate::core::inbound::Party::new(
        Some("Sam"),
        "Sam.Rivera@example.net",
    ));
    msg.to.clear();
    assert_eq!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::FromMe)
    );
}

#[test]
fn a_newsletter_from_the_company_is_automatic() {
    let msg = fixture("company-newsletter.eml");
    assert_eq!(msg.subject, "This month at Globex: new roles in Berlin");
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Automatic(_))
    ));
}

#[test]
fn a_list_id_alone_makes_a_message_automatic() {
    let mut msg = fixture("company-newsletter.eml");
    msg.auto.precedence = None;
    assert_eq!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Automatic(AutoSignal::ListId(
            "Globex Talent Community <talent-news.globex.example>".into()
        )))
    );
}

#[test]
fn a_forwarded_copy_is_not_a_reply() {
    // From the company's domain and naming our message in References: still only a copy.
    let msg = fixture("forwarded-copy.eml");
    assert_eq!(
        World::new().classify(&msg),
        Verdict::Nothing(Ignored::Forwarded)
    );
}

#[test]
fn a_reply_in_german_from_an_interviewer_is_a_reply() {
    let msg = fixture("german-reply.eml");
    assert_eq!(msg.subject, "AW: Vielen Dank für das Gespräch");
    assert_eq!(
        msg.from.as_ref().unwrap().name.as_deref(),
        Some("Klaus Müller-Weber")
    );
    assert_eq!(
        World::new().classify(&msg),
        Verdict::Reply {
            interviews: vec!["initech-data".into()],
            rule: ReplyRule::Interviewer("k.weber@initech.example".into()),
            rejection: None,
        }
    );
}

#[test]
fn a_header_with_invalid_utf8_still_parses_and_threads() {
    let msg = fixture("invalid-utf8-header.eml");
    assert!(msg.subject.contains("Entrevista"), "{:?}", msg.subject);
    assert_eq!(
        msg.from.as_ref().unwrap().address,
        "jose.perez@globex.example"
    );
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Reply {
            rule: ReplyRule::Threaded(_),
            ..
        }
    ));
}

#[test]
fn a_broken_encoded_word_and_broken_headers_are_kept_as_they_are() {
    let msg = fixture("broken-encoded-word.eml");
    assert!(msg.subject.contains("=?"), "kept raw: {:?}", msg.subject);
    assert_eq!(msg.date, None, "a nonsense date is no date");
    assert_eq!(msg.message_id, None, "an unclosed Message-ID is none");
    // The valid id of a half-broken References is still read.
    assert!(
        msg.references
            .contains(&id("followup.thank_you.7f3a9c1e@example.org")),
        "{:?}",
        msg.references
    );
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Reply {
            rule: ReplyRule::Threaded(_),
            ..
        }
    ));
}

#[test]
fn company_domains_are_the_interviewers_domains_without_public_providers() {
    let w = World::new();
    assert_eq!(w.domains[0], vec!["globex.example".to_string()]);
    assert_eq!(w.domains[1], vec!["initech.example".to_string()]);
}

#[test]
fn a_message_cut_at_the_fetch_prefix_still_parses() {
    // A text part, then an attachment far larger than the prefix, cut mid-base64.
    let header = b"From: Jane Roe <jane.roe@globex.example>\r\nTo: sam@example.org\r\n\
        Subject: Re: the deck\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n";
    let mut text = b"--b1\r\nContent-Type: text/plain\r\n\r\nHere is the deck.\r\n--b1\r\n\
        Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    while text.len() < 65536 {
        text.extend_from_slice(b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\r\n");
    }
    text.truncate(65536);
    let msg = parse_parts(header, &text);
    assert_eq!(msg.text.trim(), "Here is the deck.");
    assert!(matches!(
        World::new().classify(&msg),
        Verdict::Reply {
            rule: ReplyRule::Interviewer(_),
            ..
        }
    ));
}

#[test]
fn every_prefix_of_every_fixture_parses_without_panic() {
    for entry in std::fs::read_dir(fixture_path("")).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        for end in (0..raw.len()).step_by(7) {
            let msg = parse(&raw[..end]);
            assert!(!msg.subject.contains(['\r', '\n']));
            let _ = World::new().classify(&msg);
        }
    }
}

#[test]
fn the_text_kept_is_bounded() {
    let mut raw = b"From: a@globex.example\r\nSubject: long\r\n\r\n".to_vec();
    raw.extend(std::iter::repeat_n(b'x', MAX_TEXT_BYTES * 2));
    assert!(parse(&raw).text.len() <= MAX_TEXT_BYTES);
}

#[test]
fn what_the_command_rules_read_is_parsed_topmost_authentication_results_first() {
    let raw = b"Authentication-Results: mx.example.org; dmarc=fail header.from=example.org\r\n\
Received: from somewhere\r\n\
Authentication-Results: evil.example.net; dkim=pass header.d=example.org\r\n\
From: Sam <sam@example.org>, Mallory <mallory@example.net>\r\n\
Subject: Re: digest\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n\
<div>approve 1</div><blockquote>approve all</blockquote>\r\n";
    let msg = parse(raw);
    assert_eq!(msg.command.from_count, 2);
    assert_eq!(msg.command.authentication_results.len(), 2);
    assert!(msg.command.authentication_results[0].starts_with("mx.example.org"));
    assert!(
        msg.command
            .html
            .as_deref()
            .unwrap()
            .contains("<blockquote>")
    );
    let plain = parse(b"From: sam@example.org\r\nContent-Type: text/plain\r\n\r\napprove 1\r\n");
    assert_eq!(plain.command.from_count, 1);
    assert_eq!(plain.command.html, None, "a text part is read as it is");
}

// Mail that comes back (`tests/it/fixtures/bounces/`): each real shape read as what it is.

fn bounce(name: &str) -> InboundMessage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/bounces")
        .join(name);
    parse(&std::fs::read(path).unwrap())
}

/// The one recipient of a report, with its outcome and tie, or a panic saying what it was.
fn report_of(verdict: &Verdict) -> &crate::core::inbound::RecipientReport {
    match verdict {
        Verdict::DeliveryReport(r) if r.recipients.len() == 1 => &r.recipients[0],
        other => panic!("not a report of one recipient: {other:?}"),
    }
}

#[test]
fn a_hard_bounce_of_our_send_makes_the_address_undeliverable_in_every_shape() {
    use crate::core::inbound::{Outcome, ReportKind, Tie};
    let w = World::new();
    let ours = id("<followup.thank_you.7f3a9c1e@example.org>");
    let cases = [
        (
            "gmail-bounce.eml",
            ReportKind::Standard,
            Tie::ReturnedMessage(ours.clone()),
            "5.1.1",
        ),
        (
            "exchange-online-ndr.eml",
            ReportKind::Standard,
            Tie::ReturnedMessage(ours.clone()),
            "5.1.10",
        ),
        (
            "postfix-bounce.eml",
            ReportKind::Standard,
            Tie::ReturnedMessage(ours.clone()),
            "5.1.1",
        ),
        (
            "exim-bounce.eml",
            ReportKind::PlainText,
            Tie::Threaded(ours.clone()),
            "5.1.1",
        ),
        (
            "yahoo-bounce.eml",
            ReportKind::PlainText,
            Tie::IdInText(ours.clone()),
            "5.1.1",
        ),
        (
            "qmail-bounce.eml",
            ReportKind::PlainText,
            Tie::IdInText(ours.clone()),
            "5.1.1",
        ),
    ];
    for (name, kind, tie, code) in cases {
        let verdict = w.classify(&bounce(name));
        let Verdict::DeliveryReport(report) = &verdict else {
            panic!("{name}: {verdict:?}");
        };
        assert_eq!(report.kind, kind, "{name}");
        let r = report_of(&verdict);
        assert_eq!(r.outcome, Outcome::Undeliverable, "{name}: {r:?}");
        assert_eq!(r.tie.as_ref(), Some(&tie), "{name}");
        assert_eq!(r.interviews, ["globex-backend"], "{name}");
        assert_eq!(r.ours.as_deref(), Some("jane.roe@globex.example"), "{name}");
        assert_eq!(
            r.status.map(|s| s.to_string()).as_deref(),
            Some(code),
            "{name}"
        );
    }
}

#[test]
fn the_gmail_bounce_reads_its_human_part_from_multipart_related() {
    let m = bounce("gmail-bounce.eml");
    assert!(m.text.contains("** Address not found **"), "{}", m.text);
    assert_eq!(m.report.report_type.as_deref(), Some("delivery-status"));
    assert!(m.report.delivery_status.is_some());
    assert_eq!(
        m.report
            .returned
            .as_ref()
            .and_then(|r| r.message_id.clone()),
        Some(id("<followup.thank_you.7f3a9c1e@example.org>"))
    );
}

#[test]
fn a_delay_warning_is_recorded_only() {
    use crate::core::inbound::Outcome;
    let w = World::new();
    let verdict = w.classify(&bounce("postfix-delay.eml"));
    let r = report_of(&verdict);
    assert_eq!(r.outcome, Outcome::Delayed);
    assert_eq!(
        r.interviews,
        ["globex-backend"],
        "tied by its returned headers"
    );
    assert!(!r.outcome.is_failure());
}

#[test]
fn a_read_receipt_is_recorded_only_and_never_a_reply() {
    let w = World::new();
    assert_eq!(
        w.classify(&bounce("read-receipt.eml")),
        Verdict::ReadReceipt {
            interviews: vec!["globex-backend".into()]
        }
    );
}

#[test]
fn an_icloud_vacation_reply_is_an_out_of_office() {
    let w = World::new();
    match w.classify(&bounce("icloud-vacation.eml")) {
        Verdict::OutOfOffice {
            interviews,
            signal,
            return_date,
            ..
        } => {
            assert_eq!(interviews, ["globex-backend"]);
            assert_eq!(signal, AutoSignal::AppleVacation);
            assert_eq!(return_date, Some(day(2026, 11, 16)));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_bounce_forwarded_inside_another_message_is_not_a_report() {
    let w = World::new();
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/bounces/postfix-bounce.eml"),
    )
    .unwrap();
    let text = String::from_utf8(raw).unwrap().replace(
        "Subject: Undelivered Mail Returned to Sender",
        "Subject: Fwd: Undelivered Mail Returned to Sender",
    );
    let verdict = w.classify(&parse(text.as_bytes()));
    assert!(
        !matches!(verdict, Verdict::DeliveryReport(_) | Verdict::Reply { .. }),
        "{verdict:?}"
    );
}

#[test]
fn a_report_naming_a_thousand_recipients_is_read_to_the_cap() {
    let mut raw = String::from(
        "From: MAILER-DAEMON@mail.example.org\r\nSubject: Undelivered\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\n\
         Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n",
    );
    for i in 0..1000 {
        raw.push_str(&format!(
            "Final-Recipient: rfc822; u{i}@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    let w = World::new();
    let Verdict::DeliveryReport(r) = w.classify(&parse(raw.as_bytes())) else {
        panic!("not a report");
    };
    assert_eq!(
        r.recipients.len(),
        crate::core::inbound::report::MAX_RECIPIENTS
    );
    assert!(r.recipients.iter().all(|r| r.tie.is_none()));
}

#[test]
fn out_of_office_subjects_are_read_in_more_languages() {
    let w = World::new();
    for subject in [
        "Autosvar: Thank you",
        "Automatisk svar: Thank you",
        "Automatisch antwoord: Thank you",
        "Automatische Antwort: Thank you",
        "Risposta automatica: Thank you",
        "Fuori sede",
        "Respuesta automática: Thank you",
        "Frånvaro",
        "Resposta automática: Thank you",
        "Automaattinen vastaus: Thank you",
        "Odpowiedź automatyczna: Thank you",
        "自動応答: Thank you",
    ] {
        let m = InboundMessage {
            from: Some(crate::core::inbound::Party::new(
                None,
                "jane.roe@globex.example",
            )),
            subject: subject.into(),
            text: "Away.".into(),
            ..InboundMessage::default()
        };
        assert!(
            matches!(w.classify(&m), Verdict::OutOfOffice { .. }),
            "{subject}"
        );
    }
}

#[test]
fn an_exchange_rule_reply_and_a_system_sender_are_automatic() {
    let w = World::new();
    let mut m = InboundMessage {
        from: Some(crate::core::inbound::Party::new(
            None,
            "jane.roe@globex.example",
        )),
        subject: "Re: Thank you".into(),
        text: "I am on leave.".into(),
        ..InboundMessage::default()
    };
    m.auto.exchange_rules_loop = Some("jane.roe@globex.example".into());
    m.auto.auto_response_suppress = Some("All".into());
    assert!(matches!(w.classify(&m), Verdict::OutOfOffice { .. }));
    for sender in [
        "no-reply@globex.example",
        "noreply@globex.example",
        "do-not-reply@globex.example",
        "postmaster@globex.example",
    ] {
        let m = InboundMessage {
            from: Some(crate::core::inbound::Party::new(None, sender)),
            subject: "Your visitor badge".into(),
            text: "Hello".into(),
            ..InboundMessage::default()
        };
        assert!(
            matches!(
                w.classify(&m),
                Verdict::Nothing(Ignored::Automatic(AutoSignal::SystemSender(_)))
            ),
            "{sender}"
        );
    }
}

#[test]
fn a_report_cut_off_in_its_status_part_is_still_read() {
    use crate::core::inbound::Outcome;
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/bounces/postfix-bounce.eml"),
    )
    .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let cut = text.find("Remote-MTA:").unwrap();
    let w = World::new();
    let verdict = w.classify(&parse(&text.as_bytes()[..cut]));
    let r = report_of(&verdict);
    assert_eq!(r.outcome, Outcome::Undeliverable, "{r:?}");
    // Cut before any recipient: a report of nobody, which changes nothing.
    let cut = text.find("Final-Recipient:").unwrap();
    let verdict = w.classify(&parse(&text.as_bytes()[..cut]));
    assert!(matches!(verdict, Verdict::DeliveryReport(_)), "{verdict:?}");
}

#[test]
fn a_fifty_megabyte_returned_message_is_read_from_the_fetched_prefix() {
    use crate::core::inbound::Outcome;
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/bounces/postfix-bounce.eml"),
    )
    .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let big = "A".repeat(50 * 1024 * 1024);
    let text = text.replace(
        "Thank you for taking the time to talk with me on Tuesday.",
        &big,
    );
    let (header, body) = text.split_once("\n\n").unwrap();
    let prefix = &body.as_bytes()[..crate::mailbox::imap::TEXT_PREFIX_BYTES as usize];
    let m = parse_parts(header.as_bytes(), prefix);
    assert!(m.report.more_text.len() <= MAX_MORE_TEXT_BYTES);
    let w = World::new();
    let verdict = w.classify(&m);
    assert_eq!(report_of(&verdict).outcome, Outcome::Undeliverable);
    // The whole message too, as a test or a future fetch might hand it over.
    let m = parse(text.as_bytes());
    assert!(m.report.more_text.len() <= MAX_MORE_TEXT_BYTES);
    assert!(m.text.len() <= MAX_TEXT_BYTES);
    assert_eq!(report_of(&w.classify(&m)).outcome, Outcome::Undeliverable);
}
