//! The alarm clock: tokio-cron-scheduler wakes the daemon at the next due instant and every
//! minute (to catch up after a suspend or a clock jump). It decides nothing: each wake-up only
//! makes the daemon look at the state again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use uuid::Uuid;

pub struct Alarm {
    scheduler: JobScheduler,
    wakes: mpsc::Sender<()>,
    one_shot: Option<Uuid>,
}

impl Alarm {
    /// Starts the scheduler with the minute tick (a cron job in UTC). The receiver gets a
    /// message at each wake-up.
    pub async fn start() -> Result<(Self, mpsc::Receiver<()>), JobSchedulerError> {
        let (wakes, receiver) = mpsc::channel(8);
        let scheduler = JobScheduler::new().await?;
        let tick = wakes.clone();
        scheduler
            .add(Job::new_async("0 * * * * *", move |_, _| {
                let tick = tick.clone();
                Box::pin(async move {
                    let _ = tick.try_send(());
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
                let _ = due.try_send(());
            })
        });
        let added = match job {
            Ok(job) => self.scheduler.add(job).await,
            Err(e) => Err(e),
        };
        match added {
            Ok(id) => self.one_shot = Some(id),
            Err(e) => {
                tracing::warn!("cannot set the alarm for {at}: {e}; the minute tick will do")
            }
        }
    }

    pub async fn stop(mut self) {
        let _ = self.scheduler.shutdown().await;
    }
}
