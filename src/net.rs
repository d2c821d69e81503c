//! What SMTP and IMAP share about reaching a server: how the connection is protected, and the
//! one rule for when it may go unprotected (only to this machine).

use std::net::IpAddr;

use serde::Deserialize;

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (SMTP 465, IMAP 993).
    Tls,
    /// STARTTLS, required: never continues in clear text when the server does not offer it.
    Starttls,
    /// No TLS: allowed only to a loopback host.
    Plain,
}

impl Security {
    /// The SMTP port this protection is normally served on.
    pub fn smtp_port(self) -> u16 {
        match self {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        }
    }

    /// The IMAP port this protection is normally served on.
    pub fn imap_port(self) -> u16 {
        match self {
            Security::Tls => 993,
            Security::Starttls | Security::Plain => 143,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::Plain => "plain",
        }
    }
}

/// The host as a resolver takes it: an IPv6 literal loses its brackets (`[::1]` → `::1`).
pub fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// Whether `host` names this machine: `localhost` (with or without the root's dot), or a
/// loopback IP literal (IPv6 with or without brackets). The only hosts a clear-text connection
/// may go to; a resolved address must also pass [`is_loopback_address`].
pub fn is_loopback_host(host: &str) -> bool {
    let host = bare_host(host);
    host.eq_ignore_ascii_case("localhost")
        || host.eq_ignore_ascii_case("localhost.")
        || host.parse::<IpAddr>().is_ok_and(is_loopback_address)
}

/// Whether a resolved address is this machine's, so a poisoned hosts file cannot send a
/// clear-text session across the network.
pub fn is_loopback_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => ip.is_loopback(),
        // `::ffff:127.0.0.1` is loopback too.
        IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_localhost_and_loopback_literals_however_spelt() {
        for ok in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "[::1]",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "example.com",
            "192.0.2.1",
            "localhost.example.com",
            "::2",
            "[::2]",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
