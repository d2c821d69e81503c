//! What a message found in the mailbox means for the open interviews: a reply, a rejection, an
//! out-of-office, the user's own follow-up, or nothing.
//!
//! Pure like the rest of the core: the shell parses the bytes into an [`InboundMessage`] and hands
//! it over with the open interviews; every rule of "what counts as a reply" lives here, and each
//! verdict names the rule that matched in words a person can read (`followup replies` shows them).
//!
//! The order of the rules (one place: [`classify`]):
//! 1. a **delivery report** ([`read_report`]: `multipart/report`, or a plain-text bounce from a
//!    mail system), unless it is a forwarded copy;
//! 2. a **read receipt**: like a report, never a reply, never an out-of-office, never a stop or a
//!    hold by itself;
//! 3. **automatic** ([`AUTOMATIC_SIGNALS`]): an out-of-office from an interviewer holds their
//!    next step ([`out_of_office_hold`]); anything else automatic is nothing;
//! 4. **the user's own** (`me.email` or an alias): their own follow-up when it goes to an
//!    interviewer of an open interview and is not one of ours, else nothing;
//! 5. a **reply**, by the first rule that matches: threading, an interviewer, a company domain, an
//!    ATS naming the company ([`ReplyRule`]); its text may read as a rejection
//!    ([`REJECTION_PHRASES`]); a forwarded copy (`Fwd:` and friends) is none; else nothing.

pub mod report;
mod return_date;

use std::fmt;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, Utc};

use super::address::EmailAddress;
use super::message_id::MessageId;
use super::model::Interview;

pub use report::{
    Action, DeliveryReport, OurSend, Outcome, RecipientReport, RecipientStatus, ReportKind,
    ReportParts, Returned, Tie, is_bounce_sender, parse_delivery_status, read_report,
};
pub use return_date::parse_return_date;

/// A name and an address from an address header. The address is kept as received (inbound mail
/// may hold anything); compare it with [`Party::is`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub name: Option<String>,
    pub address: String,
}

impl Party {
    pub fn new(name: Option<&str>, address: &str) -> Self {
        Self {
            name: name.map(str::to_string).filter(|n| !n.trim().is_empty()),
            address: address.trim().to_string(),
        }
    }

    /// The domain, lower-cased; empty when the address has no `@`.
    pub fn domain(&self) -> String {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
            .unwrap_or_default()
    }

    /// Whether this is that address (case-insensitive, as mail systems treat them).
    pub fn is(&self, address: &EmailAddress) -> bool {
        self.address.eq_ignore_ascii_case(address.as_str())
    }

    /// The name when there is one, else the address: for messages to the user.
    pub fn display(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.address)
    }
}

/// The headers that mark a message as sent by a machine, as received (trimmed; `None` when
/// absent). [`automatic_signal`] reads them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AutoHeaders {
    pub auto_submitted: Option<String>,
    pub x_autoreply: Option<String>,
    pub x_autorespond: Option<String>,
    pub precedence: Option<String>,
    /// `Return-Path: <>`: the null sender of bounces and auto-replies.
    pub null_return_path: bool,
    pub exchange_generated: Option<String>,
    pub list_id: Option<String>,
    /// iCloud's `X-Apple-Action` (`VACATION` on an out-of-office).
    pub x_apple_action: Option<String>,
    /// Exchange's `X-MS-Exchange-Inbox-Rules-Loop`: a rule of the recipient's mailbox answered.
    pub exchange_rules_loop: Option<String>,
    /// `X-Auto-Response-Suppress`: with the rules loop above, an Exchange automatic reply.
    pub auto_response_suppress: Option<String>,
    /// The first vacation header present ([`VACATION_HEADERS`]).
    pub vacation_header: Option<String>,
}

/// Headers whose presence marks a vacation reply (Zimbra's, and older vacation programs'). Their
/// replies also say `Auto-Submitted: auto-replied`, which counts on its own.
pub const VACATION_HEADERS: &[&str] = &["X-Zimbra-Vacation", "X-Vacation", "X-Mailer-Vacation"];

