//! `followup.yaml`: raw serde structs checked into a validated `Config`.

use std::path::PathBuf;

use chrono_tz::Tz;

use crate::core::{Owner, Policy};

/// What happens to a message when it is due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Written to the approval queue; sent once the user approves it.
    #[default]
    Approve,
    /// Sent over SMTP.
    Send,
    /// Shown, never sent; nothing changes.
    DryRun,
}

/// How the SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// Implicit TLS (port 465).
    Tls,
    /// STARTTLS, required (port 587).
    Starttls,
    /// No TLS: allowed only to a loopback host.
    Plain,
}

/// Where the SMTP password comes from. The password itself is read only when connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    File(PathBuf),
    Env(String),
    /// `$CREDENTIALS_DIRECTORY/smtp-password` under systemd, else none.
    Credentials,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: PasswordSource,
}

/// The validated configuration; every path is absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub owner: Owner,
    pub timezone: Tz,
    pub mode: Mode,
    pub interviews: PathBuf,
    /// `None`: use the templates built into the binary.
    pub templates: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub queue_dir: PathBuf,
    pub smtp: Option<SmtpConfig>,
    pub policy: Policy,
}
