//! The integration tests: one binary, a module per concern, the shared machinery in `support`.

mod support;

mod approve_by_reply;
mod bounce_corpus;
mod chaos;
mod cli;
mod closed_pipe;
mod daemon;
mod daemon_cli;
mod doctor;
mod faults;
mod fuzz_regressions;
mod hostile;
mod imap_dovecot;
mod interop_postfix;
mod logging;
mod mailbox;
mod mailbox_bounces;
mod messages;
mod newcomer;
mod queue_cli;
mod queue_dir;
mod reasons;
mod record_edits;
mod run_clock;
mod service;
mod smtp_delivery;
mod smtp_logging;
mod smtp_setup;
mod starter;
mod templates;
mod torture;
mod validate_folders;
mod xoauth2;
