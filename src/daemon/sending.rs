//! The send protocol: claim, mark, hand over, record. Every step is durable before the
//! message goes further: the claim and the mark together, before the body.

use super::round::Round;
use super::{DaemonError, TickReport, keys_in};
use crate::core::SendState;
use crate::delivery::queue::Folder;
use crate::delivery::{DeliveryError, Envelope, MarkError, Transport};
use crate::mail::message::Outgoing;
use crate::store::SendRecord;

impl<T: Transport> Round<'_, T> {
    /// Sends `message` for `claim.key`:
    /// 1. compare-and-swap the record from one of `expected` to `sending`: a lost race means
    ///    someone else has it, and nothing is sent;
    /// 2. just before the body goes out, flush `body_handed_over` (and with it the claim): from
    ///    then on a crash leaves the send `uncertain`, never resent by itself;
    /// 3. record the outcome: `sent`, `deferred` (retried with backoff), `failed` or
    ///    `uncertain`, and tell the user about the last two.
    ///
    /// Returns the record as it ended, or `None` when the claim was lost.
    pub(super) async fn deliver(
        &self,
        mut claim: SendRecord,
        message: &Outgoing,
        expected: &[Option<SendState>],
        report: &mut TickReport,
    ) -> Result<Option<SendRecord>, DaemonError> {
        let store = self.live.store.as_ref();
        let key = claim.key.clone();
        claim.updated_at = self.now;
        let raw = match message.to_lettre() {
            Ok(m) => m.formatted(),
            Err(e) => {
                claim.state = SendState::Failed;
                claim.last_error = Some(e.to_string());
                if !store.transition(&key, expected, &claim)? {
                    return Ok(None);
                }
                send_event!(error, key, "cannot build the message: {e}");
                report.failed.push(key);
                self.notify_problem(&claim).await;
                return Ok(Some(claim));
            }
        };
        claim.state = SendState::Sending;
        claim.attempts += 1;
        claim.body_handed_over = false;
        claim.next_attempt = None;
        if !store.claim(&key, expected, &claim)? {
            send_event!(info, key, "already claimed elsewhere; not sent again");
            return Ok(None);
        }
        let envelope = Envelope {
            from: message.from.email.clone(),
            to: message.to.email.clone(),
        };
        let mut marked = claim.clone();
        marked.body_handed_over = true;
        let mark = || match store.transition(&key, &[Some(SendState::Sending)], &marked) {
            Ok(true) => Ok(()),
            Ok(false) => Err(MarkError::TakenOver),
            Err(e) => Err(MarkError::NotWritten(e.to_string())),
        };
        let outcome = self.live.transport.send(&envelope, &raw, &mark).await;

        let mut done = claim;
        done.body_handed_over =
            matches!(&outcome, Err(e) if e.body_may_have_been_handed_over()) || outcome.is_ok();
        match &outcome {
            Ok(delivered) => {
                done.state = SendState::Sent;
                done.sent_at = Some(self.now);
                done.last_error = None;
                done.note = Some(delivered.response.clone());
                send_event!(info, key, to = %envelope.to, response = %delivered.response, "sent");
                report.sent.push(key.clone());
                self.keep_copy(&key, message, &raw);
            }
            Err(e) => {
                done.last_error = Some(e.to_string());
                self.classify_failure(&mut done, e);
                match done.state {
                    SendState::Deferred => report.deferred.push(key.clone()),
                    SendState::Uncertain => report.uncertain.push(key.clone()),
                    _ => report.failed.push(key.clone()),
                }
            }
        }
        if done.state == SendState::Uncertain {
            // The decision file first: a crash before the record says `uncertain` leaves it
            // `sending` with the body mark, and start-up recovery queues it again (idempotent).
            let approved = keys_in(&self.live.queue.scan(Folder::Approved)?);
            self.queue_for_decision(&done, &approved)?;
        }
        // The body mark may or may not have been written: `sending` either way.
        if !store.transition(&key, &[Some(SendState::Sending)], &done)? {
            send_event!(
                error,
                key,
                "the outcome ({}) could not be recorded: the record changed",
                done.state.as_str()
            );
        }
        let bounced = matches!(&outcome, Err(e) if e.rejects_the_recipient());
        if bounced {
            // The address is the problem, not this message: nothing more goes to it, and the
            // round's one notice asks the user for a better one.
            let reason = outcome
                .as_ref()
                .err()
                .map(DeliveryError::reply)
                .unwrap_or_default();
            if store.mark_undeliverable(&envelope.to, self.now, &reason)? {
                send_event!(warn, key, to = %envelope.to, "undeliverable: {reason}");
            }
        } else if matches!(done.state, SendState::Failed | SendState::Uncertain) {
            self.notify_problem(&done).await;
        }
        Ok(Some(done))
    }

    /// Transient errors back off (the policy's retry delay) until the retry lifetime or the
    /// step's limit; permanent errors fail at once; a lost answer after the body is uncertain.
    fn classify_failure(&self, record: &mut SendRecord, e: &DeliveryError) {
        if e.body_may_have_been_handed_over() {
            send_event!(warn, record.key, "uncertain: {e}");
            record.state = SendState::Uncertain;
            return;
        }
        if e.is_permanent() {
            send_event!(error, record.key, "failed: {e}");
            record.state = SendState::Failed;
            return;
        }
        let policy = &self.ws.config.policy;
        let next = self.now + policy.retry_delay(record.attempts);
        let iv = self.ws.interview(&record.key.interview);
        let limit = policy.retry_until(record.key.step, iv, record.reserved_at);
        if next > limit {
            send_event!(
                error,
                record.key,
                "failed: still failing after retrying until {limit}: {e}"
            );
            record.state = SendState::Failed;
        } else {
            send_event!(warn, record.key, retry_at = %next, "deferred: {e}");
            record.state = SendState::Deferred;
            record.next_attempt = Some(next);
        }
    }
}
