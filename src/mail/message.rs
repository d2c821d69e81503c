//! One outgoing message: who it is from and to, its words, its Message-ID and thread, and the
//! RFC 5322 message handed to SMTP.
//!
//! Every value that came from a record (a name, a subject) is folded to one line before it
//! reaches a header, so a CR or LF in the YAML can never add a header or a recipient.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use email_encoding::headers::rfc2047;
use email_encoding::headers::writer::EmailWriter;
use lettre::message::header::{
    ContentDisposition, ContentTransferEncoding, ContentType, HeaderName, HeaderValue,
};
use lettre::message::{Body, MultiPart, SinglePart};

use crate::core::{EmailAddress, MessageId, Owner, ThreadRef};
use crate::mail::render::{Draft, one_line};

/// The largest single attachment: a CV or a work sample, not a video.
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

/// A display name and an address. The name is folded to one line when the mailbox is made and
/// again whenever it is written, so a hand-built mailbox cannot smuggle a line break either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: String,
    pub email: EmailAddress,
}

impl Mailbox {
    pub fn new(name: &str, email: EmailAddress) -> Self {
        Self {
            name: one_line(name),
            email,
        }
    }

    fn to_lettre(&self) -> Result<lettre::message::Mailbox, MessageError> {
        let address = lettre::Address::from_str(self.email.as_str())
            .map_err(|e| MessageError::Address(self.email.to_string(), e.to_string()))?;
        let name = one_line(&self.name);
        Ok(lettre::message::Mailbox::new(
            (!name.is_empty()).then_some(name),
            address,
        ))
    }
}

/// The user, as the sender of every message and the recipient of reminders and notices.
impl From<&Owner> for Mailbox {
    fn from(owner: &Owner) -> Self {
        Mailbox::new(&owner.name, owner.email.clone())
    }
}

/// `Name <address>`, as the `.eml` files are written for people: raw UTF-8, no encoding, the
/// name a quoted-string (with `\\` before a `"` or `\\`) unless it is plain words. The queue
/// file's parser reads every such line back to the same mailbox.
impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = one_line(&self.name);
        if name.is_empty() {
            return write!(f, "{}", self.email);
        }
        if is_plain_phrase(&name) {
            write!(f, "{name} <{}>", self.email)
        } else {
            write!(f, "\"{}\" <{}>", quote(&name), self.email)
        }
    }
}

/// Whether `name` can stand unquoted before `<address>`: words of RFC 5322 `atext` (letters,
/// digits and ``!#$%&'*+-/=?^_`{|}~``), one space apart. Anything else is quoted; a word that
/// could read as an RFC 2047 encoded-word (`=?`) too.
pub(crate) fn is_plain_phrase(name: &str) -> bool {
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    !name.contains("=?")
        && name
            .split(' ')
            .all(|word| !word.is_empty() && word.chars().all(atext))
}

