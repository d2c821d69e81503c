//! Approving by reply: whether a message answering an approval digest is a command the daemon
//! may act on, and what the command says.
//!
//! Pure like the rest of the core. The shell hands over the parsed message, the digests it sent
//! (with the queue numbers each showed) and whether the message was acted on before; the rules
//! here answer with a typed [`Refusal`] or a [`Command`].
//!
//! The order of the rules ([`judge`]):
//! 1. no `In-Reply-To`/`References` naming a digest of ours: not a command at all, the other
//!    mailbox rules decide ([`digest_answered`]);
//! 2. otherwise it is never a reply to an interview, and is refused when: the digest is older
//!    than `approval.reply_within`, `From` is not exactly one of the user's addresses, it is
//!    automatic, it is a forwarded copy, the topmost `Authentication-Results` reports a failure
//!    for From's domain (or, with `approval.authserv_id`, no pass), or its Message-ID was acted
//!    on before;
//! 3. the command is read from the reply's own text ([`read_command`]): the quote cut off, at
//!    most [`MAX_COMMAND_LINES`] non-empty lines.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Duration, Utc};

use super::address::EmailAddress;
use super::inbound::{self, AutoSignal, InboundMessage};
use super::message_id::MessageId;

/// How many non-empty lines of a reply's own text are read for a command.
pub const MAX_COMMAND_LINES: usize = 5;

/// What the shell parses of a message beyond the other rules' needs, for the command rules.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandSignals {
    /// How many addresses the `From` headers hold together (a command needs exactly one).
    pub from_count: usize,
    /// Every `Authentication-Results` header, topmost (added last, by the user's own server)
    /// first.
    pub authentication_results: Vec<String>,
    /// The HTML body when the message has no text/plain part: its quote is cut in the HTML.
    pub html: Option<String>,
}

/// A digest as the state keeps it: what a reply may answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestShown {
    pub message_id: MessageId,
    pub sent_at: DateTime<Utc>,
    /// The queue numbers it showed, in order.
    pub numbers: Vec<u32>,
}

/// What the user decided about one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decision {
    Approve,
    /// `approve late N`: past the thank-you's limit, as `followup queue approve --late`.
    ApproveLate,
    Reject,
}

/// A command read from a reply: a decision for each queue number it names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    pub decisions: BTreeMap<u32, Decision>,
}

/// Why a reply to a digest is not acted on. [`Refusal::is_security`] ones are never answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The digest it answers was sent longer ago than `approval.reply_within`.
    Expired { sent_at: DateTime<Utc> },
    /// `From` is not one of the user's addresses.
    WrongSender(String),
    /// No `From`, or more than one address in it.
    NotOneSender(usize),
    /// Sent by a machine (an out-of-office quoting the digest, a list...).
    Automatic(AutoSignal),
    /// A forwarded copy (`Fwd:` and friends).
    Forwarded,
    /// The user's own server found the sender forged: `dkim` or `dmarc` failed for From's domain.
    Forged { method: &'static str },
    /// `approval.authserv_id` is set, and its `Authentication-Results` reports no pass.
    NotAuthenticated,
    /// Its Message-ID was acted on before.
    Replayed,
    /// It has no Message-ID, so a replay could not be told.
    NoMessageId,
    /// The text holds no command.
    NoCommand,
    /// A line starts like a command but is not one.
    NotUnderstood(String),
    /// The same number approved and rejected.
    Conflict(u32),
    /// A number the digest did not show.
    NotShown(u32),
    /// `yes`/`ok` when the digest showed more than one message.
    YesWithSeveral(usize),
}

impl Refusal {
    /// A refusal that may come from someone other than the user: logged and told to the user
    /// later, never answered to the sender.
    pub fn is_security(&self) -> bool {
        matches!(
            self,
            Refusal::Expired { .. }
                | Refusal::WrongSender(_)
                | Refusal::NotOneSender(_)
                | Refusal::Forged { .. }
                | Refusal::NotAuthenticated
                | Refusal::Replayed
                | Refusal::NoMessageId
        )
    }

