//! Handing a rendered message to the outside world, with a precise account of how far it got.
//!
//! The daemon's invariants ("sent at most once", "uncertain is never retried") depend on knowing
//! whether the receiving server could have accepted a message, so every failure says so.

use std::fmt;
use std::future::Future;

use crate::core::EmailAddress;
use crate::core::permanence::{EnhancedStatus, names_a_dead_address};

pub mod queue;
pub mod smtp;

pub use smtp::{SmtpOptions, SmtpSender, SmtpSetupError};

/// Who the message is from and the one person it goes to, as given to the SMTP server.
///
/// Exactly one recipient: a failure then concerns exactly one send key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub from: EmailAddress,
    pub to: EmailAddress,
}

/// What the server said when it took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    /// The final 250 reply's text, usually holding the server's queue id: worth recording so a
    /// message can be traced in the server's logs.
    pub response: String,
}

/// How far an SMTP transaction had got when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    Connect,
    Tls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    /// The message content and the final `.`, up to the server's answer.
    Body,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "connect",
            Stage::Tls => "TLS",
            Stage::Auth => "AUTH",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Body => "message body",
        })
    }
}

/// A failed delivery, classified by what the caller may safely do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Nothing was handed over: safe to retry later (a 4xx answer, a connection refused, reset or
    /// timed out before the body was complete, a TLS failure).
    #[error("temporary failure at {stage}: {detail}")]
    Transient { stage: Stage, detail: String },
    /// The server refused for good (a 5xx answer), or our own setup forbids this transaction (no
    /// STARTTLS offered, no usable AUTH mechanism): retrying the same thing cannot help.
    #[error("permanent failure at {stage} ({code}): {detail}")]
    Permanent {
        stage: Stage,
        /// The server's reply code, or 0 when the refusal is ours.
        code: u16,
        detail: String,
    },
    /// The whole body and the final `.` were sent but no answer was read (the connection died or
    /// timed out): the server may have accepted the message. Never retry automatically.
    #[error("outcome unknown, the message may have been delivered: {detail}")]
    Uncertain { detail: String },
}

impl crate::retry::Failure for DeliveryError {
    /// A refusal for good needs the user; anything else may pass later.
    fn heals_by_itself(&self) -> bool {
        !self.is_permanent()
    }
}

impl DeliveryError {
    /// Safe to try again later: the server holds nothing.
    pub fn is_transient(&self) -> bool {
        matches!(self, DeliveryError::Transient { .. })
    }

    /// Do not try again: the answer will not change.
    pub fn is_permanent(&self) -> bool {
        matches!(self, DeliveryError::Permanent { .. })
    }

    /// The server refused for good because of the recipient: the address does not exist or
    /// cannot take mail, by the one rule of permanence ([`names_a_dead_address`]; a delivery
    /// report read later asks the same), or a plain 550 at RCPT TO. Mail to that address is
    /// pointless until the record gives another one. A refusal for any other reason (policy,
    /// content, our own setup) is not.
    pub fn rejects_the_recipient(&self) -> bool {
        let DeliveryError::Permanent {
            stage,
            code,
            detail,
        } = self
        else {
            return false;
        };
        let status = EnhancedStatus::find(detail);
        match status {
            // A plain 550 at RCPT TO names the recipient, whatever its words.
            None if *stage == Stage::RcptTo && *code == 550 => true,
            None => false,
            Some(_) => names_a_dead_address(status, detail),
        }
    }

    /// What the server answered, as a person reads it (`550 5.1.1 No such user`); for a failure
    /// without an answer, what went wrong.
    pub fn reply(&self) -> String {
        match self {
            DeliveryError::Permanent { code, detail, .. } if *code != 0 => {
                // lettre words it `permanent error (550): <the server's text>`.
                let text = detail.split_once("): ").map_or(detail.as_str(), |(_, t)| t);
                format!("{code} {}", text.trim())
            }
            other => other.to_string(),
        }
    }

    /// The message may be at the server already; only a human or a mailbox check can tell.
    pub fn body_may_have_been_handed_over(&self) -> bool {
        matches!(self, DeliveryError::Uncertain { .. })
    }

