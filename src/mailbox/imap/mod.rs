//! An IMAP client over tokio: the connection (`connection.rs`: TLS, STARTTLS or, on loopback
//! only, plain; the greeting and the login) and the session's commands (`session.rs`), every one
//! under a timeout, IDLE that a silent server cannot hang. What keeps a folder in view across
//! dropped connections is the watch policy, `mailbox::watch`, re-exported here.

mod connection;
mod session;

pub use connection::{ImapClient, ImapError, ImapSettings, Refusal, Timeouts};
pub use session::{Fetched, Folder, FolderState, Session, TEXT_PREFIX_BYTES, Wake, sent_folder};

pub use super::watch::{Batch, Cursor, DEFAULT_BATCH, FolderWatch, StartAt};
pub use crate::retry::Backoff;
