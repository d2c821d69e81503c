//! Errors in the user's files, in the `path:line:col: message` shape editors and people read.

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in one file. `validate` collects all of them; loading stops at the first file
/// that has any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is with the file as a whole.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    pub fn at(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            message: message.into(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// A non-empty list of diagnostics, as one error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

impl Diagnostics {
    /// The one problem found, for tests that expect exactly one.
    #[cfg(test)]
    pub(crate) fn only(mut self) -> Diagnostic {
        assert_eq!(self.0.len(), 1, "{self}");
        self.0.remove(0)
    }
}

/// Asserts that `d` is on `line` and says `needle`.
#[cfg(test)]
pub(crate) fn assert_at(d: &Diagnostic, line: usize, needle: &str) {
    assert_eq!(d.line, Some(line), "{d}");
    assert!(d.message.contains(needle), "`{needle}` not in: {d}");
}
