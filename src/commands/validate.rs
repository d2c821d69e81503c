use std::path::Path;

use anyhow::Result;

use crate::input::config::load_config;
use crate::input::diagnostic::{Diagnostic, Diagnostics};
use crate::mailbox::seen::{FOLDERS_SEEN, FoldersSeen};
use crate::outln;
use crate::settings::{mailbox_reading, mode_sends, smtp_sender};
use crate::workspace::Workspace;

/// Loads everything and checks what `run` would check before it connects (the SMTP setup
/// included), and says what was checked; the errors, all of them, go to `main`.
pub fn run(config: &Path) -> Result<()> {
    let ws = match Workspace::load(config) {
        Ok(ws) => ws,
        Err(mut problems) => {
            // The mail setup is checked even when a record is broken, so one run reports all.
            if let Ok(c) = load_config(config) {
                problems.0.extend(mail_setup_problems(&c));
            }
            return Err(problems.into());
        }
    };
    let problems = mail_setup_problems(&ws.config);
    if !problems.is_empty() {
        return Err(Diagnostics(problems).into());
    }
    for w in &ws.warnings {
        eprintln!("warning: {w}");
    }
    // A missing folder is not refused by `run` (it waits for the folder, and says so in
    // `status`): a warning, by the folders the daemon last saw, since this never connects.
    if let Some(missing) = folders_missing(&ws.config) {
        eprintln!("warning: {missing}");
    }
    if ws.config.imap.is_none() {
        eprintln!(
            "note: there is no `imap` section, so replies, out-of-office answers and the \
             follow-ups you write yourself are not noticed: record them with `followup mark`, \
             or add one (docs/configuration.md, \"imap\")"
        );
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

/// What `run` would refuse of the SMTP and IMAP setup, before anything connects.
fn mail_setup_problems(config: &crate::input::config::Config) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    if mode_sends(config.mode)
        && let Err(Diagnostics(more)) = smtp_sender(config)
    {
        problems.extend(more);
    }
    if mode_sends(config.mode)
        && let Err(Diagnostics(more)) = mailbox_reading(config)
    {
        problems.extend(more);
    }
    problems
}

/// What the daemon's last listing of the server's folders (in its snapshot: the daemon holds
/// the database) says of `imap.sent` and `imap.folders`; `None` without an `imap` section, a
/// snapshot or a listing in it, or when every configured folder was listed.
fn folders_missing(config: &crate::input::config::Config) -> Option<String> {
    let imap = config.imap.as_ref()?;
    let snapshot = crate::store::snapshot::load(&config.state_dir).ok()??;
    let seen = FoldersSeen::from_meta(snapshot.meta.get(FOLDERS_SEEN)?)?;
    let watched = imap.folders.iter().map(|f| ("imap.folders", f.as_str()));
    let sent = imap.sent.iter().map(|f| ("imap.sent", f.as_str()));
    seen.missing(watched.chain(sent))
}
