//! The user's mailbox over IMAP: the client ([`imap`]) and the parser of what it fetches
//! ([`inbound`]). What a message means is decided in `core::inbound`; this module only reads
//! and files mail.

pub mod imap;
pub mod inbound;

pub use imap::{
    Backoff, Batch, Cursor, Fetched, Folder, FolderState, FolderWatch, ImapClient, ImapError,
    ImapSettings, Session, StartAt, Timeouts, Wake,
};
