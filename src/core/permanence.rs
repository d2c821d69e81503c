//! Which failures mean the address is dead: the one rule of permanence, asked both by the SMTP
//! client (a refusal at RCPT TO or after the body) and by the delivery reports read from the
//! mailbox (a bounce minutes later). An address found dead gets no more e-mail until the record
//! gives another one; any other failure concerns the message, the server or the sender.

/// An RFC 3463 enhanced status code, `class.subject.detail` (`5.1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EnhancedStatus {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl EnhancedStatus {
    pub const fn new(class: u8, subject: u16, detail: u16) -> Self {
        Self {
            class,
            subject,
            detail,
        }
    }

    /// A code that says nothing more than "failed" (`X.0.0`, `X.1.0`, and the "other" codes
    /// `X.3.0` and `X.5.0` old servers put before "user unknown"): the words beside it tell why.
    pub fn is_vague(self) -> bool {
        matches!((self.subject, self.detail), (0 | 1 | 3 | 5, 0))
    }

    /// The first word of `text` that reads as an enhanced status code (`5.1.1`, `4.4.7;`).
    pub fn find(text: &str) -> Option<Self> {
        text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '#'))
            .find_map(Self::parse)
    }

    /// A word that is exactly a code, punctuation after it allowed.
    pub fn parse(word: &str) -> Option<Self> {
        let word = word.trim_end_matches([',', ';', ':', '.', '>', '"', '\'']);
        if word.len() > 11 {
            return None;
        }
        let mut parts = word.split('.');
        let class = parts
            .next()?
            .parse()
            .ok()
            .filter(|c| matches!(c, 2 | 4 | 5))?;
        let subject = parse_small(parts.next()?)?;
        let detail = parse_small(parts.next()?)?;
        parts
            .next()
            .is_none()
            .then_some(Self::new(class, subject, detail))
    }
}

fn parse_small(part: &str) -> Option<u16> {
    if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}

impl std::fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Words of a server that mean the recipient or its domain does not exist, lower-case: what a
/// vague code (`5.0.0`, `5.1.0`, `5.4.4`, or a bare `550`) needs beside it to name a dead address.
pub const DEAD_ADDRESS_WORDS: &[&str] = &[
    "user unknown",
    "unknown user",
    "no such user",
    "no such mailbox",
    "no such recipient",
    "no such address",
    "does not exist",
    "doesn't exist",
    "does not have an account",
    "not a valid mailbox",
    "invalid recipient",
    "invalid mailbox",
    "recipient not found",
    "recipient unknown",
    "unknown recipient",
    "address rejected",
    "unrouteable address",
    "unroutable address",
    "mailbox unavailable",
    "mailbox not found",
    "mailbox does not exist",
    "no mailbox here",
    "account has been disabled",
    "account is disabled",
    "user not found",
    "addressee unknown",
    "host not found",
    "host unknown",
    "unknown host",
    "domain not found",
    "no such domain",
    "nxdomain",
    "name or service not known",
    "no mx",
    "null mx",
    "couldn't be found",
    "could not be found",
    "wasn't found",
    "was not found",
    "not listed in",
    "is not a valid",
    "no longer available",
    "unknown or illegal alias",
    "user not known",
    "user doesn't have a",
    "user does not have a",
    "does not have a final email delivery point",
    "invalid final delivery userid",
    "no longer valid",
    "n'existe pas",
    "existiert nicht",
    "unbekannt",
];

/// Whether `words` (a server's text) say the recipient or its host does not exist.
pub fn says_address_is_dead(words: &str) -> bool {
    let lower = words.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    let flat = lower.split_whitespace().collect::<Vec<_>>().join(" ");
    DEAD_ADDRESS_WORDS.iter().any(|w| flat.contains(w))
}

/// The rule: a permanent failure names a dead address when its code says the recipient's
/// mailbox or domain does not exist (`5.1.x` but `5.1.7`/`5.1.8`, which concern the sender, and
/// the vague `5.1.0`; `5.2.1`, a disabled mailbox), or when a vague code (`5.0.0`, `5.1.0`,
/// `5.4.4`) or none comes with words that say so ([`DEAD_ADDRESS_WORDS`]). A temporary failure
/// never does; policy, spam, a full mailbox or a message too big do not.
pub fn names_a_dead_address(status: Option<EnhancedStatus>, words: &str) -> bool {
    match status {
        Some(s) if s.class != 5 => false,
        Some(EnhancedStatus {
            subject: 1, detail, ..
        }) if !matches!(detail, 0 | 7 | 8) => true,
        Some(EnhancedStatus {
            subject: 2,
            detail: 1,
            ..
        }) => true,
        Some(s) if s.is_vague() || (s.subject, s.detail) == (4, 4) => says_address_is_dead(words),
        Some(_) => false,
        None => says_address_is_dead(words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> Option<EnhancedStatus> {
        EnhancedStatus::parse(s)
    }

    #[test]
    fn a_code_for_the_recipient_names_a_dead_address() {
        for c in ["5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10", "5.2.1"] {
            assert!(names_a_dead_address(code(c), ""), "{c}");
        }
    }

    #[test]
    fn a_vague_code_names_a_dead_address_only_with_the_words() {
        for c in ["5.0.0", "5.1.0", "5.4.4", "5.3.0", "5.5.0"] {
            assert!(names_a_dead_address(code(c), "550 User unknown"), "{c}");
            assert!(
                names_a_dead_address(code(c), "Host not found (NXDOMAIN)"),
                "{c}"
            );
            assert!(!names_a_dead_address(code(c), "Message rejected"), "{c}");
        }
        assert!(names_a_dead_address(None, "550 No such user here"));
        assert!(!names_a_dead_address(None, "550 rejected"));
    }

    #[test]
    fn policy_a_full_mailbox_the_sender_and_temporary_failures_do_not() {
        for c in [
            "5.7.1", "5.2.2", "5.3.4", "5.1.7", "5.1.8", "4.1.1", "4.4.7", "4.0.0",
        ] {
            assert!(!names_a_dead_address(code(c), "user unknown"), "{c}");
        }
    }

    #[test]
    fn an_enhanced_status_is_read_from_a_word() {
        assert_eq!(
            EnhancedStatus::find("smtp; 550 5.1.1 <a@example.com>: no"),
            code("5.1.1")
        );
        assert_eq!(EnhancedStatus::find("(#5.1.1)"), code("5.1.1"));
        assert_eq!(EnhancedStatus::find("status 4.4.7;"), code("4.4.7"));
        assert_eq!(EnhancedStatus::find("version 1.2.3 and 10.0.0.1"), None);
        assert_eq!(EnhancedStatus::find("5.1.99999"), None);
    }
}
