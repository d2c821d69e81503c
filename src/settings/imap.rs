//! Whether the IMAP setup is complete: the one check `validate`, `run` and `check-imap` make
//! before anything connects, and the reading of the mailbox it builds.

use std::ffi::OsString;

use super::{no_password, unreadable};
use crate::input::config::{Config, PasswordSource, SaveSent};
use crate::input::diagnostic::Diagnostics;
use crate::input::secret::{IMAP_CREDENTIAL, SecretSource, read_password};
use crate::mailbox::{
    Backoff, ImapClient, ImapError, ImapSettings, Reading, Timeouts, files_submissions_itself,
};

/// How the daemon reads the mailbox the config's `imap` section describes, with the password
/// read now (never logged); `None` without one. Every problem names the line it is about.
pub fn mailbox_reading(config: &Config) -> Result<Option<Reading>, Diagnostics> {
    mailbox_reading_with(config, &|name| std::env::var_os(name))
}

/// The reading for the daemon: as [`mailbox_reading`], but a `password_command` is not run now,
/// only at each login, so that a token helper failing at start fails the reading (retried with
/// backoff and shown by `status`), not the daemon, and mail still goes out.
pub fn mailbox_reading_for_daemon(config: &Config) -> Result<Option<Reading>, Diagnostics> {
    build(config, &|name| std::env::var_os(name), false)
}

/// [`mailbox_reading`] with the environment given.
pub fn mailbox_reading_with(
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<Option<Reading>, Diagnostics> {
    build(config, env, true)
}

fn build(
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
    prove_command: bool,
) -> Result<Option<Reading>, Diagnostics> {
    let Some(imap) = &config.imap else {
        return Ok(None);
    };
    let at = |keys: &[&str], message: String| config.positions.at(&config.path, keys, message);
    let password = match &imap.password {
        PasswordSource::Command(command) if !prove_command => {
            SecretSource::Command(command.clone())
        }
        source => match read_password(source, env) {
            Ok(Some(password)) => match source {
                // Run once to prove it works; run again at every login.
                PasswordSource::Command(command) => SecretSource::Command(command.clone()),
                _ => SecretSource::Fixed(password),
            },
            Ok(None) => {
                let problem =
                    no_password("imap", &imap.username, IMAP_CREDENTIAL, config, env, &at);
                return Err(Diagnostics(vec![problem]));
            }
            Err(e) => {
                return Err(Diagnostics(vec![unreadable(
                    "imap",
                    &imap.password,
                    &e,
                    &at,
                )]));
            }
        },
    };
    let client = ImapClient::new(ImapSettings {
        host: imap.host.clone(),
        port: imap.port,
        security: imap.security,
        username: imap.username.clone(),
        password,
        auth: imap.auth,
        ca_file: imap.ca_file.clone(),
        timeouts: match imap.timeout {
            Some(t) => Timeouts {
                connect: t,
                command: t,
                ..Timeouts::default()
            },
            None => Timeouts::default(),
        },
        use_idle: true,
    })
    .map_err(|e| {
        let key = match &e {
            ImapError::PlainNotLoopback { .. } => "security",
            ImapError::CaFile { .. } | ImapError::CaInvalid { .. } => "ca_file",
            _ => "host",
        };
        Diagnostics(vec![at(&["imap", key], e.to_string())])
    })?;
    let save_copies = match imap.save_sent {
        SaveSent::Always => true,
        SaveSent::Never => false,
        SaveSent::Auto => !config
            .smtp
            .as_ref()
            .is_some_and(|smtp| files_submissions_itself(&smtp.host)),
    };
    Ok(Some(Reading {
        client,
        folders: imap.folders.clone(),
        sent: imap.sent.clone(),
        poll: imap.poll,
        backoff: Backoff::new(
            Backoff::DEFAULT.initial,
            imap.retry_max.max(Backoff::DEFAULT.initial),
            imap.retry_lasting,
        ),
        save_copies,
    }))
}
