//! Telling systemd what the daemon is doing, by sd_notify(3): ready, a one-line status, alive
//! (the watchdog), reloading, stopping. Outside systemd (no `$NOTIFY_SOCKET`) nothing is sent.
//!
//! The watchdog proves the main loop works, not merely that the process exists, so it is fed
//! only by the loop: after every completed round, and before each SMTP transaction inside a
//! round (a round with several slow sends is still progressing). Between those, a round that
//! hangs (a stuck disk, a deadlock) or a transaction stuck past its own timeout sends nothing,
//! and systemd restarts the service once `WatchdogSec=` passes. A single transaction is bounded
//! by `smtp.timeout`, so the unit's `WatchdogSec=` must be comfortably longer than that; the
//! daemon warns at start when it is not.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sd_notify::NotifyState;

use crate::delivery::{BeforeBody, Delivered, DeliveryError, Envelope, Transport};

/// Time an SMTP transaction may need beyond `smtp.timeout` before the next ping: the liveness
/// check of a kept connection and the work between two sends.
const SMTP_SLACK: Duration = Duration::from_secs(30);

/// The daemon's line to its service manager. Cheap to share; every method is a no-op outside
/// systemd.
#[derive(Debug)]
pub struct Service {
    /// `$NOTIFY_SOCKET` is set: a service manager listens.
    supervised: bool,
    /// `$WATCHDOG_USEC` (for this process): systemd restarts the service if no ping comes
    /// within it.
    watchdog: Option<Duration>,
    /// After `READY=1`: pings before it would only confuse a start-up timeout.
    ready: AtomicBool,
    /// After `STOPPING=1`: a round finishing then reports nothing more.
    stopping: AtomicBool,
    last_ping: Mutex<Instant>,
    /// A failed notification is logged once, not every round.
    warned: AtomicBool,
}

impl Service {
    /// Reads `$NOTIFY_SOCKET`, `$WATCHDOG_USEC` and `$WATCHDOG_PID` (a watchdog meant for
    /// another process is ignored).
    pub fn from_env() -> Self {
        let supervised = std::env::var_os("NOTIFY_SOCKET").is_some_and(|s| !s.is_empty());
        let watchdog = sd_notify::watchdog_enabled().filter(|d| !d.is_zero());
        Self::new(supervised, watchdog)
    }

    /// Not under a service manager: for `run --once` and tests.
    pub fn disabled() -> Self {
        Self::new(false, None)
    }

    fn new(supervised: bool, watchdog: Option<Duration>) -> Self {
        Self {
            supervised,
            watchdog: watchdog.filter(|_| supervised),
            ready: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            last_ping: Mutex::new(Instant::now()),
            warned: AtomicBool::new(false),
        }
    }

    pub fn is_supervised(&self) -> bool {
        self.supervised
    }

    /// How often the loop pings: half the watchdog's interval.
    pub fn ping_every(&self) -> Option<Duration> {
        self.watchdog
            .map(|w| (w / 2).max(Duration::from_millis(50)))
    }

    /// The problem with a watchdog too short for one SMTP transaction, if there is one.
    pub fn watchdog_problem(&self, smtp_timeout: Duration) -> Option<String> {
        let watchdog = self.watchdog?;
        (smtp_timeout + SMTP_SLACK >= watchdog).then(|| {
            format!(
                "the watchdog ({}s) is not comfortably longer than one SMTP transaction may take \
                 (smtp.timeout {}s, plus {}s): a slow server would get followup restarted; \
                 raise WatchdogSec= (`systemctl edit followup`) or lower smtp.timeout",
                watchdog.as_secs(),
                smtp_timeout.as_secs(),
                SMTP_SLACK.as_secs()
            )
        })
    }

