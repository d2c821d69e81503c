//! followup: follows up on job interviews by e-mail, by a playbook, from a home server.

pub mod config;
pub mod core;
pub mod diagnostic;
pub mod records;
pub mod yaml;
