//! One module per command. Each returns `anyhow::Result`; `main` maps errors to exit codes.

mod init;
mod plan;
mod preview;
mod validate;

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config;
use crate::diagnostic::Diagnostics;
use crate::workspace::Workspace;

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
    }
}

fn config_path(explicit: &Option<PathBuf>) -> Result<PathBuf> {
    Ok(config::locate(explicit.as_deref())?)
}

fn load(explicit: &Option<PathBuf>) -> Result<Workspace> {
    let path = config_path(explicit)?;
    Workspace::load(&path).map_err(|d: Diagnostics| d.into())
}