/// A fetched message as the rules see it: filled by the shell's parser, whatever the bytes were.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InboundMessage {
    pub message_id: Option<MessageId>,
    /// The first address of `From:`.
    pub from: Option<Party>,
    pub reply_to: Vec<Party>,
    pub to: Vec<Party>,
    pub cc: Vec<Party>,
    pub subject: String,
    /// The `Date:` header, when it parses.
    pub date: Option<DateTime<FixedOffset>>,
    pub in_reply_to: Vec<MessageId>,
    pub references: Vec<MessageId>,
    pub auto: AutoHeaders,
    /// The first text: text/plain, else HTML reduced to text; only a prefix of a long message.
    pub text: String,
    /// What the rules of approving by reply read besides (see [`super::reply_command`]).
    pub command: super::reply_command::CommandSignals,
    /// What the message holds of a delivery report or a read receipt.
    pub report: ReportParts,
}

impl InboundMessage {
    /// Everyone the message was addressed to.
    pub fn recipients(&self) -> impl Iterator<Item = &Party> {
        self.to.iter().chain(&self.cc)
    }

    /// The sender's addresses: From, then Reply-To.
    fn senders(&self) -> impl Iterator<Item = &Party> {
        self.from.iter().chain(&self.reply_to)
    }

    /// The ids this message answers: In-Reply-To, then References.
    fn parents(&self) -> impl Iterator<Item = &MessageId> {
        self.in_reply_to.iter().chain(&self.references)
    }

    /// The day it was written, in the sender's own offset; else the day it arrived.
    fn sent_on(&self, received: DateTime<Utc>) -> NaiveDate {
        self.date
            .map(|d| d.date_naive())
            .unwrap_or_else(|| received.date_naive())
    }
}

/// An interview still waiting for an answer, with what the shell knows about it.
#[derive(Debug, Clone, Copy)]
pub struct OpenInterview<'a> {
    pub interview: &'a Interview,
    /// The Message-IDs of the messages we sent for it.
    pub our_ids: &'a [MessageId],
    /// Its company's mail domains: the record's `domains:`, else [`company_domains`].
    pub domains: &'a [String],
}

/// Who the user is and what is open: the rules' whole world besides the message.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// `me.email` and `me.aliases`.
    pub me: &'a [EmailAddress],
    pub open: &'a [OpenInterview<'a>],
    /// Every send of ours, open interview or not: what a delivery report is tied to.
    pub sent: &'a [OurSend],
}

/// What a message means. [`fmt::Display`] says it in a sentence, naming the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Someone at the company answered: stop the automatic checks of these interviews (usually
    /// one; more when the sender is an interviewer of several).
    Reply {
        interviews: Vec<String>,
        rule: ReplyRule,
        /// The phrase that makes it read as a rejection, if one does.
        rejection: Option<&'static str>,
    },
    /// An interviewer is away: their next step waits until `until` (a day, in their calendar).
    OutOfOffice {
        interviews: Vec<String>,
        /// The interviewer's address, lower-cased (the cap's identity).
        interviewer: String,
        /// The return date the message gave, if any.
        return_date: Option<NaiveDate>,
        until: NaiveDate,
        signal: AutoSignal,
    },
    /// The user wrote to an interviewer themselves: a touch toward the weekly cap.
    ManualFollowUp {
        interviews: Vec<String>,
        interviewer: String,
    },
    /// Mail that came back: a delivery report, read recipient by recipient and tied to our
    /// sends where it can be. Only a failure changes anything (see [`Outcome`]).
    DeliveryReport(DeliveryReport),
    /// A read receipt (`report-type=disposition-notification`): recorded only.
    ReadReceipt { interviews: Vec<String> },
    /// Nothing for the playbook, and why.
    Nothing(Ignored),
}

/// Why a message did not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    Automatic(AutoSignal),
    Forwarded,
    /// From the user, but to nobody of an open interview (or one of our own messages).
    FromMe,
    /// One of our own messages, seen again (a copy in Sent, or a bounce of it).
    Ours,
    /// No rule ties it to an open interview.
    Unrelated,
}

/// Which rule tied a reply to an interview.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyRule {
    /// `In-Reply-To` or `References` names one of our Message-IDs.
    Threaded(MessageId),
    /// From or Reply-To is an interviewer.
    Interviewer(String),
    /// The sender's domain is one of the company's.
    CompanyDomain(String),
    /// An applicant-tracking system's address, with the company named in From's display name
    /// or the Subject.
    Ats { domain: String, named_in: NamedIn },
}

/// Where an ATS message names the company.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NamedIn {
    DisplayName,
    Subject,
}

