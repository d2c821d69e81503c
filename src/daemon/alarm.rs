//! The alarm clock: tokio-cron-scheduler wakes the daemon at the next due instant and every
//! minute. It decides nothing: each wake-up only makes the daemon look at the state again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use uuid::Uuid;

/// Why the daemon woke up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The next due instant came.
    Due,
    /// The minute tick: catches up after a suspend or a clock jump.
    Tick,
}

pub struct Alarm {
    scheduler: JobScheduler,
    wakes: mpsc::Sender<Wake>,
    one_shot: Option<Uuid>,
}

impl Alarm {
    /// Starts the scheduler with the minute tick (a cron job in UTC).
    pub async fn start() -> Result<(Self, mpsc::Receiver<Wake>), JobSchedulerError> {
        let (wakes, receiver) = mpsc::channel(8);
        let scheduler = JobScheduler::new().await?;
        let tick = wakes.clone();
        scheduler
            .add(Job::new_async("0 * * * * *", move |_, _| {
                let tick = tick.clone();
                Box::pin(async move {
                    let _ = tick.try_send(Wake::Tick);
                })
            })?)
            .await?;
        scheduler.start().await?;
        Ok((
            Self {
                scheduler,
                wakes,
                one_shot: None,
            },
            receiver,
        ))
    }

    /// Sets the one-shot alarm for `at` (an instant the planner computed in UTC), replacing the
    /// previous one. The scheduler is given a plain delay, so no time zone is involved.
    pub async fn set(&mut self, at: Option<DateTime<Utc>>, now: DateTime<Utc>) {
        if let Some(old) = self.one_shot.take() {
            let _ = self.scheduler.remove(&old).await;
        }
        let Some(at) = at else { return };
        let delay = (at - now).to_std().unwrap_or(Duration::ZERO) + Duration::from_millis(10);
        let due = self.wakes.clone();
        let job = Job::new_one_shot_async(delay, move |_, _| {
            let due = due.clone();
            Box::pin(async move {
                let _ = due.try_send(Wake::Due);
            })
        });
        match job {
            Ok(job) => match self.scheduler.add(job).await {
                Ok(id) => self.one_shot = Some(id),
                Err(e) => {
                    tracing::warn!("cannot set the alarm for {at}: {e}; the minute tick will do")
                }
            },
            Err(e) => tracing::warn!("cannot set the alarm for {at}: {e}; the minute tick will do"),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.scheduler.shutdown().await;
    }
}
