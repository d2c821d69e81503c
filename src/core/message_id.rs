//! Message-IDs, and the thread a follow-up belongs to.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One `<left@right>` Message-ID, checked once: nothing in it can end a header line or hide a
/// second id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MessageId(String);

/// Why a string is not a Message-ID we would write into a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a Message-ID; it must look like <part@domain.example>")]
pub struct InvalidMessageId(pub String);

impl MessageId {
    /// A new id on `domain`: the time in milliseconds and 122 random bits (a v4 UUID), so two ids
    /// never collide, not even for two sends in the same millisecond. A domain with characters
    /// a Message-ID cannot hold keeps the others (`localhost` when none are left).
    pub fn new_on(domain: &str, now: DateTime<Utc>) -> Self {
        let domain: String = domain
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            .collect::<String>()
            .to_ascii_lowercase();
        let domain = if domain.is_empty() {
            "localhost"
        } else {
            &domain
        };
        let random = uuid::Uuid::new_v4().simple();
        let millis = base36(now.timestamp_millis().unsigned_abs());
        Self(format!("<{millis}.{random}@{domain}>"))
    }

    /// An id nobody can guess (244 random bits, two v4 UUIDs), for a message whose answer is
    /// trusted by the id it names: the approval digest.
    pub fn unguessable_on(domain: &str, what: &str) -> Self {
        let base = Self::new_on(domain, DateTime::<Utc>::UNIX_EPOCH);
        let domain = base.domain().to_string();
        let (a, b) = (uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let what: String = what.chars().filter(char::is_ascii_alphanumeric).collect();
        Self(format!("<{what}.{a}{b}@{domain}>"))
    }

    /// Checks a Message-ID read from a file or a header.
    pub fn parse(text: &str) -> Result<Self, InvalidMessageId> {
        if is_message_id(text) {
            Ok(Self(text.to_string()))
        } else {
            Err(InvalidMessageId(text.escape_debug().to_string()))
        }
    }

    /// An id as found in a header of someone else's mail: with or without its angle brackets
    /// and surrounding blanks. `None` when it is not one well-formed id (such an id cannot be
    /// one of ours anyway).
    pub fn from_header(raw: &str) -> Option<Self> {
        let s = raw.trim();
        let s = s.strip_prefix('<').unwrap_or(s);
        let s = s.strip_suffix('>').unwrap_or(s).trim();
        Self::parse(&format!("<{s}>")).ok()
    }

    /// With its angle brackets, as it goes into a header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part between `@` and `>`.
    pub fn domain(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>'))
            .unwrap_or_default()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", self.0)
    }
}

impl FromStr for MessageId {
    type Err = InvalidMessageId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for MessageId {
    type Error = InvalidMessageId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        if is_message_id(&s) {
            Ok(Self(s))
        } else {
            Err(InvalidMessageId(s.escape_debug().to_string()))
        }
    }
}

impl From<MessageId> for String {
    fn from(id: MessageId) -> Self {
        id.0
    }
}

/// An earlier message a follow-up threads under: its id, and its subject (a follow-up takes
/// `Re: ` and the first message's subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRef {
    pub message_id: MessageId,
    pub subject: String,
}

/// Whether `id` is one `<left@right>` with nothing that could end a header.
fn is_message_id(id: &str) -> bool {
    let Some(inner) = id.strip_prefix('<').and_then(|s| s.strip_suffix('>')) else {
        return false;
    };
    let Some((left, right)) = inner.split_once('@') else {
        return false;
    };
    let part = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_graphic() && !matches!(c, '<' | '>' | '@' | '"' | ',' | '(' | ')' | '\\')
            })
    };
    part(left) && part(right)
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 16, 0, 0).unwrap()
    }

    #[test]
    fn message_ids_are_unique_and_on_the_senders_domain() {
        let a = MessageId::new_on("example.org", at());
        let b = MessageId::new_on("example.org", at());
        assert_ne!(a, b);
        assert!(MessageId::parse(a.as_str()).is_ok(), "{a}");
        assert!(a.as_str().ends_with("@example.org>"));
        assert_eq!(a.domain(), "example.org");
        let odd = MessageId::new_on("exa\r\nmple.org>", at());
        assert!(odd.as_str().ends_with("@example.org>"), "{odd}");
    }

    #[test]
    fn only_one_well_formed_id_is_a_message_id() {
        for ok in ["<a@example.org>", "<1.2-x@mail.example.com>"] {
            assert!(MessageId::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a@example.org",
            "<a@example.org",
            "<a@b@c>",
            "<a b@example.org>",
            "<a@example.org> <b@example.org>",
            "<a@example.org>\r\nBcc: x@example.org",
            "<@example.org>",
        ] {
            assert!(MessageId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_id_from_a_header_may_lack_its_brackets() {
        let a = MessageId::from_header(" <a.1@example.org> ").unwrap();
        assert_eq!(Some(a.clone()), MessageId::from_header("a.1@example.org"));
        assert_eq!(a.as_str(), "<a.1@example.org>");
        assert_eq!(MessageId::from_header("<>"), None);
        assert_eq!(MessageId::from_header("<a b@example.org>"), None);
    }

    #[test]
    fn a_stored_message_id_is_checked_when_read_back() {
        let id: MessageId = serde_json::from_str("\"<a@example.org>\"").unwrap();
        assert_eq!(id.as_str(), "<a@example.org>");
        assert!(serde_json::from_str::<MessageId>("\"not an id\"").is_err());
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"<a@example.org>\"");
    }
}