    /// A refusal nobody is told of by mail at once: a machine's message, or a possible forgery.
    pub fn is_answered(&self) -> bool {
        !self.is_security() && !matches!(self, Refusal::Automatic(_) | Refusal::Forwarded)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Expired { sent_at } => write!(
                f,
                "it answers a digest sent {}, too long ago (approval.reply_within): answer the \
                 latest digest",
                sent_at.format("%Y-%m-%d %H:%M UTC")
            ),
            Refusal::WrongSender(from) => write!(
                f,
                "it is from {from}, not from your address (me.email or me.aliases)"
            ),
            Refusal::NotOneSender(n) => write!(f, "its From holds {n} addresses, not one"),
            Refusal::Automatic(signal) => write!(f, "it was sent by a machine ({signal})"),
            Refusal::Forwarded => f.write_str("it is a forwarded copy"),
            Refusal::Forged { method } => write!(
                f,
                "your mail server reports {method}=fail for its sender: the From is forged"
            ),
            Refusal::NotAuthenticated => f.write_str(
                "your mail server (approval.authserv_id) did not report dkim=pass or dmarc=pass \
                 for it",
            ),
            Refusal::Replayed => f.write_str("it was acted on before (the same Message-ID)"),
            Refusal::NoMessageId => f.write_str("it has no Message-ID"),
            Refusal::NoCommand => f.write_str(
                "no command was found above the quoted digest: write `approve 1 3`, \
                 `approve all` or `reject 2` on a line of its own",
            ),
            Refusal::NotUnderstood(line) => write!(
                f,
                "`{line}` is not a command: write `approve 1 3`, `approve all`, \
                 `approve late 1` or `reject 2`"
            ),
            Refusal::Conflict(n) => write!(f, "number {n} is both approved and rejected"),
            Refusal::NotShown(n) => write!(f, "the digest showed no number {n}"),
            Refusal::YesWithSeveral(n) => write!(
                f,
                "`yes` approves only when the digest shows one message, and it showed {n}: \
                 name the numbers"
            ),
        }
    }
}

/// The digest a message answers: the most recent one of ours its `In-Reply-To` or
/// `References` names. `None`: it is no answer to a digest, and no command.
pub fn digest_answered<'d>(
    msg: &InboundMessage,
    digests: &'d [DigestShown],
) -> Option<&'d DigestShown> {
    msg.in_reply_to
        .iter()
        .chain(&msg.references)
        .filter_map(|id| digests.iter().find(|d| &d.message_id == id))
        .max_by_key(|d| d.sent_at)
}

/// The user's side of the rules: who they are and what they configured.
#[derive(Debug, Clone, Copy)]
pub struct CommandRules<'a> {
    /// `me.email` and `me.aliases`.
    pub me: &'a [EmailAddress],
    /// `approval.reply_within`.
    pub reply_within: Duration,
    /// `approval.authserv_id`.
    pub authserv_id: Option<&'a str>,
}

/// Whether a reply to `digest` may be acted on, and the command it holds. `acted_before`: its
/// Message-ID was acted on already.
pub fn judge(
    msg: &InboundMessage,
    digest: &DigestShown,
    rules: &CommandRules<'_>,
    acted_before: bool,
    now: DateTime<Utc>,
) -> Result<Command, Refusal> {
    if let Some(signal) = inbound::automatic_signal(msg) {
        return Err(Refusal::Automatic(signal));
    }
    if msg.command.from_count != 1 {
        return Err(Refusal::NotOneSender(msg.command.from_count));
    }
    let Some(from) = msg.from.as_ref() else {
        return Err(Refusal::NotOneSender(0));
    };
    if !rules.me.iter().any(|me| from.is(me)) {
        return Err(Refusal::WrongSender(from.address.clone()));
    }
    if inbound::is_forwarded(&msg.subject) {
        return Err(Refusal::Forwarded);
    }
    authenticated(msg, &from.domain(), rules.authserv_id)?;
    if now - digest.sent_at > rules.reply_within {
        return Err(Refusal::Expired {
            sent_at: digest.sent_at,
        });
    }
    if msg.message_id.is_none() {
        return Err(Refusal::NoMessageId);
    }
    if acted_before {
        return Err(Refusal::Replayed);
    }
    let text = match &msg.command.html {
        Some(html) => mail_parser::decoders::html::html_to_text(cut_html_quote(html)),
        None => msg.text.clone(),
    };
    read_command(&text, &digest.numbers)
}

