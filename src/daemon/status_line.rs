//! The one line `systemctl status followup` shows after each round: what is next, what waits
//! for the user, what went wrong.

use chrono::{DateTime, TimeDelta, Utc};

use super::Daemon;
use crate::core::calendar::{human, short};
use crate::core::{ActionState, Channel, SendState, plan};
use crate::delivery::Transport;

impl<T: Transport> Daemon<T> {
    /// `next: thank_you to Jane Roe Tue 16:00; 2 waiting for approval; 0 failed`, with the
    /// uncertain and retrying sends when there are any.
    pub fn status_line(&self, now: DateTime<Utc>) -> String {
        let c = &self.ws.config;
        let (records, history) = match self.store.as_deref() {
            Some(store) => (
                store.all().unwrap_or_default(),
                store.history().unwrap_or_default(),
            ),
            None => (Vec::new(), Default::default()),
        };
        let next = plan(&self.ws.interviews, &history, &c.policy, &c.owner, now)
            .into_iter()
            .filter(|a| a.state.is_pending() || a.state == ActionState::Deferred)
            .min_by_key(|a| a.due);
        let mut parts = vec![match next {
            None => "next: nothing planned".to_string(),
            Some(a) => {
                let when = if a.due <= now {
                    "now".to_string()
                } else if a.due - now < TimeDelta::days(6) {
                    short(a.due, c.timezone)
                } else {
                    human(a.due, c.timezone)
                };
                let whom = match a.channel {
                    Channel::Email => "to",
                    Channel::Call | Channel::Notice => "for",
                };
                format!("next: {} {whom} {} {when}", a.key.step, a.recipient_name)
            }
        }];
        if self.store.is_none() {
            parts.push("dry run, nothing is sent".into());
        } else {
            let count = |state| records.iter().filter(|r| r.state == state).count();
            parts.push(format!("{} waiting for approval", count(SendState::Queued)));
            for (state, what) in [
                (SendState::Uncertain, "uncertain"),
                (SendState::Deferred, "retrying"),
            ] {
                if count(state) > 0 {
                    parts.push(format!("{} {what}", count(state)));
                }
            }
            parts.push(format!("{} failed", count(SendState::Failed)));
        }
        parts.join("; ")
    }
}
