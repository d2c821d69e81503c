//! What every input must satisfy, whatever its bytes: shared by the fuzz targets and by the
//! main crate's `tests/it/fuzz_regressions.rs` (included there with `#[path]`), so it depends on
//! `followup` and `std` only.

use std::path::Path;

use followup::delivery::queue::eml::{parse_eml, to_eml};
use followup::mail::message::Mailbox;

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