    /// The stage reached, when known (an uncertain failure is always at the body).
    pub fn stage(&self) -> Stage {
        match self {
            DeliveryError::Transient { stage, .. } | DeliveryError::Permanent { stage, .. } => {
                *stage
            }
            DeliveryError::Uncertain { .. } => Stage::Body,
        }
    }
}

/// Runs just before the body goes out; an `Err` stops the send there, with nothing handed over.
pub type BeforeBody<'a> = dyn Fn() -> Result<(), MarkError> + Send + Sync + 'a;

/// Why the caller could not record that the body is about to go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkError {
    #[error("the send was taken over by another process")]
    TakenOver,
    #[error("the state cannot be written: {0}")]
    NotWritten(String),
}

/// A `before_body` that records nothing.
pub fn nothing_to_record() -> Result<(), MarkError> {
    Ok(())
}

/// Something that delivers one raw RFC 5322 message to one recipient.
///
/// The daemon is generic over it, so tests and other back-ends can stand in for SMTP.
pub trait Transport: Send + Sync {
    /// Delivers `raw` (headers and body, CRLF line endings) to `envelope.to`.
    ///
    /// The server stores exactly `raw` when it ends with CRLF; SMTP cannot carry a message whose
    /// last line is unterminated, so such a message gets a final CRLF.
    ///
    /// `before_body` runs once the server is ready for the body and before a byte of it is
    /// written: the caller records durably that the outcome may from now on be unknown. When it
    /// fails the body is never written and the send is a transient failure.
    fn send(
        &self,
        envelope: &Envelope,
        raw: &[u8],
        before_body: &BeforeBody<'_>,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send;

    /// Releases any open connection politely; sending afterwards reconnects.
    fn shutdown(&self) -> impl Future<Output = ()> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permanent(stage: Stage, code: u16, text: &str) -> DeliveryError {
        DeliveryError::Permanent {
            stage,
            code,
            detail: format!("permanent error ({code}): {text}"),
        }
    }

    #[test]
    fn a_permanent_failure_that_names_the_recipient_rejects_the_recipient() {
        for (stage, code, text) in [
            (Stage::RcptTo, 550, "5.1.1 <jane@example.com>: User unknown"),
            (
                Stage::RcptTo,
                553,
                "5.1.3 Bad destination mailbox address syntax",
            ),
            (Stage::RcptTo, 550, "5.1.10 Recipient address has null MX"),
            (Stage::Body, 550, "5.1.1 No such user"),
            (
                Stage::RcptTo,
                550,
                "5.2.1 Mailbox disabled, not accepting messages",
            ),
            (
                Stage::RcptTo,
                550,
                "Requested action not taken: mailbox unavailable",
            ),
        ] {
            assert!(
                permanent(stage, code, text).rejects_the_recipient(),
                "{code} {text}"
            );
        }
        for (stage, code, text) in [
            (Stage::RcptTo, 550, "5.7.1 Relaying denied"),
            (
                Stage::RcptTo,
                553,
                "5.1.8 Sender address rejected: Domain not found",
            ),
            (
                Stage::MailFrom,
                550,
                "5.1.7 Bad sender's mailbox address syntax",
            ),
            (Stage::Body, 554, "5.7.1 Message rejected as spam"),
            (Stage::Body, 554, "Transaction failed"),
            (Stage::RcptTo, 552, "5.2.2 Mailbox full"),
            (Stage::Auth, 0, "no usable AUTH mechanism"),
        ] {
            assert!(
                !permanent(stage, code, text).rejects_the_recipient(),
                "{code} {text}"
            );
        }
        assert_eq!(
            permanent(Stage::RcptTo, 550, "5.1.1 No such user").reply(),
            "550 5.1.1 No such user"
        );
        let transient = DeliveryError::Transient {
            stage: Stage::RcptTo,
            detail: "transient error (450): 4.1.1 try later".into(),
        };
        assert!(!transient.rejects_the_recipient());
    }
}
