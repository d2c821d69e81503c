//! A validated e-mail address.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

/// Why a string is not an address we are willing to write into a header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("an e-mail address cannot be empty")]
    Empty,
    #[error(
        "`{0}` holds a display name or angle brackets; write only the bare address, like jane@example.com"
    )]
    DisplayName(String),
    #[error("`{0}` holds a space or a control character")]
    Whitespace(String),
    #[error("`{0}` is not a valid e-mail address: {1}")]
    Invalid(String, String),
}

/// A bare `local@domain` address, checked once at load time.
///
/// Only bare addresses are accepted: a display name, angle brackets or a line break in a record
/// could otherwise smuggle a second recipient or header into a message.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmailAddress {
    address: String,
}

impl EmailAddress {
    /// Parses and checks a bare address.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(AddressError::Empty);
        }
        if s.contains(['<', '>', '"', ',', ';', '(', ')']) {
            return Err(AddressError::DisplayName(s.escape_debug().to_string()));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AddressError::Whitespace(s.escape_debug().to_string()));
        }
        match lettre::Address::from_str(s) {
            Ok(_) => Ok(Self {
                address: s.to_string(),
            }),
            Err(e) => Err(AddressError::Invalid(s.to_string(), e.to_string())),
        }
    }

    /// The address as written.
    pub fn as_str(&self) -> &str {
        &self.address
    }

    /// The part after the `@`, used for Message-IDs.
    pub fn domain(&self) -> &str {
        self.address
            .rsplit_once('@')
            .map(|(_, d)| d)
            .unwrap_or_default()
    }

    /// The address lower-cased: the identity of a person for the weekly cap and the send keys.
    pub fn key(&self) -> String {
        self.address.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.address)
    }
}

impl FromStr for EmailAddress {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for EmailAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.address)
    }
}

/// Why `name` cannot stand before an address as a person's name, or `None` when it can. A
/// name holding `@`, `<` or `>` reads as an address, one holding `=?` as MIME encoding: either
/// could mislead whoever reads the header, so records, the config and the queue file refuse
/// them alike (and every name they accept survives the trip through a queue file).
pub fn display_name_problem(name: &str) -> Option<&'static str> {
    if name.contains(['@', '<', '>']) {
        Some("the name looks like an address")
    } else if name.contains("=?") {
        Some("the name looks MIME-encoded (`=?`)")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_read_as_addresses_or_encodings_are_refused() {
        for bad in ["boss@example.com", "Jane <x>", "=?utf-8?b?SmFuZQ==?="] {
            assert!(display_name_problem(bad).is_some(), "{bad:?}");
        }
        for good in [
            "Dana \"DJ\" O'Neil, Jr.",
            "Jürgen Weiß",
            "A = B?",
            "Smith & Co (HR)",
        ] {
            assert_eq!(display_name_problem(good), None, "{good:?}");
        }
    }

    #[test]
    fn bare_addresses_parse_and_keys_are_lower_case() {
        let a = EmailAddress::parse("Jane.Doe@Example.COM").unwrap();
        assert_eq!(a.as_str(), "Jane.Doe@Example.COM");
        assert_eq!(a.key(), "jane.doe@example.com");
        assert_eq!(a.domain(), "Example.COM");
    }

    #[test]
    fn display_name_tricks_are_rejected() {
        for bad in [
            "Jane <jane@example.com>",
            "\"boss@example.com\" <x@example.org>",
            "a@example.com, b@example.com",
            "jane@example.com\r\nBcc: x@example.org",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in ["", "jane", "jane@", "@example.com", "jane@@example.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