/// The topmost `Authentication-Results`, by the rule in the module's doc.
fn authenticated(
    msg: &InboundMessage,
    from_domain: &str,
    authserv_id: Option<&str>,
) -> Result<(), Refusal> {
    let top = msg
        .command
        .authentication_results
        .first()
        .map(|h| AuthResults::parse(h));
    if let Some(top) = &top
        && let Some(method) = top.failed_for(from_domain)
    {
        return Err(Refusal::Forged { method });
    }
    if let Some(id) = authserv_id {
        let passed = top
            .as_ref()
            .is_some_and(|t| t.authserv_id.eq_ignore_ascii_case(id) && t.passed_for(from_domain));
        if !passed {
            return Err(Refusal::NotAuthenticated);
        }
    }
    Ok(())
}

/// One `Authentication-Results` header (RFC 8601), as far as the command rules read it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuthResults {
    authserv_id: String,
    /// `(method, result, domain)`, lower-cased; the domain from `header.d`, `header.i` or
    /// `header.from`, empty when none is given.
    results: Vec<(String, String, String)>,
}

impl AuthResults {
    fn parse(header: &str) -> Self {
        let without_comments = strip_comments(header);
        let mut parts = without_comments.split(';');
        let authserv_id = parts
            .next()
            .and_then(|p| p.split_whitespace().next())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let results = parts
            .filter_map(|part| {
                let mut words = part.split_whitespace();
                let (method, result) = words.next()?.split_once('=')?;
                let domain = words
                    .filter_map(|w| w.split_once('='))
                    .find(|(k, _)| {
                        matches!(
                            k.to_ascii_lowercase().as_str(),
                            "header.d" | "header.i" | "header.from"
                        )
                    })
                    .map(|(_, v)| {
                        let v = v.trim_matches('"');
                        v.rsplit_once('@')
                            .map_or(v, |(_, d)| d)
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default();
                Some((
                    method.to_ascii_lowercase(),
                    result.to_ascii_lowercase(),
                    domain,
                ))
            })
            .collect();
        Self {
            authserv_id,
            results,
        }
    }

    /// `dmarc` or `dkim` failed for From's domain (a result naming no domain counts).
    fn failed_for(&self, from_domain: &str) -> Option<&'static str> {
        self.results.iter().find_map(|(method, result, domain)| {
            let about_from = domain.is_empty() || same_org(domain, from_domain);
            let method = match method.as_str() {
                "dmarc" => "dmarc",
                "dkim" => "dkim",
                _ => return None,
            };
            (result == "fail" && about_from).then_some(method)
        })
    }

    fn passed_for(&self, from_domain: &str) -> bool {
        self.results.iter().any(|(method, result, domain)| {
            result == "pass"
                && match method.as_str() {
                    "dmarc" => domain.is_empty() || same_org(domain, from_domain),
                    "dkim" => same_org(domain, from_domain),
                    _ => false,
                }
        })
    }
}

/// `d` signs for `from`: the same domain, or a parent of it.
fn same_org(d: &str, from: &str) -> bool {
    from == d || from.ends_with(&format!(".{d}"))
}

fn strip_comments(s: &str) -> String {
    let mut depth = 0usize;
    s.chars()
        .filter(|c| match c {
            '(' => {
                depth += 1;
                false
            }
            ')' => {
                depth = depth.saturating_sub(1);
                false
            }
            _ => depth == 0,
        })
        .collect()
}

/// The HTML before the quoted part: the first `blockquote`, Gmail's `gmail_quote`, Outlook's
/// `divRplyFwdMsg` (or its `appendonsend`), whichever comes first; the tag holding it is cut too.
pub fn cut_html_quote(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let markers = [
        "<blockquote",
        "gmail_quote",
        "divrplyfwdmsg",
        "appendonsend",
        "moz-cite-prefix",
    ];
    let Some(at) = markers.iter().filter_map(|m| lower.find(m)).min() else {
        return html;
    };
    // The tag the marker is in starts at the last `<` before it.
    let start = lower[..=at.min(lower.len() - 1)].rfind('<').unwrap_or(at);
    &html[..start]
}

/// The text the user wrote above the quote: lines up to the first quoted line, attribution
/// line, original-message separator or Outlook header block.
pub fn text_above_quote(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let next = lines.get(i + 1).map(|l| l.trim().to_lowercase());
        let wrapped = next
            .as_ref()
            .is_some_and(|n| inbound::is_quote_start(&format!("{lower} {n}")));
        let starts_with_word = ["on ", "am ", "le "].iter().any(|w| lower.starts_with(w));
        if t.starts_with('>')
            || inbound::is_quote_start(&lower)
            || (starts_with_word && wrapped)
            || outlook_header_block(&lines[i..])
        {
            break;
        }
        kept.push(t);
    }
    kept
}

