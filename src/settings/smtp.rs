//! Whether the SMTP setup is complete: the one check `validate`, `run` and `check-smtp` make
//! before anything touches the network.

use std::ffi::OsString;

use super::{no_password, unreadable};
use crate::delivery::smtp::{SmtpOptions, SmtpSender, SmtpSetupError, hello_name};
use crate::input::config::{Config, Mode, PasswordSource};
use crate::input::diagnostic::Diagnostics;
use crate::input::secret::{SMTP_CREDENTIAL, SecretSource, read_password};

/// The SMTP sender the config describes, with the password read now (never logged); or every
/// reason it cannot be built, each at the line of the config it is about.
pub fn smtp_sender(config: &Config) -> Result<SmtpSender, Diagnostics> {
    smtp_sender_with(config, &|name| std::env::var_os(name))
}

/// Whether the configured mode needs a mail server: approve and send do (approved messages,
/// call reminders and notices go out by SMTP), dry-run never connects.
pub fn mode_sends(mode: Mode) -> bool {
    mode != Mode::DryRun
}

/// The sender for the daemon: as [`smtp_sender`], but a `password_command` is not run now, only
/// at each connection. A token helper that fails when the daemon starts then fails the sends
/// (retried later), not the daemon, and the mailbox is still read.
pub fn smtp_sender_for_daemon(config: &Config) -> Result<SmtpSender, Diagnostics> {
    build(config, &|name| std::env::var_os(name), false)
}

/// [`smtp_sender`] with the environment given.
pub fn smtp_sender_with(
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> Result<SmtpSender, Diagnostics> {
    build(config, env, true)
}

/// `prove_command`: run a `password_command` now, so that its failure is reported at the
/// config's line (`validate`, `check-smtp`, `doctor`).
fn build(
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
    prove_command: bool,
) -> Result<SmtpSender, Diagnostics> {
    let at = |keys: &[&str], message: String| config.positions.at(&config.path, keys, message);
    let Some(smtp) = config.smtp.as_ref() else {
        let mode = match config.mode {
            Mode::Send => "send",
            _ => "approve",
        };
        let message = format!(
            "mode `{mode}` sends mail but there is no `smtp` section: add one (host, security, \
             username), or use `mode: dry-run` (or `followup run --dry-run`) to send nothing"
        );
        // At `mode:` when the file has it, else about the whole file (the default mode sends).
        return Err(Diagnostics(vec![at(&["mode"], message)]));
    };
    let secret = match (&smtp.username, &smtp.password) {
        (Some(_), PasswordSource::Command(command)) if !prove_command => {
            Some(SecretSource::Command(command.clone()))
        }
        (Some(_), source) => match read_password(source, env) {
            Ok(Some(password)) => Some(match source {
                // Run once to prove it works; run again at every connection.
                PasswordSource::Command(command) => SecretSource::Command(command.clone()),
                _ => SecretSource::Fixed(password),
            }),
            Ok(None) => {
                let user = smtp.username.as_deref().unwrap_or_default();
                let mut problem = no_password("smtp", user, SMTP_CREDENTIAL, config, env, &at);
                problem
                    .message
                    .push_str(". Remove `username` if your server needs no login");
                return Err(Diagnostics(vec![problem]));
            }
            Err(e) => return Err(Diagnostics(vec![unreadable("smtp", source, &e, &at)])),
        },
        (None, PasswordSource::Credential(_)) => None,
        (None, given) => {
            let key = match given {
                PasswordSource::File(_) => "password_file",
                PasswordSource::Command(_) => "password_command",
                _ => "password_env",
            };
            return Err(Diagnostics(vec![at(
                &["smtp", key],
                format!(
                    "`{key}` is set but `username` is not: a password is only sent with a \
                     username; add `username:` (your login), or remove `{key}`"
                ),
            )]));
        }
    };
    let options = SmtpOptions {
        hello_name: Some(hello_name(smtp.hello_name.as_deref(), &config.owner.email)),
        extra_root_cert: smtp.ca_file.clone(),
        transaction_timeout: smtp.transaction_timeout(),
        ..SmtpOptions::default()
    };
    SmtpSender::with_secret(smtp, secret, options).map_err(|e| {
        let key = match &e {
            SmtpSetupError::ReadRootCert { .. } | SmtpSetupError::InvalidRootCert { .. } => {
                "ca_file"
            }
            SmtpSetupError::PlainNotLoopback(_) => "security",
            SmtpSetupError::MissingPassword(_) => "username",
            SmtpSetupError::Tls { .. } => "host",
        };
        Diagnostics(vec![at(&["smtp", key], e.to_string())])
    })
}
