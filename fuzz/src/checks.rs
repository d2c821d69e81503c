//! What every input must satisfy, whatever its bytes: shared by the fuzz targets and by the
//! main crate's `tests/it/fuzz_regressions.rs` (included there with `#[path]`), so it depends on
//! `followup` and `std` only.

use std::path::Path;
use std::sync::OnceLock;

use followup::core::EmailAddress;
use followup::core::MessageId;
use followup::core::inbound::{self, Context, InboundMessage, OpenInterview};
use followup::core::model::Interview;
use followup::delivery::queue::eml::{parse_eml, to_eml};
use followup::mail::message::Mailbox;
use followup::mailbox::inbound as mail;

/// Where the parsed records and config claim to live. Relative paths in the input resolve
/// against its directory, which does not exist, so attachment checks find nothing there.
pub const RECORDS_PATH: &str = "/nonexistent-followup-fuzz/interviews/fuzz.yaml";
pub const CONFIG_PATH: &str = "/nonexistent-followup-fuzz/followup.yaml";

/// Larger inputs are refused unread by `yaml::read` before the parsers see them.
const MAX_YAML_BYTES: usize = followup::input::yaml::MAX_BYTES as usize;

/// Text as the daemon would hand it to the YAML parsers: only UTF-8 within the size limit
/// gets there (`yaml::read` refuses the rest).
fn yaml_text(data: &[u8]) -> Option<&str> {
    if data.len() > MAX_YAML_BYTES {
        return None;
    }
    std::str::from_utf8(data).ok()
}

/// An interview file: parsing must return, never panic; every interviewer it accepts reads
/// back the same from a queue file addressed to them.
pub fn records(data: &[u8]) {
    if let Some(text) = yaml_text(data)
        && let Ok(records) = followup::input::records::parse_interviews(
            text,
            Path::new(RECORDS_PATH),
            chrono_tz::America::New_York,
        )
    {
        for person in records.iter().flat_map(|iv| &iv.interviewers) {
            if let Some(email) = &person.email {
                mailbox_round_trips(&Mailbox::new(&person.name, email.clone()));
            }
        }
    }
}

/// The config file: parsing must return, never panic; the sender it accepts reads back the
/// same from a queue file.
pub fn config(data: &[u8]) {
    if let Some(text) = yaml_text(data)
        && let Ok(config) = followup::input::config::parse_config(text, Path::new(CONFIG_PATH))
    {
        mailbox_round_trips(&Mailbox::from(&config.owner));
    }
}

/// `mailbox` as the `To` and the `From` of a queue file: both read back unchanged.
pub fn mailbox_round_trips(mailbox: &Mailbox) {
    let key: followup::core::SendKey = "fuzz/thank_you/fuzz@example.org"
        .parse()
        .expect("a valid key");
    let draft = followup::mail::render::Draft {
        subject: "Thank you".into(),
        body: "Thank you.\n".into(),
    };
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a valid date");
    let message =
        followup::mail::message::Outgoing::new(mailbox.clone(), mailbox.clone(), draft, at);
    let eml = to_eml(&key, &message, None);
    match parse_eml(eml.as_bytes()) {
        Ok(back) => {
            assert_eq!(&back.to, mailbox, "To changed in the round trip:\n{eml}");
            assert_eq!(back.from.as_ref(), Some(mailbox), "From changed:\n{eml}");
        }
        Err(e) => panic!("a queue file to an accepted name does not parse ({e}):\n{eml}"),
    }
}

fn assert_one_line(what: &str, value: &str) {
    assert!(
        !value.contains(['\r', '\n']),
        "{what} holds a line break: {value:?}"
    );
}