/// `From: ...` followed within a few lines by `Sent:` or `Date:`: Outlook's plain-text quote.
fn outlook_header_block(lines: &[&str]) -> bool {
    let first = lines.first().map(|l| l.trim().to_lowercase());
    let from = first
        .as_deref()
        .is_some_and(|l| l.starts_with("from:") || l.starts_with("*from:*"));
    from && lines.iter().skip(1).take(4).any(|l| {
        let l = l.trim().to_lowercase();
        [
            "sent:",
            "date:",
            "*sent:*",
            "*date:*",
            "gesendet:",
            "envoyé :",
        ]
        .iter()
        .any(|h| l.starts_with(h))
    })
}

/// Reads the command in a reply's text; `shown` are the numbers the digest showed.
pub fn read_command(text: &str, shown: &[u32]) -> Result<Command, Refusal> {
    let own = text_above_quote(text);
    let mut command = Command::default();
    let mut found = false;
    for line in own
        .into_iter()
        .filter(|l| !l.is_empty())
        .take(MAX_COMMAND_LINES)
    {
        let Some(decisions) = read_line(line, shown)? else {
            continue;
        };
        found = true;
        for (n, decision) in decisions {
            match command.decisions.get(&n) {
                Some(d) if (*d == Decision::Reject) != (decision == Decision::Reject) => {
                    return Err(Refusal::Conflict(n));
                }
                // `approve late` wins over a plain `approve` of the same number.
                Some(d) if *d >= decision => {}
                _ => {
                    command.decisions.insert(n, decision);
                }
            }
        }
    }
    if !found {
        return Err(Refusal::NoCommand);
    }
    Ok(command)
}

/// One line: `None` when it does not start with a command word (a greeting, a signature).
fn read_line(line: &str, shown: &[u32]) -> Result<Option<Vec<(u32, Decision)>>, Refusal> {
    let lower = line.to_lowercase();
    let cleaned = lower.trim_end_matches(['.', '!']).replace(',', " ");
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let not_understood = || Refusal::NotUnderstood(line.chars().take(80).collect());
    let Some((verb, rest)) = words.split_first() else {
        return Ok(None);
    };
    let decision = match *verb {
        "yes" | "ok" | "okay" if rest.is_empty() => {
            return match shown {
                [one] => Ok(Some(vec![(*one, Decision::Approve)])),
                _ => Err(Refusal::YesWithSeveral(shown.len())),
            };
        }
        "approve" => Decision::Approve,
        "reject" => Decision::Reject,
        _ => return Ok(None),
    };
    let (decision, rest) = match rest {
        ["late", rest @ ..] if decision == Decision::Approve => (Decision::ApproveLate, rest),
        _ => (decision, rest),
    };
    if rest == ["all"] {
        if decision == Decision::Reject {
            return Err(not_understood());
        }
        return Ok(Some(shown.iter().map(|n| (*n, decision)).collect()));
    }
    if rest.is_empty() {
        return Err(not_understood());
    }
    let mut out = Vec::new();
    for word in rest {
        let n: u32 = word
            .trim_start_matches('#')
            .parse()
            .map_err(|_| not_understood())?;
        if !shown.contains(&n) {
            return Err(Refusal::NotShown(n));
        }
        out.push((n, decision));
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests;
