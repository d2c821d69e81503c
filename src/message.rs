//! Outgoing messages: the RFC 5322 message handed to SMTP, and the `.eml` file of the approval
//! queue that the user reads and edits in any editor before approving it.
//!
//! Every value that came from a record (a name, a subject, an id) is folded to one line before it
//! reaches a header, so a CR or LF in the YAML can never add a header or a recipient.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, MultiPart, SinglePart};

use crate::core::{EmailAddress, Owner, SendKey};
use crate::render::{Draft, one_line};

/// The largest `.eml` file the queue reads back: a follow-up is a few hundred words.
pub const MAX_EML_BYTES: usize = 1024 * 1024;

/// The largest single attachment: a CV or a work sample, not a video.
pub const MAX_ATTACHMENT_BYTES: u64 = 20 * 1024 * 1024;

const KEY_HEADER: &str = "X-Followup-Key";
const ATTACHMENT_HEADER: &str = "X-Followup-Attachment";
/// A remark from followup to the user, shown in the queue file and never sent.
const NOTE_HEADER: &str = "X-Followup-Note";
/// Set by `followup queue approve --late`: the user wants it sent although it is past its limit.
pub const LATE_HEADER: &str = "X-Followup-Approved-Late";

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

/// `Name <address>`, the name quoted when it holds a special character; raw UTF-8, no encoding,
/// as the `.eml` files are written for people.
impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = one_line(&self.name);
        if name.is_empty() {
            return write!(f, "{}", self.email);
        }
        if name.contains(|c| "()<>[]:;@\\,.\"".contains(c)) {
            let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
            write!(f, "\"{escaped}\" <{}>", self.email)
        } else {
            write!(f, "{name} <{}>", self.email)
        }
    }
}

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("`{0}` is not an address lettre accepts: {1}")]
    Address(String, String),
    #[error("`{0}` is not a Message-ID; it must look like <part@domain.example>")]
    MessageId(String),
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
    pub key: SendKey,
    pub from: Mailbox,
    pub to: Mailbox,
    pub subject: String,
    pub body: String,
    /// `<...@domain>` on the sender's domain, so replies and the Sent folder can be matched.
    pub message_id: String,
    /// Written in UTC (`+0000`): correct everywhere and reveals nothing about where the user is.
    pub date: DateTime<Utc>,
    pub in_reply_to: Option<String>,
    /// The whole thread, oldest first.
    pub references: Vec<String>,
    pub attachments: Vec<PathBuf>,
    /// A remark for the user in the queue file (why it is there); never sent.
    pub note: Option<String>,
}

impl Outgoing {
    /// A new, unthreaded message with a fresh Message-ID on the sender's domain.
    pub fn new(
        key: SendKey,
        from: Mailbox,
        to: Mailbox,
        draft: Draft,
        date: DateTime<Utc>,
    ) -> Self {
        let message_id = new_message_id(from.email.domain(), date);
        Self {
            key,
            from,
            to,
            subject: one_line(&draft.subject),
            body: draft.body,
            message_id,
            date,
            in_reply_to: None,
            references: Vec::new(),
            attachments: Vec::new(),
            note: None,
        }
    }

    /// Threads the message under the earlier ones to the same person for the same interview
    /// (oldest first: message id and subject), as [`thread`] does.
    pub fn threaded(mut self, earlier: &[(String, String)]) -> Self {
        let t = thread(&self.subject, earlier);
        self.subject = t.subject;
        self.in_reply_to = t.in_reply_to;
        self.references = t.references;
        self
    }

    pub fn with_attachments(mut self, files: Vec<PathBuf>) -> Self {
        self.attachments = files;
        self
    }

