//! Fetched bytes into the plain [`InboundMessage`] the rules in `core::inbound` read.
//!
//! Mail from outside holds anything: raw 8-bit headers, broken encoded-words, unclosed MIME
//! parts, a body cut off by the fetch's prefix. Parsing never fails and never panics (a fuzz
//! target checks it): what cannot be read is left empty, and the rules then match nothing on it.
//! The parser is `mail-parser`: it decodes encoded-words and charsets, salvages the valid ids of
//! a half-broken `References:`, and reduces an HTML-only message to text.

use chrono::{DateTime, FixedOffset};
use mail_parser::{Address, HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use crate::core::MessageId;
use crate::core::inbound::report::MAX_STATUS_BYTES;
use crate::core::inbound::{
    AutoHeaders, InboundMessage, Party, ReportParts, Returned, VACATION_HEADERS,
};
use crate::core::reply_command::CommandSignals;

/// The most text kept of a message, in bytes: the rules read its first lines only.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;

/// The most `Authentication-Results` headers kept (only the topmost is read).
const MAX_AUTH_RESULTS: usize = 8;
/// The most text kept of the parts after the first (a returned message, its headers), in bytes.
pub const MAX_MORE_TEXT_BYTES: usize = 64 * 1024;

/// The most parts of a message looked at for a report (a hostile message may hold thousands).
const MAX_PARTS: usize = 64;

/// The most ids kept of `References:` (a long thread lists hundreds; ours are among the last).
const MAX_REFERENCES: usize = 200;

/// Parses a message, or the start of one: its header, then as much of its text as was fetched.
pub fn parse(raw: &[u8]) -> InboundMessage {
    match MessageParser::default().parse(raw) {
        Some(m) => from_parsed(&m),
        None => InboundMessage::default(),
    }
}

/// A message fetched in two parts, `BODY[HEADER]` and a prefix of `BODY[TEXT]`.
pub fn parse_parts(header: &[u8], text: &[u8]) -> InboundMessage {
    let mut raw = Vec::with_capacity(header.len() + text.len() + 2);
    raw.extend_from_slice(header);
    if !header.ends_with(b"\n\n") && !header.ends_with(b"\r\n\r\n") {
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(text);
    parse(&raw)
}

fn from_parsed(m: &Message<'_>) -> InboundMessage {
    let mut references = ids(m.references());
    if references.len() > MAX_REFERENCES {
        references.drain(..references.len() - MAX_REFERENCES);
    }
    InboundMessage {
        message_id: m.message_id().and_then(MessageId::from_header),
        from: m.from().and_then(|a| parties(a).into_iter().next()),
        reply_to: m.reply_to().map(parties).unwrap_or_default(),
        to: m.to().map(parties).unwrap_or_default(),
        cc: m.cc().map(parties).unwrap_or_default(),
        subject: one_line(m.subject().unwrap_or("")),
        date: m.date().and_then(date),
        in_reply_to: ids(m.in_reply_to()),
        references,
        auto: AutoHeaders {
            auto_submitted: raw_header(m, "Auto-Submitted"),
            x_autoreply: raw_header(m, "X-Autoreply"),
            x_autorespond: raw_header(m, "X-Autorespond"),
            precedence: raw_header(m, "Precedence"),
            null_return_path: raw_header(m, "Return-Path").is_some_and(|v| {
                v.chars().filter(|c| !c.is_whitespace()).collect::<String>() == "<>"
            }),
            exchange_generated: raw_header(m, "X-MS-Exchange-Generated-Message-Source"),
            list_id: raw_header(m, "List-Id").map(|v| one_line(&v)),
            x_apple_action: raw_header(m, "X-Apple-Action"),
            exchange_rules_loop: raw_header(m, "X-MS-Exchange-Inbox-Rules-Loop"),
            auto_response_suppress: raw_header(m, "X-Auto-Response-Suppress"),
            vacation_header: VACATION_HEADERS.iter().find_map(|h| raw_header(m, h)),
        },
        report: report_parts(m),
        text: m
            .body_text(0)
            .map(|t| truncate(&t, MAX_TEXT_BYTES))
            .unwrap_or_default(),
        command: command_signals(m),
    }
}

/// What the rules of approving by reply read: how many senders, the authentication results
/// (topmost first), and the HTML of a message without a text/plain part.
fn command_signals(m: &Message<'_>) -> CommandSignals {
    let from_count = m
        .header_values("From")
        .map(|v| match v {
            HeaderValue::Address(a) => a.iter().count(),
            _ => 1,
        })
        .sum();
    let authentication_results = m
        .headers_raw()
        .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
        .map(|(_, value)| one_line(value.trim()))
        .take(MAX_AUTH_RESULTS)
        .collect();
    let html = m
        .text_part(0)
        .filter(|p| p.is_text_html())
        .and_then(|_| m.body_html(0))
        .map(|h| truncate(&h, MAX_TEXT_BYTES));
    CommandSignals {
        from_count,
        authentication_results,
        html,
    }
}

/// What the message holds of a delivery report or a read receipt: the top-level
/// `multipart/report`'s type, the raw `message/delivery-status` part, the returned message's
/// headers, and the text of the later parts; each bounded.
fn report_parts(m: &Message<'_>) -> ReportParts {
    let mut out = ReportParts {
        x_failed_recipients: raw_header(m, "X-Failed-Recipients")
            .map(|v| {
                v.split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .take(crate::core::inbound::report::MAX_RECIPIENTS)
                    .collect()
            })
            .unwrap_or_default(),
        x_original_message_id: raw_header(m, "X-Original-Message-ID")
            .and_then(|v| MessageId::from_header(&v)),
        ..ReportParts::default()
    };
    if let Some(ct) = m.content_type()
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct
            .subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        out.report_type = Some(
            ct.attribute("report-type")
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase(),
        );
    }
    let first_text = m.text_body.first().copied();
    let mut more = String::new();
    for (index, part) in m.parts.iter().enumerate().skip(1).take(MAX_PARTS) {
        let (ctype, subtype) = part
            .content_type()
            .map(|ct| {
                (
                    ct.ctype().to_ascii_lowercase(),
                    ct.subtype().unwrap_or("").to_ascii_lowercase(),
                )
            })
            .unwrap_or_default();
        match (ctype.as_str(), subtype.as_str()) {
            ("message", "delivery-status" | "global-delivery-status") => {
                if out.delivery_status.is_none() {
                    let raw = part.contents();
                    out.delivery_status = Some(raw[..raw.len().min(MAX_STATUS_BYTES)].to_vec());
                }
            }
            ("text", "rfc822-headers") | ("message", "global-headers") => {
                let raw = part.contents();
                let raw = &raw[..raw.len().min(MAX_MORE_TEXT_BYTES)];
                if out.returned.is_none() {
                    out.returned = MessageParser::default()
                        .parse_headers(raw)
                        .map(|h| returned(&h));
                }
                push_capped(&mut more, &String::from_utf8_lossy(raw));
            }
            _ => match &part.body {
                PartType::Message(inner) => {
                    if out.returned.is_none() {
                        out.returned = Some(returned(inner));
                    }
                    let raw = inner.raw_message();
                    push_capped(
                        &mut more,
                        &String::from_utf8_lossy(&raw[..raw.len().min(MAX_MORE_TEXT_BYTES)]),
                    );
                }
                PartType::Text(text) if Some(index as u32) != first_text => {
                    push_capped(&mut more, text);
                }
                _ => {}
            },
        }
    }
    out.more_text = more;
    out
}

/// The returned message, from its headers.
fn returned(m: &Message<'_>) -> Returned {
    Returned {
        message_id: m.message_id().and_then(MessageId::from_header),
        to: m
            .to()
            .map(parties)
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.address.to_lowercase())
            .collect(),
    }
}

