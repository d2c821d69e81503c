//! Mail that comes back: delivery reports (RFC 3464 `multipart/report`, RFC 6533's global
//! ones, and the plain-text bounces real servers still send) and read receipts, read as what they
//! are and tied to the send they are about.
//!
//! Pure and total: the shell hands over what mail-parser found (the raw `message/delivery-status`
//! part, the returned message's headers, a few header values); the block parser here reads any
//! bytes, bounded in size ([`MAX_STATUS_BYTES`]) and in recipients ([`MAX_RECIPIENTS`]).
//! What a failure means for the address is asked of [`crate::core::permanence`], the one rule of
//! permanence the SMTP client asks too.

use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::{InboundMessage, Party};
use crate::core::message_id::MessageId;
use crate::core::permanence::{EnhancedStatus, names_a_dead_address};

/// The most of a `message/delivery-status` part read, in bytes.
pub const MAX_STATUS_BYTES: usize = 64 * 1024;
/// The most recipients read of one report; the rest are left unread.
pub const MAX_RECIPIENTS: usize = 100;
/// How long after a send a report naming only its recipient is still tied to it.
pub const RECIPIENT_TIE_DAYS: i64 = 30;
/// The most of a diagnostic kept, in characters.
const MAX_DIAGNOSTIC_CHARS: usize = 300;

/// What the shell found of a report in a message (all empty for a person's mail).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportParts {
    /// The `report-type` of a top-level `multipart/report`, lower-cased; `None` when the message
    /// is not one.
    pub report_type: Option<String>,
    /// The raw `message/delivery-status` (or `message/global-delivery-status`) part, at most
    /// [`MAX_STATUS_BYTES`].
    pub delivery_status: Option<Vec<u8>>,
    /// The headers of the returned message (`message/rfc822`, `message/global`,
    /// `text/rfc822-headers`, `message/global-headers`).
    pub returned: Option<Returned>,
    /// `X-Failed-Recipients` (Exim), the addresses as given.
    pub x_failed_recipients: Vec<String>,
    /// `X-Original-Message-ID` (Exchange).
    pub x_original_message_id: Option<MessageId>,
    /// The text of the parts after the first (a returned message, its headers), a prefix only:
    /// where a plain-text bounce or a report without the returned part names our Message-ID.
    pub more_text: String,
}

/// The returned message, as far as its headers tell.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Returned {
    pub message_id: Option<MessageId>,
    pub to: Vec<String>,
}

/// One of the messages we sent, as a report is tied to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OurSend {
    pub interview: String,
    pub message_id: Option<MessageId>,
    /// The recipient, lower-cased.
    pub to: String,
    /// When it went out (or was last tried).
    pub at: DateTime<Utc>,
}

/// The `Action` of one recipient block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

/// One recipient block of a `message/delivery-status` part, leniently read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientStatus {
    /// `Final-Recipient`, lower-cased, without the address type.
    pub final_recipient: Option<String>,
    /// `Original-Recipient`, the same way.
    pub original_recipient: Option<String>,
    /// `None` when absent and the status does not tell.
    pub action: Option<Action>,
    /// `Status`, or the code of `Diagnostic-Code` when `Status` is missing or vague.
    pub status: Option<EnhancedStatus>,
    /// `Diagnostic-Code` without its type, on one line.
    pub diagnostic: Option<String>,
}

impl RecipientStatus {
    fn empty() -> Self {
        Self {
            final_recipient: None,
            original_recipient: None,
            action: None,
            status: None,
            diagnostic: None,
        }
    }

    fn is_empty(&self) -> bool {
        self.final_recipient.is_none() && self.original_recipient.is_none()
    }

    /// The addresses it names: the final recipient, then the original one.
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.final_recipient
            .iter()
            .chain(&self.original_recipient)
            .map(String::as_str)
    }
}

