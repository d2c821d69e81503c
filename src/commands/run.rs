use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use chrono::Utc;

use crate::config::{Config, Mode};
use crate::core::EmailAddress;
use crate::daemon::Daemon;
use crate::delivery::Envelope;
use crate::delivery::smtp::{SmtpOptions, SmtpSender};
use crate::message::{Mailbox, Outgoing};
use crate::render::Draft;
use crate::secret::read_password;
use crate::service::{Service, Supervised};
use crate::shutdown::Shutdown;
use crate::store::{SledStore, Store};
use crate::workspace::{Workspace, parse_instant};

/// `followup run`: the daemon, or one round of it with `--once` (a command, not a service: it
/// tells systemd nothing).
pub fn run(config_path: &Path, dry_run: bool, once: bool, now: Option<&str>) -> Result<()> {
    let service = Arc::new(match once {
        true => Service::disabled(),
        false => Service::from_env(),
    });
    let ws = Workspace::load(config_path)?;
    let mode = if dry_run {
        Mode::DryRun
    } else {
        ws.config.mode
    };
    let now = now
        .map(|t| parse_instant(t, ws.config.timezone).map_err(anyhow::Error::msg))
        .transpose()?;
    let store: Option<Box<dyn Store>> = match mode {
        Mode::DryRun => None,
        _ => Some(Box::new(
            SledStore::open(&ws.config.state_dir).with_context(|| {
                format!("cannot open the state in {}", ws.config.state_dir.display())
            })?,
        )),
    };
    let transport = match mode {
        Mode::DryRun => None,
        _ => Some(Supervised::new(smtp_sender(&ws.config)?, service.clone())),
    };
    if let Some(smtp) = &ws.config.smtp
        && let Some(problem) = service.watchdog_problem(smtp.timeout.unwrap_or(SMTP_TIMEOUT))
    {
        tracing::warn!("{problem}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut daemon = Daemon::new(config_path, ws, store, transport, mode)?;
        let start = now.unwrap_or_else(Utc::now);
        daemon.recover(start).await?;
        if once {
            let report = daemon.tick(start).await?;
            if let Some(t) = daemon.transport() {
                t.inner().shutdown().await;
            }
            eprintln!(
                "queued {}, sent {}, deferred {}, failed {}, uncertain {}, shown {}",
                report.queued.len(),
                report.sent.len(),
                report.deferred.len(),
                report.failed.len(),
                report.uncertain.len(),
                report.shown.len()
            );
            return Ok(());
        }
        daemon.serve(Shutdown::default(), service).await?;
        Ok(())
    })
}

/// How long one SMTP transaction may take when `smtp.timeout` does not say.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(120);

/// The SMTP sender the config describes, with the password read now (never logged).
pub fn smtp_sender(config: &Config) -> Result<SmtpSender> {
    let smtp = config.smtp.as_ref().ok_or_else(|| {
        anyhow!(
            "{}: mode `{}` sends mail but there is no `smtp` section; add one, or use --dry-run",
            config.path.display(),
            config.mode
        )
    })?;
    let password = match &smtp.username {
        Some(_) => read_password(&smtp.password, |name| std::env::var_os(name))?,
        None => None,
    };
    let options = SmtpOptions {
        hello_name: None,
        extra_root_cert: smtp.ca_file.clone(),
        transaction_timeout: smtp.timeout.unwrap_or(SMTP_TIMEOUT),
        ..SmtpOptions::default()
    };
    Ok(SmtpSender::new(smtp, password, options)?)
}

/// `followup check-smtp`: connect, secure, authenticate, and optionally send a test message.
pub fn check_smtp(ws: &Workspace, send_to: Option<&str>) -> Result<()> {
    let sender = smtp_sender(&ws.config)?;
    let to = send_to
        .map(|a| EmailAddress::parse(a).map_err(|e| anyhow!("--send-to: {e}")))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let summary = sender.check().await?;
        println!("ok: {summary}");
        if let Some(to) = to {
            let me = Mailbox::from(&ws.config.owner);
            let key =
                crate::core::SendKey::new("check-smtp", crate::core::Step::Close, to.as_str());
            let draft = Draft {
                subject: "followup: test message".into(),
                body:
                    "This is a test message from `followup check-smtp`. Your SMTP settings work.\n"
                        .into(),
            };
            let message = Outgoing::new(
                key,
                me.clone(),
                Mailbox::new(&me.name, to.clone()),
                draft,
                Utc::now(),
            );
            let raw = message.to_lettre()?.formatted();
            let envelope = Envelope { from: me.email, to };
            let delivered = sender.send(&envelope, &raw).await?;
            println!(
                "sent a test message to {}: {}",
                envelope.to, delivered.response
            );
        }
        sender.shutdown().await;
        Ok(())
    })
}
