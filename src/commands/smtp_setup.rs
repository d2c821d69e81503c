//! Whether the SMTP setup is complete: the one check `validate`, `run` and `check-smtp` make
//! before anything touches the network.

use std::ffi::OsString;
use std::path::Path;

use crate::delivery::smtp::{SmtpOptions, SmtpSender, SmtpSetupError, hello_name};
use crate::input::config::{Config, Mode, PasswordSource};
use crate::input::diagnostic::{Diagnostic, Diagnostics};
use crate::input::secret::{SMTP_CREDENTIAL, SecretError, SecretSource, read_password};
use crate::input::yaml::{self, Seg};

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
    let text = std::fs::read_to_string(&config.path).unwrap_or_default();
    let at = |keys: &[&str], message: String| {
        let path: Vec<Seg> = keys.iter().map(|k| Seg::Key(k)).collect();
        yaml::at(&config.path, &text, &path, message)
    };
    let Some(smtp) = config.smtp.as_ref() else {
        let mode = match config.mode {
            Mode::Send => "send",
            _ => "approve",
        };
        let message = format!(
            "mode `{mode}` sends mail but there is no `smtp` section: add one (host, security, \
             username), or use `mode: dry-run` (or `followup run --dry-run`) to send nothing"
        );
        return Err(Diagnostics(vec![if text.contains("mode:") {
            at(&["mode"], message)
        } else {
            Diagnostic::new(&config.path, message)
        }]));
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

/// A username with no password anywhere: says every place that was looked at. `section` is
/// `smtp` or `imap`, `credential` the systemd credential that section falls back to.
///
/// Outside systemd, when the file the shipped units hand over (`credential` beside the config)
/// exists, says how to check the config as the service would see it: an installed system
/// service's config is otherwise never valid by hand.
pub(super) fn no_password(
    section: &str,
    username: &str,
    credential: &str,
    config: &Config,
    env: &dyn Fn(&str) -> Option<OsString>,
    at: &dyn Fn(&[&str], String) -> Diagnostic,
) -> Diagnostic {
    let looked = match env("CREDENTIALS_DIRECTORY").filter(|d| !d.is_empty()) {
        Some(dir) => format!(
            "no {} (the credential was not handed over)",
            Path::new(&dir).join(credential).display()
        ),
        None => {
            let mut looked = format!(
                "no $CREDENTIALS_DIRECTORY/{credential} ($CREDENTIALS_DIRECTORY is not set: \
                 this is not a systemd service)"
            );
            let dir = config.path.parent().unwrap_or(Path::new("."));
            let beside = dir.join(credential);
            if beside.exists() {
                looked.push_str(&format!(
                    "; {} exists, which the shipped units hand over as that credential: to \
                     check the config as the service sees it, run `CREDENTIALS_DIRECTORY={} \
                     followup --config {} validate` as a user who may read it",
                    beside.display(),
                    dir.display(),
                    config.path.display()
                ));
            }
            looked
        }
    };
    let what = section.to_uppercase();
    at(
        &[section, "username"],
        format!(
            "`username: {username}` is set but no {what} password was found: looked for \
             `password_file`, `password_env` and `password_command` in the {section} section \
             (none is set) and {looked}. Put the password in a file only you can read and name \
             it with `password_file:`, name the variable that holds it with `password_env:`, or \
             give a command that prints it with `password_command:`; under \
             systemd, `LoadCredential={credential}:...` hands it over (see docs/operations.md)"
        ),
    )
}

/// A password source of `section` that is set but cannot be read.
pub(super) fn unreadable(
    section: &str,
    source: &PasswordSource,
    e: &SecretError,
    at: &dyn Fn(&[&str], String) -> Diagnostic,
) -> Diagnostic {
    match source {
        PasswordSource::File(path) => at(
            &[section, "password_file"],
            format!(
                "{e}: create it with the password in it, readable only by you \
                 (`install -m 600 /dev/null {0}`, then edit it), or fix `password_file`",
                path.display()
            ),
        ),
        PasswordSource::Env(_) => at(
            &[section, "password_env"],
            format!("{e}: set it where followup runs, or use `password_file` instead"),
        ),
        PasswordSource::Credential(name) => at(
            &[section, "username"],
            format!("{e}: check the unit's `LoadCredential={name}:...` line"),
        ),
        PasswordSource::Command(_) => at(
            &[section, "password_command"],
            format!(
                "{e}. Run it by hand as the user followup runs as: it must print the password \
                 or token on its first line and exit 0"
            ),
        ),
    }
}