/// Reads the recipient blocks of a `message/delivery-status` part: CRLF, LF or CR line ends;
/// folded lines; a missing blank line before the first block; comments; upper-case address
/// types. Any bytes read to a list, at most [`MAX_RECIPIENTS`] long.
pub fn parse_delivery_status(raw: &[u8]) -> Vec<RecipientStatus> {
    let raw = &raw[..raw.len().min(MAX_STATUS_BYTES)];
    let text = String::from_utf8_lossy(raw);
    let mut recipients = Vec::new();
    let mut current = RecipientStatus::empty();
    let flush = |current: &mut RecipientStatus, recipients: &mut Vec<RecipientStatus>| {
        let done = std::mem::replace(current, RecipientStatus::empty());
        if !done.is_empty() && recipients.len() < MAX_RECIPIENTS {
            recipients.push(finish(done));
        }
    };
    for field in fields(&text) {
        let Some((name, value)) = field else {
            // A blank line ends a block.
            flush(&mut current, &mut recipients);
            continue;
        };
        match name.as_str() {
            "final-recipient" => {
                if current.final_recipient.is_some() {
                    flush(&mut current, &mut recipients);
                }
                current.final_recipient = address_field(&value);
            }
            "original-recipient" => {
                // RFC 3464 puts it first, Postfix after Final-Recipient: only a second one
                // starts a new block.
                if current.original_recipient.is_some() {
                    flush(&mut current, &mut recipients);
                }
                current.original_recipient = address_field(&value);
            }
            "action" => current.action = action(&value),
            "status" => current.status = EnhancedStatus::find(&without_comments(&value)),
            "diagnostic-code" => {
                let v = value
                    .split_once(';')
                    .map_or(value.as_str(), |(_, v)| v)
                    .trim();
                current.diagnostic = Some(capped(v, MAX_DIAGNOSTIC_CHARS));
            }
            _ => {}
        }
        if recipients.len() >= MAX_RECIPIENTS {
            break;
        }
    }
    flush(&mut current, &mut recipients);
    recipients
}

/// The code from `Diagnostic-Code` when `Status` is missing or says only "failed"; the action
/// from the code's class when `Action` is missing.
fn finish(mut r: RecipientStatus) -> RecipientStatus {
    if r.status.is_none_or(EnhancedStatus::is_vague)
        && let Some(found) = r.diagnostic.as_deref().and_then(EnhancedStatus::find)
        && (r.status.is_none() || !found.is_vague())
    {
        r.status = Some(found);
    }
    if r.action.is_none() {
        r.action = match r.status.map(|s| s.class) {
            Some(5) => Some(Action::Failed),
            Some(4) => Some(Action::Delayed),
            Some(2) => Some(Action::Delivered),
            _ => None,
        };
    }
    r
}

/// Header-like fields of a text, unfolded; `None` for each blank line.
fn fields(text: &str) -> Vec<Option<(String, String)>> {
    let normal = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut out: Vec<Option<(String, String)>> = Vec::new();
    for line in normal.split('\n') {
        if line.trim().is_empty() {
            if !matches!(out.last(), Some(None)) {
                out.push(None);
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(Some((_, value))) = out.last_mut()
                && value.len() < MAX_DIAGNOSTIC_CHARS * 4
            {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if !name.is_empty() && !name.contains(' ') {
                out.push(Some((name, value.trim().to_string())));
            }
        }
    }
    out
}

fn without_comments(value: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in value.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// `rfc822; Jane@Example.com`, `RFC822;<jane@example.com>` or a bare address: the address,
/// lower-cased; `None` when there is nothing like one.
fn address_field(value: &str) -> Option<String> {
    let value = without_comments(value);
    let address = value.split_once(';').map_or(value.as_str(), |(_, a)| a);
    let address = address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    (address.contains('@') && !address.contains(char::is_whitespace))
        .then(|| address.to_lowercase())
}

fn action(value: &str) -> Option<Action> {
    let word = without_comments(value)
        .split(|c: char| c.is_whitespace() || c == ';')
        .find(|w| !w.is_empty())?
        .to_ascii_lowercase();
    Some(match word.as_str() {
        "failed" | "failure" | "fail" => Action::Failed,
        "delayed" | "delay" => Action::Delayed,
        "delivered" => Action::Delivered,
        "relayed" => Action::Relayed,
        "expanded" => Action::Expanded,
        _ => return None,
    })
}

/// What a report says of one recipient, by the rules of the playbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Failed because the address or its host does not exist: no more e-mail to it.
    Undeliverable,
    /// Failed for another reason (policy, spam, a full mailbox, a message too big, given up
    /// after retrying): the send bounced; the address stays.
    Bounced,
    /// Not delivered yet, still being retried: nothing changes.
    Delayed,
    /// Delivered, relayed or expanded: nothing changes.
    Delivered,
}

impl Outcome {
    /// The rule: a failure whose code or words name a dead address
    /// ([`names_a_dead_address`]) makes it undeliverable; any other failure is a bounce; the
    /// rest is recorded only.
    pub fn of(action: Option<Action>, status: Option<EnhancedStatus>, words: &str) -> Self {
        match action {
            Some(Action::Failed) if names_a_dead_address(status, words) => Outcome::Undeliverable,
            Some(Action::Failed) => Outcome::Bounced,
            Some(Action::Delayed) | None => Outcome::Delayed,
            Some(Action::Delivered | Action::Relayed | Action::Expanded) => Outcome::Delivered,
        }
    }

    /// Whether it changes anything for the send.
    pub fn is_failure(self) -> bool {
        matches!(self, Outcome::Undeliverable | Outcome::Bounced)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Undeliverable => "undeliverable",
            Outcome::Bounced => "bounced",
            Outcome::Delayed => "delayed",
            Outcome::Delivered => "delivered",
        })
    }
}

