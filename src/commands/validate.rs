use std::path::Path;

use anyhow::Result;

use crate::input::workspace::Workspace;
use crate::outln;

/// Loads everything and says what was checked; the errors, all of them, go to `main`.
pub fn run(config: &Path) -> Result<()> {
    let ws = Workspace::load(config)?;
    let people: usize = ws.interviews.iter().map(|iv| iv.interviewers.len()).sum();
    outln!(
        "{}: ok ({} interviews, {} interviewers, every template rendered for each)",
        config.display(),
        ws.interviews.len(),
        people
    )?;
    Ok(())
}
