//! The integration tests: one binary, a module per concern, the shared machinery in `support`.

mod support;

mod cli;
mod closed_pipe;
mod daemon;
mod daemon_cli;
mod faults;
mod fuzz_regressions;
mod hostile;
mod interop_postfix;
mod newcomer;
mod queue_cli;
mod queue_dir;
mod reasons;
mod record_edits;
mod run_clock;
mod smtp_delivery;
mod smtp_logging;
mod smtp_setup;
mod starter;
mod templates;
mod torture;
