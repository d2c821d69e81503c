//! Dry-run: each due message printed once, from the daemon's last snapshot of the state; no
//! state opened, no queue touched, no connection made.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::{DaemonError, Next, TickReport};
use crate::core::{SendKey, SendState, plan};
use crate::delivery::queue::eml::to_eml;
use crate::mail::compose::compose;
use crate::outln;
use crate::store::{Snapshot, snapshot, thread_in};
use crate::workspace::Workspace;

/// What dry-run has shown already.
#[derive(Debug, Default)]
pub struct DryRun {
    shown: BTreeSet<SendKey>,
}

impl DryRun {
    /// Prints what is due at `now` and was not shown before.
    pub(super) fn tick(
        &mut self,
        ws: &Workspace,
        now: DateTime<Utc>,
    ) -> Result<TickReport, DaemonError> {
        let mut report = TickReport::default();
        let saved = snapshot::load(&ws.config.state_dir)?;
        let sends = saved.as_ref().map_or(&[][..], |s| &s.sends);
        let history = saved.as_ref().map(Snapshot::history).unwrap_or_default();
        let c = &ws.config;
        let actions = plan(&ws.interviews, &history, &c.policy, &c.owner, now);
        for a in actions.iter().filter(|a| a.state.is_pending()) {
            if a.due > now {
                if !self.shown.contains(&a.key) {
                    report.wake_at(a.due);
                    report.next_action.get_or_insert_with(|| Next::from(a));
                }
                continue;
            }
            if !self.shown.insert(a.key.clone()) {
                continue;
            }
            // As a real round decides: a retry past its step's limit fails, it is not sent.
            let expired = ws
                .interview(&a.key.interview)
                .and_then(|iv| c.policy.past_limit(a.key.step, iv, now));
            let retrying = sends
                .iter()
                .any(|r| r.key == a.key && r.state == SendState::Deferred);
            if let (true, Some(limit)) = (retrying, expired) {
                outln!(
                    "# dry run: {} would fail: still not delivered at its limit ({})",
                    a.key,
                    limit.format("%Y-%m-%d %H:%M UTC")
                )?;
                report.failed.push(a.key.clone());
                continue;
            }
            match compose(ws, &a.key, &thread_in(sends, &a.key), &history, now) {
                Ok(message) => {
                    outln!(
                        "# dry run: {} due {} ({})",
                        a.key,
                        a.due.to_rfc3339(),
                        a.reason
                    )?;
                    outln!("{}", to_eml(&a.key, &message, None))?;
                    report.shown.push(a.key.clone());
                }
                Err(e) => send_event!(error, a.key, "cannot render: {e}"),
            }
        }
        Ok(report)
    }
}