/// What made a message automatic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoSignal {
    /// `Auto-Submitted` other than `no`, with its value.
    AutoSubmitted(String),
    XAutoreply,
    XAutorespond,
    /// `Precedence: auto_reply | bulk | junk | list`.
    Precedence(String),
    NullReturnPath,
    ExchangeGenerated,
    ListId(String),
    /// An out-of-office subject, with the phrase.
    OutOfOfficeSubject(&'static str),
    /// iCloud's `X-Apple-Action: VACATION`.
    AppleVacation,
    /// Exchange's `X-MS-Exchange-Inbox-Rules-Loop` with `X-Auto-Response-Suppress: All`.
    ExchangeRule,
    /// A vacation header ([`VACATION_HEADERS`]).
    VacationHeader,
    /// A mail system's or a no-reply address (`mailer-daemon`, `postmaster`, `no-reply` ...),
    /// with its local part.
    SystemSender(String),
}

/// The automatic-message signals, in the order [`automatic_signal`] checks them (documentation).
/// `X-Auto-Response-Suppress` is not one: Outlook puts it on ordinary mail too.
pub const AUTOMATIC_SIGNALS: &[&str] = &[
    "Auto-Submitted: anything but `no`",
    "X-Autoreply",
    "X-Autorespond",
    "Precedence: auto_reply, bulk, junk or list",
    "Return-Path: <> (the null sender)",
    "X-MS-Exchange-Generated-Message-Source",
    "List-Id",
    "an out-of-office subject (OUT_OF_OFFICE_SUBJECTS)",
    "X-Apple-Action: VACATION (iCloud)",
    "X-MS-Exchange-Inbox-Rules-Loop with X-Auto-Response-Suppress: All (Exchange)",
    "a vacation header (VACATION_HEADERS, Zimbra)",
    "a sender whose local part is in SYSTEM_SENDERS (outside the ATS rule)",
];

/// Local parts of addresses no person reads, lower-case: mail from them is automatic (an ATS's
/// `no-reply@` is read by the ATS rule first).
pub const SYSTEM_SENDERS: &[&str] = &[
    "mailer-daemon",
    "mailerdaemon",
    "mail-daemon",
    "postmaster",
    "no-reply",
    "noreply",
    "do-not-reply",
    "donotreply",
    "do_not_reply",
];

/// Subjects of out-of-office replies, lower-case, matched anywhere in the subject.
pub const OUT_OF_OFFICE_SUBJECTS: &[&str] = &[
    "automatic reply",
    "auto reply",
    "auto-reply",
    "autoreply",
    "out of office",
    "out of the office",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "reponse automatique",
    "absence du bureau",
    "autosvar",
    "automatisk svar",
    "automatisch antwoord",
    "afwezigheidsbericht",
    "risposta automatica",
    "fuori sede",
    "fuori ufficio",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "frånvaro",
    "resposta automática",
    "resposta automatica",
    "ausência",
    "automaattinen vastaus",
    "poissa toimistolta",
    "odpowiedź automatyczna",
    "automatická odpověď",
    "automatikus válasz",
    "αυτόματη απάντηση",
    "автоматический ответ",
    "自動応答",
    "自動返信",
    "不在",
    "自动回复",
    "자동 응답",
];

/// Phrases of an out-of-office text, lower-case: what makes an automatic message an absence
/// rather than a receipt or a notification.
pub const OUT_OF_OFFICE_PHRASES: &[&str] = &[
    "out of the office",
    "out of office",
    "on vacation",
    "on holiday",
    "on leave",
    "away from the office",
    "limited access to email",
    "limited access to e-mail",
    "nicht im büro",
    "abwesend",
    "im urlaub",
    "absent du bureau",
    "absent",
    "en congé",
    "en vacances",
];

/// Phrases that make a reply read as a rejection, lower-case, matched in the text with runs of
/// blanks and line breaks read as one space and the quoted part cut off.
pub const REJECTION_PHRASES: &[&str] = &[
    "decided to move forward with other candidates",
    "decided to move forward with another candidate",
    "move forward with other candidates",
    "moving forward with other candidates",
    "not moving forward",
    "will not be moving forward",
    "won't be moving forward",
    "decided not to move forward",
    "decided not to proceed",
    "not to proceed with your application",
    "position has been filled",
    "role has been filled",
    "pursue other candidates",
    "decided to pursue other",
    "decided to go with another candidate",
    "unable to offer you the position",
    "not be offering you",
    "we regret to inform you",
];

