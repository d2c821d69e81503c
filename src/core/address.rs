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
    #[error(
        "`{0}` holds more than one address; give each person one address, like jane@example.com"
    )]
    SeveralAddresses(String),
    #[error(
        "`{0}` has no dot in its domain, so mail to it cannot arrive; write the whole address, \
         like {0}.com"
    )]
    NoDotInDomain(String),
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
        if s.contains([',', ';']) && s.matches('@').count() > 1 {
            return Err(AddressError::SeveralAddresses(s.escape_debug().to_string()));
        }
        if s.contains(['<', '>', '"', ',', ';', '(', ')']) {
            return Err(AddressError::DisplayName(s.escape_debug().to_string()));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AddressError::Whitespace(s.escape_debug().to_string()));
        }
        if let Err(e) = lettre::Address::from_str(s) {
            return Err(AddressError::Invalid(s.to_string(), e.to_string()));
        }
        // A domain without a dot (`monica@piedpiper`) is a typo on the way to `piedpiper.com`;
        // an address literal (`[192.0.2.1]`) is written on purpose.
        let domain = s.rsplit_once('@').map_or("", |(_, d)| d);
        if !domain.contains('.') && !domain.starts_with('[') {
            return Err(AddressError::NoDotInDomain(s.to_string()));
        }
        Ok(Self {
            address: s.to_string(),
        })
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
    fn a_domain_without_a_dot_is_rejected_with_the_fix() {
        let e = EmailAddress::parse("monica@piedpiper").unwrap_err();
        assert_eq!(
            e.to_string(),
            "`monica@piedpiper` has no dot in its domain, so mail to it cannot arrive; write the \
             whole address, like monica@piedpiper.com"
        );
        assert!(EmailAddress::parse("root@[192.0.2.1]").is_ok());
    }

    #[test]
    fn two_addresses_are_not_called_a_display_name() {
        for two in ["a@x.com,b@x.com", "a@x.com; b@x.com"] {
            let e = EmailAddress::parse(two).unwrap_err();
            assert!(matches!(e, AddressError::SeveralAddresses(_)), "{two}: {e}");
        }
    }

    #[test]
    fn malformed_addresses_are_rejected() {
        for bad in ["", "jane", "jane@", "@example.com", "jane@@example.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
