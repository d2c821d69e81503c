//! Shared helpers for integration tests. Each test binary uses a different subset.
#![allow(dead_code)]

pub mod mime;
pub mod smtp_server;
pub mod world;