fn push_capped(into: &mut String, text: &str) {
    let room = MAX_MORE_TEXT_BYTES.saturating_sub(into.len());
    if room > 1 {
        into.push_str(&truncate(text, room - 1));
        into.push('\n');
    }
}

/// The addresses of a header; one holding a blank or a control character (an unclosed `<`
/// that swallowed the next lines) is no address and is dropped.
fn parties(address: &Address<'_>) -> Vec<Party> {
    address
        .iter()
        .filter_map(|a| {
            let addr = a.address.as_deref()?.trim();
            let usable =
                !addr.is_empty() && !addr.chars().any(|c| c.is_whitespace() || c.is_control());
            usable.then(|| Party::new(a.name.as_deref().map(one_line).as_deref(), addr))
        })
        .collect()
}

fn ids(value: &HeaderValue<'_>) -> Vec<MessageId> {
    match value {
        HeaderValue::TextList(list) => list
            .iter()
            .filter_map(|s| MessageId::from_header(s))
            .collect(),
        HeaderValue::Text(s) => MessageId::from_header(s).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// A header's value as received, unfolded and trimmed; `None` when absent.
fn raw_header(m: &Message<'_>, name: &str) -> Option<String> {
    m.header_raw(name).map(|v| one_line(v.trim()))
}

/// `Date:` as a time with the sender's offset; `None` when it is absent or nonsense.
fn date(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    if !(1970..=9999).contains(&d.year) || d.tz_hour > 23 || d.tz_minute > 59 {
        return None;
    }
    let seconds = i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60;
    let offset = FixedOffset::east_opt(if d.tz_before_gmt { -seconds } else { seconds })?;
    let utc = DateTime::from_timestamp(d.to_timestamp(), 0)?;
    Some(utc.with_timezone(&offset))
}

/// Folded or hostile header text on one line, without control characters.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_control())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests;
