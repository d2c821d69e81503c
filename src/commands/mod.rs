//! One module per command. Each returns `anyhow::Result`; `main` maps errors to exit codes.

mod completions;
mod doctor;
mod init;
mod man;
mod plan;
mod preview;
mod queue;
mod run;
mod state;
mod status;
mod validate;

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config;
use crate::diagnostic::Diagnostics;
use crate::workspace::Workspace;
pub use run::{SMTP_TIMEOUT, smtp_sender};

/// Runs one command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Validate => validate::run(&config_path(&cli.config)?),
        Command::Plan { now, json } => plan::plan(&load(&cli.config)?, now.as_deref(), json),
        Command::Simulate {
            from,
            until,
            fresh,
            json,
        } => plan::simulate(
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
        Command::CheckSmtp { send_to } => run::check_smtp(&load(&cli.config)?, send_to.as_deref()),
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
