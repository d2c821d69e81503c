//! The folders the daemon last saw on the server, and the rule that a configured folder is not
//! among them. The daemon keeps the list in the state's meta (and so in the snapshot) whenever
//! it lists the folders (finding Sent, or when a folder cannot be opened), so that `validate`,
//! which never connects, can say what `check-imap` says, in the same words.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// The meta name the list is kept under, as JSON ([`FoldersSeen::to_meta`]).
pub const FOLDERS_SEEN: &str = "mailbox.folders_seen";

/// The folders that could be opened, as the server listed them, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoldersSeen {
    pub at: DateTime<Utc>,
    pub folders: Vec<String>,
}

impl FoldersSeen {
    pub fn to_meta(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The list kept in meta; `None` when there is none or it cannot be read (then nothing is
    /// said about folders: an old or damaged value is no reason to warn).
    pub fn from_meta(text: &str) -> Option<Self> {
        serde_json::from_str(text).ok()
    }

    /// Whether `folder` is one of them. `INBOX` is the same in any case (RFC 3501 5.1); every
    /// other name is compared exactly, as the server does.
    pub fn has(&self, folder: &str) -> bool {
        self.folders.iter().any(|f| {
            f == folder || (f.eq_ignore_ascii_case("INBOX") && folder.eq_ignore_ascii_case("INBOX"))
        })
    }

    /// Adds a folder the daemon found it could read after the list was taken (one created
    /// since): returns whether it was new.
    pub fn add(&mut self, folder: &str) -> bool {
        if self.has(folder) {
            return false;
        }
        self.folders.push(folder.to_string());
        true
    }

    /// What is wrong with the configured folders (`(key, folder)` pairs, such as
    /// `("imap.sent", "Sent Items")`) by this list, in the words `check-imap` uses; `None` when
    /// every one of them is listed.
    pub fn missing<'a>(
        &self,
        wanted: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<String> {
        let detail = format!(
            "the daemon last listed the folders on {}; `followup check-imap` asks the server now",
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
        let missing: Vec<String> = wanted
            .into_iter()
            .filter(|(_, folder)| !self.has(folder))
            .map(|(key, folder)| no_such_folder(key, folder, &detail))
            .collect();
        (!missing.is_empty()).then(|| with_existing(&missing, &self.folders))
    }
}

/// One configured folder the server does not have: `{key}: the folder `{folder}` does not
/// exist ({detail})`.
pub fn no_such_folder(key: &str, folder: &str, detail: &str) -> String {
    format!("{key}: the folder `{folder}` does not exist ({detail})")
}

/// The missing folders, then the folders that exist, as one message.
pub fn with_existing(missing: &[String], existing: &[impl AsRef<str>]) -> String {
    let existing: Vec<&str> = existing.iter().map(AsRef::as_ref).collect();
    format!(
        "{}; the folders that exist are: {}",
        missing.join("; "),
        existing.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(folders: &[&str]) -> FoldersSeen {
        FoldersSeen {
            at: "2026-12-07T02:00:00Z".parse().unwrap(),
            folders: folders.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn a_configured_folder_the_daemon_did_not_see_is_missing_with_the_folders_that_exist() {
        let list = seen(&["INBOX", "Sent", "Archive"]);
        let said = list
            .missing([("imap.folders", "INBOX"), ("imap.sent", "Sent Items")])
            .expect("Sent Items is not listed");
        assert_eq!(
            said,
            "imap.sent: the folder `Sent Items` does not exist (the daemon last listed the \
             folders on 2026-12-07T02:00:00Z; `followup check-imap` asks the server now); the \
             folders that exist are: INBOX, Sent, Archive"
        );
        assert_eq!(
            list.missing([("imap.folders", "inbox"), ("imap.sent", "Sent")]),
            None,
            "INBOX in any case, and Sent, are listed"
        );
        assert!(
            list.missing([("imap.sent", "sent")]).is_some(),
            "names other than INBOX are compared exactly"
        );
    }

    #[test]
    fn a_folder_read_since_the_listing_is_added_once() {
        let mut list = seen(&["INBOX"]);
        assert!(list.add("Sent Items"));
        assert!(!list.add("Sent Items"));
        assert!(!list.add("inbox"));
        assert_eq!(list.missing([("imap.sent", "Sent Items")]), None);
        assert_eq!(FoldersSeen::from_meta(&list.to_meta()), Some(list));
        assert_eq!(FoldersSeen::from_meta("not json"), None);
    }
}
