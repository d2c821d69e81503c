//! The user's mailbox over IMAP: the client ([`imap`]), the watch policy that keeps a folder
//! in view ([`watch`]) and the parser of what it fetches ([`inbound`]). What a message means is decided in `core::inbound`; this module only reads
//! and files mail.

pub mod imap;
pub mod inbound;
pub mod reader;
pub mod seen;
pub mod watch;

pub use imap::{
    Backoff, Batch, Cursor, Fetched, Folder, FolderState, FolderWatch, ImapClient, ImapError,
    ImapSettings, Session, StartAt, Timeouts, Wake,
};

pub use reader::{CopyError, Mailbox, MailboxEvent, Reading, SENT_COPIES_DIR};

/// SMTP servers of providers that file what they relay in the mailbox's Sent folder
/// themselves: with `save_sent: auto`, followup adds no copy of its own there (it would be a
/// second one). Matched against the SMTP host and its parent domains.
pub const FILE_SUBMISSIONS_THEMSELVES: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "office365.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "me.com",
    "icloud.com",
    "zoho.com",
    "zoho.eu",
    "zoho.in",
    "zohomail.com",
    "fastmail.com",
    "messagingengine.com",
];

/// Whether the provider behind `smtp_host` files SMTP submissions in Sent itself.
pub fn files_submissions_itself(smtp_host: &str) -> bool {
    let host = smtp_host.trim_end_matches('.').to_ascii_lowercase();
    FILE_SUBMISSIONS_THEMSELVES
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_that_file_submissions_themselves_are_known_by_their_smtp_host() {
        for host in [
            "smtp.gmail.com",
            "smtp.office365.com",
            "smtp-mail.outlook.com",
            "smtp.mail.me.com",
            "smtp.zoho.eu",
            "smtp.fastmail.com",
        ] {
            assert!(files_submissions_itself(host), "{host}");
        }
        for host in ["mail.example.org", "127.0.0.1", "notgmail.com"] {
            assert!(!files_submissions_itself(host), "{host}");
        }
    }
}
