//! The approval-queue file: the message as UTF-8 text the user reads and edits in any editor,
//! one plain header per line, a blank line, the body; and the parser that reads it back after
//! the user edited it, refusing anything that would widen who receives it.

use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::core::{EmailAddress, MessageId, SendKey, display_name_problem};
use crate::mail::message::{Mailbox, Outgoing, clean_body};
use crate::mail::render::one_line;

/// The largest `.eml` file the queue reads back: a follow-up is a few hundred words.
pub const MAX_EML_BYTES: usize = 1024 * 1024;

const KEY_HEADER: &str = "X-Followup-Key";
const ATTACHMENT_HEADER: &str = "X-Followup-Attachment";
/// A remark from followup to the user, shown in the queue file and never sent.
const NOTE_HEADER: &str = "X-Followup-Note";
/// Set by `followup queue approve --late`: the user wants it sent although it is past its limit.
const LATE_HEADER: &str = "X-Followup-Approved-Late";

/// The queue file of `message` for the send `key`, with an optional remark for the user (why it
/// is there). The key and the remark are ours: they never reach the recipient.
pub fn to_eml(key: &SendKey, message: &Outgoing, note: Option<&str>) -> String {
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(&one_line(value));
        out.push('\n');
    };
    header("From", &message.from.to_string());
    header("To", &message.to.to_string());
    header("Subject", &message.subject);
    header("Date", &message.date.to_rfc2822());
    header("Message-ID", message.message_id.as_str());
    if let Some(parent) = &message.in_reply_to {
        header("In-Reply-To", parent.as_str());
    }
    if !message.references.is_empty() {
        let refs: Vec<&str> = message.references.iter().map(MessageId::as_str).collect();
        header("References", &refs.join(" "));
    }
    header(KEY_HEADER, &key.to_string());
    if let Some(note) = note {
        header(NOTE_HEADER, note);
    }
    for path in &message.attachments {
        header(ATTACHMENT_HEADER, &path.to_string_lossy());
    }
    out.push('\n');
    out.push_str(&clean_body(&message.body));
    out
}

/// `text` with the header that lets a message past its step's limit go out, unless it has it.
pub fn approved_late(text: &str) -> Option<String> {
    let marked = text.lines().take_while(|l| !l.trim().is_empty()).any(|l| {
        l.split_once(':')
            .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case(LATE_HEADER))
    });
    (!marked).then(|| format!("{LATE_HEADER}: yes\n{text}"))
}

/// An approval-queue file as the user left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFile {
    pub key: SendKey,
    /// The user approved it past its step's limit (`queue approve --late`).
    pub late: bool,
    /// As written in the file; [`QueueFile::into_outgoing`] checks it against the configured one.
    pub from: Option<Mailbox>,
    pub to: Mailbox,
    pub subject: String,
    pub body: String,
    pub message_id: MessageId,
    pub in_reply_to: Option<MessageId>,
    pub references: Vec<MessageId>,
    pub attachments: Vec<PathBuf>,
}

impl QueueFile {
    /// The message to send, from the configured sender and dated when it goes (the file's `Date`
    /// is only when it was queued). A `From` edited to another address is refused.
    pub fn into_outgoing(self, from: Mailbox, date: DateTime<Utc>) -> Result<Outgoing, EmlError> {
        if let Some(written) = &self.from
            && written.email.key() != from.email.key()
        {
            return Err(EmlError::FromChanged {
                written: written.email.to_string(),
                configured: from.email.to_string(),
            });
        }
        Ok(Outgoing {
            from,
            to: self.to,
            subject: self.subject,
            body: self.body,
            message_id: self.message_id,
            date,
            in_reply_to: self.in_reply_to,
            references: self.references,
            attachments: self.attachments,
        })
    }
}

