//! The library's items that the tests use, named in this one file: when a module moves inside
//! `src/`, this is the place to follow it.

pub use followup::core::{
    EmailAddress, Interview, Interviewer, MessageId, Owner, SendKey, SendState, Status, Step,
    ThreadRef,
};
pub use followup::delivery::queue::eml::{EmlError, MAX_EML_BYTES, to_eml};
pub use followup::delivery::queue::{EntryError, Folder, QueueDir, QueueError};
pub use followup::delivery::{
    DeliveryError, Envelope, SmtpOptions, SmtpSender, SmtpSetupError, Stage, Transport,
    nothing_to_record,
};
pub use followup::input::config::{Auth, PasswordSource, SmtpConfig};
pub use followup::input::secret::{PasswordCommand, Secret, SecretSource};
pub use followup::mail::message::{Mailbox, Outgoing};
pub use followup::mail::render::{Draft, RenderContext, Templates};
pub use followup::mailbox::imap::TEXT_PREFIX_BYTES;
pub use followup::mailbox::{
    Backoff, Batch, FolderWatch, ImapClient, ImapError, ImapSettings, Session, StartAt, Timeouts,
    Wake,
};
pub use followup::net::Security;
pub use followup::store::{SendRecord, SledStore, Snapshot, Store, StoreError};
