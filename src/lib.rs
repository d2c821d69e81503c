//! followup: follows up on job interviews by e-mail, by a playbook, from a home server.

pub mod cli;
pub mod commands;
pub mod core;
pub mod daemon;
pub mod delivery;
pub mod fsutil;
pub mod input;
pub mod logging;
pub mod mail;
pub mod mailbox;
pub mod net;
pub mod output;
pub mod parallel;
pub mod retry;
pub mod service;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod workspace;