/// Why a queue file cannot be sent as it stands. Lines are 1-based, in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmlError {
    #[error("the file is {0} bytes; a queue file may hold at most {MAX_EML_BYTES}")]
    TooLarge(usize),
    #[error("the file is not UTF-8 text (byte {0}); save it as UTF-8")]
    NotUtf8(usize),
    #[error("line {0}: not a header (`Name: value`), and no blank line before it ends the headers")]
    NotAHeader(usize),
    #[error("line {0}: a continuation line with no header before it")]
    StrayContinuation(usize),
    #[error("line {line}: `{name}` appears twice; keep one")]
    Duplicate { line: usize, name: String },
    #[error(
        "line {line}: `{name}` is not supported: each follow-up goes to exactly one person, from you, \
         with replies to you; remove the header (to reach someone else, add them to the interview file)"
    )]
    Forbidden { line: usize, name: String },
    #[error("line {line}: `{name}` is not a header followup reads; remove it")]
    Unsupported { line: usize, name: String },
    #[error("line {line}: {message}")]
    Invalid { line: usize, message: String },
    #[error("the `{0}` header is missing")]
    Missing(&'static str),
    #[error("there is no blank line between the headers and the body")]
    NoBody,
    #[error("line {0}: the subject is empty")]
    EmptySubject(usize),
    #[error("the body is empty")]
    EmptyBody,
    #[error(
        "`From` was changed to {written}; messages go out from {configured} only (set it in the config)"
    )]
    FromChanged { written: String, configured: String },
}

impl EmlError {
    /// The line the problem is on, for a `path:line:` diagnostic.
    pub fn line(&self) -> Option<usize> {
        match self {
            EmlError::NotAHeader(l)
            | EmlError::StrayContinuation(l)
            | EmlError::EmptySubject(l) => Some(*l),
            EmlError::Duplicate { line, .. }
            | EmlError::Forbidden { line, .. }
            | EmlError::Unsupported { line, .. }
            | EmlError::Invalid { line, .. } => Some(*line),
            _ => None,
        }
    }
}

/// Reads a queue file back after the user edited it: LF or CRLF, header names in any case,
/// folded headers. The user may change `To`, `Subject`, the body and the attachment lines;
/// anything that would widen who receives the message is refused with an explanation.
pub fn parse_eml(bytes: &[u8]) -> Result<QueueFile, EmlError> {
    if bytes.len() > MAX_EML_BYTES {
        return Err(EmlError::TooLarge(bytes.len()));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| EmlError::NotUtf8(e.valid_up_to()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");

    let mut headers: Vec<(usize, String, String)> = Vec::new();
    let mut body_start = None;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let n = i + 1;
        offset += line.len();
        let line = line.trim_end_matches('\n');
        if line.trim().is_empty() {
            body_start = Some(offset);
            break;
        }
        if line.starts_with([' ', '\t']) {
            let last = headers.last_mut().ok_or(EmlError::StrayContinuation(n))?;
            last.2.push(' ');
            last.2.push_str(line.trim());
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(EmlError::NotAHeader(n))?;
        let name = name.trim_end();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_graphic()) {
            return Err(EmlError::NotAHeader(n));
        }
        headers.push((n, name.to_string(), value.trim().to_string()));
    }
    let body_start = body_start.ok_or(EmlError::NoBody)?;

    let mut fields = Fields::default();
    for (line, name, value) in headers {
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(EmlError::Invalid {
                line,
                message: format!(
                    "`{name}` holds a control character (a stray carriage return?); retype the line"
                ),
            });
        }
        // Runs of spaces and tabs read as one space, as `to_eml` writes them.
        fields.take(line, &name, one_line(&value))?;
    }
    let body = clean_body(&text[body_start..]);
    if body.trim().is_empty() {
        return Err(EmlError::EmptyBody);
    }
    let (key_line, key) = fields.key.ok_or(EmlError::Missing(KEY_HEADER))?;
    let key = SendKey::from_str(&key).map_err(|message| EmlError::Invalid {
        line: key_line,
        message,
    })?;
    let (to_line, to) = fields.to.ok_or(EmlError::Missing("To"))?;
    let to = parse_mailbox(&to).map_err(|message| EmlError::Invalid {
        line: to_line,
        message: format!("To: {message}"),
    })?;
    let from = match fields.from {
        Some((line, v)) => Some(parse_mailbox(&v).map_err(|message| EmlError::Invalid {
            line,
            message: format!("From: {message}"),
        })?),
        None => None,
    };
    let (subject_line, subject) = fields.subject.ok_or(EmlError::Missing("Subject"))?;
    let subject = one_line(&subject);
    if subject.is_empty() {
        return Err(EmlError::EmptySubject(subject_line));
    }
    let (_, message_id) = fields.message_id.ok_or(EmlError::Missing("Message-ID"))?;
    Ok(QueueFile {
        key,
        late: fields.late,
        from,
        to,
        subject,
        body,
        message_id,
        in_reply_to: fields.in_reply_to.map(|(_, v)| v),
        references: fields.references,
        attachments: fields.attachments,
    })
}

