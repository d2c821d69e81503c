//! The fuzz targets' shared checks. `checks.rs` is also compiled into the main crate's
//! `tests/it/fuzz_regressions.rs`, so the fuzzer and `cargo test` assert the same things.

pub mod checks;