/// Applicant-tracking systems that send mail for many companies: a message from one counts only
/// when it names the company. Matched on the sender's domain or a parent of it.
pub const ATS_DOMAINS: &[&str] = &[
    "greenhouse.io",
    "greenhouse-mail.io",
    "lever.co",
    "myworkday.com",
    "workday.com",
    "smartrecruiters.com",
    "ashbyhq.com",
    "icims.com",
    "workablemail.com",
    "workable.com",
    "jobvite.com",
    "bamboohr.com",
    "recruitee.com",
    "teamtailor.com",
    "personio.de",
    "personio.com",
    "taleo.net",
    "successfactors.com",
    "jazzhr.com",
    "breezy.hr",
    "pinpointhq.com",
];

/// Public mail providers: a domain anybody can have an address at, so never a company's.
pub const PUBLIC_MAIL_PROVIDERS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "yahoo.com",
    "ymail.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "proton.me",
    "protonmail.com",
    "pm.me",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "t-online.de",
    "freenet.de",
    "posteo.de",
    "mailbox.org",
    "aol.com",
    "zoho.com",
    "zohomail.com",
    "fastmail.com",
    "fastmail.fm",
    "mail.com",
    "hey.com",
    "tutanota.com",
    "tuta.io",
    "yandex.com",
    "yandex.ru",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "wanadoo.fr",
    "qq.com",
    "163.com",
];

/// Providers that exist under many country domains (`hotmail.co.uk`, `yahoo.fr`, ...): matched
/// on the first label.
const PUBLIC_PROVIDER_FAMILIES: &[&str] =
    &["gmail", "googlemail", "hotmail", "outlook", "live", "yahoo"];

/// Subject prefixes of a forwarded copy, lower-case (English, German, French, Dutch, Nordic).
const FORWARD_PREFIXES: &[&str] = &["fwd:", "fw:", "wg:", "tr:", "doorst:", "vs:", "vb:"];

/// How long an out-of-office without a date holds the interviewer.
pub const OUT_OF_OFFICE_DEFAULT_DAYS: u64 = 7;
/// The longest an out-of-office holds anyone, whatever date it names.
pub const OUT_OF_OFFICE_MAX_DAYS: u64 = 30;

/// The company's mail domains: the record's `domains:` when given, else the interviewers'
/// domains, lower-cased, without the public providers.
pub fn company_domains(interview: &Interview) -> Vec<String> {
    if !interview.domains.is_empty() {
        return interview.domains.clone();
    }
    let mut domains: Vec<String> = interview
        .interviewers
        .iter()
        .filter_map(|i| i.email.as_ref())
        .map(|e| e.domain().to_ascii_lowercase())
        .filter(|d| !d.is_empty() && !is_public_provider(d))
        .collect();
    domains.sort();
    domains.dedup();
    domains
}

/// Whether anybody can have an address at this domain ([`PUBLIC_MAIL_PROVIDERS`]).
pub fn is_public_provider(domain: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    PUBLIC_MAIL_PROVIDERS.contains(&d.as_str())
        || d.split('.').next().is_some_and(|first| {
            PUBLIC_PROVIDER_FAMILIES.contains(&first) && d.split('.').count() >= 2
        })
}

/// The ATS a domain belongs to ([`ATS_DOMAINS`]), if any.
pub fn ats_domain(domain: &str) -> Option<&'static str> {
    ATS_DOMAINS
        .iter()
        .copied()
        .find(|ats| is_same_or_subdomain(domain, ats))
}

/// `eu.globex.example` belongs to `globex.example`; `notglobex.example` does not.
fn is_same_or_subdomain(domain: &str, parent: &str) -> bool {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    let p = parent.trim_end_matches('.').to_ascii_lowercase();
    !p.is_empty() && (d == p || d.strip_suffix(&p).is_some_and(|rest| rest.ends_with('.')))
}

/// The first signal that marks the message as sent by a machine, or `None` for a person's mail.
pub fn automatic_signal(msg: &InboundMessage) -> Option<AutoSignal> {
    automatic_signals(msg).into_iter().next()
}

