//! The library's items that the tests use, named in this one file: when a module moves inside
//! `src/`, this is the place to follow it.

pub use followup::config::{PasswordSource, Security, SmtpConfig};
pub use followup::core::{
    EmailAddress, Interview, Interviewer, Owner, SendKey, SendState, Status, Step,
};
pub use followup::delivery::queue::{EntryError, Folder, QueueDir, QueueError};
pub use followup::delivery::{
    DeliveryError, Envelope, SmtpOptions, SmtpSender, SmtpSetupError, Stage, Transport,
    nothing_to_record,
};
pub use followup::message::{EmlError, MAX_EML_BYTES, Mailbox, Outgoing};
pub use followup::render::{Draft, RenderContext, Templates, attachments_for};
pub use followup::secret::Secret;
pub use followup::store::{SendRecord, SledStore, Snapshot, Store};
