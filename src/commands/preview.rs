use anyhow::{Context, Result, bail};
use chrono::Utc;

use crate::core::{SendKey, Step};
use crate::input::workspace::Workspace;
use crate::mail::compose::compose;
use crate::{out, outln};

/// Prints each message of one interview exactly as it would be handed to SMTP.
pub fn run(ws: &Workspace, id: &str, step: Option<Step>, recipient: Option<&str>) -> Result<()> {
    let Some(iv) = ws.interview(id) else {
        let ids: Vec<_> = ws.interviews.iter().map(|iv| iv.id.as_str()).collect();
        bail!("no interview `{id}`; the records hold: {}", ids.join(", "));
    };
    let keys: Vec<SendKey> = iv
        .pairings()
        .into_iter()
        .filter(|(s, person)| {
            step.is_none_or(|want| *s == want)
                && recipient.is_none_or(|r| person.key() == r.to_lowercase())
        })
        .map(|(s, person)| SendKey::of(iv, s, person, &ws.config.owner))
        .collect();
    if keys.is_empty() {
        bail!("nothing matches: interview `{id}` has no such step or recipient");
    }
    let now = Utc::now();
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            outln!("\n{}\n", "-".repeat(72))?;
        }
        outln!("# {key} ({})", key.step.channel().as_str())?;
        match compose(ws, key, &[], now) {
            Ok(message) => {
                let bytes = message
                    .to_lettre()
                    .with_context(|| format!("cannot build {key}"))?
                    .formatted();
                out!("{}", String::from_utf8_lossy(&bytes))?;
            }
            Err(e) => outln!("(not sent: {e})")?,
        }
    }
    Ok(())
}