/// Every automatic signal the message carries, in the order of [`AUTOMATIC_SIGNALS`].
pub fn automatic_signals(msg: &InboundMessage) -> Vec<AutoSignal> {
    let a = &msg.auto;
    let mut found = Vec::new();
    if let Some(v) = &a.auto_submitted {
        let value = first_word(v);
        if !value.is_empty() && value != "no" {
            found.push(AutoSignal::AutoSubmitted(value));
        }
    }
    if a.x_autoreply.is_some() {
        found.push(AutoSignal::XAutoreply);
    }
    if a.x_autorespond.is_some() {
        found.push(AutoSignal::XAutorespond);
    }
    if let Some(v) = &a.precedence {
        let value = first_word(v);
        if ["auto_reply", "bulk", "junk", "list"].contains(&value.as_str()) {
            found.push(AutoSignal::Precedence(value));
        }
    }
    if a.null_return_path {
        found.push(AutoSignal::NullReturnPath);
    }
    if a.exchange_generated.is_some() {
        found.push(AutoSignal::ExchangeGenerated);
    }
    if let Some(v) = &a.list_id {
        found.push(AutoSignal::ListId(v.clone()));
    }
    found.extend(out_of_office_subject(&msg.subject).map(AutoSignal::OutOfOfficeSubject));
    if a.x_apple_action
        .as_deref()
        .is_some_and(|v| first_word(v) == "vacation")
    {
        found.push(AutoSignal::AppleVacation);
    }
    if a.exchange_rules_loop.is_some()
        && a.auto_response_suppress
            .as_deref()
            .is_some_and(|v| first_word(v) == "all")
    {
        found.push(AutoSignal::ExchangeRule);
    }
    if a.vacation_header.is_some() {
        found.push(AutoSignal::VacationHeader);
    }
    if let Some(local) = msg.from.as_ref().and_then(system_sender) {
        found.push(AutoSignal::SystemSender(local));
    }
    found
}

/// The local part of a mail system's or a no-reply address ([`SYSTEM_SENDERS`]).
fn system_sender(party: &Party) -> Option<String> {
    let local = party.address.rsplit_once('@')?.0.to_ascii_lowercase();
    SYSTEM_SENDERS.contains(&local.as_str()).then_some(local)
}

/// The lower-cased first word of a header value: `auto-replied; owner-email=...` reads
/// `auto-replied`.
fn first_word(value: &str) -> String {
    value
        .split(|c: char| c == ';' || c == '(' || c.is_whitespace())
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .to_ascii_lowercase()
}

fn out_of_office_subject(subject: &str) -> Option<&'static str> {
    let s = subject.to_lowercase();
    OUT_OF_OFFICE_SUBJECTS
        .iter()
        .copied()
        .find(|p| s.contains(p))
}

/// Whether an automatic message is an absence notice: its signal says it answers a message
/// (`auto-replied`, `X-Autoreply`, an out-of-office subject) or its text reads as one.
fn is_out_of_office(msg: &InboundMessage, signal: &AutoSignal, text: &str) -> bool {
    match signal {
        AutoSignal::AutoSubmitted(v) if v == "auto-replied" => true,
        AutoSignal::XAutoreply
        | AutoSignal::XAutorespond
        | AutoSignal::OutOfOfficeSubject(_)
        | AutoSignal::AppleVacation
        | AutoSignal::VacationHeader => true,
        AutoSignal::ListId(_) | AutoSignal::SystemSender(_) => false,
        AutoSignal::Precedence(v) if v == "bulk" || v == "list" || v == "junk" => {
            // A vacation reply often says `Precedence: bulk` too; other headers then tell.
            out_of_office_subject(&msg.subject).is_some()
                || msg
                    .auto
                    .auto_submitted
                    .as_deref()
                    .map(first_word)
                    .as_deref()
                    == Some("auto-replied")
                || OUT_OF_OFFICE_PHRASES.iter().any(|p| text.contains(p))
        }
        _ => {
            out_of_office_subject(&msg.subject).is_some()
                || OUT_OF_OFFICE_PHRASES.iter().any(|p| text.contains(p))
        }
    }
}

/// How long an out-of-office holds the interviewer: until the day after the return date it
/// names, at most [`OUT_OF_OFFICE_MAX_DAYS`] after it was sent; [`OUT_OF_OFFICE_DEFAULT_DAYS`]
/// when it names none, or only one already past. `sent_on` is the day the message was written.
pub fn out_of_office_hold(text: &str, sent_on: NaiveDate) -> (Option<NaiveDate>, NaiveDate) {
    let cap = sent_on + Days::new(OUT_OF_OFFICE_MAX_DAYS);
    let default = sent_on + Days::new(OUT_OF_OFFICE_DEFAULT_DAYS);
    match parse_return_date(text, sent_on) {
        Some(date) if date >= sent_on => (Some(date), (date + Days::new(1)).min(cap)),
        Some(date) => (Some(date), default),
        None => (None, default),
    }
}

