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

    /// The one rule for clear text: `plain` goes only to this machine ([`is_loopback_host`]);
    /// `tls` and `starttls` go anywhere. The config, the SMTP sender and the IMAP client all ask
    /// here, so the refusal and its wording exist once.
    pub fn check_host(self, protocol: Protocol, host: &str) -> Result<(), PlainNotLoopback> {
        if self == Security::Plain && !is_loopback_host(host) {
            return Err(PlainNotLoopback {
                protocol,
                host: host.to_owned(),
            });
        }
        Ok(())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Security::Tls => "tls",
            Security::Starttls => "starttls",
            Security::Plain => "plain",
        }
    }
}

/// Which mail protocol a connection speaks: what the clear-text refusal names and advises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Smtp,
    Imap,
}

impl Protocol {
    /// What would travel in clear text besides the password.
    fn carries(self) -> &'static str {
        match self {
            Protocol::Smtp => "your messages",
            Protocol::Imap => "your mail",
        }
    }

    /// The protected ways to reach a server of this protocol, most usual first.
    fn protected_ports(self) -> &'static str {
        match self {
            Protocol::Smtp => "use `starttls` (port 587) or `tls` (port 465)",
            Protocol::Imap => "use `tls` (port 993) or `starttls` (port 143)",
        }
    }
}

/// `security: plain` towards a host that is not this machine: refused by the config, by the SMTP
/// sender and by the IMAP client, in these words. `host` is as configured, or the configured name
/// with the address actually reached when that address is not loopback.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`security: plain` would send your password and {} in clear text to `{host}`: it is allowed \
     only to this machine (localhost, 127.0.0.1, ::1); {}",
    protocol.carries(),
    protocol.protected_ports()
)]
pub struct PlainNotLoopback {
    pub protocol: Protocol,
    pub host: String,
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
    fn plain_goes_only_to_a_loopback_host() {
        for protocol in [Protocol::Smtp, Protocol::Imap] {
            for host in [
                "127.0.0.1",
                "::1",
                "[::1]",
                "localhost",
                "LocalHost",
                "localhost.",
            ] {
                assert_eq!(Security::Plain.check_host(protocol, host), Ok(()), "{host}");
            }
            for host in [
                "mail.example.com",
                "192.0.2.1",
                "localhost.example.com",
                "::2",
            ] {
                let refused = Security::Plain.check_host(protocol, host).unwrap_err();
                assert_eq!(refused.host, host);
                let words = refused.to_string();
                assert!(words.starts_with("`security: plain` would send your password and "));
                assert!(
                    words.contains(&format!(
                        "in clear text to `{host}`: it is allowed only to this machine \
                         (localhost, 127.0.0.1, ::1); use `"
                    )),
                    "{words}"
                );
                for protected in [Security::Tls, Security::Starttls] {
                    assert_eq!(protected.check_host(protocol, host), Ok(()), "{host}");
                }
            }
        }
        let smtp = Security::Plain.check_host(Protocol::Smtp, "mail.example.com");
        assert!(
            smtp.unwrap_err()
                .to_string()
                .contains("your messages in clear text")
        );
        let imap = Security::Plain.check_host(Protocol::Imap, "mail.example.com");
        assert!(
            imap.unwrap_err()
                .to_string()
                .ends_with("use `tls` (port 993) or `starttls` (port 143)")
        );
    }

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