/// The inside of a quoted-string: `\\` before each `"` and `\\`.
fn quote(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A `From` or `To` header as it goes over SMTP: ASCII only, folded under 78 characters. An
/// ASCII name is plain words or an RFC 5322 quoted-string (lettre would make an RFC 2047
/// encoded-word of any name with a comma or an apostrophe, which spam filters score and naive
/// readers split into two addresses); only a name with non-ASCII letters is encoded.
fn mailbox_header(header: &'static str, mailbox: &lettre::message::Mailbox) -> HeaderValue {
    let mut encoded = String::new();
    {
        let mut w = EmailWriter::new(&mut encoded, header.len() + 2, 0, false);
        // Writing to a String cannot fail.
        let _ = write_mailbox(mailbox, &mut w);
    }
    HeaderValue::dangerous_new_pre_encoded(
        HeaderName::new_from_ascii_str(header),
        mailbox.to_string(),
        encoded,
    )
}

fn write_mailbox(mailbox: &lettre::message::Mailbox, w: &mut EmailWriter<'_>) -> fmt::Result {
    use std::fmt::Write;
    let address = mailbox.email.to_string();
    let Some(name) = mailbox.name.as_deref().filter(|n| !n.is_empty()) else {
        return w.write_str(&address);
    };
    if !name.is_ascii() {
        rfc2047::encode(name, w)?;
    } else if is_plain_phrase(name) {
        w.folding().write_str(name)?;
    } else {
        w.write_char('"')?;
        w.folding().write_str(&quote(name))?;
        w.write_char('"')?;
    }
    w.space();
    w.folding().write_str(&format!("<{address}>"))
}

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("`{0}` is not an address lettre accepts: {1}")]
    Address(String, String),
    #[error("cannot attach {}: {source}", path.display())]
    Attachment {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot attach {}: it is {size} bytes, over the {MAX_ATTACHMENT_BYTES}-byte limit", path.display())]
    AttachmentTooLarge { path: PathBuf, size: u64 },
    #[error("the message cannot be built: {0}")]
    Build(#[from] lettre::error::Error),
}

/// One message on its way to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub from: Mailbox,
    pub to: Mailbox,
    pub subject: String,
    pub body: String,
    /// On the sender's domain, so replies and the Sent folder can be matched.
    pub message_id: MessageId,
    /// Written in UTC (`+0000`): correct everywhere and reveals nothing about where the user is.
    pub date: DateTime<Utc>,
    pub in_reply_to: Option<MessageId>,
    /// The whole thread, oldest first.
    pub references: Vec<MessageId>,
    pub attachments: Vec<PathBuf>,
}

impl Outgoing {
    /// A new, unthreaded message with a fresh Message-ID on the sender's domain.
    pub fn new(from: Mailbox, to: Mailbox, draft: Draft, date: DateTime<Utc>) -> Self {
        let message_id = MessageId::new_on(from.email.domain(), date);
        Self {
            from,
            to,
            subject: one_line(&draft.subject),
            body: draft.body,
            message_id,
            date,
            in_reply_to: None,
            references: Vec::new(),
            attachments: Vec::new(),
        }
    }

    /// Threads the message under `earlier` (the messages already sent to the same person about
    /// the same interview, oldest first): it replies to the latest, references the whole chain,
    /// and takes `Re: ` plus the first message's subject, so the interviewer sees one
    /// conversation and never `Re: Re:`. With nothing earlier, it starts one.
    pub fn threaded(mut self, earlier: &[ThreadRef]) -> Self {
        if let Some(first) = earlier.first() {
            self.subject = format!("Re: {}", strip_re(&one_line(&first.subject)));
            self.in_reply_to = earlier.last().map(|t| t.message_id.clone());
            self.references = earlier.iter().map(|t| t.message_id.clone()).collect();
        }
        self
    }

    pub fn with_attachments(mut self, files: Vec<PathBuf>) -> Self {
        self.attachments = files;
        self
    }

    /// The message for SMTP: plain text in UTF-8, `multipart/mixed` when files are attached.
    /// Attachments are read now; a missing file is an error, never a message without it.
    pub fn to_lettre(&self) -> Result<lettre::Message, MessageError> {
        let mut builder = lettre::Message::builder()
            .message_id(Some(self.message_id.to_string()))
            .date(SystemTime::from(self.date))
            .subject(one_line(&self.subject));
        if let Some(parent) = &self.in_reply_to {
            builder = builder.in_reply_to(parent.to_string());
        }
        if !self.references.is_empty() {
            let refs: Vec<&str> = self.references.iter().map(MessageId::as_str).collect();
            builder = builder.references(refs.join(" "));
        }
        let (from, to) = (self.from.to_lettre()?, self.to.to_lettre()?);
        builder = builder.from(from.clone()).to(to.clone());
        let text = text_part(&clean_body(&self.body));
        // `singlepart` and `multipart` (not `body`) give the message its MIME-Version.
        let mut message = if self.attachments.is_empty() {
            builder.singlepart(text)?
        } else {
            let mut mixed = MultiPart::mixed().singlepart(text);
            for path in &self.attachments {
                mixed = mixed.singlepart(attachment(path)?);
            }
            builder.multipart(mixed)?
        };
        // The envelope came from lettre's mailboxes; the headers are written our way.
        let headers = message.headers_mut();
        headers.insert_raw(mailbox_header("From", &from));
        headers.insert_raw(mailbox_header("To", &to));
        Ok(message)
    }
}

