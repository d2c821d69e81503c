//! The alarm clock: tokio-cron-scheduler wakes the daemon at the next due instant and every
//! minute (to catch up after a suspend or a clock jump). It decides nothing: each wake-up only
//! makes the daemon look at the state again.
//!
//! The scheduler checks its jobs every 500 ms, whatever they are; it runs on a thread of its own
//! (`cron-ticker`), so that those checks wake that thread only and are counted apart from the
//! daemon's own work (see docs/performance.md).

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use uuid::Uuid;

/// What rang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The minute tick: a round only if something may have changed (see `serve`).
    Minute,
    /// The one-shot alarm set for the next due instant.
    Due,
}

pub struct Alarm {
    scheduler: JobScheduler,
    /// The runtime of the `cron-ticker` thread, where every scheduler call runs.
    ticker: Handle,
    /// Dropped to end the `cron-ticker` thread.
    stop_ticker: Option<oneshot::Sender<()>>,
    wakes: mpsc::Sender<Wake>,
    one_shot: Option<Uuid>,
}

/// A scheduler call could not be made: the scheduler's own error, or its thread is gone.
#[derive(Debug, thiserror::Error)]
pub enum AlarmError {
    #[error(transparent)]
    Scheduler(#[from] JobSchedulerError),
    #[error("the scheduler's thread stopped")]
    ThreadGone,
}

impl Alarm {
    /// Starts the scheduler, on its own thread, with the minute tick (a cron job in UTC). The
    /// receiver gets a message at each wake-up.
    pub async fn start() -> Result<(Self, mpsc::Receiver<Wake>), AlarmError> {
        let (wakes, receiver) = mpsc::channel(8);
        let (handle_tx, handle_rx) = oneshot::channel();
        let (stop_ticker, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("cron-ticker".into())
            .spawn(move || {
                let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let _ = handle_tx.send(runtime.handle().clone());
                runtime.block_on(async {
                    let _ = stopped.await;
                });
            })
            .map_err(|_| AlarmError::ThreadGone)?;
        let ticker = handle_rx.await.map_err(|_| AlarmError::ThreadGone)?;
        let tick = wakes.clone();
        let scheduler = ticker
            .spawn(async move {
                let scheduler = JobScheduler::new().await?;
                scheduler
                    .add(Job::new_async("0 * * * * *", move |_, _| {
                        let tick = tick.clone();
                        Box::pin(async move {
                            let _ = tick.try_send(Wake::Minute);
                        })
                    })?)
                    .await?;
                scheduler.start().await?;
                Ok::<_, JobSchedulerError>(scheduler)
            })
            .await
            .map_err(|_| AlarmError::ThreadGone)??;
        Ok((
            Self {
                scheduler,
                ticker,
                stop_ticker: Some(stop_ticker),
                wakes,
                one_shot: None,
            },
            receiver,
        ))
    }

    /// Sets the one-shot alarm for `at` (an instant the planner computed in UTC), replacing the
    /// previous one. The scheduler is given a plain delay, so no time zone is involved.
    pub async fn set(&mut self, at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        let old = self.one_shot.take();
        let delay =
            at.map(|at| (at - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(10));
        let due = self.wakes.clone();
        let scheduler = self.scheduler.clone();
        let added = self
            .ticker
            .spawn(async move {
                if let Some(old) = old {
                    let _ = scheduler.remove(&old).await;
                }
                let Some(delay) = delay else {
                    return Ok(None);
                };
                let job = Job::new_one_shot_async(delay, move |_, _| {
                    let due = due.clone();
                    Box::pin(async move {
                        let _ = due.try_send(Wake::Due);
                    })
                })?;
                scheduler.add(job).await.map(Some)
            })
            .await
            .map_err(|_| AlarmError::ThreadGone)
            .and_then(|r| r.map_err(AlarmError::from));
        match (added, at) {
            (Ok(id), _) => self.one_shot = id,
            (Err(e), Some(at)) => {
                tracing::warn!("cannot set the alarm for {at}: {e}; the minute tick will do")
            }
            (Err(_), None) => {}
        }
    }

    pub async fn stop(mut self) {
        let mut scheduler = self.scheduler.clone();
        let _ = self
            .ticker
            .spawn(async move {
                let _ = scheduler.shutdown().await;
            })
            .await;
        drop(self.stop_ticker.take());
    }
}
