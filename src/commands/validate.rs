use std::path::Path;

use anyhow::Result;

use super::{mode_sends, smtp_sender};
use crate::input::config::load_config;
use crate::input::diagnostic::Diagnostics;
use crate::input::workspace::Workspace;
use crate::outln;

/// Loads everything and checks what `run` would check before it connects (the SMTP setup
/// included), and says what was checked; the errors, all of them, go to `main`.
pub fn run(config: &Path) -> Result<()> {
    let ws = match Workspace::load(config) {
        Ok(ws) => ws,
        Err(mut problems) => {
            // The SMTP setup is checked even when a record is broken, so one run reports all.
            if let Ok(c) = load_config(config)
                && mode_sends(c.mode)
                && let Err(Diagnostics(more)) = smtp_sender(&c)
            {
                problems.0.extend(more);
            }
            return Err(problems.into());
        }
    };
    if mode_sends(ws.config.mode) {
        smtp_sender(&ws.config)?;
    }
    for w in &ws.warnings {
        eprintln!("warning: {w}");
    }
    let people: usize = ws.interviews.iter().map(|iv| iv.interviewers.len()).sum();
    outln!(
        "{}: ok ({}, {}, every template rendered for each)",
        config.display(),
        super::count(ws.interviews.len(), "interview"),
        super::count(people, "interviewer")
    )?;
    Ok(())
}
