//! The messages themselves: templates rendered into drafts, drafts composed into messages with
//! their Message-ID and thread, and those built as RFC 5322 for SMTP.

pub mod compose;
pub mod message;
pub mod render;
pub mod template_check;
