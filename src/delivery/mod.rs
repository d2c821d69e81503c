//! Handing a rendered message to the outside world, with a precise account of how far it got.
//!
//! The daemon's invariants ("sent at most once", "uncertain is never retried") depend on knowing
//! whether the receiving server could have accepted a message, so every failure says so.

use std::fmt;
use std::future::Future;

use crate::core::EmailAddress;

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

impl DeliveryError {
    /// Safe to try again later: the server holds nothing.
    pub fn is_transient(&self) -> bool {
        matches!(self, DeliveryError::Transient { .. })
    }

    /// Do not try again: the answer will not change.
    pub fn is_permanent(&self) -> bool {
        matches!(self, DeliveryError::Permanent { .. })
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
