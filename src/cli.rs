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
        /// Stop here [default: when nothing more is due, at most a year after the start].
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
        /// Where to write them [default: beside the config that --config or $FOLLOWUP_CONFIG
        /// names, else $XDG_CONFIG_HOME/followup].
        dir: Option<PathBuf>,
    },
    /// Run the daemon: queue, send or show each follow-up when it is due.
    Run {
        /// Show each due message, send nothing, change nothing (overrides `mode`).
        #[arg(long)]
        dry_run: bool,
        /// Do what is due now, then exit (for cron, and for tests).
        #[arg(long)]
        once: bool,
        /// With --dry-run --once: show what would be done at this time (RFC 3339, or
        /// `YYYY-MM-DD[ HH:MM]` in the config's zone). A real run always acts now.
        #[arg(long, value_name = "T", requires_all = ["once", "dry_run"])]
        now: Option<String>,
    },
    /// What was sent, what waits for approval, what failed or is uncertain, and what is next.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// As of this time [default: now].
        #[arg(long, value_name = "T")]
        now: Option<String>,
    },
    /// The approval queue: list, show, approve or reject what waits.
    Queue {
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Back up, inspect and restore the state.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Connect and authenticate to the SMTP server, to prove the settings.
    CheckSmtp {
        /// Also send a test message to this address.
        #[arg(long, value_name = "ADDR")]
        send_to: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueAction {
    /// What waits for approval (and what was approved but not yet sent).
    List,
    /// Print one queued message.
    Show {
        /// The file name without `.eml`, a unique prefix of it, or the send key.
        id: String,
    },
    /// Approve a message: the daemon sends it within seconds.
    Approve {
        id: String,
        /// Send it even though it is past its step's limit (a late thank-you).
        #[arg(long)]
        late: bool,
    },
    /// Reject a message: it is never sent.
    Reject { id: String },
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// Print the whole state as JSON (stop the daemon first for an exact copy).
    Export,
    /// Restore the state from an export (the daemon must be stopped).
    Import {
        /// The export file; `-` for standard input.
        file: PathBuf,
        /// Replace a state that already holds sends.
        #[arg(long)]
        replace: bool,
    },
}
