use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};

use crate::core::{ActionState, Channel, SendKey, SendState, Step, plan};
use crate::mail::compose::compose;
use crate::store::{SendRecord, Snapshot, snapshot, thread_in};
use crate::workspace::Workspace;
use crate::{out, outln};

/// Prints each message of one interview exactly as it would be handed to SMTP: threaded under
/// what the daemon's snapshot says was sent. An earlier e-mail to the same person that has not
/// gone out yet but will (it is scheduled, or waits for approval) is taken as sent when it is
/// due, as previewed here, so a follow-up shows the `Re:` subject and the threading headers it
/// will carry; a `#` line says so, since such a message's Message-ID is not known yet.
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
    let saved = snapshot::load(&ws.config.state_dir)?.unwrap_or_else(Snapshot::empty);
    let history = saved.history();
    let now = Utc::now();
    let c = &ws.config;
    let actions = plan(&ws.interviews, &history, &c.policy, &c.owner, now);
    let due: BTreeMap<&SendKey, DateTime<Utc>> = actions
        .iter()
        .filter(|a| a.key.interview == iv.id)
        .map(|a| (&a.key, a.due))
        .collect();

    // The thread as it will be: what was sent, then each e-mail still to go out, as sent when
    // it is due.
    let mut thread: Vec<SendRecord> = saved.sends.clone();
    let mut coming: Vec<&SendKey> = Vec::new();
    let mut upcoming: Vec<_> = actions
        .iter()
        .filter(|a| {
            a.key.interview == iv.id
                && a.channel == Channel::Email
                && (a.state.is_pending() || a.state == ActionState::Queued)
        })
        .collect();
    upcoming.sort_by_key(|a| a.due);
    for a in upcoming {
        let earlier = earlier_in(&thread, &a.key, a.due);
        let message = compose(ws, &a.key, &earlier, &history, a.due)
            .with_context(|| format!("cannot render {}", a.key))?;
        let mut record = thread
            .iter()
            .position(|r| r.key == a.key)
            .map(|i| thread.remove(i))
            .unwrap_or_else(|| SendRecord::new(a.key.clone(), SendState::Sent, a.due));
        if record.message_id.is_none() || record.subject.is_none() {
            record.message_id = Some(message.message_id.clone());
            record.subject = Some(message.subject.clone());
        }
        record.state = SendState::Sent;
        record.sent_at = Some(a.due);
        thread.push(record);
        coming.push(&a.key);
    }

    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            outln!("\n{}\n", "-".repeat(72))?;
        }
        outln!("# {key} ({})", key.step.channel().as_str())?;
        let at = due.get(key).copied().unwrap_or(now);
        let earlier = earlier_in(&thread, key, at);
        for parent in &earlier {
            let record = thread
                .iter()
                .find(|r| r.message_id.as_ref() == Some(&parent.message_id));
            let what = record.map_or_else(String::new, |r| format!("{}, ", r.key.step));
            let saved_state = record
                .and_then(|r| saved.sends.iter().find(|s| s.key == r.key))
                .map(|s| s.state);
            let note = match saved_state {
                _ if !record.is_some_and(|r| coming.contains(&&r.key)) => "",
                Some(SendState::Queued | SendState::Approved) => {
                    " (waiting for approval, not sent yet)"
                }
                Some(SendState::Deferred | SendState::Sending) => " (being retried, not sent yet)",
                _ => " (not sent yet: as previewed; its Message-ID will differ)",
            };
            outln!("# threaded under {what}{}{note}", parent.message_id)?;
        }
        match compose(ws, key, &earlier, &history, now) {
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

/// The messages `key` would thread under if it went out at `at`: those sent (or taken as sent)
/// before then.
fn earlier_in(
    thread: &[SendRecord],
    key: &SendKey,
    at: DateTime<Utc>,
) -> Vec<crate::core::ThreadRef> {
    thread_in(
        thread
            .iter()
            .filter(|r| r.sent_at.unwrap_or(r.reserved_at) < at),
        key,
    )
}