/// An approval-queue file: parsing must return, never panic; what it accepts has no line
/// break in any header value, and written back with `to_eml` it reads the same.
pub fn queue_file(data: &[u8]) {
    let Ok(q) = parse_eml(data) else {
        return;
    };
    assert_one_line("X-Followup-Key interview", &q.key.interview);
    assert_one_line("X-Followup-Key recipient", &q.key.recipient);
    assert_one_line("To name", &q.to.name);
    assert_one_line("To address", q.to.email.as_str());
    if let Some(from) = &q.from {
        assert_one_line("From name", &from.name);
        assert_one_line("From address", from.email.as_str());
    }
    assert_one_line("Subject", &q.subject);
    assert_one_line("Message-ID", q.message_id.as_str());
    if let Some(parent) = &q.in_reply_to {
        assert_one_line("In-Reply-To", parent.as_str());
    }
    for r in &q.references {
        assert_one_line("References", r.as_str());
    }
    for a in &q.attachments {
        assert_one_line("X-Followup-Attachment", &a.to_string_lossy());
    }
    assert!(!q.body.contains('\r'), "the body keeps a CR: {:?}", q.body);

    // Round trip: the queue file as the daemon would write it again reads back the same.
    let from = q.from.clone().unwrap_or_else(|| {
        Mailbox::new(
            "Fuzz Sender",
            followup::core::EmailAddress::parse("fuzz@example.org").unwrap(),
        )
    });
    let out = q
        .clone()
        .into_outgoing(
            from,
            chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a valid date"),
        )
        .expect("the file's own From is accepted");
    let eml = to_eml(&q.key, &out, None);
    let back = match parse_eml(eml.as_bytes()) {
        Ok(back) => back,
        Err(e) => panic!("to_eml of an accepted file does not parse again ({e}):\n{eml}"),
    };
    assert_eq!(back.key, q.key, "key changed in the round trip:\n{eml}");
    assert_eq!(back.to, q.to, "To changed in the round trip:\n{eml}");
    assert_eq!(
        back.subject, q.subject,
        "Subject changed in the round trip:\n{eml}"
    );
    assert_eq!(back.body, q.body, "body changed in the round trip:\n{eml}");
    assert_eq!(back.message_id, q.message_id, "Message-ID changed:\n{eml}");
    assert_eq!(
        back.in_reply_to, q.in_reply_to,
        "In-Reply-To changed:\n{eml}"
    );
    assert_eq!(back.references, q.references, "References changed:\n{eml}");
    assert_eq!(
        back.attachments, q.attachments,
        "attachments changed:\n{eml}"
    );
}

/// The open interviews fetched mail is judged against: one with a company domain, one whose
/// interviewer writes from a public provider.
const INBOUND_INTERVIEWS: &str = "\
- id: globex-backend
  company: Globex
  position: Backend Engineer
  start: 2026-11-03 14:00
  interviewers:
    - name: Jane Roe
      email: jane.roe@globex.example
- id: initech-data
  company: Initech
  position: Data Engineer
  start: 2026-11-10 10:00
  interviewers:
    - name: Lee Park
      email: lee.park@gmail.com
";

struct InboundWorld {
    interviews: Vec<Interview>,
    ids: Vec<MessageId>,
    domains: Vec<Vec<String>>,
    me: Vec<EmailAddress>,
}

fn inbound_world() -> &'static InboundWorld {
    static WORLD: OnceLock<InboundWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let interviews = followup::input::records::parse_interviews(
            INBOUND_INTERVIEWS,
            Path::new(RECORDS_PATH),
            chrono_tz::Europe::Berlin,
        )
        .expect("the fuzz world's interviews parse");
        let domains = interviews.iter().map(inbound::company_domains).collect();
        InboundWorld {
            interviews,
            ids: vec![MessageId::from_header("<followup.thank_you.7f3a9c1e@example.org>").unwrap()],
            domains,
            me: vec![EmailAddress::parse("sam@example.org").unwrap()],
        }
    })
}

fn assert_no_line_break_in_headers(m: &InboundMessage) {
    assert_one_line("Subject", &m.subject);
    let parties = m.from.iter().chain(&m.reply_to).chain(&m.to).chain(&m.cc);
    for p in parties {
        assert_one_line("address", &p.address);
        if let Some(name) = &p.name {
            assert_one_line("display name", name);
        }
    }
    for id in m
        .message_id
        .iter()
        .chain(&m.in_reply_to)
        .chain(&m.references)
    {
        assert!(
            !id.as_str().contains(char::is_whitespace),
            "a Message-ID holds a blank: {id:?}"
        );
    }
}

