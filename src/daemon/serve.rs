//! The long-running loop: tick, then sleep until the alarm, a file change, SIGHUP or shutdown.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{debug, error, info, warn};

use super::watch::{Change, WatchRoot, Watcher};
use super::{Alarm, Daemon, TickReport, Wake};
use crate::delivery::Transport;
use crate::delivery::queue::Folder;
use crate::mailbox::MailboxEvent;
use crate::service::Service;
use crate::shutdown::Shutdown;

impl<T: Transport> Daemon<T> {
    /// Runs until SIGTERM or SIGINT: a send in flight finishes (bounded by the SMTP timeout),
    /// nothing new starts, the state is flushed. `service` hears of readiness, each round (the
    /// watchdog), reloads and the stop.
    pub async fn serve(mut self, shutdown: Shutdown, service: Arc<Service>) -> std::io::Result<()> {
        // Whether every file is watched: if not, only the minute tick notices changes there.
        let mut watching_all = false;
        let (mut alarm, mut wakes) = Alarm::start()
            .await
            .map_err(|e| std::io::Error::other(format!("cannot start the scheduler: {e}")))?;
        let (_watcher, mut changes) = match Watcher::start(&self.watch_roots()) {
            Ok((watcher, changes)) => {
                for w in watcher.warnings() {
                    warn!("{w}; the minute tick will notice changes there");
                }
                watching_all = watcher.warnings().is_empty();
                (Some(watcher), Some(changes))
            }
            Err(e) => {
                warn!(
                    "cannot watch the files ({e}); changes are noticed at the minute tick and on SIGHUP"
                );
                (None, None)
            }
        };
        let mut hangup = signal(SignalKind::hangup())?;
        spawn_signal_handler(shutdown.clone(), service.clone())?;
        self.shutdown = shutdown.clone();
        let mut down = shutdown.clone();
        info!(mode = self.mode_name(), "followup is running");
        service.ready();
        // What the mailbox says is known before the first round, as for `run --once`.
        if let Err(e) = self.read_mailbox_once(Utc::now()).await {
            error!("cannot record what the mailbox says: {e}");
        }
        let mut mailbox = match self.start_mailbox() {
            Ok(mailbox) => mailbox,
            Err(e) => {
                error!("cannot read the mailbox: {e}; replies are recorded by hand only");
                None
            }
        };
        // The files on disk do not validate: the last good version is in force.
        let mut edit_rejected = false;
        // What the last round left, while nothing has happened since: `None` after a failed
        // round, so the next minute tick tries again.
        let mut last: Option<LastRound> = None;
        let mut round_needed = true;
        loop {
            let now = Utc::now();
            if round_needed {
                last = None;
                match self.tick(now).await {
                    Ok(report) => {
                        log_report(&report);
                        alarm.set(report.next, now).await;
                        last = Some(LastRound {
                            at: now,
                            next: report.next,
                        });
                        service.round_completed(|| {
                            let line = super::status_line(&report, now, self.ws.config.timezone);
                            match edit_rejected {
                                true => {
                                    format!("{line}; the last edit does not validate (see the log)")
                                }
                                false => line,
                            }
                        });
                    }
                    // Stdout (dry-run's) is gone: nobody reads what it would show.
                    Err(super::DaemonError::Output(e)) => return Err(e),
                    Err(e) => {
                        error!(
                            "this round failed, nothing was sent for it: {e}; trying again at the next tick"
                        );
                        service.round_completed(|| format!("the last round failed: {e}"));
                    }
                }
                if shutdown.is_triggered() {
                    break;
                }
                if let Some(mailbox) = &mut mailbox {
                    mailbox.offer_copies(&super::hearing::copies_dir(&self.ws.config.state_dir));
                }
            }
            round_needed = true;
            tokio::select! {
                _ = down.wait() => break,
                wake = wakes.recv() => {
                    if wake == Some(Wake::Minute) {
                        let now = Utc::now();
                        let digest = self.digest_due_at(now).unwrap_or(Some(now));
                        round_needed = !last.is_some_and(|l| l.nothing_to_do(now, watching_all, digest));
                        if !round_needed {
                            debug!("minute tick: nothing changed and nothing is due, no round");
                        }
                    }
                }
                Some(event) = next_event(&mut mailbox) => {
                    if let Err(e) = self.hear(event, Utc::now()).await {
                        error!("cannot record what the mailbox says: {e}; it is read again later");
                    }
                }
                // A round, if nothing else asked for one, to feed the watchdog.
                _ = service.round_due() => {}
                _ = hangup.recv() => {
                    info!("SIGHUP: reloading");
                    service.reloading();
                    edit_rejected = self.reload().is_err();
                    service.ready();
                }
                Some(changed) = recv(&mut changes) => {
                    if changed.iter().any(|c| c != Change::Queue) {
                        edit_rejected = self.reload().is_err();
                    }
                }
            }
        }
        info!("shutting down");
        alarm.stop().await;
        if let Some(mailbox) = mailbox {
            mailbox.stop();
        }
        if let Some(live) = self.live() {
            live.transport.shutdown().await;
            if let Err(e) = live.store.flush() {
                error!("cannot flush the state: {e}");
            }
        }
        Ok(())
    }

