//! One module per command. Each returns `anyhow::Result`; `main` maps errors to exit codes.

mod check_imap;
mod check_smtp;
mod completions;
mod doctor;
mod init;
mod man;
mod plan;
mod preview;
mod queue;
mod replies;
mod run;
mod simulate;
mod state;
mod status;
mod validate;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow};
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::delivery::smtp::{SmtpOptions, SmtpSender, hello_name};
use crate::input::config::SaveSent;
use crate::input::config::{self, Config};
use crate::input::diagnostic::Diagnostics;
use crate::input::secret::read_password;
use crate::input::workspace::{Workspace, parse_instant};
use crate::mailbox::{ImapClient, ImapSettings, Reading, Timeouts, files_submissions_itself};

/// Runs one command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Validate => validate::run(&config_path(&cli.config)?),
        Command::Plan { now, json } => plan::run(&load(&cli.config)?, now.as_deref(), json),
        Command::Simulate {
            from,
            until,
            fresh,
            json,
        } => simulate::run(
            &load(&cli.config)?,
            from.as_deref(),
            until.as_deref(),
            fresh,
            json,
        ),
        Command::Preview {
            interview,
            step,
            recipient,
        } => preview::run(&load(&cli.config)?, &interview, step, recipient.as_deref()),
        Command::Init { dir } => init::run(dir),
        Command::Run { dry_run, once, now } => {
            run::run(&config_path(&cli.config)?, dry_run, once, now.as_deref())
        }
        Command::Status { json, now } => {
            status::run(&load_lenient(&cli.config)?, json, now.as_deref())
        }
        Command::Queue { action } => queue::run(&load_lenient(&cli.config)?, action),
        Command::State { action } => state::run(&load_lenient(&cli.config)?, action),
        Command::CheckSmtp { send_to } => check_smtp::run(&load(&cli.config)?, send_to.as_deref()),
        Command::CheckImap => check_imap::run(&load(&cli.config)?),
        Command::Replies { json } => replies::list(&load_lenient(&cli.config)?, json),
        Command::Resume { interview } => replies::resume(&load_lenient(&cli.config)?, &interview),
        Command::Doctor { offline } => doctor::run(cli.config.as_deref(), offline),
        Command::Completions { shell } => completions::run(shell),
        Command::Man => man::run(),
    }
}

fn config_path(explicit: &Option<PathBuf>) -> Result<PathBuf> {
    Ok(config::locate(explicit.as_deref())?)
}

/// Loads the workspace, telling about broken records and templates without stopping on them.
fn load_lenient(explicit: &Option<PathBuf>) -> Result<Workspace> {
    let path = config_path(explicit)?;
    let (ws, problems) = Workspace::load_lenient(&path)?;
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if !problems.is_empty() {
        eprintln!(
            "warning: the records above were left out; `followup validate` lists every problem"
        );
    }
    Ok(ws)
}

fn load(explicit: &Option<PathBuf>) -> Result<Workspace> {
    let path = config_path(explicit)?;
    Workspace::load(&path).map_err(|d: Diagnostics| d.into())
}

/// How long one SMTP transaction may take when `smtp.timeout` does not say.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(120);

/// The SMTP sender the config describes, with the password read now (never logged).
pub fn smtp_sender(config: &Config) -> Result<SmtpSender> {
    let smtp = config.smtp.as_ref().ok_or_else(|| {
        anyhow!(
            "{}: mode `{}` sends mail but there is no `smtp` section; add one, or use --dry-run",
            config.path.display(),
            config.mode
        )
    })?;
    let password = match &smtp.username {
        Some(_) => read_password(&smtp.password, |name| std::env::var_os(name))?,
        None => None,
    };
    let options = SmtpOptions {
        hello_name: Some(hello_name(smtp.hello_name.as_deref(), &config.owner.email)),
        extra_root_cert: smtp.ca_file.clone(),
        transaction_timeout: smtp.timeout.unwrap_or(SMTP_TIMEOUT),
        ..SmtpOptions::default()
    };
    Ok(SmtpSender::new(smtp, password, options)?)
}

/// How the daemon reads the mailbox the config's `imap` section describes, with the password
/// read now (never logged); `None` without one.
pub fn mailbox_reading(config: &Config) -> Result<Option<Reading>> {
    let Some(imap) = &config.imap else {
        return Ok(None);
    };
    let password =
        read_password(&imap.password, |name| std::env::var_os(name))?.ok_or_else(|| {
            anyhow!(
                "{}: no IMAP password for {}: set imap.password_file or imap.password_env, or \
             hand it over as the systemd credential `{}`",
                config.path.display(),
                imap.username,
                crate::input::secret::IMAP_CREDENTIAL
            )
        })?;
    let client = ImapClient::new(ImapSettings {
        host: imap.host.clone(),
        port: imap.port,
        security: imap.security,
        username: imap.username.clone(),
        password,
        ca_file: imap.ca_file.clone(),
        timeouts: Timeouts::default(),
        use_idle: true,
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
        save_copies,
    }))
}

/// An instant given on the command line, in the config's zone unless it says otherwise.
fn instant(ws: &Workspace, text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_instant(t, ws.config.timezone).map_err(anyhow::Error::msg))
        .transpose()
}
