//! Interview records.