    fn watch_roots(&self) -> Vec<WatchRoot> {
        let c = &self.ws.config;
        let mut roots = vec![
            WatchRoot::config_file(&self.config_path),
            WatchRoot::interviews(&c.interviews),
        ];
        if let Some(live) = self.live() {
            for folder in [Folder::Approved, Folder::Pending, Folder::Rejected] {
                roots.push(WatchRoot::queue(&live.queue.dir(folder)));
            }
            // `followup resume` leaves its request there: a change means a round. Made now if
            // missing, so that it is watched (an unwatched directory costs a round a minute).
            let requests = crate::store::requests::dir(&c.state_dir);
            if let Err(e) = crate::fsutil::create_private_dir(&requests) {
                warn!("cannot create {}: {e}", requests.display());
            }
            roots.push(WatchRoot::queue(&requests));
        }
        if let Some(templates) = &c.templates {
            roots.push(WatchRoot::templates(templates));
        }
        roots
    }
}

/// What the last round left: when it ran and the next instant it planned for.
#[derive(Debug, Clone, Copy)]
struct LastRound {
    at: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
}

/// At most this long between two rounds, whatever the minute tick finds.
const ROUND_AT_LEAST_EVERY: TimeDelta = TimeDelta::hours(1);

impl LastRound {
    /// Whether a minute tick at `now` may skip its round: nothing happened since this round
    /// (every event, file change, approval and signal runs a round at once, so a tick only comes
    /// this far when none did), every file is watched, nothing planned is due (no action, no
    /// retry), no digest is due, the clock did not jump back, and a round ran within the hour.
    fn nothing_to_do(
        &self,
        now: DateTime<Utc>,
        watching_all: bool,
        digest: Option<DateTime<Utc>>,
    ) -> bool {
        watching_all
            && self.next.is_none_or(|next| next > now)
            && digest.is_none_or(|at| at > now)
            && now >= self.at
            && now - self.at < ROUND_AT_LEAST_EVERY
    }
}

async fn next_event(mailbox: &mut Option<crate::mailbox::Mailbox>) -> Option<MailboxEvent> {
    match mailbox {
        Some(mailbox) => mailbox.next().await,
        None => std::future::pending().await,
    }
}

async fn recv<T>(rx: &mut Option<tokio::sync::mpsc::Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

fn spawn_signal_handler(shutdown: Shutdown, service: Arc<Service>) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => info!("SIGTERM"),
            _ = int.recv() => info!("SIGINT"),
        }
        service.stopping();
        shutdown.trigger();
    });
    Ok(())
}

pub(super) fn log_report(r: &TickReport) {
    let busy = [
        &r.queued,
        &r.sent,
        &r.deferred,
        &r.failed,
        &r.uncertain,
        &r.shown,
    ]
    .iter()
    .any(|v| !v.is_empty());
    if busy {
        info!(
            queued = r.queued.len(),
            sent = r.sent.len(),
            deferred = r.deferred.len(),
            failed = r.failed.len(),
            uncertain = r.uncertain.len(),
            shown = r.shown.len(),
            next = %r
                .next
                .map_or("nothing planned".into(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true)),
            "round done"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_minute_tick_plans_only_when_something_is_due_or_unwatched() {
        let last = LastRound {
            at: at("2026-12-07T10:00:00Z"),
            next: Some(at("2026-12-07T12:00:00Z")),
        };
        let now = at("2026-12-07T10:01:00Z");
        assert!(last.nothing_to_do(now, true, None));
        // A file that is not watched may have changed.
        assert!(!last.nothing_to_do(now, false, None));
        // The next action (or retry) is due.
        assert!(!last.nothing_to_do(at("2026-12-07T12:00:00Z"), true, None));
        // The digest is due.
        assert!(!last.nothing_to_do(now, true, Some(now)));
        assert!(last.nothing_to_do(now, true, Some(at("2026-12-07T11:00:00Z"))));
        // The clock went back, or an hour passed: a round all the same.
        assert!(!last.nothing_to_do(at("2026-12-07T09:59:00Z"), true, None));
        assert!(!last.nothing_to_do(at("2026-12-07T11:00:00Z"), true, None));
    }
}
