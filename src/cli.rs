//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand};

use crate::core::{Status, Step};
use crate::logging::LogFormat;

/// `0.1.0 (git 2dfe63f1a2b3, built 2026-12-01)`: which build this is, for bug reports.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("FOLLOWUP_GIT_REVISION"),
    ", built ",
    env!("FOLLOWUP_BUILD_DATE"),
    ")"
);

/// Follows up on job interviews by e-mail, by a playbook, from your own server.
#[derive(Debug, Parser)]
#[command(name = "followup", version = VERSION, propagate_version = true)]
pub struct Cli {
    /// The config file [default: $FOLLOWUP_CONFIG, else $XDG_CONFIG_HOME/followup/followup.yaml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// How to log: `auto` is the journal when stderr is connected to it, else text.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,

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
    /// Add an interview: from flags named after the record's fields, from a calendar
    /// invitation, and on a terminal by asking for what is still missing.
    Add(AddArgs),
    /// Record what happened (a reply, a rejection, an offer, ...) in the interview's file.
    ///
    /// Changes the `status:` line (and `status_on:`, `decision_by:`) in place, keeping the
    /// file's comments and layout; the record is checked before it is written. The daemon
    /// picks the change up within seconds.
    Mark {
        /// The interview's id (its file name, or its `id:`).
        interview: String,
        /// What happened.
        #[arg(value_parser = PossibleValuesParser::new(Status::ALL.iter().map(|s| s.as_str())))]
        status: String,
        /// When it happened (`YYYY-MM-DD`) [default: today].
        #[arg(long, value_name = "DATE")]
        on: Option<String>,
        /// The new date they gave for their decision (with `replied` or `waiting`): one more
        /// check follows it.
        #[arg(long, value_name = "DATE")]
        decision_by: Option<String>,
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
    /// Connect and log in to the IMAP server, list the folders and find Sent, changing nothing.
    CheckImap,
    /// What the mailbox said: replies, rejections, out-of-office and your own follow-ups, with
    /// the rule that matched.
    Replies {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Undo a reply or rejection found in the mailbox for an interview (it was wrong): its
    /// follow-ups go on.
    Resume {
        /// The interview's id.
        interview: String,
    },
    /// Check everything that can be set up wrong, and say how to fix each problem.
    Doctor {
        /// Do not connect to the SMTP server.
        #[arg(long)]
        offline: bool,
    },
    /// Print a shell completion script (e.g. `followup completions bash > /etc/bash_completion.d/followup`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `followup man | man -l -`.
    Man,
}

/// The fields of a new interview record; what is not given is asked for on a terminal.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AddArgs {
    /// Read the start, duration, zone, people, company and position from a calendar
    /// invitation (`.ics`, as Google Calendar, Outlook or Zoom send it).
    #[arg(long, value_name = "FILE")]
    pub ics: Option<PathBuf>,
    /// The interview's id, which names its file [default: company and date, like
    /// globex-2026-12-08].
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub company: Option<String>,
    #[arg(long)]
    pub position: Option<String>,
    /// Local date and time, `YYYY-MM-DD HH:MM`.
    #[arg(long, value_name = "WHEN")]
    pub start: Option<String>,
    /// Like 45m or 1h30m [default: 1h].
    #[arg(long)]
    pub duration: Option<String>,
    /// The interview's IANA zone [default: the config's].
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,
    /// Someone you met: `"Jane Roe <jane@example.com>"`, with a title as
    /// `"Jane Roe, Engineering Manager <jane@example.com>"`; repeat for each. The first is
    /// the primary.
    #[arg(long = "interviewer", value_name = "PERSON")]
    pub interviewers: Vec<String>,
    /// When they said they would decide, `YYYY-MM-DD`.
    #[arg(long, value_name = "DATE")]
    pub decision_by: Option<String>,
    /// A note for the templates, `highlight=the plan to move billing`; repeat for each.
    #[arg(long = "note", value_name = "NAME=TEXT")]
    pub notes: Vec<String>,
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