    /// The message for SMTP: plain text in UTF-8 (without our `X-Followup-Key`, which is no
    /// business of the recipient's), `multipart/mixed` when files are attached.
    /// Attachments are read now; a missing file is an error, never a message without it.
    pub fn to_lettre(&self) -> Result<lettre::Message, MessageError> {
        let message_id = checked_id(&self.message_id)?;
        let mut builder = lettre::Message::builder()
            .message_id(Some(message_id))
            .date(SystemTime::from(self.date))
            .from(self.from.to_lettre()?)
            .to(self.to.to_lettre()?)
            .subject(one_line(&self.subject));
        if let Some(parent) = &self.in_reply_to {
            builder = builder.in_reply_to(checked_id(parent)?);
        }
        if !self.references.is_empty() {
            let refs = self
                .references
                .iter()
                .map(|r| checked_id(r))
                .collect::<Result<Vec<_>, _>>()?;
            builder = builder.references(refs.join(" "));
        }
        let body = clean_body(&self.body);
        if self.attachments.is_empty() {
            return Ok(builder.header(ContentType::TEXT_PLAIN).body(body)?);
        }
        let mut mixed = MultiPart::mixed().singlepart(SinglePart::plain(body));
        for path in &self.attachments {
            mixed = mixed.singlepart(attachment(path)?);
        }
        Ok(builder.multipart(mixed)?)
    }

    /// The approval-queue file: UTF-8, one plain header per line, a blank line, the body.
    pub fn to_eml(&self) -> String {
        let mut out = String::new();
        let mut header = |name: &str, value: &str| {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(&one_line(value));
            out.push('\n');
        };
        header("From", &self.from.to_string());
        header("To", &self.to.to_string());
        header("Subject", &self.subject);
        header("Date", &self.date.to_rfc2822());
        header("Message-ID", &strip_id(&self.message_id));
        if let Some(parent) = &self.in_reply_to {
            header("In-Reply-To", &strip_id(parent));
        }
        if !self.references.is_empty() {
            let refs: Vec<String> = self.references.iter().map(|r| strip_id(r)).collect();
            header("References", &refs.join(" "));
        }
        header(KEY_HEADER, &self.key.to_string());
        if let Some(note) = &self.note {
            header(NOTE_HEADER, note);
        }
        for path in &self.attachments {
            header(ATTACHMENT_HEADER, &path.to_string_lossy());
        }
        out.push('\n');
        out.push_str(&clean_body(&self.body));
        out
    }
}

/// Where a follow-up sits in its thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub subject: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

/// Threads a follow-up under `earlier` (message id, subject; oldest first): it replies to the
/// latest, references the whole chain, and takes `Re: ` plus the first message's subject, so the
/// interviewer sees one conversation and never `Re: Re:`. With nothing earlier, it starts one.
pub fn thread(subject: &str, earlier: &[(String, String)]) -> Thread {
    let Some((_, first_subject)) = earlier.first() else {
        return Thread {
            subject: one_line(subject),
            in_reply_to: None,
            references: Vec::new(),
        };
    };
    Thread {
        subject: format!("Re: {}", strip_re(&one_line(first_subject))),
        in_reply_to: earlier.last().map(|(id, _)| id.clone()),
        references: earlier.iter().map(|(id, _)| id.clone()).collect(),
    }
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

/// A new Message-ID on `domain`: the time in milliseconds and 128 random bits, so two ids never
/// collide, not even for two sends in the same millisecond.
pub fn new_message_id(domain: &str, now: DateTime<Utc>) -> String {
    let mut random = [0u8; 16];
    if getrandom::fill(&mut random).is_err() {
        // No OS randomness: a per-process random hasher over a counter still gives unique ids.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let state = RandomState::new();
        for chunk in random.chunks_mut(8) {
            let mut h = state.build_hasher();
            h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
            h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
            h.write_u32(std::process::id());
            chunk.copy_from_slice(&h.finish().to_le_bytes()[..chunk.len()]);
        }
    }
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    let domain: String = domain
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    let domain = if domain.is_empty() {
        "localhost".to_string()
    } else {
        domain.to_ascii_lowercase()
    };
    format!(
        "<{}.{hex}@{domain}>",
        base36(now.timestamp_millis().unsigned_abs())
    )
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Whether `id` is one `<left@right>` with nothing that could end a header.
fn is_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let Some((left, right)) = inner.split_once('@') else {
        return false;
    };
    let part = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_graphic() && !matches!(c, '<' | '>' | '@' | '"' | ',' | '(' | ')' | '\\')
            })
    };
    part(left) && part(right)
}