/// How a report is tied to one of our sends, most reliable first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tie {
    /// The Message-ID of the returned message.
    ReturnedMessage(MessageId),
    /// `X-Original-Message-ID`.
    OriginalMessageId(MessageId),
    /// `In-Reply-To` or `References`.
    Threaded(MessageId),
    /// Our Message-ID written in the report's text.
    IdInText(MessageId),
    /// The failed recipient is one we sent to in the last [`RECIPIENT_TIE_DAYS`] days.
    Recipient(String),
}

impl fmt::Display for Tie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tie::ReturnedMessage(id) => write!(f, "the returned message is our {id}"),
            Tie::OriginalMessageId(id) => write!(f, "X-Original-Message-ID names our {id}"),
            Tie::Threaded(id) => write!(f, "it answers our message {id}"),
            Tie::IdInText(id) => write!(f, "its text names our message {id}"),
            Tie::Recipient(a) => write!(
                f,
                "it names {a}, whom we wrote to in the last {RECIPIENT_TIE_DAYS} days"
            ),
        }
    }
}

/// How the message was recognised as a delivery report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// `multipart/report; report-type=delivery-status` (or `global-delivery-status`).
    Standard,
    /// A plain-text bounce from a mail server (Yahoo, qmail, old Exim, ...).
    PlainText,
}

/// What a delivery report says of one recipient, and which of our sends it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientReport {
    /// The address the report names, lower-cased.
    pub address: String,
    /// The address we sent to that this concerns (the report's own, or the send's when the
    /// report tied by Message-ID names a rewritten one); `None` when tied to nothing of ours.
    pub ours: Option<String>,
    /// The interviews of the sends it concerns (empty when tied to nothing).
    pub interviews: Vec<String>,
    pub tie: Option<Tie>,
    pub outcome: Outcome,
    pub status: Option<EnhancedStatus>,
    /// The server's words, on one line.
    pub diagnostic: String,
}

impl RecipientReport {
    /// What the server said, as a person reads it: `5.1.1 <the words>`.
    pub fn reason(&self) -> String {
        match (self.status, self.diagnostic.is_empty()) {
            (Some(s), true) => s.to_string(),
            (Some(s), false) if self.diagnostic.contains(&s.to_string()) => self.diagnostic.clone(),
            (Some(s), false) => format!("{s} {}", self.diagnostic),
            (None, false) => self.diagnostic.clone(),
            (None, true) => self.outcome.to_string(),
        }
    }
}

/// A delivery report, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub kind: ReportKind,
    /// One entry per recipient it names (at most [`MAX_RECIPIENTS`]); for a report that names
    /// none, one entry with an empty address.
    pub recipients: Vec<RecipientReport>,
}

impl DeliveryReport {
    /// Whether any recipient it names is tied to a send of ours: a report about the user's
    /// other mail concerns no interview.
    pub fn concerns_us(&self) -> bool {
        self.recipients.iter().any(|r| r.tie.is_some())
    }
}

