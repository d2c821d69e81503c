//! The send protocol: claim, mark, hand over, record. Every step is durable before the next.

use chrono::{DateTime, TimeDelta, Utc};
use tracing::{error, info, warn};

use super::{Daemon, DaemonError, RETRY_FIRST, RETRY_MAX, TickReport};
use crate::core::{SendState, Step};
use crate::delivery::{DeliveryError, Envelope, Transport};
use crate::message::Outgoing;
use crate::store::SendRecord;

impl<T: Transport> Daemon<T> {
    /// Sends `message` for `claim.key`:
    /// 1. compare-and-swap the record from one of `expected` to `sending` (flushed): a lost
    ///    race means someone else has it, and nothing is sent;
    /// 2. just before the body goes out, flush `body_handed_over`: from then on a crash leaves
    ///    the send `uncertain`, never resent by itself;
    /// 3. record the outcome: `sent`, `deferred` (retried with backoff), `failed` or
    ///    `uncertain`, and tell the user about the last two.
    ///
    /// Returns the state the send ended in, or `None` when the claim was lost.
    pub(super) async fn deliver(
        &self,
        mut claim: SendRecord,
        message: &Outgoing,
        expected: &[Option<SendState>],
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<Option<SendState>, DaemonError> {
        let key = claim.key.clone();
        let raw = match message.to_lettre() {
            Ok(m) => m.formatted(),
            Err(e) => {
                claim.state = SendState::Failed;
                claim.last_error = Some(e.to_string());
                claim.updated_at = now;
                if self.store()?.transition(&key, expected, &claim)? {
                    error!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "cannot build the message: {e}");
                    report.failed.push(key);
                    self.notify_problem(&claim, now).await;
                }
                return Ok(Some(SendState::Failed));
            }
        };
        claim.state = SendState::Sending;
        claim.attempts += 1;
        claim.body_handed_over = false;
        claim.next_attempt = None;
        claim.updated_at = now;
        if !self.store()?.transition(&key, expected, &claim)? {
            info!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "already claimed elsewhere; not sent again");
            return Ok(None);
        }
        let Some(transport) = self.transport.as_ref() else {
            return Ok(None);
        };
        let envelope = Envelope {
            from: message.from.email.clone(),
            to: message.to.email.clone(),
        };
        let store = self.store()?;
        let mut marked = claim.clone();
        marked.body_handed_over = true;
        let mark = || match store.transition(&key, &[Some(SendState::Sending)], &marked) {
            Ok(true) => Ok(()),
            Ok(false) => Err("the send was taken over by another process".to_string()),
            Err(e) => Err(format!("the state cannot be written: {e}")),
        };
        let outcome = transport.send(&envelope, &raw, &mark).await;

        let mut done = claim.clone();
        done.body_handed_over =
            matches!(&outcome, Err(e) if e.body_may_have_been_handed_over()) || outcome.is_ok();
        done.updated_at = now;
        let state = match &outcome {
            Ok(delivered) => {
                done.state = SendState::Sent;
                done.sent_at = Some(now);
                done.last_error = None;
                done.note = Some(delivered.response.clone());
                info!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, to = %envelope.to, response = %delivered.response, "sent");
                report.sent.push(key.clone());
                SendState::Sent
            }
            Err(e) => {
                done.last_error = Some(e.to_string());
                self.classify_failure(&mut done, e, now);
                match done.state {
                    SendState::Deferred => report.deferred.push(key.clone()),
                    SendState::Uncertain => report.uncertain.push(key.clone()),
                    _ => report.failed.push(key.clone()),
                }
                done.state
            }
        };
        if state == SendState::Uncertain {
            // The decision file first: a crash before the record says `uncertain` leaves it
            // `sending` with the body mark, and start-up recovery queues it again (idempotent).
            let approved =
                super::keys_in(&self.queue.scan(crate::delivery::queue::Folder::Approved)?);
            self.queue_for_decision(&done, &approved)?;
        }
        // The body marker may or may not have been written; accept either as the prior state.
        let recorded = store.transition(&key, &[Some(SendState::Sending)], &done)?;
        if !recorded {
            error!(key = %key, interview = %key.interview, step = %key.step, recipient = %key.recipient, "the outcome ({}) could not be recorded: the record changed", state.as_str());
        }
        if matches!(state, SendState::Failed | SendState::Uncertain) {
            self.notify_problem(&done, now).await;
        }
        Ok(Some(state))
    }

    /// Transient errors back off (5 min doubling to 1 h) until the retry lifetime or the step's
    /// hard limit; permanent errors fail at once; a lost answer after the body is uncertain.
    fn classify_failure(&self, record: &mut SendRecord, e: &DeliveryError, now: DateTime<Utc>) {
        if e.body_may_have_been_handed_over() {
            warn!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, "uncertain: {e}");
            record.state = SendState::Uncertain;
            return;
        }
        if e.is_permanent() {
            error!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, "failed: {e}");
            record.state = SendState::Failed;
            return;
        }
        let doublings = record.attempts.saturating_sub(1).min(10);
        let wait = (RETRY_FIRST * 2i32.pow(doublings)).min(RETRY_MAX);
        let next = now + wait;
        let limit = self
            .hard_limit(record)
            .min(record.reserved_at + self.ws.config.policy.retry_lifetime);
        if next > limit {
            error!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, "failed: still failing after retrying until {limit}: {e}");
            record.state = SendState::Failed;
        } else {
            warn!(key = %record.key, interview = %record.key.interview, step = %record.key.step, recipient = %record.key.recipient, retry_at = %next, "deferred: {e}");
            record.state = SendState::Deferred;
            record.next_attempt = Some(next);
        }
    }

    /// When a step stops being worth sending.
    pub(super) fn hard_limit(&self, record: &SendRecord) -> DateTime<Utc> {
        match (record.key.step, self.ws.interview(&record.key.interview)) {
            (Step::ThankYou, Some(iv)) => iv.end + self.ws.config.policy.thank_you_limit,
            _ => record.reserved_at + TimeDelta::days(3650),
        }
    }
}
