//! The rules on hand-made values; `mailbox::inbound`'s tests run them on real-shaped messages.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;
use crate::core::model::{Interviewer, Status};

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn interview(id: &str, company: &str, emails: &[&str]) -> Interview {
    let start = Utc.with_ymd_and_hms(2026, 11, 3, 13, 0, 0).unwrap();
    Interview {
        id: id.into(),
        company: company.into(),
        position: "Backend Engineer".into(),
        local_start: start.naive_utc(),
        start,
        end: start + chrono::Duration::hours(1),
        timezone: chrono_tz::UTC,
        interviewers: emails
            .iter()
            .map(|e| Interviewer {
                name: e.split('@').next().unwrap().into(),
                title: None,
                email: Some(EmailAddress::parse(e).unwrap()),
                greeting: None,
                primary: false,
            })
            .collect(),
        decision_by: None,
        status: Status::Waiting,
        status_on: None,
        notes: BTreeMap::new(),
        attachments: Vec::new(),
        domains: Vec::new(),
        source: PathBuf::from("/nonexistent/interviews/x.yaml"),
    }
}

fn msg(from: &str, subject: &str, text: &str) -> InboundMessage {
    InboundMessage {
        from: Some(Party::new(None, from)),
        subject: subject.into(),
        text: text.into(),
        date: Some(
            FixedOffset::east_opt(3600)
                .unwrap()
                .with_ymd_and_hms(2026, 11, 20, 9, 0, 0)
                .unwrap(),
        ),
        ..Default::default()
    }
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 1).unwrap()
}

fn classify_one(iv: &Interview, m: &InboundMessage) -> Verdict {
    let domains = company_domains(iv);
    let ids = [MessageId::from_header("<ours.1@example.org>").unwrap()];
    let open = [OpenInterview {
        interview: iv,
        our_ids: &ids,
        domains: &domains,
    }];
    let me = [EmailAddress::parse("sam@example.org").unwrap()];
    classify(
        m,
        &Context {
            me: &me,
            open: &open,
            sent: &[],
        },
        received(),
    )
}

#[test]
fn return_dates_are_read_in_their_common_english_forms() {
    let sent = day(2026, 11, 20);
    let cases = [
        ("I am back on Monday 14 December.", day(2026, 12, 14)),
        ("back on Monday, December 14th", day(2026, 12, 14)),
        (
            "I'm out of the office until 12/14 with limited access",
            day(2026, 12, 14),
        ),
        ("returning 2026-12-14", day(2026, 12, 14)),
        ("I will return on 3rd of December", day(2026, 12, 3)),
        ("out until Dec. 1, 2026", day(2026, 12, 1)),
        ("away through 11/30/26", day(2026, 11, 30)),
        ("back in the office on Jan 4", day(2027, 1, 4)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_return_date(text, sent), Some(want), "{text}");
    }
}

#[test]
fn return_dates_are_read_in_german_and_french() {
    let sent = day(2026, 11, 20);
    let cases = [
        ("Ich bin bis zum 14.12. nicht im Büro.", day(2026, 12, 14)),
        (
            "Ab dem 15. Dezember bin ich wieder erreichbar.",
            day(2026, 12, 15),
        ),
        (
            "Ich bin bis einschließlich 4.12.2026 abwesend",
            day(2026, 12, 4),
        ),
        ("zurück am Montag, 7. Dezember", day(2026, 12, 7)),
        ("Je suis absent jusqu'au 14 décembre.", day(2026, 12, 14)),
        ("Je suis absente jusqu’au 03/12.", day(2026, 12, 3)),
        ("de retour le lundi 7 décembre", day(2026, 12, 7)),
    ];
    for (text, want) in cases {
        assert_eq!(parse_return_date(text, sent), Some(want), "{text}");
    }
}

#[test]
fn a_date_not_announced_as_a_return_is_not_one() {
    let sent = day(2026, 11, 20);
    for text in [
        "Thanks for your message of 3 December.",
        "I am out of the office until further notice.",
        "Feedback on 12/14 is welcome",
        "",
    ] {
        assert_eq!(parse_return_date(text, sent), None, "{text}");
    }
}

