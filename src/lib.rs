//! followup: follows up on job interviews by e-mail, by a playbook, from a home server.

pub mod cli;
pub mod commands;
pub mod compose;
pub mod config;
pub mod core;
pub mod daemon;
pub mod delivery;
pub mod diagnostic;
pub mod mailbox;
pub mod message;
pub mod records;
pub mod render;
pub mod secret;
pub mod shutdown;
pub mod store;
pub mod watch;
pub mod workspace;
pub mod yaml;