/// The headers of a queue file, each with the line it was on.
#[derive(Default)]
struct Fields {
    key: Option<(usize, String)>,
    from: Option<(usize, String)>,
    to: Option<(usize, String)>,
    subject: Option<(usize, String)>,
    message_id: Option<(usize, MessageId)>,
    in_reply_to: Option<(usize, MessageId)>,
    references: Vec<MessageId>,
    references_seen: bool,
    attachments: Vec<PathBuf>,
    late: bool,
}

impl Fields {
    fn take(&mut self, line: usize, name: &str, value: String) -> Result<(), EmlError> {
        let lower = name.to_ascii_lowercase();
        fn once<T>(
            slot: &mut Option<(usize, T)>,
            line: usize,
            name: &str,
            value: T,
        ) -> Result<(), EmlError> {
            if slot.is_some() {
                return Err(EmlError::Duplicate {
                    line,
                    name: name.to_string(),
                });
            }
            *slot = Some((line, value));
            Ok(())
        }
        let invalid = |message: String| EmlError::Invalid { line, message };
        let id = |text: &str| {
            MessageId::parse(text).map_err(|_| invalid(format!("`{text}` is not a Message-ID")))
        };
        match lower.as_str() {
            "x-followup-key" => once(&mut self.key, line, name, value),
            "from" => once(&mut self.from, line, name, value),
            "to" => once(&mut self.to, line, name, value),
            "subject" => once(&mut self.subject, line, name, value),
            "message-id" => once(&mut self.message_id, line, name, id(&value)?),
            "in-reply-to" => once(&mut self.in_reply_to, line, name, id(&value)?),
            "references" => {
                if std::mem::replace(&mut self.references_seen, true) {
                    return Err(EmlError::Duplicate {
                        line,
                        name: name.to_string(),
                    });
                }
                for text in value.split_whitespace() {
                    self.references.push(id(text)?);
                }
                Ok(())
            }
            "x-followup-note" => Ok(()),
            "x-followup-approved-late" => {
                self.late = matches!(value.to_ascii_lowercase().as_str(), "yes" | "true");
                Ok(())
            }
            "x-followup-attachment" | "x-followup-attachments" => {
                if !value.is_empty() {
                    self.attachments.push(PathBuf::from(value));
                }
                Ok(())
            }
            // Informational or re-created when the message is built.
            "date" | "mime-version" | "user-agent" => Ok(()),
            "content-type" => {
                let v = value.to_ascii_lowercase();
                let plain = v.starts_with("text/plain");
                let utf8 = !v.contains("charset") || v.contains("utf-8") || v.contains("us-ascii");
                if plain && utf8 {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "Content-Type `{value}`: the queue file must stay plain UTF-8 text; remove the header"
                    )))
                }
            }
            "content-transfer-encoding" => match value.to_ascii_lowercase().as_str() {
                "7bit" | "8bit" | "binary" => Ok(()),
                _ => Err(invalid(format!(
                    "Content-Transfer-Encoding `{value}`: write the body as plain text and remove the header"
                ))),
            },
            "cc"
            | "bcc"
            | "reply-to"
            | "sender"
            | "return-path"
            | "disposition-notification-to"
            | "return-receipt-to" => Err(EmlError::Forbidden {
                line,
                name: name.to_string(),
            }),
            _ if lower.starts_with("resent-") => Err(EmlError::Forbidden {
                line,
                name: name.to_string(),
            }),
            _ if lower.starts_with("x-followup-") => Err(EmlError::Unsupported {
                line,
                name: name.to_string(),
            }),
            // Mail clients add their own X- headers; they are not sent.
            _ if lower.starts_with("x-") => Ok(()),
            _ => Err(EmlError::Unsupported {
                line,
                name: name.to_string(),
            }),
        }
    }
}