#[test]
fn an_out_of_office_hold_is_capped_at_thirty_days() {
    let sent = day(2026, 11, 20);
    assert_eq!(
        out_of_office_hold("back on 2027-03-01", sent),
        (Some(day(2027, 3, 1)), day(2026, 12, 20))
    );
}

#[test]
fn an_out_of_office_without_a_date_holds_seven_days() {
    let sent = day(2026, 11, 20);
    assert_eq!(
        out_of_office_hold("I am on vacation.", sent),
        (None, day(2026, 11, 27))
    );
    // A return date already past (a responder left on too long): as if none were given.
    assert_eq!(
        out_of_office_hold("back on 16 November", sent),
        (Some(day(2026, 11, 16)), day(2026, 11, 27))
    );
}

#[test]
fn an_out_of_office_from_an_interviewer_takes_its_date_from_the_message() {
    let iv = interview("globex", "Globex", &["jane@globex.example"]);
    let mut m = msg(
        "Jane@Globex.example",
        "Out of Office: Thank you",
        "I am out of the office until 12/14.",
    );
    m.auto.auto_submitted = Some("auto-replied".into());
    match classify_one(&iv, &m) {
        Verdict::OutOfOffice {
            interviewer,
            return_date,
            until,
            ..
        } => {
            assert_eq!(interviewer, "jane@globex.example");
            assert_eq!(return_date, Some(day(2026, 12, 14)));
            assert_eq!(until, day(2026, 12, 15));
        }
        other => panic!("{other}"),
    }
    // Without a Date header, the day it arrived.
    m.date = None;
    m.text = "I am on leave.".into();
    assert!(matches!(
        classify_one(&iv, &m),
        Verdict::OutOfOffice { until, .. } if until == day(2026, 11, 27)
    ));
}

#[test]
fn an_out_of_office_from_someone_else_is_only_automatic() {
    let iv = interview("globex", "Globex", &["jane@globex.example"]);
    let mut m = msg(
        "hr@globex.example",
        "Automatic reply: hello",
        "Out of office.",
    );
    m.auto.auto_submitted = Some("auto-replied".into());
    assert!(matches!(
        classify_one(&iv, &m),
        Verdict::Nothing(Ignored::Automatic(_))
    ));
}

#[test]
fn each_automatic_signal_makes_a_message_automatic() {
    let base = msg("jane@globex.example", "Your ticket", "Received.");
    type SetHeader = fn(&mut AutoHeaders);
    let set: [(SetHeader, AutoSignal); 7] = [
        (
            |a| a.auto_submitted = Some("auto-generated".into()),
            AutoSignal::AutoSubmitted("auto-generated".into()),
        ),
        (
            |a| a.x_autoreply = Some("yes".into()),
            AutoSignal::XAutoreply,
        ),
        (
            |a| a.x_autorespond = Some("yes".into()),
            AutoSignal::XAutorespond,
        ),
        (
            |a| a.precedence = Some("Junk".into()),
            AutoSignal::Precedence("junk".into()),
        ),
        (|a| a.null_return_path = true, AutoSignal::NullReturnPath),
        (
            |a| a.exchange_generated = Some("Mailbox Rules Agent".into()),
            AutoSignal::ExchangeGenerated,
        ),
        (
            |a| a.list_id = Some("<news.globex.example>".into()),
            AutoSignal::ListId("<news.globex.example>".into()),
        ),
    ];
    for (set, want) in set {
        let mut m = base.clone();
        set(&mut m.auto);
        assert_eq!(automatic_signal(&m), Some(want));
    }
    let mut m = base.clone();
    m.subject = "Abwesenheitsnotiz: Ihre Nachricht".into();
    assert_eq!(
        automatic_signal(&m),
        Some(AutoSignal::OutOfOfficeSubject("abwesenheitsnotiz"))
    );
}

#[test]
fn auto_submitted_no_and_ordinary_precedence_are_a_persons_mail() {
    let mut m = msg("jane@globex.example", "Re: next steps", "See you.");
    m.auto.auto_submitted = Some("no".into());
    m.auto.precedence = Some("first-class".into());
    assert_eq!(automatic_signal(&m), None);
}

