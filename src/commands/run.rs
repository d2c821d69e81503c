//! `followup run`: the daemon, or one round of it with `--once` (a command, not a service: it
//! tells systemd nothing).

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::Utc;

use crate::daemon::{Daemon, Live, Mode};
use crate::input::config::Mode as ConfigMode;
use crate::service::{Service, Supervised};
use crate::settings::{mailbox_reading_for_daemon, smtp_sender_for_daemon};
use crate::shutdown::Shutdown;
use crate::store::SledStore;
use crate::workspace::{Workspace, parse_instant};

/// The test suite's clock for `run --once`: a real round acts as if it were this time (RFC 3339,
/// or `YYYY-MM-DD[ HH:MM]` in the config's zone). Never set it in production: messages are then
/// dated and decided by it.
pub const TEST_CLOCK: &str = "FOLLOWUP_TEST_NOW";

pub fn run(config_path: &Path, dry_run: bool, once: bool, now: Option<&str>) -> Result<()> {
    let service = Arc::new(match once {
        true => Service::disabled(),
        false => Service::from_env(),
    });
    let test_clock = once
        .then(|| std::env::var(TEST_CLOCK).ok())
        .flatten()
        .filter(|t| !t.is_empty());
    let ws = Workspace::load(config_path)?;
    for w in &ws.warnings {
        tracing::warn!("{w}");
    }
    // `--now` is for dry runs (clap enforces it); the test suite moves a real round's clock.
    let now = now
        .or(test_clock.as_deref())
        .map(|t| parse_instant(t, ws.config.timezone).map_err(anyhow::Error::msg))
        .transpose()?;
    let configured = if dry_run {
        ConfigMode::DryRun
    } else {
        ws.config.mode
    };
    let mode = match configured {
        ConfigMode::DryRun => Mode::dry_run(),
        live => {
            // The same check as `validate`, before the state is opened or anything connects.
            let sender = Supervised::new(smtp_sender_for_daemon(&ws.config)?, service.clone());
            let dir = &ws.config.state_dir;
            let store = SledStore::open(dir)
                .with_context(|| format!("cannot open the state in {}", dir.display()))?;
            let parts = Live::open(&ws, Box::new(store), sender)?
                .with_mailbox(mailbox_reading_for_daemon(&ws.config)?);
            match live {
                ConfigMode::Send => Mode::Send(parts),
                _ => Mode::Approve(parts),
            }
        }
    };
    if let Some(smtp) = &ws.config.smtp
        && let Some(problem) = service.watchdog_problem(smtp.transaction_timeout())
    {
        tracing::warn!("{problem}");
    }
    // One thread: sends go one at a time over one connection, and an idle daemon then has one
    // thread to wake rather than a pool.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut daemon = Daemon::new(config_path, ws, mode);
        let start = now.unwrap_or_else(Utc::now);
        daemon.recover(start).await?;
        if !once {
            daemon.serve(Shutdown::default(), service).await?;
            return Ok(());
        }
        daemon.read_mailbox_once(start).await?;
        let report = daemon.tick(start).await?;
        if let Some(live) = daemon.live() {
            live.transport.inner().shutdown().await;
        }
        daemon.file_copies_once(start).await?;
        eprintln!(
            "queued {}, sent {}, deferred {}, failed {}, uncertain {}, shown {}",
            report.queued.len(),
            report.sent.len(),
            report.deferred.len(),
            report.failed.len(),
            report.uncertain.len(),
            report.shown.len()
        );
        Ok(())
    })
}