/// The text the rules read: lower-case, curly apostrophes straightened, runs of blanks as one
/// space, and the quoted part (`> ...`, "On ... wrote:", an original-message separator) cut off.
pub fn own_text(text: &str) -> String {
    let mut kept = String::new();
    for line in text.lines() {
        let t = line.trim();
        let lower = t.to_lowercase();
        if is_quote_start(&lower) {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        kept.push_str(t);
        kept.push(' ');
    }
    let lower = kept.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a line (trimmed, lower-cased) starts the quoted part of a reply.
pub fn is_quote_start(lower: &str) -> bool {
    lower.starts_with("-----original message-----")
        || lower.starts_with("-----ursprüngliche nachricht-----")
        || lower.starts_with("-----message d'origine-----")
        || lower.starts_with("---------- forwarded message")
        || lower.starts_with("________________________________")
        || (lower.starts_with("on ") && lower.ends_with("wrote:"))
        || (lower.starts_with("am ") && lower.ends_with("schrieb:"))
        || (lower.starts_with("am ") && lower.contains(" schrieb ") && lower.ends_with(':'))
        || (lower.starts_with("le ")
            && (lower.ends_with("a écrit :") || lower.ends_with("a écrit:")))
}

/// The first rejection phrase in a text already reduced by [`own_text`].
pub fn rejection_phrase(own: &str) -> Option<&'static str> {
    REJECTION_PHRASES.iter().copied().find(|p| own.contains(p))
}

/// Whether a subject marks a forwarded copy.
pub fn is_forwarded(subject: &str) -> bool {
    let s = subject.trim_start().to_lowercase();
    // "Re: Fwd: ..." is an answer to a forward; only a leading forward prefix marks a copy.
    FORWARD_PREFIXES.iter().any(|p| s.starts_with(p))
}

/// What one message found in the mailbox means. `received` is when the server got it
/// (INTERNALDATE): the day an out-of-office counts from when its `Date:` is missing or broken.
///
/// The order, in this one place: a forwarded copy of mail that came back, a delivery report, a
/// read receipt, the user's own, automatic, a forward, a reply.
pub fn classify(msg: &InboundMessage, ctx: &Context<'_>, received: DateTime<Utc>) -> Verdict {
    let forwarded = is_forwarded(&msg.subject);
    // 1. A delivery report (a bounce forwarded inside another message is not one).
    // A report about the user's own address (a notice to them) is not about an interviewer.
    let to_me = |s: &OurSend| {
        ctx.me
            .iter()
            .any(|me| me.as_str().eq_ignore_ascii_case(&s.to))
    };
    let others: Vec<OurSend>;
    let sent = if ctx.sent.iter().any(to_me) {
        others = ctx.sent.iter().filter(|s| !to_me(s)).cloned().collect();
        &others
    } else {
        ctx.sent
    };
    if !forwarded && let Some(report) = read_report(msg, sent, received) {
        return Verdict::DeliveryReport(report);
    }
    // 2. A read receipt.
    if report::is_read_receipt(msg) {
        let interviews = msg
            .parents()
            .map(|id| matching(ctx, |o| o.our_ids.contains(id)))
            .find(|hits| !hits.is_empty())
            .unwrap_or_default();
        return Verdict::ReadReceipt { interviews };
    }
    let ours = |id: &MessageId| ctx.open.iter().any(|o| o.our_ids.contains(id));
    let from_me = msg
        .from
        .as_ref()
        .is_some_and(|f| ctx.me.iter().any(|me| f.is(me)));
    if from_me && msg.message_id.as_ref().is_some_and(ours) {
        return Verdict::Nothing(Ignored::Ours);
    }
    // 3. Automatic. ATS mail is sent by a machine by nature: the headers every ATS message
    // carries do not disqualify it; an auto-reply's or a mailing list's still do.
    let text = own_text(&msg.text);
    let ats = is_ats_message(msg);
    let signal = automatic_signals(msg)
        .into_iter()
        .find(|s| !(ats && is_ats_notification(s)));
    if let Some(signal) = signal {
        // The user's own vacation responder answering an interviewer is no follow-up of theirs.
        if from_me {
            return Verdict::Nothing(Ignored::Automatic(signal));
        }
        return classify_automatic(msg, ctx, signal, &text, received);
    }
    // 4. The user's own.
    if from_me {
        return classify_from_me(msg, ctx);
    }
    // 5. A reply.
    if is_forwarded(&msg.subject) {
        return Verdict::Nothing(Ignored::Forwarded);
    }
    match reply_rule(msg, ctx) {
        Some((interviews, rule)) => Verdict::Reply {
            interviews,
            rule,
            rejection: rejection_phrase(&text),
        },
        None => Verdict::Nothing(Ignored::Unrelated),
    }
}

/// Whether the sender is an ATS.
fn is_ats_message(msg: &InboundMessage) -> bool {
    msg.senders().any(|p| ats_domain(&p.domain()).is_some())
}

/// The signals every ATS message carries (`Auto-Submitted: auto-generated`, `Precedence: bulk`),
/// as opposed to those of an auto-reply or a mailing list, which still count.
fn is_ats_notification(signal: &AutoSignal) -> bool {
    match signal {
        AutoSignal::AutoSubmitted(v) => v == "auto-generated",
        AutoSignal::Precedence(v) => v == "bulk",
        AutoSignal::SystemSender(local) => !local.contains("daemon") && local != "postmaster",
        _ => false,
    }
}

fn classify_from_me(msg: &InboundMessage, ctx: &Context<'_>) -> Verdict {
    for recipient in msg.recipients() {
        let interviews = interviewed_by(ctx, recipient);
        if !interviews.is_empty() {
            return Verdict::ManualFollowUp {
                interviews,
                interviewer: recipient.address.to_lowercase(),
            };
        }
    }
    Verdict::Nothing(Ignored::FromMe)
}

fn classify_automatic(
    msg: &InboundMessage,
    ctx: &Context<'_>,
    signal: AutoSignal,
    text: &str,
    received: DateTime<Utc>,
) -> Verdict {
    if !is_out_of_office(msg, &signal, text) {
        return Verdict::Nothing(Ignored::Automatic(signal));
    }
    let Some(from) = &msg.from else {
        return Verdict::Nothing(Ignored::Automatic(signal));
    };
    let interviews = interviewed_by(ctx, from);
    if interviews.is_empty() {
        return Verdict::Nothing(Ignored::Automatic(signal));
    }
    let (return_date, until) = out_of_office_hold(text, msg.sent_on(received));
    Verdict::OutOfOffice {
        interviews,
        interviewer: from.address.to_lowercase(),
        return_date,
        until,
        signal,
    }
}

/// The first reply rule that ties the message to open interviews, with those interviews.
fn reply_rule(msg: &InboundMessage, ctx: &Context<'_>) -> Option<(Vec<String>, ReplyRule)> {
    // 1. Threading: exact, so it wins over everything else.
    for id in msg.parents() {
        let hits = matching(ctx, |o| o.our_ids.contains(id));
        if !hits.is_empty() {
            return Some((hits, ReplyRule::Threaded(id.clone())));
        }
    }
    // 2. An interviewer, from From or Reply-To.
    for sender in msg.senders() {
        let hits = interviewed_by(ctx, sender);
        if !hits.is_empty() {
            return Some((hits, ReplyRule::Interviewer(sender.address.to_lowercase())));
        }
    }
    // 3. A company domain (or a subdomain of one).
    for sender in msg.senders() {
        let domain = sender.domain();
        if domain.is_empty() {
            continue;
        }
        let hits = matching(ctx, |o| {
            o.domains.iter().any(|d| is_same_or_subdomain(&domain, d))
        });
        if !hits.is_empty() {
            return Some((hits, ReplyRule::CompanyDomain(domain)));
        }
    }
    // 4. An ATS, when it names the company.
    let from = msg.from.as_ref()?;
    let ats = ats_domain(&from.domain())?;
    let name = from.name.as_deref().unwrap_or("");
    for (named_in, text) in [
        (NamedIn::DisplayName, name),
        (NamedIn::Subject, &msg.subject),
    ] {
        let hits = matching(ctx, |o| names_company(text, &o.interview.company));
        if !hits.is_empty() {
            return Some((
                hits,
                ReplyRule::Ats {
                    domain: ats.to_string(),
                    named_in,
                },
            ));
        }
    }
    None
}

/// The open interviews where this party is an interviewer.
fn interviewed_by(ctx: &Context<'_>, party: &Party) -> Vec<String> {
    matching(ctx, |o| {
        o.interview
            .interviewers
            .iter()
            .any(|i| i.email.as_ref().is_some_and(|e| party.is(e)))
    })
}

fn matching(ctx: &Context<'_>, pred: impl Fn(&OpenInterview<'_>) -> bool) -> Vec<String> {
    ctx.open
        .iter()
        .filter(|o| pred(o))
        .map(|o| o.interview.id.clone())
        .collect()
}