/// Reads exactly one `Name <address>`, `"Name" <address>` or bare address, refusing lists,
/// groups and names dressed up as addresses. A quoted name may hold anything a record's name
/// may (commas, quotes written `\\"`, backslashes written `\\\\`), so what `to_eml` wrote reads back
/// the same.
fn parse_mailbox(value: &str) -> Result<Mailbox, String> {
    let value = value.trim();
    let several =
        || format!("`{value}` holds more than one address; a follow-up goes to one person");
    let (name, rest) = match value.strip_prefix('"') {
        Some(quoted) => {
            let (name, len) = unquote(quoted)
                .ok_or_else(|| format!("`{value}`: unbalanced quotes in the name"))?;
            let rest = quoted[len..].trim_start();
            if !rest.starts_with('<') {
                return Err(format!(
                    "`{value}`: after the quoted name comes the address in angle brackets, \
                     like \"Jane Doe\" <jane@example.com>"
                ));
            }
            (name, rest)
        }
        None => match value.find('<') {
            None => (String::new(), value),
            Some(open) => {
                let name = value[..open].trim();
                if name.contains('"') {
                    return Err(format!(
                        "`{value}`: unbalanced quotes in the name; quote the whole name"
                    ));
                }
                if name.contains([',', ';', ':', '>']) {
                    return Err(several());
                }
                (name.to_string(), &value[open..])
            }
        },
    };
    let address = match rest.strip_prefix('<') {
        Some(inner) => inner
            .strip_suffix('>')
            .filter(|a| !a.contains(['<', '>']))
            .ok_or_else(|| match inner.find('>') {
                Some(close) if inner[close + 1..].trim().is_empty() => {
                    format!("`{value}`: text after the closing `>`")
                }
                Some(_) => several(),
                None => format!("`{value}`: the `<` before the address is never closed"),
            })?,
        None => rest,
    };
    if let Some(problem) = display_name_problem(&name) {
        return Err(format!(
            "`{value}`: {problem}; write only the person's name before <address>"
        ));
    }
    let email = EmailAddress::parse(address).map_err(|e| match e {
        crate::core::AddressError::DisplayName(_) | crate::core::AddressError::Whitespace(_) => {
            several()
        }
        other => other.to_string(),
    })?;
    Ok(Mailbox::new(&name, email))
}

