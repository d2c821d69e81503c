//! The settings stage: from the validated config to the transports it describes. The SMTP
//! sender and the IMAP reading are built here, once for `validate`, `run`, `check-smtp`,
//! `check-imap` and `doctor`, with the password read (or its command proven) and every problem
//! placed at the line of the config it is about, by the positions the config recorded when it
//! was loaded.
//!
//! A stage of its own, above `input` (which reads what the user wrote and knows no transport)
//! and `delivery`/`mailbox` (which take these settings as they are and know no file): beside
//! the config it would make `input` import the transports that import `input`.

mod imap;
mod smtp;

use std::ffi::OsString;
use std::path::Path;

use crate::input::config::{Config, PasswordSource};
use crate::input::diagnostic::Diagnostic;
use crate::input::secret::SecretError;
pub use imap::{mailbox_reading, mailbox_reading_for_daemon, mailbox_reading_with};
pub use smtp::{mode_sends, smtp_sender, smtp_sender_for_daemon, smtp_sender_with};

/// A username with no password anywhere: says every place that was looked at. `section` is
/// `smtp` or `imap`, `credential` the systemd credential that section falls back to.
///
/// Outside systemd, when the file the shipped units hand over (`credential` beside the config)
/// exists, says how to check the config as the service would see it: an installed system
/// service's config is otherwise never valid by hand.
fn no_password(
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
fn unreadable(
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