/// Lower-case local parts of the senders of bounces and notifications.
pub const BOUNCE_SENDERS: &[&str] = &["mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"];

/// Words of a plain-text bounce, lower-case.
pub const BOUNCE_WORDS: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "could not deliver",
    "couldn't deliver",
    "undeliverable",
    "undelivered mail",
    "delivery has failed",
    "delivery failed",
    "delivery to the following recipient",
    "delivery failure",
    "failed to deliver",
    "permanent error",
    "permanent fatal error",
    "fatal error",
    "not delivered",
    "returned mail",
    "returned to sender",
    "failed mail",
    "returning to sender",
    "returning message to sender",
    "failed addresses",
    "permanent delivery failure",
    "non-delivery",
    "unable to deliver",
    "failure notice",
    "wasn't able to deliver",
    "was not able to deliver",
    "message could not be",
    "user unknown",
    "no such user",
    "unknown user",
    "does not exist",
    "mail delivery failed",
    "delivery status notification",
    "nondeliverable",
    "non-deliverable",
    "rejected",
    "bounced",
];

/// Words of a warning that the message is only late, lower-case.
pub const WARNING_WORDS: &[&str] = &[
    "this is a warning only",
    "warning message only",
    "has been delayed",
    "have been delayed",
    "delivery delayed",
    "delayed mail",
    "will be retried",
    "still being retried",
    "will continue to try",
    "will keep trying",
    "will try again",
    "will retry",
    "not yet been delivered",
    "not been delivered yet",
    "no action is required",
    "do not need to resend",
];

/// Where the returned message starts in a plain-text bounce, lower-case: the server's own words
/// stop there.
const RETURNED_MARKERS: &[&str] = &[
    "this is a copy of the message",
    "below this line is a copy of the message",
    "original message follows",
    "----- original message -----",
    "------ original message",
    "--- original message",
    "unsent message below",
    "returned message",
    "message headers follow",
    "headers of the original message",
    "text of the original message",
];

/// Whether the sender is a mail system's own address.
pub fn is_bounce_sender(party: &Party) -> bool {
    let local = party
        .address
        .rsplit_once('@')
        .map_or(party.address.as_str(), |(l, _)| l)
        .to_ascii_lowercase();
    BOUNCE_SENDERS.contains(&local.as_str())
}

/// Whether a message is a read receipt (`report-type=disposition-notification`).
pub fn is_read_receipt(msg: &InboundMessage) -> bool {
    msg.report.report_type.as_deref() == Some("disposition-notification")
}

/// The message as a delivery report, when it is one, tied to `sent` (our sends) as well as it
/// can be. `received` bounds the recipient tie.
pub fn read_report(
    msg: &InboundMessage,
    sent: &[OurSend],
    received: DateTime<Utc>,
) -> Option<DeliveryReport> {
    // A `multipart/report` of delivery status, or a mail system's message holding a
    // `message/delivery-status` part (some wrap it in `multipart/mixed`).
    let standard = matches!(
        msg.report.report_type.as_deref(),
        Some("delivery-status" | "global-delivery-status")
    ) || (msg.report.delivery_status.is_some() && from_mail_system(msg));
    let status_blocks = msg
        .report
        .delivery_status
        .as_deref()
        .map(parse_delivery_status)
        .unwrap_or_default();
    let (kind, blocks) = if standard && !status_blocks.is_empty() {
        (ReportKind::Standard, status_blocks)
    } else {
        // A report whose status part is empty, cut off or missing is read as text.
        match plain_text_blocks(msg, standard) {
            Some(blocks) if !blocks.is_empty() || !standard => (ReportKind::PlainText, blocks),
            _ if standard => (ReportKind::Standard, Vec::new()),
            _ => return None,
        }
    };
    let id_tie = id_tie(msg, sent);
    let mut recipients: Vec<RecipientReport> = blocks
        .iter()
        .take(MAX_RECIPIENTS)
        .map(|b| recipient_report(b, id_tie.as_ref(), sent, received, blocks.len()))
        .collect();
    if recipients.is_empty() {
        // A report that names nobody (empty, cut off): still a report, tied by id if at all.
        let (interviews, ours) = match &id_tie {
            Some((_, sends)) => (
                interviews_of(sends),
                (sends.len() == 1).then(|| sends[0].to.clone()),
            ),
            None => (Vec::new(), None),
        };
        recipients.push(RecipientReport {
            address: String::new(),
            ours,
            interviews,
            tie: id_tie.map(|(t, _)| t),
            outcome: Outcome::Delayed,
            status: None,
            diagnostic: String::new(),
        });
    }
    Some(DeliveryReport { kind, recipients })
}