/// The content of a quoted-string whose opening quote is gone, and how many bytes it took with
/// its closing quote; `None` when it never closes.
fn unquote(text: &str) -> Option<(String, usize)> {
    let mut name = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => name.push(chars.next()?.1),
            '"' => return Some((name, i + 1)),
            c => name.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Step;
    use crate::mail::message::samples::*;

    fn key() -> SendKey {
        SendKey::new("acme-backend", Step::ThankYou, "jane@example.com")
    }

    fn eml(m: &Outgoing) -> String {
        to_eml(&key(), m, None)
    }

    #[test]
    fn eml_round_trip_keeps_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let cv = dir.path().join("cv.pdf");
        let mut m = sample()
            .threaded(&[thread_ref("<a@example.org>", "Thank you")])
            .with_attachments(vec![cv]);
        m.to = Mailbox::new("Zoë Müller, PhD", addr("zoe@example.com"));
        let eml = eml(&m);
        assert!(
            eml.contains("To: \"Zoë Müller, PhD\" <zoe@example.com>\n"),
            "{eml}"
        );
        assert!(eml.contains("X-Followup-Key: acme-backend/thank_you/jane@example.com\n"));
        assert!(!eml.contains("=?"));
        let q = parse_eml(eml.as_bytes()).unwrap();
        assert_eq!(q.key, key());
        assert_eq!(q.to, m.to);
        assert_eq!(q.from.as_ref(), Some(&m.from));
        assert_eq!(q.subject, m.subject);
        assert_eq!(q.body, m.body);
        assert_eq!(q.message_id, m.message_id);
        assert_eq!(q.in_reply_to, m.in_reply_to);
        assert_eq!(q.references, m.references);
        assert_eq!(q.attachments, m.attachments);
        let back = q.into_outgoing(m.from.clone(), m.date).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn eml_edits_come_through_in_any_editor() {
        let eml = eml(&sample());
        let edited = eml
            .replace(
                "Subject: Thank you for the Backend Engineer interview",
                "subject: Thank you,\n  Jane",
            )
            .replace("Thank you.\n", "Thank you so much & see you.\n")
            .replace(
                "To: Jane Doe <jane@example.com>",
                "TO: Jane Doe <Jane.Doe@example.com>",
            )
            .replace('\n', "\r\n");
        let q = parse_eml(edited.as_bytes()).unwrap();
        assert_eq!(q.subject, "Thank you, Jane");
        assert!(q.body.contains("Thank you so much & see you.\n"));
        assert!(!q.body.contains('\r'));
        assert_eq!(q.to.email.as_str(), "Jane.Doe@example.com");
    }

    #[test]
    fn eml_without_key_or_with_bad_parts_is_refused() {
        let eml = eml(&sample());
        let no_key: String = eml
            .lines()
            .filter(|l| !l.starts_with("X-Followup-Key"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            parse_eml(no_key.as_bytes()),
            Err(EmlError::Missing(KEY_HEADER))
        );

        let cases = [
            (
                "To: Jane Doe <jane@example.com>",
                "To: jane@example.com, boss@example.org",
            ),
            (
                "To: Jane Doe <jane@example.com>",
                "To: Jane <jane@example.com>, Bob <bob@example.org>",
            ),
            (
                "To: Jane Doe <jane@example.com>",
                "To: \"boss@example.com\" <x@example.org>",
            ),
            (
                "To: Jane Doe <jane@example.com>",
                "To: undisclosed-recipients:;",
            ),
        ];
        for (from, to) in cases {
            let e = parse_eml(eml.replace(from, to).as_bytes()).unwrap_err();
            assert!(matches!(e, EmlError::Invalid { line: 2, .. }), "{to}: {e}");
        }
        for extra in [
            "Bcc: spy@example.org",
            "cc: other@example.org",
            "Reply-To: x@example.org",
        ] {
            let e = parse_eml(
                eml.replacen("Subject:", &format!("{extra}\nSubject:"), 1)
                    .as_bytes(),
            )
            .unwrap_err();
            assert!(
                matches!(e, EmlError::Forbidden { line: 3, .. }),
                "{extra}: {e}"
            );
            assert!(e.to_string().contains("exactly one person"));
        }
        let e = parse_eml(
            eml.replacen("Subject:", "Priority: urgent\nSubject:", 1)
                .as_bytes(),
        )
        .unwrap_err();
        assert!(matches!(e, EmlError::Unsupported { .. }), "{e}");
        assert!(
            parse_eml(
                eml.replacen("Subject:", "X-Mozilla-Status: 0001\nSubject:", 1)
                    .as_bytes()
            )
            .is_ok()
        );
        let dup = eml.replacen("Subject:", "To: jane@example.com\nSubject:", 1);
        assert!(matches!(
            parse_eml(dup.as_bytes()),
            Err(EmlError::Duplicate { .. })
        ));
        let empty = eml.replace(
            "Subject: Thank you for the Backend Engineer interview",
            "Subject:  ",
        );
        assert!(matches!(
            parse_eml(empty.as_bytes()),
            Err(EmlError::EmptySubject(3))
        ));
        let (head, _) = eml.split_once("\n\n").unwrap();
        assert_eq!(
            parse_eml(format!("{head}\n\n \n").as_bytes()),
            Err(EmlError::EmptyBody)
        );
        assert_eq!(parse_eml(head.as_bytes()), Err(EmlError::NoBody));
    }

    #[test]
    fn eml_that_is_not_utf8_or_too_large_is_refused() {
        let mut bytes = eml(&sample()).into_bytes();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(parse_eml(&bytes), Err(EmlError::NotUtf8(_))));
        let mut big = eml(&sample());
        big.push_str(&"x".repeat(MAX_EML_BYTES));
        assert!(matches!(
            parse_eml(big.as_bytes()),
            Err(EmlError::TooLarge(_))
        ));
    }

    #[test]
    fn a_changed_from_is_refused() {
        let eml = eml(&sample()).replace("alex@example.org", "ceo@example.com");
        let q = parse_eml(eml.as_bytes()).unwrap();
        let e = q
            .into_outgoing(Mailbox::new("Alex Rivera", addr("alex@example.org")), at())
            .unwrap_err();
        assert!(matches!(e, EmlError::FromChanged { .. }));
    }

    #[test]
    fn cr_lf_in_values_never_adds_a_header_or_recipient() {
        let evil = "Jane\r\nBcc: spy@example.org\r\nX-Evil: 1";
        let mut m = sample();
        m.to.name = evil.into();
        m.from.name = "Alex\nCc: spy@example.org".into();
        m.subject = "Hello\r\nBcc: spy@example.org\n\nInjected body".into();
        m.attachments = vec![];
        let mut k = key();
        k.interview = "acme\r\nBcc: spy@example.org".into();
        // (A Message-ID cannot hold a line break at all: `MessageId` refuses it.)

        let raw = formatted(&m);
        let eml = to_eml(&k, &m, None);
        assert_eq!(m.to_lettre().unwrap().envelope().to().len(), 1);
        let eml_headers: Vec<String> = eml
            .split("\n\n")
            .next()
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        for hs in [headers(&raw), eml_headers] {
            for bad in ["Bcc", "Cc", "X-Evil"] {
                assert!(named(&hs, bad).is_empty(), "{bad} leaked: {hs:#?}");
            }
            assert!(!hs.iter().any(|h| h.starts_with("Injected")));
        }
        // Read back, the folded name still looks like an address: refused, not obeyed.
        // (The key, folded, is refused too, whichever is read first.)
        assert!(matches!(
            parse_eml(eml.as_bytes()),
            Err(EmlError::Invalid { line: 2 | 6, .. })
        ));
        // Without an address in it, the name comes back folded to one line, as do the others;
        // a key with a line break is refused outright (keys never hold spaces).
        m.to.name = "Jane\r\nX-Evil: 1".into();
        m.from.name = "Alex\nCc: Rivera".into();
        assert!(parse_eml(to_eml(&k, &m, None).as_bytes()).is_err());
        k.interview = "acme".into();
        let q = parse_eml(to_eml(&k, &m, None).as_bytes()).unwrap();
        assert_eq!(q.to.email.as_str(), "jane@example.com");
        assert_eq!(q.to.name, "Jane X-Evil: 1");
        assert_eq!(q.from.map(|f| f.name).as_deref(), Some("Alex Cc: Rivera"));
        assert_eq!(q.subject, "Hello Bcc: spy@example.org Injected body");
        assert_eq!(q.key.interview, "acme");
        assert_eq!(q.body, m.body);
    }

    #[test]
    fn names_with_quotes_commas_and_backslashes_round_trip() {
        for name in [
            "Dana \"DJ\" O'Neil, Jr.",
            "Jürgen Weiß",
            "back\\slash \"quoted\\\"\"",
            "Smith, Jane (HR); Talent: EU",
            "\"",
            "Zoë",
            "Plain Words",
        ] {
            let mut m = sample();
            m.to = Mailbox::new(name, addr("dana.oneil@att.example.com"));
            m.from = Mailbox::new(name, addr("alex@example.org"));
            let eml = eml(&m);
            let q = parse_eml(eml.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}\n{eml}"));
            assert_eq!(q.to, m.to, "{eml}");
            assert_eq!(q.from.as_ref(), Some(&m.from), "{eml}");
        }
        let eml = eml(&{
            let mut m = sample();
            m.to = Mailbox::new(
                "Dana \"DJ\" O'Neil, Jr.",
                addr("dana.oneil@att.example.com"),
            );
            m
        });
        assert!(
            eml.contains("To: \"Dana \\\"DJ\\\" O'Neil, Jr.\" <dana.oneil@att.example.com>\n"),
            "{eml}"
        );
        // Written by hand, a quote left open or text after it is refused, not misread.
        for bad in [
            "To: \"Dana \\\" <dana@example.com>",
            "To: \"Dana\" O'Neil <dana@example.com>",
            "To: Dana \"DJ\" O'Neil <dana@example.com>",
            "To: \"Dana\" <dana@example.com",
        ] {
            let text = eml.replace(
                "To: \"Dana \\\"DJ\\\" O'Neil, Jr.\" <dana.oneil@att.example.com>",
                bad,
            );
            assert!(
                matches!(
                    parse_eml(text.as_bytes()),
                    Err(EmlError::Invalid { line: 2, .. })
                ),
                "{bad}"
            );
        }
    }

    proptest::proptest! {
        /// Whatever name a record accepts comes back unchanged from the queue file, and reads
        /// the same to a recipient's mail parser.
        #[test]
        fn every_name_a_record_accepts_round_trips(
            name in proptest::prop_oneof![
                "\\PC{1,60}",
                "[ a-zA-Z\"\\\\,.;:()<>@=?'&!#~éüß\u{4e2d}\u{1f600}\t]{1,60}",
            ]
        ) {
            let yaml = format!(
                "company: Acme\nposition: Engineer\nstart: 2026-11-03 10:00\ninterviewers:\n  \
                 - name: {}\n    email: dana@example.com\n",
                serde_json::to_string(&name).unwrap()
            );
            let Ok(records) = crate::input::records::parse_interviews(
                &yaml,
                std::path::Path::new("/nonexistent/interviews/x.yaml"),
                chrono_tz::Europe::Berlin,
            ) else {
                return Ok(());
            };
            let person = &records[0].interviewers[0];
            let to = Mailbox::new(&person.name, person.email.clone().unwrap());
            let mut m = sample();
            m.to = to.clone();
            let eml = eml(&m);
            let q = parse_eml(eml.as_bytes());
            proptest::prop_assert!(q.is_ok(), "{:?}\n{}", q, eml);
            proptest::prop_assert_eq!(&q.unwrap().to, &to, "{}", eml);

            let raw = m.to_lettre().unwrap().formatted();
            let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let read = parsed.to().and_then(|a| a.first()).unwrap();
            proptest::prop_assert_eq!(read.name().unwrap_or_default(), to.name.as_str());
            proptest::prop_assert_eq!(read.address().unwrap_or_default(), "dana@example.com");
        }
    }

    #[test]
    fn approving_late_adds_the_header_once() {
        let text = eml(&sample());
        let marked = approved_late(&text).unwrap();
        assert!(parse_eml(marked.as_bytes()).unwrap().late);
        assert_eq!(approved_late(&marked), None);
    }
}
