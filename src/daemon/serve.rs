//! The long-running loop: tick, then sleep until the alarm, a file change, SIGHUP or shutdown.

use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use super::watch::{Change, WatchRoot, Watcher};
use super::{Alarm, Daemon, TickReport};
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
        let (mut alarm, mut wakes) = Alarm::start()
            .await
            .map_err(|e| std::io::Error::other(format!("cannot start the scheduler: {e}")))?;
        let (_watcher, mut changes) = match Watcher::start(&self.watch_roots()) {
            Ok((watcher, changes)) => {
                for w in watcher.warnings() {
                    warn!("{w}; the minute tick will notice changes there");
                }
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
        loop {
            let now = Utc::now();
            match self.tick(now).await {
                Ok(report) => {
                    log_report(&report);
                    alarm.set(report.next, now).await;
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
            tokio::select! {
                _ = down.wait() => break,
                _ = wakes.recv() => {}
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
            // `followup resume` leaves its request there: a change means a round.
            roots.push(WatchRoot::queue(&crate::store::requests::dir(&c.state_dir)));
        }
        if let Some(templates) = &c.templates {
            roots.push(WatchRoot::templates(templates));
        }
        roots
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
