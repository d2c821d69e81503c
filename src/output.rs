//! What commands print on standard output.
//!
//! `println!` panics when stdout is a pipe whose reader went away (`followup plan | head -1`).
//! Commands print with [`outln!`](crate::outln) instead, which hands the error back; `main`
//! recognises a closed pipe anywhere in an error chain ([`is_closed_pipe`]) and ends the command
//! quietly with status 0, as Unix tools do.

use std::fmt;
use std::io::{self, Write};

/// `println!` that returns `std::io::Result<()>` instead of panicking.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::write_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

/// `print!` that returns `std::io::Result<()>` instead of panicking.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// Writes one line to standard output.
pub fn write_line(args: fmt::Arguments) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    out.write_all(b"\n")
}

/// Writes to standard output, flushing so a closed pipe is noticed now.
pub fn write(args: fmt::Arguments) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)?;
    out.flush()
}

/// Whether `err` comes from writing to a pipe that was closed on the reading end.
pub fn is_closed_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