#[test]
fn a_rejection_is_read_in_the_reply_not_in_what_it_quotes() {
    let iv = interview("globex", "Globex", &["jane@globex.example"]);
    let quoted = msg(
        "jane@globex.example",
        "Re: hello",
        "Good news, see below.\n\nOn Tue, Nov 3, 2026 Sam wrote:\n> not moving forward",
    );
    assert!(matches!(
        classify_one(&iv, &quoted),
        Verdict::Reply {
            rejection: None,
            ..
        }
    ));
    let wrapped = msg(
        "jane@globex.example",
        "Re: hello",
        "Unfortunately the\nposition has   been filled.",
    );
    assert!(matches!(
        classify_one(&iv, &wrapped),
        Verdict::Reply {
            rejection: Some("position has been filled"),
            ..
        }
    ));
}

#[test]
fn a_reply_to_a_forward_is_not_a_forwarded_copy() {
    let iv = interview("globex", "Globex", &["jane@globex.example"]);
    let m = msg("jane@globex.example", "Re: Fwd: my portfolio", "Thanks!");
    assert!(matches!(classify_one(&iv, &m), Verdict::Reply { .. }));
    let m = msg("jane@globex.example", "WG: my portfolio", "FYI");
    assert_eq!(classify_one(&iv, &m), Verdict::Nothing(Ignored::Forwarded));
}

#[test]
fn a_subdomain_of_a_company_domain_is_the_company() {
    let iv = interview("globex", "Globex", &["jane@globex.example"]);
    let m = msg("ops@eu.globex.example", "Hello", "Hi");
    assert!(matches!(
        classify_one(&iv, &m),
        Verdict::Reply {
            rule: ReplyRule::CompanyDomain(_),
            ..
        }
    ));
    let m = msg("ops@notglobex.example", "Hello", "Hi");
    assert_eq!(classify_one(&iv, &m), Verdict::Nothing(Ignored::Unrelated));
}

#[test]
fn a_sender_at_a_public_provider_is_matched_as_an_interviewer_only() {
    let iv = interview("globex", "Globex", &["jane.roe@gmail.com"]);
    assert!(company_domains(&iv).is_empty());
    let m = msg("someone.else@gmail.com", "Hello", "Hi");
    assert_eq!(classify_one(&iv, &m), Verdict::Nothing(Ignored::Unrelated));
    let m = msg("Jane.Roe@gmail.com", "Hello", "Hi");
    assert!(matches!(
        classify_one(&iv, &m),
        Verdict::Reply {
            rule: ReplyRule::Interviewer(_),
            ..
        }
    ));
}

#[test]
fn reply_to_counts_as_the_sender() {
    let iv = interview("globex", "Globex", &["jane@globex.example"]);
    let mut m = msg("calendar@scheduler.example", "Interview follow-up", "Hi");
    m.reply_to = vec![Party::new(Some("Jane"), "jane@globex.example")];
    assert!(matches!(
        classify_one(&iv, &m),
        Verdict::Reply {
            rule: ReplyRule::Interviewer(_),
            ..
        }
    ));
}

#[test]
fn public_providers_include_country_domains_of_the_big_ones() {
    for d in [
        "gmail.com",
        "hotmail.co.uk",
        "yahoo.fr",
        "GMX.de",
        "proton.me.",
    ] {
        assert!(is_public_provider(d), "{d}");
    }
    for d in ["globex.example", "gmail", "example.com"] {
        assert!(!is_public_provider(d), "{d}");
    }
}

#[test]
fn ats_domains_match_their_subdomains() {
    assert_eq!(
        ats_domain("us.greenhouse-mail.io"),
        Some("greenhouse-mail.io")
    );
    assert_eq!(ats_domain("hire.lever.co"), Some("lever.co"));
    assert_eq!(ats_domain("notlever.co"), None);
}

#[test]
fn the_company_is_named_as_a_whole_word() {
    assert!(names_company("Globex Recruiting", "Globex"));
    assert!(names_company("Your application at GLOBEX!", "globex"));
    assert!(!names_company("Globexico careers", "Globex"));
    assert!(!names_company("anything", " "));
}