/// Whether a text names the company as a whole word ("Globex" in "Globex Recruiting", not in
/// "Globexico"), case-insensitive.
fn names_company(text: &str, company: &str) -> bool {
    let company = company.trim().to_lowercase();
    if company.is_empty() {
        return false;
    }
    let text = text.to_lowercase();
    text.match_indices(&company).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + company.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Reply {
                interviews,
                rule,
                rejection,
            } => {
                write!(f, "a reply about {}: {rule}", interviews.join(", "))?;
                if let Some(p) = rejection {
                    write!(f, "; it reads as a rejection (\"{p}\")")?;
                }
                Ok(())
            }
            Verdict::OutOfOffice {
                interviewer,
                return_date,
                until,
                signal,
                ..
            } => {
                write!(f, "an out-of-office from {interviewer} ({signal}); ")?;
                match return_date {
                    Some(d) => write!(f, "back on {d}, so the next step waits until {until}"),
                    None => write!(
                        f,
                        "no return date, so the next step waits {OUT_OF_OFFICE_DEFAULT_DAYS} days, until {until}"
                    ),
                }
            }
            Verdict::ManualFollowUp {
                interviews,
                interviewer,
            } => write!(
                f,
                "your own message to {interviewer} about {}: it counts toward the weekly cap",
                interviews.join(", ")
            ),
            Verdict::DeliveryReport(report) => {
                let kind = match report.kind {
                    ReportKind::Standard => "a delivery report",
                    ReportKind::PlainText => "a bounce in plain text",
                };
                write!(f, "{kind}, not a reply")?;
                for r in &report.recipients {
                    let to = if r.address.is_empty() {
                        "nobody named"
                    } else {
                        &r.address
                    };
                    write!(f, "; {to}: {} ({})", r.outcome, r.reason())?;
                    match &r.tie {
                        Some(tie) => {
                            write!(f, ", tied to {} because {tie}", r.interviews.join(", "))?
                        }
                        None => f.write_str(", tied to nothing of ours")?,
                    }
                }
                Ok(())
            }
            Verdict::ReadReceipt { .. } => f.write_str("a read receipt, not a reply"),
            Verdict::Nothing(why) => write!(f, "not a reply: {why}"),
        }
    }
}