/// The text as a `text/plain` part in UTF-8. When it is quoted-printable (lettre's choice for
/// text with a few non-ASCII letters, ours for ASCII text with a line starting `From `), each
/// line starting `From ` is written `=46rom `, so no mailbox on the way turns it into `>From `.
fn text_part(text: &str) -> SinglePart {
    let body = Body::new(text.to_string());
    let needs_qp = body.encoding() == ContentTransferEncoding::SevenBit && has_from_line(text);
    let body = match body.encoding() {
        ContentTransferEncoding::QuotedPrintable => protect_from_lines(body),
        _ if needs_qp => {
            match Body::new_with_encoding(
                text.to_string(),
                ContentTransferEncoding::QuotedPrintable,
            ) {
                Ok(qp) => protect_from_lines(qp),
                Err(_) => body,
            }
        }
        _ => body,
    };
    SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(body)
}

fn has_from_line(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("From "))
}

/// `From ` at the start of an encoded line becomes `=46rom `; a line that would then pass the
/// 76 characters quoted-printable allows is broken after it with a soft line break.
fn protect_from_lines(body: Body) -> Body {
    let encoded = String::from_utf8_lossy(&body.into_vec()).into_owned();
    let mut out = String::with_capacity(encoded.len() + 16);
    for line in encoded.split_inclusive("\r\n") {
        match line.strip_prefix("From ") {
            Some(rest) => {
                out.push_str("=46rom ");
                if rest.trim_end_matches("\r\n").len() + "=46rom ".len() > 76 {
                    out.push_str("=\r\n");
                }
                out.push_str(rest);
            }
            None => out.push_str(line),
        }
    }
    Body::dangerous_pre_encoded(out.into_bytes(), ContentTransferEncoding::QuotedPrintable)
}

/// `Re: Re:Subject` → `Subject`.
fn strip_re(subject: &str) -> &str {
    let mut s = subject.trim_start();
    loop {
        let lower = s.get(..3).map(str::to_ascii_lowercase);
        match lower.as_deref() {
            Some("re:") => s = s[3..].trim_start(),
            _ => return s,
        }
    }
}

/// Line endings become LF and stray control characters spaces; tabs stay.
pub fn clean_body(body: &str) -> String {
    body.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn attachment(path: &Path) -> Result<SinglePart, MessageError> {
    let io = |source| MessageError::Attachment {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_ATTACHMENT_BYTES {
        return Err(MessageError::AttachmentTooLarge {
            path: path.to_path_buf(),
            size,
        });
    }
    let content = std::fs::read(path).map_err(io)?;
    let name = path
        .file_name()
        .map(|n| one_line(&n.to_string_lossy()))
        .unwrap_or_else(|| "attachment".to_string());
    Ok(SinglePart::builder()
        .header(content_type_named(path, &name))
        .header(ContentDisposition::attachment(&name))
        .body(Body::new(content)))
}

/// The file's content type with a `name=` parameter, the name older clients read beside the
/// RFC 2231 `filename*` of the disposition. A non-ASCII name is given there in ASCII letters
/// (`Lebenslauf Jürgen.pdf` as `Lebenslauf Jurgen.pdf`): RFC 2047 words are not allowed inside
/// a quoted parameter, and strict parsers report them as a defect.
fn content_type_named(path: &Path, name: &str) -> ContentType {
    let ascii = deunicode::deunicode_with_tofu(name, "_");
    let ascii = one_line(&ascii);
    let ascii = if ascii.is_empty() {
        "attachment"
    } else {
        &ascii
    };
    ContentType::parse(&format!("{}; name=\"{}\"", mime_of(path), quote(ascii)))
        .unwrap_or_else(|_| content_type(path))
}

/// A content type from the file's extension; unknown files are plain bytes.
pub fn content_type(path: &Path) -> ContentType {
    ContentType::parse(mime_of(path)).unwrap_or(ContentType::TEXT_PLAIN)
}

fn mime_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "txt" | "md" => "text/plain; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        "json" => "application/json",
        "csv" => "text/csv; charset=utf-8",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "odt" => "application/vnd.oasis.opendocument.text",
        "rtf" => "application/rtf",
        _ => "application/octet-stream",
    }
}

