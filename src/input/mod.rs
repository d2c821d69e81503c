//! What the user wrote: the config, the interview records and where to find them, read and
//! checked into values the core can trust. Every problem is a [`diagnostic::Diagnostic`] with
//! its file and line.

pub mod config;
pub mod diagnostic;
pub mod edit;
pub mod invitation;
pub mod providers;
pub mod records;
pub mod secret;
pub mod unique_keys;
pub mod vtimezone;
pub mod yaml;
pub mod zone;
