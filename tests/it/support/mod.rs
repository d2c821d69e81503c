//! What the integration tests share: the library's items they use, the test world, the runner
//! of the real binary, the in-process SMTP server and reading what it received, a stand-in for
//! systemd's notification socket, waiting for a condition, and gating tests on what a machine
//! may lack.

pub mod api;
pub mod dovecot;
pub mod gate;
pub mod introspection;
pub mod mail;
pub mod runner;
pub mod service_manager;
pub mod smtp_server;
pub mod wait;
pub mod world;