/// A sample message and readers of what lettre makes of it, for the tests here and of the
/// queue file.
#[cfg(test)]
pub(crate) mod samples {
    use chrono::TimeZone;

    use super::*;

    pub fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    pub fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 16, 0, 0).unwrap()
    }

    pub fn sample() -> Outgoing {
        let draft = Draft {
            subject: "Thank you for the Backend Engineer interview".into(),
            body: "Dear Jane Doe,\n\nThank you.\n\nBest regards,\nAlex Rivera\n".into(),
        };
        Outgoing::new(
            Mailbox::new("Alex Rivera", addr("alex@example.org")),
            Mailbox::new("Jane Doe", addr("jane@example.com")),
            draft,
            at(),
        )
    }

    pub fn thread_ref(id: &str, subject: &str) -> ThreadRef {
        ThreadRef {
            message_id: MessageId::parse(id).unwrap(),
            subject: subject.into(),
        }
    }

    pub fn formatted(m: &Outgoing) -> String {
        String::from_utf8(m.to_lettre().unwrap().formatted()).unwrap()
    }

    /// The header section of a formatted message, unfolded, one header per entry.
    pub fn headers(raw: &str) -> Vec<String> {
        let head = raw.split("\r\n\r\n").next().unwrap();
        let mut out: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            if line.starts_with([' ', '\t']) {
                out.last_mut().unwrap().push_str(line);
            } else {
                out.push(line.to_string());
            }
        }
        out
    }

    pub fn named<'a>(hs: &'a [String], name: &str) -> Vec<&'a String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        hs.iter()
            .filter(|h| h.to_ascii_lowercase().starts_with(&prefix))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn lettre_message_has_the_required_headers() {
        let m = sample();
        let raw = formatted(&m);
        let hs = headers(&raw);
        assert_eq!(
            named(&hs, "Message-ID"),
            [&format!("Message-ID: {}", m.message_id)]
        );
        assert!(m.message_id.as_str().ends_with("@example.org>"));
        assert_eq!(
            named(&hs, "Date"),
            [&"Date: Tue, 03 Nov 2026 16:00:00 +0000".to_string()]
        );
        assert_eq!(named(&hs, "From").len(), 1);
        assert_eq!(
            named(&hs, "To"),
            [&"To: Jane Doe <jane@example.com>".to_string()]
        );
        // The key is ours: it stays in the queue file and the state, never in what the
        // employer receives.
        assert!(named(&hs, "X-Followup-Key").is_empty());
        assert!(m.message_id.as_str().ends_with("@example.org>"));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(named(&hs, "In-Reply-To").is_empty());
        assert!(raw.contains("Dear Jane Doe,\r\n"));
    }

    /// RFC 2045 section 4: every MIME message says so, single-part ones too.
    #[test]
    fn every_message_has_a_mime_version() {
        let dir = tempfile::tempdir().unwrap();
        let cv = dir.path().join("cv.pdf");
        std::fs::write(&cv, b"%PDF-1.4 fake").unwrap();
        for m in [sample(), sample().with_attachments(vec![cv])] {
            let hs = headers(&formatted(&m));
            assert_eq!(
                named(&hs, "MIME-Version"),
                [&"MIME-Version: 1.0".to_string()],
                "{hs:#?}"
            );
        }
    }

    #[test]
    fn ascii_names_go_out_as_quoted_strings_not_encoded_words() {
        let mut m = sample();
        m.to = Mailbox::new(
            "Dana \"DJ\" O'Neil, Jr.",
            addr("dana.oneil@att.example.com"),
        );
        m.from = Mailbox::new("Sam Q. Seeker", addr("sam@example.org"));
        let hs = headers(&formatted(&m));
        assert_eq!(
            named(&hs, "To"),
            [&r#"To: "Dana \"DJ\" O'Neil, Jr." <dana.oneil@att.example.com>"#.to_string()]
        );
        assert_eq!(
            named(&hs, "From"),
            [&r#"From: "Sam Q. Seeker" <sam@example.org>"#.to_string()]
        );
        m.to = Mailbox::new("O'Neil", addr("dana.oneil@att.example.com"));
        let hs = headers(&formatted(&m));
        assert_eq!(
            named(&hs, "To"),
            [&"To: O'Neil <dana.oneil@att.example.com>".to_string()]
        );
    }

    #[test]
    fn long_names_fold_under_78_characters() {
        let mut m = sample();
        m.to = Mailbox::new(
            "Maria-Theresa Alexandra \"Lexi\" von Habsburg-Lothringen, Head of Talent Acquisition",
            addr("maria-theresa.von.habsburg-lothringen@talent.example.com"),
        );
        m.from = Mailbox::new(
            "Jürgen-Friedrich Weiß-Müller, Doktor der Ingenieurwissenschaften",
            addr("juergen@example.org"),
        );
        let raw = formatted(&m);
        let head = raw.split("\r\n\r\n").next().unwrap();
        for line in head.split("\r\n") {
            assert!(line.len() <= 78, "{} characters: {line}", line.len());
        }
        let to = named(&headers(&raw), "To")[0].clone();
        assert!(!to.contains("=?"), "{to}");
    }

    #[test]
    fn quoted_printable_lines_starting_from_are_protected() {
        let mut m = sample();
        m.body = "Grüße,\nFrom the team\nFrom ".to_string() + &"x".repeat(80) + "\n";
        let raw = formatted(&m);
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable"),
            "{raw}"
        );
        let body = raw.split("\r\n\r\n").nth(1).unwrap();
        assert!(body.contains("\r\n=46rom the team\r\n"), "{body}");
        assert!(!body.contains("\r\nFrom "), "{body}");
        for line in body.split("\r\n") {
            assert!(line.len() <= 76, "{} characters: {line}", line.len());
        }
        // ASCII text with such a line is made quoted-printable for it.
        let mut m = sample();
        m.body = "Hello,\nFrom our talk I learnt a lot.\n".into();
        let raw = formatted(&m);
        assert!(
            raw.contains("Content-Transfer-Encoding: quoted-printable"),
            "{raw}"
        );
        assert!(raw.contains("\r\n=46rom our talk"), "{raw}");
    }

    #[test]
    fn non_ascii_attachment_names_carry_a_name_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let cv = dir.path().join("Lebenslauf Jürgen Weiß.pdf");
        std::fs::write(&cv, b"%PDF-1.4 fake").unwrap();
        let m = sample().with_attachments(vec![cv]);
        let raw = formatted(&m);
        assert!(
            raw.contains("Content-Type: application/pdf; name=\"Lebenslauf Jurgen Weiss.pdf\"\r\n"),
            "{raw}"
        );
        assert!(raw.contains("filename*0*=utf-8''"), "{raw}");
    }

    #[test]
    fn non_ascii_names_are_rfc2047_words() {
        let mut m = sample();
        m.to = Mailbox::new("Zoë Müller", addr("zoe@example.com"));
        m.subject = "Danke, Zoë".into();
        let raw = m.to_lettre().unwrap().formatted();
        let head = &raw[..raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap()];
        assert!(head.is_ascii(), "{}", String::from_utf8_lossy(head));
        let head = String::from_utf8_lossy(head);
        let to = named(&headers(&head), "To")[0].clone();
        assert!(to.contains("=?utf-8?"), "{to}");
        assert!(to.contains("<zoe@example.com>"), "{to}");
        assert!(named(&headers(&head), "Subject")[0].contains("=?utf-8?"));
    }

    #[test]
    fn attachments_make_a_multipart_mixed_message() {
        let dir = tempfile::tempdir().unwrap();
        let cv = dir.path().join("cv.pdf");
        let note = dir.path().join("notes.txt");
        let blob = dir.path().join("data.bin");
        std::fs::write(&cv, b"%PDF-1.4 fake").unwrap();
        std::fs::write(&note, "plain").unwrap();
        std::fs::write(&blob, [0u8, 1, 2]).unwrap();
        let m = sample().with_attachments(vec![cv, note, blob]);
        let raw = formatted(&m);
        assert!(raw.contains("Content-Type: multipart/mixed"), "{raw}");
        assert!(raw.contains("Content-Type: application/pdf"));
        assert!(raw.contains("Content-Type: application/octet-stream"));
        assert!(raw.contains("filename=\"cv.pdf\""));
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
    }

    #[test]
    fn a_missing_attachment_is_an_error() {
        let m = sample().with_attachments(vec![PathBuf::from("/nonexistent/cv.pdf")]);
        assert!(matches!(
            m.to_lettre(),
            Err(MessageError::Attachment { .. })
        ));
    }

    #[test]
    fn follow_ups_thread_under_the_first_message() {
        let none = sample().threaded(&[]);
        assert_eq!(none.subject, "Thank you for the Backend Engineer interview");
        assert_eq!(none.in_reply_to, None);
        assert!(none.references.is_empty());

        let earlier = vec![
            thread_ref("<a@example.org>", "Thank you for the interview"),
            thread_ref("<b@example.org>", "Re: Thank you for the interview"),
        ];
        let m = sample().threaded(&earlier);
        assert_eq!(m.subject, "Re: Thank you for the interview");
        assert_eq!(m.in_reply_to, Some(earlier[1].message_id.clone()));
        assert_eq!(
            m.references,
            [earlier[0].message_id.clone(), earlier[1].message_id.clone()]
        );

        let re = sample().threaded(&[thread_ref("<a@example.org>", "RE: re:Hello")]);
        assert_eq!(re.subject, "Re: Hello");

        let hs = headers(&formatted(&m));
        assert_eq!(
            named(&hs, "In-Reply-To"),
            [&"In-Reply-To: <b@example.org>".to_string()]
        );
        assert_eq!(
            named(&hs, "References"),
            [&"References: <a@example.org> <b@example.org>".to_string()]
        );
        assert_eq!(
            named(&hs, "Subject"),
            [&"Subject: Re: Thank you for the interview".to_string()]
        );
    }

    #[test]
    fn mailbox_new_folds_line_breaks() {
        let m = Mailbox::new("Jane\r\nDoe", addr("jane@example.com"));
        assert_eq!(m.name, "Jane Doe");
        assert_eq!(m.to_string(), "Jane Doe <jane@example.com>");
    }

    #[test]
    fn content_types_are_guessed_from_extensions() {
        assert_eq!(
            content_type(Path::new("a.PDF")),
            ContentType::parse("application/pdf").unwrap()
        );
        assert_eq!(content_type(Path::new("a.txt")), ContentType::TEXT_PLAIN);
        assert_eq!(
            content_type(Path::new("a")),
            ContentType::parse("application/octet-stream").unwrap()
        );
    }
}