    /// The state is open, recovery has run, the files validate, signals are handled.
    pub fn ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
        self.notify(&[NotifyState::Ready]);
        self.pinged();
    }

    /// A round finished: the loop is alive. `status` (one line for `systemctl status`) is only
    /// computed when someone listens.
    pub fn round_completed(&self, status: impl FnOnce() -> String) {
        if !self.supervised || self.stopping.load(Ordering::SeqCst) {
            return;
        }
        let line = one_line(&status());
        if self.watchdog.is_some() {
            self.notify(&[NotifyState::Status(&line), NotifyState::Watchdog]);
            self.pinged();
        } else {
            self.notify(&[NotifyState::Status(&line)]);
        }
    }

    /// Work inside a round is progressing (a send is about to start). Pings at most every
    /// quarter interval, so a round of many quick sends does not flood the manager.
    pub fn progress(&self) {
        let Some(watchdog) = self.watchdog else {
            return;
        };
        if !self.ready.load(Ordering::SeqCst) || self.stopping.load(Ordering::SeqCst) {
            return;
        }
        let last = *self.last_ping.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= watchdog / 4 {
            self.notify(&[NotifyState::Watchdog]);
            self.pinged();
        }
    }

    /// Resolves when the loop should run a round to feed the watchdog: half an interval after
    /// the last ping. Never, without a watchdog.
    pub async fn round_due(&self) {
        let Some(every) = self.ping_every() else {
            return std::future::pending().await;
        };
        let last = *self.last_ping.lock().unwrap_or_else(|e| e.into_inner());
        tokio::time::sleep_until(tokio::time::Instant::from_std(last + every)).await;
    }

    /// SIGHUP: the files are re-read; `ready` follows when that is done.
    pub fn reloading(&self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.notify(&[NotifyState::Reloading, now]),
            Err(_) => self.notify(&[NotifyState::Reloading]),
        }
    }

    /// SIGTERM: a send in flight finishes, nothing new starts.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.notify(&[NotifyState::Stopping]);
    }

    fn pinged(&self) {
        *self.last_ping.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn notify(&self, states: &[NotifyState]) {
        if !self.supervised {
            return;
        }
        if let Err(e) = sd_notify::notify(states)
            && !self.warned.swap(true, Ordering::SeqCst)
        {
            tracing::warn!("cannot notify the service manager ($NOTIFY_SOCKET): {e}");
        }
    }
}

/// `STATUS=` is one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A transport that tells the service manager a round is progressing before each send.
pub struct Supervised<T> {
    inner: T,
    service: Arc<Service>,
}

impl<T> Supervised<T> {
    pub fn new(inner: T, service: Arc<Service>) -> Self {
        Self { inner, service }
    }

    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: Transport> Transport for Supervised<T> {
    async fn send(
        &self,
        envelope: &Envelope,
        raw: &[u8],
        before_body: &BeforeBody<'_>,
    ) -> Result<Delivered, DeliveryError> {
        self.service.progress();
        self.inner.send(envelope, raw, before_body).await
    }

    async fn shutdown(&self) {
        self.inner.shutdown().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_sent_outside_systemd() {
        let service = Service::new(false, Some(Duration::from_secs(10)));
        assert!(!service.is_supervised());
        assert_eq!(service.ping_every(), None, "no watchdog without a manager");
        let mut computed = false;
        service.round_completed(|| {
            computed = true;
            String::new()
        });
        assert!(!computed, "the status line is not even computed");
    }

    #[test]
    fn the_loop_pings_at_half_the_watchdog_interval() {
        let service = Service::new(true, Some(Duration::from_secs(300)));
        assert_eq!(service.ping_every(), Some(Duration::from_secs(150)));
    }

    #[test]
    fn a_watchdog_shorter_than_an_smtp_transaction_is_reported() {
        let service = Service::new(true, Some(Duration::from_secs(300)));
        assert_eq!(service.watchdog_problem(Duration::from_secs(120)), None);
        let problem = service.watchdog_problem(Duration::from_secs(600)).unwrap();
        assert!(problem.contains("raise WatchdogSec="), "{problem}");
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(one_line("a\nb  c\r\n"), "a b c");
    }
}
