//! The mail providers whose settings are known by the domain of an address: what `followup
//! init` fills in, and what docs/configuration.md's provider table says (keep the two in step).

use crate::net::Security;

/// Where one side (SMTP or IMAP) of a provider is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub host: &'static str,
    pub port: u16,
    pub security: Security,
}

/// What a provider takes as the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secret {
    /// An app password (2-step verification on).
    AppPassword,
    /// The account's password (a home server, GMX).
    Password,
    /// The password Proton's Bridge shows.
    BridgePassword,
    /// Only an OAuth2 access token: `auth: xoauth2` with a token helper.
    Xoauth2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    pub name: &'static str,
    /// The address domains it serves.
    pub domains: &'static [&'static str],
    pub smtp: Endpoint,
    pub imap: Endpoint,
    /// The IMAP login is the part of the address before `@` (iCloud), not the whole address.
    pub imap_login_is_local_part: bool,
    pub secret: Secret,
    /// The provider files SMTP submissions in Sent itself, but followup cannot tell by the SMTP
    /// host (a Bridge on loopback): the starter sets `save_sent: never`.
    pub save_sent_never: bool,
}

const fn at(host: &'static str, port: u16, security: Security) -> Endpoint {
    Endpoint {
        host,
        port,
        security,
    }
}

/// The providers known by address domain. Google Workspace and Microsoft 365 serve the
/// customer's own domains, so they are documented but cannot be recognised here.
pub const PROVIDERS: &[Provider] = &[
    Provider {
        name: "Gmail",
        domains: &["gmail.com", "googlemail.com"],
        smtp: at("smtp.gmail.com", 465, Security::Tls),
        imap: at("imap.gmail.com", 993, Security::Tls),
        imap_login_is_local_part: false,
        secret: Secret::AppPassword,
        save_sent_never: false,
    },
    Provider {
        name: "outlook.com",
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        smtp: at("smtp-mail.outlook.com", 587, Security::Starttls),
        imap: at("outlook.office365.com", 993, Security::Tls),
        imap_login_is_local_part: false,
        secret: Secret::Xoauth2,
        save_sent_never: false,
    },
    Provider {
        name: "Yahoo",
        domains: &["yahoo.com", "ymail.com"],
        smtp: at("smtp.mail.yahoo.com", 465, Security::Tls),
        imap: at("imap.mail.yahoo.com", 993, Security::Tls),
        imap_login_is_local_part: false,
        secret: Secret::AppPassword,
        save_sent_never: false,
    },
    Provider {
        name: "iCloud",
        domains: &["icloud.com", "me.com", "mac.com"],
        smtp: at("smtp.mail.me.com", 587, Security::Starttls),
        imap: at("imap.mail.me.com", 993, Security::Tls),
        imap_login_is_local_part: true,
        secret: Secret::AppPassword,
        save_sent_never: false,
    },
    Provider {
        name: "Fastmail",
        domains: &["fastmail.com", "fastmail.fm"],
        smtp: at("smtp.fastmail.com", 465, Security::Tls),
        imap: at("imap.fastmail.com", 993, Security::Tls),
        imap_login_is_local_part: false,
        secret: Secret::AppPassword,
        save_sent_never: false,
    },
    Provider {
        name: "Proton (Bridge)",
        domains: &["proton.me", "protonmail.com", "pm.me"],
        smtp: at("127.0.0.1", 1025, Security::Starttls),
        imap: at("127.0.0.1", 1143, Security::Starttls),
        imap_login_is_local_part: false,
        secret: Secret::BridgePassword,
        save_sent_never: true,
    },
    Provider {
        name: "GMX",
        domains: &["gmx.net", "gmx.de", "gmx.com"],
        smtp: at("mail.gmx.net", 587, Security::Starttls),
        imap: at("imap.gmx.net", 993, Security::Tls),
        imap_login_is_local_part: false,
        secret: Secret::Password,
        save_sent_never: false,
    },
];

/// The provider that serves `address`, by its domain (any case).
pub fn for_address(address: &str) -> Option<&'static Provider> {
    let (_, domain) = address.rsplit_once('@')?;
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS
        .iter()
        .find(|p| p.domains.iter().any(|d| *d == domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_are_known_by_the_domain_of_the_address() {
        assert_eq!(for_address("Sam@GMail.com").unwrap().name, "Gmail");
        assert_eq!(
            for_address("sam@hotmail.com").unwrap().secret,
            Secret::Xoauth2
        );
        assert!(
            for_address("sam@icloud.com")
                .unwrap()
                .imap_login_is_local_part
        );
        assert!(for_address("sam@example.org").is_none());
        assert!(for_address("not an address").is_none());
        assert!(for_address("sam@notgmail.com").is_none());
    }
}