fn checked_id(id: &str) -> Result<String, MessageError> {
    if is_message_id(id) {
        Ok(id.to_string())
    } else {
        Err(MessageError::MessageId(id.escape_debug().to_string()))
    }
}

/// A Message-ID with anything that could break its line removed, for the `.eml`.
fn strip_id(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

/// Line endings become LF and stray control characters spaces; tabs stay.
fn clean_body(body: &str) -> String {
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
    Ok(Attachment::new(name).body(content, content_type(path)))
}

/// A content type from the file's extension; unknown files are plain bytes.
pub fn content_type(path: &Path) -> ContentType {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let mime = match ext.as_str() {
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
    };
    ContentType::parse(mime).unwrap_or(ContentType::TEXT_PLAIN)
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
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
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
            key: self.key,
            from,
            to: self.to,
            subject: self.subject,
            body: self.body,
            message_id: self.message_id,
            date,
            in_reply_to: self.in_reply_to,
            references: self.references,
            attachments: self.attachments,
            note: None,
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
    message_id: Option<(usize, String)>,
    in_reply_to: Option<(usize, String)>,
    references: Vec<String>,
    references_seen: bool,
    attachments: Vec<PathBuf>,
    late: bool,
}

impl Fields {
    fn take(&mut self, line: usize, name: &str, value: String) -> Result<(), EmlError> {
        let lower = name.to_ascii_lowercase();
        let once = |slot: &mut Option<(usize, String)>, value: String| {
            if slot.is_some() {
                return Err(EmlError::Duplicate {
                    line,
                    name: name.to_string(),
                });
            }
            *slot = Some((line, value));
            Ok(())
        };
        let invalid = |message: String| EmlError::Invalid { line, message };
        match lower.as_str() {
            "x-followup-key" => once(&mut self.key, value),
            "from" => once(&mut self.from, value),
            "to" => once(&mut self.to, value),
            "subject" => once(&mut self.subject, value),
            "message-id" => {
                if !is_message_id(&value) {
                    return Err(invalid(format!("`{value}` is not a Message-ID")));
                }
                once(&mut self.message_id, value)
            }
            "in-reply-to" => {
                if !is_message_id(&value) {
                    return Err(invalid(format!("`{value}` is not a Message-ID")));
                }
                once(&mut self.in_reply_to, value)
            }
            "references" => {
                if std::mem::replace(&mut self.references_seen, true) {
                    return Err(EmlError::Duplicate {
                        line,
                        name: name.to_string(),
                    });
                }
                for id in value.split_whitespace() {
                    if !is_message_id(id) {
                        return Err(invalid(format!("`{id}` is not a Message-ID")));
                    }
                    self.references.push(id.to_string());
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
/// groups and names dressed up as addresses.
fn parse_mailbox(value: &str) -> Result<Mailbox, String> {
    let value = value.trim();
    let (name, address) = match value.rfind('<') {
        None => ("", value),
        Some(open) => {
            let inner = value[open + 1..]
                .strip_suffix('>')
                .ok_or_else(|| format!("`{value}`: text after the closing `>`"))?;
            (value[..open].trim(), inner)
        }
    };
    let name = match name.strip_prefix('"').and_then(|n| n.strip_suffix('"')) {
        Some(quoted) => {
            let unescaped = quoted.replace("\\\"", "\"").replace("\\\\", "\\");
            if unescaped.contains('"') {
                return Err(format!("`{value}`: unbalanced quotes in the name"));
            }
            unescaped
        }
        None => {
            if name.contains([',', ';', '<', '>', '"', ':']) {
                return Err(format!(
                    "`{value}` holds more than one address; a follow-up goes to one person"
                ));
            }
            name.to_string()
        }
    };
    if name.contains(['@', '<', '>']) {
        return Err(format!(
            "`{value}`: the name looks like an address; write only the person's name before <address>"
        ));
    }
    if name.contains("=?") {
        return Err(format!(
            "`{value}`: the name is MIME-encoded; write it as plain text"
        ));
    }
    let email = EmailAddress::parse(address).map_err(|e| match e {
        crate::core::AddressError::DisplayName(_) | crate::core::AddressError::Whitespace(_) => {
            format!("`{value}` holds more than one address; a follow-up goes to one person")
        }
        other => other.to_string(),
    })?;
    Ok(Mailbox::new(&name, email))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::Step;
    use chrono::TimeZone;

    fn addr(s: &str) -> EmailAddress {
        EmailAddress::parse(s).unwrap()
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 16, 0, 0).unwrap()
    }

    fn sample() -> Outgoing {
        let key = SendKey::new("acme-backend", Step::ThankYou, "jane@example.com");
        let draft = Draft {
            subject: "Thank you for the Backend Engineer interview".into(),
            body: "Dear Jane Doe,\n\nThank you.\n\nBest regards,\nAlex Rivera\n".into(),
        };
        Outgoing::new(
            key,
            Mailbox::new("Alex Rivera", addr("alex@example.org")),
            Mailbox::new("Jane Doe", addr("jane@example.com")),
            draft,
            at(),
        )
    }

    fn formatted(m: &Outgoing) -> String {
        String::from_utf8(m.to_lettre().unwrap().formatted()).unwrap()
    }

    /// The header section of a formatted message, unfolded, one header per entry.
    fn headers(raw: &str) -> Vec<String> {
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

    fn named<'a>(hs: &'a [String], name: &str) -> Vec<&'a String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        hs.iter()
            .filter(|h| h.to_ascii_lowercase().starts_with(&prefix))
            .collect()
    }

    #[test]
    fn lettre_message_has_the_required_headers() {
        let m = sample();
        let raw = formatted(&m);
        let hs = headers(&raw);
        assert_eq!(
            named(&hs, "Message-ID"),
            [&format!("Message-ID: {}", m.message_id)]
        );
        assert!(m.message_id.ends_with("@example.org>"));
        assert_eq!(
            named(&hs, "Date"),
            [&"Date: Tue, 03 Nov 2026 16:00:00 +0000".to_string()]
        );
        assert_eq!(named(&hs, "From").len(), 1);
        assert_eq!(
            named(&hs, "To"),
            [&"To: \"Jane Doe\" <jane@example.com>".to_string()]
        );
        // The key is ours: it stays in the queue file and the state, never in what the
        // employer receives.
        assert!(named(&hs, "X-Followup-Key").is_empty());
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"));
        assert!(named(&hs, "In-Reply-To").is_empty());
        assert!(raw.contains("Dear Jane Doe,\r\n"));
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
        let none = thread("Following up", &[]);
        assert_eq!(none.subject, "Following up");
        assert_eq!(none.in_reply_to, None);
        assert!(none.references.is_empty());

        let earlier = vec![
            (
                "<a@example.org>".to_string(),
                "Thank you for the interview".to_string(),
            ),
            (
                "<b@example.org>".to_string(),
                "Re: Thank you for the interview".to_string(),
            ),
        ];
        let t = thread("Checking in", &earlier);
        assert_eq!(t.subject, "Re: Thank you for the interview");
        assert_eq!(t.in_reply_to.as_deref(), Some("<b@example.org>"));
        assert_eq!(t.references, ["<a@example.org>", "<b@example.org>"]);

        let re = thread("x", &[("<a@example.org>".into(), "RE: re:Hello".into())]);
        assert_eq!(re.subject, "Re: Hello");

        let m = sample().threaded(&earlier);
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
    fn message_ids_are_unique_and_on_the_senders_domain() {
        let a = new_message_id("example.org", at());
        let b = new_message_id("example.org", at());
        assert_ne!(a, b);
        assert!(is_message_id(&a), "{a}");
        assert!(a.ends_with("@example.org>"));
        let odd = new_message_id("exa\r\nmple.org>", at());
        assert!(odd.ends_with("@example.org>"), "{odd}");
    }

    #[test]
    fn eml_round_trip_keeps_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let cv = dir.path().join("cv.pdf");
        let mut m = sample()
            .threaded(&[("<a@example.org>".into(), "Thank you".into())])
            .with_attachments(vec![cv]);
        m.to = Mailbox::new("Zoë Müller, PhD", addr("zoe@example.com"));
        let eml = m.to_eml();
        assert!(
            eml.contains("To: \"Zoë Müller, PhD\" <zoe@example.com>\n"),
            "{eml}"
        );
        assert!(eml.contains("X-Followup-Key: acme-backend/thank_you/jane@example.com\n"));
        assert!(!eml.contains("=?"));
        let q = parse_eml(eml.as_bytes()).unwrap();
        assert_eq!(q.key, m.key);
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
        let eml = sample().to_eml();
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
        let eml = sample().to_eml();
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
        let mut bytes = sample().to_eml().into_bytes();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        assert!(matches!(parse_eml(&bytes), Err(EmlError::NotUtf8(_))));
        let mut big = sample().to_eml();
        big.push_str(&"x".repeat(MAX_EML_BYTES));
        assert!(matches!(
            parse_eml(big.as_bytes()),
            Err(EmlError::TooLarge(_))
        ));
    }

    #[test]
    fn a_changed_from_is_refused() {
        let eml = sample()
            .to_eml()
            .replace("alex@example.org", "ceo@example.com");
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
        m.key.interview = "acme\r\nBcc: spy@example.org".into();
        m.in_reply_to = Some("<a@example.org>\r\nBcc: spy@example.org".into());
        m.attachments = vec![];

        // A Message-ID with a line break: lettre refuses it, the .eml folds it into one
        // (invalid) id that parse_eml refuses in turn.
        assert!(matches!(m.to_lettre(), Err(MessageError::MessageId(_))));
        let bad_eml = m.to_eml();
        assert!(!bad_eml.lines().any(|l| l.starts_with("Bcc")), "{bad_eml}");
        assert!(matches!(
            parse_eml(bad_eml.as_bytes()),
            Err(EmlError::Invalid { .. })
        ));

        m.in_reply_to = Some("<a@example.org>".into());
        let raw = formatted(&m);
        let eml = m.to_eml();
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
            Err(EmlError::Invalid { line: 2 | 7, .. })
        ));
        // Without an address in it, the name comes back folded to one line, as do the others;
        // a key with a line break is refused outright (keys never hold spaces).
        m.to.name = "Jane\r\nX-Evil: 1".into();
        m.from.name = "Alex\nCc: Rivera".into();
        assert!(parse_eml(m.to_eml().as_bytes()).is_err());
        m.key.interview = "acme".into();
        let q = parse_eml(m.to_eml().as_bytes()).unwrap();
        assert_eq!(q.to.email.as_str(), "jane@example.com");
        assert_eq!(q.to.name, "Jane X-Evil: 1");
        assert_eq!(q.from.map(|f| f.name).as_deref(), Some("Alex Cc: Rivera"));
        assert_eq!(q.subject, "Hello Bcc: spy@example.org Injected body");
        assert_eq!(q.key.interview, "acme");
        assert_eq!(q.body, m.body);
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
