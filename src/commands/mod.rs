//! One module per command. Each returns `anyhow::Result`; `main` maps errors to exit codes.

mod add;
mod check_imap;
mod check_smtp;
mod completions;
mod doctor;
mod init;
mod man;
mod mark;
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

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::cli::{Cli, Command};
use crate::input::config;
use crate::input::diagnostic::Diagnostics;
use crate::workspace::{Workspace, parse_instant};

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
        Command::Init { dir } => init::run(dir, cli.config.as_deref()),
        Command::Mark {
            interview,
            status,
            on,
            decision_by,
        } => mark::run(
            &load_lenient(&cli.config)?,
            &interview,
            &status,
            on.as_deref(),
            decision_by.as_deref(),
        ),
        Command::Add(args) => add::run(&load_lenient(&cli.config)?, args),
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

/// Times in JSON: RFC 3339 in UTC, to the second (`2026-12-01T22:30:00Z`).
fn json_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// [`json_time`], or `null`.
fn json_time_opt<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => json_time(t, s),
        None => s.serialize_none(),
    }
}

/// `1 interview`, `2 interviews`.
fn count(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// An instant given on the command line, in the config's zone unless it says otherwise.
fn instant(ws: &Workspace, text: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    text.map(|t| parse_instant(t, ws.config.timezone).map_err(anyhow::Error::msg))
        .transpose()
}
