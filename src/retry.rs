//! When to try again, and when to say so: the one place retry delays are decided, for every
//! path that retries on its own (the folder watches and their reconnects, the Sent-copy task,
//! the notices and the digest), and the one rule for how often a lasting problem is logged.
//!
//! A failure that can heal by itself (a dropped connection, a server restarting) is tried
//! again soon, then less and less often; one that cannot (no such folder, a refused login, a
//! file that cannot be read) waits longest, since only the user can fix it, and `status` shows
//! it with what to do.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// How often a problem that lasts is logged again while it lasts.
pub const LOG_AGAIN_AFTER: Duration = Duration::from_secs(60 * 60);

/// A failure, as a retry policy sees it.
pub trait Failure {
    /// Whether the same attempt may succeed later without anything being changed by the user.
    fn heals_by_itself(&self) -> bool;
}

/// Delays between attempts: doubling from `initial` up to `max` while failures can heal by
/// themselves; at least `lasting` after one that cannot (a refused login: a server that counts
/// failures may lock the account; a missing folder: it will not appear by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    pub lasting: Duration,
    failures: u32,
    last_lasting: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl Backoff {
    /// From 1 s, doubling up to 5 min; 30 min after a failure only the user can fix.
    pub const DEFAULT: Backoff = Backoff::new(
        Duration::from_secs(1),
        Duration::from_secs(5 * 60),
        Duration::from_secs(30 * 60),
    );

    pub const fn new(initial: Duration, max: Duration, lasting: Duration) -> Self {
        Self {
            initial,
            max,
            lasting,
            failures: 0,
            last_lasting: false,
        }
    }

    /// How long to wait before the next attempt: zero before the first failure.
    pub fn delay(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let doubled = self
            .initial
            .saturating_mul(1u32.checked_shl(self.failures - 1).unwrap_or(u32::MAX));
        let delay = doubled.min(self.max);
        if self.last_lasting {
            delay.max(self.lasting)
        } else {
            delay
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether the last failure was one only the user can fix.
    pub fn is_lasting(&self) -> bool {
        self.failures > 0 && self.last_lasting
    }

    pub fn failed(&mut self, error: &(impl Failure + ?Sized)) {
        self.failures = self.failures.saturating_add(1);
        self.last_lasting = !error.heals_by_itself();
    }

    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.last_lasting = false;
    }
}

/// A [`Backoff`] for work driven by the daemon's rounds rather than by a task of its own (the
/// notices and the digest): instead of sleeping, a round asks whether an attempt is due.
#[derive(Debug, Default)]
pub struct Schedule {
    backoff: Backoff,
    next: Option<DateTime<Utc>>,
}

impl Schedule {
    /// Whether an attempt may be made at `now`.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.next.is_none_or(|next| now >= next)
    }

    /// When the next attempt is due, while failing.
    pub fn next(&self) -> Option<DateTime<Utc>> {
        self.next
    }

    pub fn failed(&mut self, error: &(impl Failure + ?Sized), now: DateTime<Utc>) {
        self.backoff.failed(error);
        let delay =
            chrono::Duration::from_std(self.backoff.delay()).unwrap_or(chrono::Duration::MAX);
        self.next = now.checked_add_signed(delay);
    }

    pub fn succeeded(&mut self) {
        self.backoff.succeeded();
        self.next = None;
    }
}

/// Which lasting problems were logged, and when: a problem is logged when it starts, when its
/// reason changes, and at most once every [`LOG_AGAIN_AFTER`] while it lasts; `status` shows it
/// the whole time. Each problem is named by what it stops (`Sent copies`, a folder).
#[derive(Debug, Default)]
pub struct ProblemLog {
    open: BTreeMap<String, (String, DateTime<Utc>)>,
}

impl ProblemLog {
    /// Notes that `what` fails for `reason` at `now`; whether to log it.
    pub fn failing(&mut self, what: &str, reason: &str, now: DateTime<Utc>) -> bool {
        let again = chrono::Duration::from_std(LOG_AGAIN_AFTER).unwrap_or(chrono::Duration::MAX);
        let log = match self.open.get(what) {
            Some((last, at)) => last != reason || now - *at >= again,
            None => true,
        };
        if log {
            self.open
                .insert(what.to_string(), (reason.to_string(), now));
        }
        log
    }

    /// Notes that `what` works again; whether it had been failing (worth a line saying so).
    pub fn recovered(&mut self, what: &str) -> bool {
        self.open.remove(what).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Heals(bool);
    impl Failure for Heals {
        fn heals_by_itself(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_a_failure_that_cannot_heal_waits_longest() {
        let mut b = Backoff::new(
            Duration::from_secs(1),
            Duration::from_secs(60),
            Duration::from_secs(1800),
        );
        assert_eq!(b.delay(), Duration::ZERO);
        let seconds: Vec<u64> = (0..9)
            .map(|_| {
                b.failed(&Heals(true));
                b.delay().as_secs()
            })
            .collect();
        assert_eq!(seconds, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        for _ in 0..100 {
            b.failed(&Heals(true));
        }
        assert_eq!(b.delay(), Duration::from_secs(60), "no overflow");
        b.succeeded();
        assert_eq!(b.delay(), Duration::ZERO);
        b.failed(&Heals(false));
        assert!(b.is_lasting());
        assert_eq!(b.delay(), Duration::from_secs(1800));
        b.failed(&Heals(true));
        assert_eq!(b.delay(), Duration::from_secs(2), "the reason changed");
    }

    #[test]
    fn a_schedule_is_due_at_once_until_it_fails_then_after_its_backoff() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut s = Schedule::default();
        assert!(s.due(t0));
        s.failed(&Heals(true), t0);
        assert!(!s.due(t0));
        assert!(s.due(t0 + chrono::Duration::seconds(1)));
        s.failed(&Heals(false), t0);
        assert!(!s.due(t0 + chrono::Duration::minutes(29)));
        assert!(s.due(t0 + chrono::Duration::minutes(30)));
        s.succeeded();
        assert!(s.due(t0));
    }

    #[test]
    fn a_lasting_problem_is_logged_when_it_starts_when_its_reason_changes_and_hourly() {
        let t0 = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let at = |m: i64| t0 + chrono::Duration::minutes(m);
        let mut log = ProblemLog::default();
        assert!(log.failing("Sent copies", "no such folder", at(0)));
        assert!(!log.failing("Sent copies", "no such folder", at(1)));
        assert!(!log.failing("Sent copies", "no such folder", at(59)));
        assert!(
            log.failing("INBOX", "no such folder", at(59)),
            "another problem"
        );
        assert!(
            log.failing("Sent copies", "login refused", at(59)),
            "a new reason"
        );
        assert!(!log.failing("Sent copies", "login refused", at(100)));
        assert!(
            log.failing("Sent copies", "login refused", at(119)),
            "an hour on"
        );
        assert!(log.recovered("Sent copies"));
        assert!(!log.recovered("Sent copies"));
        assert!(
            log.failing("Sent copies", "login refused", at(120)),
            "it started again"
        );
    }
}