/// Fetched mail, raw bytes: parsing never panics, whole or split into the header and a text
/// prefix as IMAP hands it over; no header value keeps a line break; the text stays bounded;
/// and the reply rules decide on whatever came out.
pub fn inbound(data: &[u8]) {
    let whole = mail::parse(data);
    // The first byte picks where the header ends, as BODY[HEADER] and BODY[TEXT] would split.
    let split = data
        .first()
        .map_or(0, |&b| usize::from(b) * data.len() / 256);
    let parts = mail::parse_parts(&data[..split], &data[split..]);
    let w = inbound_world();
    let no_ids: Vec<MessageId> = Vec::new();
    let open: Vec<OpenInterview<'_>> = w
        .interviews
        .iter()
        .zip(&w.domains)
        .enumerate()
        .map(|(i, (interview, domains))| OpenInterview {
            interview,
            our_ids: if i == 0 { &w.ids } else { &no_ids },
            domains,
        })
        .collect();
    let received = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("a valid date");
    let sent = [inbound::OurSend {
        interview: w.interviews[0].id.clone(),
        message_id: w.ids.first().cloned(),
        to: "jane.roe@globex.example".into(),
        at: received,
    }];
    let ctx = Context {
        me: &w.me,
        open: &open,
        sent: &sent,
    };
    // The block parser reads any bytes, bounded.
    let blocks = inbound::parse_delivery_status(data);
    assert!(blocks.len() <= inbound::report::MAX_RECIPIENTS);
    for m in [&whole, &parts] {
        assert_no_line_break_in_headers(m);
        assert!(
            m.text.len() <= mail::MAX_TEXT_BYTES,
            "the text is {} bytes",
            m.text.len()
        );
        assert!(m.report.more_text.len() <= mail::MAX_MORE_TEXT_BYTES);
        let verdict = inbound::classify(m, &ctx, received);
        let _ = verdict.to_string();
        if let inbound::Verdict::DeliveryReport(report) = &verdict {
            assert!(report.recipients.len() <= inbound::report::MAX_RECIPIENTS);
        }
        if let inbound::Verdict::OutOfOffice { until, .. } = verdict {
            let sent = m.date.map_or(received.date_naive(), |d| d.date_naive());
            assert!(until > sent, "a hold ends after the day it was sent");
            assert!(
                until <= sent + chrono::Days::new(inbound::OUT_OF_OFFICE_MAX_DAYS),
                "a hold is capped"
            );
        }
    }
}

/// The user of the invitation target: left out of the people it names.
fn invitation_owner() -> &'static followup::core::Owner {
    static OWNER: OnceLock<followup::core::Owner> = OnceLock::new();
    OWNER.get_or_init(|| followup::core::Owner {
        name: "Sam Seeker".into(),
        email: EmailAddress::parse("sam.seeker@example.com").unwrap(),
        aliases: Vec::new(),
        phone: None,
        signature: None,
        timezone: chrono_tz::Europe::Berlin,
    })
}

/// A calendar invitation (`followup add --ics`): reading must return, never panic; what it
/// accepts is in range: a start has a zone, falls in the years an interview may (give or take
/// the day a conversion to UTC moves it) and names an instant there; a duration is positive and
/// at most ten years; no person is the user.
pub fn invitation(data: &[u8]) {
    use chrono::Datelike;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let me = invitation_owner();
    let Ok(inv) = followup::input::invitation::read(text, me, chrono_tz::Europe::Berlin) else {
        return;
    };
    if let Some(start) = inv.start {
        let zone = inv.zone.expect("a start comes with its zone");
        assert!(
            (1969..=10000).contains(&start.year()),
            "start {start} out of range"
        );
        let _ = followup::core::calendar::resolve_lenient(start, zone);
    }
    if let Some(d) = inv.duration {
        assert!(
            d > chrono::TimeDelta::zero() && d <= followup::core::policy::MAX_DELAY,
            "duration {d} out of range"
        );
    }
    for text in [&inv.summary, &inv.company, &inv.position]
        .into_iter()
        .flatten()
    {
        assert_one_line("the summary, company or position", text);
    }
    for p in &inv.people {
        assert_ne!(
            p.email.key(),
            me.email.key(),
            "the user is not an interviewer"
        );
        assert_one_line("a person's name", &p.name);
    }
}
