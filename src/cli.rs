//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::core::Step;

/// Follows up on job interviews by e-mail, by a playbook, from your own server.
#[derive(Debug, Parser)]
#[command(name = "followup", version, propagate_version = true)]
pub struct Cli {
    /// The config file [default: $FOLLOWUP_CONFIG, else $XDG_CONFIG_HOME/followup/followup.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the config, every interview record and every template; report every problem.
    Validate,
    /// Show every follow-up across all interviews, soonest first, with why it falls when it does.
    Plan {
        /// Plan as of this time (RFC 3339, or `YYYY-MM-DD[ HH:MM]` in the config's zone).
        #[arg(long, value_name = "T")]
        now: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Play the timeline in virtual time, as if every message went out when due and nobody answered.
    Simulate {
        /// Start here [default: now].
        #[arg(long, value_name = "T")]
        from: Option<String>,
        /// Stop here [default: when nothing more is due].
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Ignore the saved state: start as if nothing had been sent.
        #[arg(long)]
        fresh: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show the messages for one interview as the RFC 5322 text that would go out.
    Preview {
        /// The interview's id.
        interview: String,
        /// Only this step (thank_you, status_check, call_reminder, final_check, close, after_rejection).
        #[arg(long)]
        step: Option<Step>,
        /// Only messages about this interviewer (their address).
        #[arg(long, value_name = "ADDR")]
        recipient: Option<String>,
    },
    /// Write a commented starter config, an example interview and the default templates.
    Init {
        /// Where to write them [default: $XDG_CONFIG_HOME/followup].
        dir: Option<PathBuf>,
    },
}