fn recipient_report(
    block: &RecipientStatus,
    id_tie: Option<&(Tie, Vec<&OurSend>)>,
    sent: &[OurSend],
    received: DateTime<Utc>,
    blocks: usize,
) -> RecipientReport {
    let address = block.addresses().next().unwrap_or_default().to_string();
    let diagnostic = block.diagnostic.clone().unwrap_or_default();
    let outcome = Outcome::of(block.action, block.status, &diagnostic);
    let mut report = RecipientReport {
        address: address.clone(),
        ours: None,
        interviews: Vec::new(),
        tie: None,
        outcome,
        status: block.status,
        diagnostic,
    };
    if let Some((tie, sends)) = id_tie {
        let named: Vec<&OurSend> = sends
            .iter()
            .copied()
            .filter(|s| block.addresses().any(|a| a == s.to))
            .collect();
        // A report about our message naming a rewritten address (an alias, a forward) still
        // concerns what we sent, when it names one recipient and we sent to one.
        let concerned = if !named.is_empty() {
            named
        } else if blocks == 1 && sends.len() == 1 {
            sends.clone()
        } else {
            Vec::new()
        };
        if let Some(first) = concerned.first() {
            report.ours = Some(first.to.clone());
            report.interviews = interviews_of(&concerned);
            report.tie = Some(tie.clone());
            return report;
        }
    }
    let since = received - Duration::days(RECIPIENT_TIE_DAYS);
    for candidate in block.addresses() {
        let sends: Vec<&OurSend> = sent
            .iter()
            .filter(|s| s.to == candidate && s.at >= since)
            .collect();
        if !sends.is_empty() {
            report.ours = Some(candidate.to_string());
            report.interviews = interviews_of(&sends);
            report.tie = Some(Tie::Recipient(candidate.to_string()));
            break;
        }
    }
    report
}

fn interviews_of(sends: &[&OurSend]) -> Vec<String> {
    let mut ids: Vec<String> = sends.iter().map(|s| s.interview.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The most reliable Message-ID tie: the returned message's id, `X-Original-Message-ID`,
/// threading, then our id anywhere in the text.
fn id_tie<'a>(msg: &InboundMessage, sent: &'a [OurSend]) -> Option<(Tie, Vec<&'a OurSend>)> {
    let with_id = |id: &MessageId| -> Vec<&'a OurSend> {
        sent.iter()
            .filter(|s| s.message_id.as_ref() == Some(id))
            .collect()
    };
    let candidates = msg
        .report
        .returned
        .as_ref()
        .and_then(|r| r.message_id.clone())
        .map(Tie::ReturnedMessage)
        .into_iter()
        .chain(
            msg.report
                .x_original_message_id
                .clone()
                .map(Tie::OriginalMessageId),
        )
        .chain(msg.parents().cloned().map(Tie::Threaded));
    for tie in candidates {
        let id = match &tie {
            Tie::ReturnedMessage(id) | Tie::OriginalMessageId(id) | Tie::Threaded(id) => id,
            _ => continue,
        };
        let sends = with_id(id);
        if !sends.is_empty() {
            return Some((tie, sends));
        }
    }
    for send in sent {
        let Some(id) = &send.message_id else { continue };
        let bare = id.as_str().trim_start_matches('<').trim_end_matches('>');
        if bare.len() > 4 && (msg.text.contains(bare) || msg.report.more_text.contains(bare)) {
            return Some((Tie::IdInText(id.clone()), with_id(id)));
        }
    }
    None
}

