//! What approving by reply keeps in the state, as `meta` entries (so exports carry them and no
//! schema change is needed):
//!
//! - `approval.digest/<Message-ID>`: a digest sent ([`DigestSent`]): when, and each queue number
//!   it showed with the send key and a hash of the file as shown;
//! - `approval.command/<Message-ID>`: a reply acted on (or refused), so it is never acted on twice;
//! - `approval.last_command`: the last command heard by mail ([`CommandHeard`]), for `status`;
//! - `approval.refused`: refusals for security reasons not yet told to the user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::core::MessageId;
use crate::core::reply_command::DigestShown;

const DIGEST: &str = "approval.digest/";
const COMMAND: &str = "approval.command/";
pub const LAST_COMMAND: &str = "approval.last_command";
const REFUSED: &str = "approval.refused";

/// One message a digest showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub number: u32,
    pub key: String,
    /// SHA-256 of the queue file's bytes as shown, in hex.
    pub sha256: String,
}

/// A digest as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestSent {
    pub message_id: MessageId,
    pub sent_at: DateTime<Utc>,
    pub shown: Vec<Shown>,
}

impl DigestSent {
    pub fn to_shown(&self) -> DigestShown {
        DigestShown {
            message_id: self.message_id.clone(),
            sent_at: self.sent_at,
            numbers: self.shown.iter().map(|s| s.number).collect(),
        }
    }
}

/// A reply to a digest, heard: what it did or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandHeard {
    pub message_id: String,
    pub from: String,
    pub at: DateTime<Utc>,
    /// In a line: `approved 1, rejected 2` or `refused: ...`.
    pub outcome: String,
}

fn decode<T: serde::de::DeserializeOwned>(name: &str, raw: &str) -> Result<T, StoreError> {
    serde_json::from_str(raw).map_err(|e| StoreError::Decode {
        key: format!("meta/{name}"),
        detail: e.to_string(),
    })
}

fn encode<T: Serialize>(name: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Encode {
        key: format!("meta/{name}"),
        detail: e.to_string(),
    })
}

pub fn record_digest(store: &dyn Store, digest: &DigestSent) -> Result<(), StoreError> {
    let name = format!("{DIGEST}{}", digest.message_id);
    store.set_meta(&name, &encode(&name, digest)?)
}

/// The digests of ours among `ids` (a reply's `In-Reply-To` and `References`).
pub fn digests_named<'a>(
    store: &dyn Store,
    ids: impl IntoIterator<Item = &'a MessageId>,
) -> Result<Vec<DigestSent>, StoreError> {
    let mut found = Vec::new();
    for id in ids {
        let name = format!("{DIGEST}{id}");
        if let Some(raw) = store.meta(&name)? {
            found.push(decode(&name, &raw)?);
        }
    }
    Ok(found)
}

/// Whether a reply with this Message-ID was acted on (or refused) before.
pub fn heard_before(store: &dyn Store, id: &MessageId) -> Result<bool, StoreError> {
    Ok(store.meta(&format!("{COMMAND}{id}"))?.is_some())
}

/// Records a reply as heard, before anything is done on it: a crash after this leaves it
/// undone rather than done twice.
pub fn note_heard(store: &dyn Store, heard: &CommandHeard) -> Result<(), StoreError> {
    let name = format!("{COMMAND}{}", heard.message_id);
    let value = encode(&name, heard)?;
    store.set_meta(&name, &value)?;
    store.set_meta(LAST_COMMAND, &value)
}

pub fn last_command(store: &dyn Store) -> Result<Option<CommandHeard>, StoreError> {
    store
        .meta(LAST_COMMAND)?
        .map(|raw| decode(LAST_COMMAND, &raw))
        .transpose()
}

/// Adds a refusal for a security reason, to tell the user in the next confirmation or digest.
pub fn add_refused(store: &dyn Store, line: &str) -> Result<(), StoreError> {
    let mut all = refused(store)?;
    all.push(line.to_string());
    // A flood of forgeries is told as its latest few.
    let excess = all.len().saturating_sub(20);
    all.drain(..excess);
    store.set_meta(REFUSED, &encode(REFUSED, &all)?)
}

pub fn refused(store: &dyn Store) -> Result<Vec<String>, StoreError> {
    match store.meta(REFUSED)? {
        Some(raw) if !raw.is_empty() => decode(REFUSED, &raw),
        _ => Ok(Vec::new()),
    }
}

/// Once the user was told of them.
pub fn clear_refused(store: &dyn Store) -> Result<(), StoreError> {
    if store.meta(REFUSED)?.is_some_and(|r| !r.is_empty()) {
        store.set_meta(REFUSED, "")?;
    }
    Ok(())
}

/// SHA-256 of a queue file's bytes, in hex.
pub fn file_hash(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    fn fresh() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(dir.path().join("state")).unwrap();
        (dir, store)
    }

    #[test]
    fn a_digest_is_found_by_the_ids_a_reply_names_and_survives_export() {
        let (_dir, store) = fresh();
        let id = MessageId::parse("<digest.abc@example.org>").unwrap();
        let digest = DigestSent {
            message_id: id.clone(),
            sent_at: DateTime::parse_from_rfc3339("2026-11-03T18:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            shown: vec![Shown {
                number: 3,
                key: "acme/thank_you/jane@acme.example".into(),
                sha256: file_hash(b"file"),
            }],
        };
        record_digest(&store, &digest).unwrap();
        let other = MessageId::parse("<someone.else@example.net>").unwrap();
        assert_eq!(digests_named(&store, [&other, &id]).unwrap(), vec![digest]);
        assert!(digests_named(&store, [&other]).unwrap().is_empty());
        let exported = crate::store::export(&store).unwrap();
        assert!(exported.contains("approval.digest/<digest.abc@example.org>"));
    }

    #[test]
    fn a_reply_heard_is_known_by_its_message_id_and_is_the_last_command() {
        let (_dir, store) = fresh();
        let id = MessageId::parse("<reply.1@example.org>").unwrap();
        assert!(!heard_before(&store, &id).unwrap());
        let heard = CommandHeard {
            message_id: id.to_string(),
            from: "sam@example.org".into(),
            at: Utc::now(),
            outcome: "approved 1".into(),
        };
        note_heard(&store, &heard).unwrap();
        assert!(heard_before(&store, &id).unwrap());
        assert_eq!(last_command(&store).unwrap(), Some(heard));
    }

    #[test]
    fn refusals_wait_to_be_told_and_are_cleared_once_told() {
        let (_dir, store) = fresh();
        assert!(refused(&store).unwrap().is_empty());
        for n in 0..25 {
            add_refused(&store, &format!("forgery {n}")).unwrap();
        }
        let waiting = refused(&store).unwrap();
        assert_eq!(waiting.len(), 20, "the latest twenty");
        assert_eq!(waiting.last().unwrap(), "forgery 24");
        clear_refused(&store).unwrap();
        assert!(refused(&store).unwrap().is_empty());
    }

    #[test]
    fn file_hash_is_sha256_in_hex() {
        assert_eq!(
            file_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
