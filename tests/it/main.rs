//! The integration tests: one binary, a module per concern, the shared machinery in `support`.

mod support;

mod cli;
mod daemon;