impl fmt::Display for ReplyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyRule::Threaded(id) => {
                write!(f, "it answers our message {id} (In-Reply-To or References)")
            }
            ReplyRule::Interviewer(a) => write!(f, "the sender {a} is an interviewer"),
            ReplyRule::CompanyDomain(d) => write!(f, "the sender's domain {d} is the company's"),
            ReplyRule::Ats { domain, named_in } => write!(
                f,
                "it comes from the applicant-tracking system {domain} and names the company in {}",
                match named_in {
                    NamedIn::DisplayName => "the sender's name",
                    NamedIn::Subject => "the subject",
                }
            ),
        }
    }
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::Automatic(s) => write!(f, "an automatic message ({s})"),
            Ignored::Forwarded => f.write_str("a forwarded copy"),
            Ignored::FromMe => f.write_str("your own message, to nobody of an open interview"),
            Ignored::Ours => f.write_str("one of the messages followup sent"),
            Ignored::Unrelated => f.write_str("nothing ties it to an open interview"),
        }
    }
}

impl fmt::Display for AutoSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AutoSignal::AutoSubmitted(v) => write!(f, "Auto-Submitted: {v}"),
            AutoSignal::XAutoreply => f.write_str("X-Autoreply"),
            AutoSignal::XAutorespond => f.write_str("X-Autorespond"),
            AutoSignal::Precedence(v) => write!(f, "Precedence: {v}"),
            AutoSignal::NullReturnPath => f.write_str("Return-Path: <>"),
            AutoSignal::ExchangeGenerated => f.write_str("X-MS-Exchange-Generated-Message-Source"),
            AutoSignal::ListId(v) => write!(f, "List-Id: {v}"),
            AutoSignal::OutOfOfficeSubject(p) => write!(f, "the subject says \"{p}\""),
            AutoSignal::AppleVacation => f.write_str("X-Apple-Action: VACATION"),
            AutoSignal::ExchangeRule => {
                f.write_str("X-MS-Exchange-Inbox-Rules-Loop with X-Auto-Response-Suppress: All")
            }
            AutoSignal::VacationHeader => f.write_str("a vacation header"),
            AutoSignal::SystemSender(l) => write!(f, "the sender is {l}@"),
        }
    }
}

#[cfg(test)]
mod tests;