/// The recipient blocks of a plain-text bounce, when the message is one: from a mail system
/// (`MAILER-DAEMON`, `postmaster`, the null sender or `X-Failed-Recipients`) and worded as a
/// bounce or a delay warning.
fn plain_text_blocks(msg: &InboundMessage, known_report: bool) -> Option<Vec<RecipientStatus>> {
    if !known_report && !from_mail_system(msg) {
        return None;
    }
    let own = servers_words(&msg.text);
    let subject = msg.subject.to_lowercase();
    // A warning says so in its words; "Warning: user unknown" is no delay.
    let dead = crate::core::permanence::says_address_is_dead(&own);
    let warning = !dead
        && (WARNING_WORDS
            .iter()
            .any(|w| own.contains(w) || subject.contains(w))
            || subject.contains("delayed"));
    let failure = BOUNCE_WORDS
        .iter()
        .any(|w| own.contains(w) || subject.contains(w))
        || dead
        || !msg.report.x_failed_recipients.is_empty();
    if !warning && !failure {
        return None;
    }
    let action = if warning {
        Action::Delayed
    } else {
        Action::Failed
    };
    let mut addresses: Vec<String> = msg
        .report
        .x_failed_recipients
        .iter()
        .filter_map(|a| address_field(a))
        .collect();
    if addresses.is_empty() {
        let sender = msg.from.as_ref().map(|p| p.address.to_lowercase());
        addresses = addresses_in(&own)
            .into_iter()
            .filter(|a| Some(a) != sender.as_ref())
            .filter(|a| !is_bounce_sender(&Party::new(None, a)))
            .collect();
    }
    addresses.truncate(MAX_RECIPIENTS);
    let first_code = EnhancedStatus::find(&own);
    Some(
        addresses
            .into_iter()
            .map(|address| {
                // The words next to the address are its diagnostic.
                let near = own.find(&address).map_or("", |at| {
                    let end = (at + 400).min(own.len());
                    let end = (0..=end)
                        .rev()
                        .find(|&e| own.is_char_boundary(e))
                        .unwrap_or(0);
                    &own[at..end]
                });
                let status = EnhancedStatus::find(near).or(first_code);
                let status = status.filter(|s| {
                    // A warning's code is a delay, a failure's a failure, whatever else is quoted.
                    (action == Action::Delayed) == (s.class == 4)
                });
                let words = if near.is_empty() { own.as_str() } else { near };
                RecipientStatus {
                    final_recipient: Some(address),
                    original_recipient: None,
                    action: Some(action),
                    status,
                    diagnostic: Some(capped(&diagnostic_words(words, &own), MAX_DIAGNOSTIC_CHARS)),
                }
            })
            .collect(),
    )
}

/// `MAILER-DAEMON` or `postmaster` (any domain), the null sender, or `X-Failed-Recipients`.
fn from_mail_system(msg: &InboundMessage) -> bool {
    msg.from.as_ref().is_some_and(is_bounce_sender)
        || msg.auto.null_return_path
        || !msg.report.x_failed_recipients.is_empty()
}

/// The server's own words: lower-cased, blanks run together, up to where the returned message
/// starts.
fn servers_words(text: &str) -> String {
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    let cut = RETURNED_MARKERS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(lower.len());
    lower[..cut]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// What a person reads as the reason: the words near the address when they say something, else
/// the whole text's start.
fn diagnostic_words(near: &str, own: &str) -> String {
    if names_a_dead_address(None, near) || EnhancedStatus::find(near).is_some() {
        near.to_string()
    } else {
        own.to_string()
    }
}

/// The addresses written in a text, lower-cased, each once, in order.
fn addresses_in(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace() || "<>()[]\"',;:=".contains(c)) {
        let word = word.trim_matches(|c: char| c == '.' || c == '`');
        let Some((local, domain)) = word.split_once('@') else {
            continue;
        };
        let ok = !local.is_empty()
            && domain.contains('.')
            && !domain.contains('@')
            && word.len() < 254
            && word
                .chars()
                .all(|c| c.is_alphanumeric() || "@.-_+".contains(c));
        if ok && !out.iter().any(|a| a == word) {
            out.push(word.to_string());
            if out.len() >= MAX_RECIPIENTS {
                break;
            }
        }
    }
    out
}

fn capped(text: &str, max_chars: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests;
