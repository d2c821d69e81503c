//! The integration tests: one binary, a module per concern, the shared machinery in `support`.

mod support;

mod cli;
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
mod messages;
mod queue_dir;
mod service;
mod smtp_delivery;
mod smtp_logging;
mod torture;
