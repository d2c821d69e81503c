//! The `followup` binary: parse the command line, set up logging, run, map errors to exit codes.

use std::process::ExitCode;

use clap::Parser;
use followup::cli::Cli;
use followup::input::diagnostic::Diagnostics;

fn main() -> ExitCode {
    // Everything followup writes (state, queue files, snapshots) is for its user alone.
    // SAFETY: umask only sets the process's file-creation mask; no threads exist yet.
    let user_umask = unsafe { libc::umask(0o077) };
    // Files made for the user to edit (a record `followup add` writes) follow their own umask.
    followup::fsutil::set_user_umask(user_umask);
    let cli = Cli::parse();
    followup::logging::init(cli.log_format);
    match followup::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`followup plan | head -1`): nothing is wrong.
        Err(err) if followup::output::is_closed_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(diagnostics) = err.downcast_ref::<Diagnostics>() {
                eprintln!("{diagnostics}");
                let n = diagnostics.0.len();
                eprintln!("{n} problem{} found", if n == 1 { "" } else { "s" });
            } else {
                eprintln!("error: {err:#}");
            }
            ExitCode::from(1)
        }
    }
}
