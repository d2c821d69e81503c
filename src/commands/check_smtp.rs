//! `followup check-smtp`: connect, secure, authenticate, and optionally send a test message.

use anyhow::{Result, anyhow};
use chrono::Utc;

use crate::core::EmailAddress;
use crate::delivery::Envelope;
use crate::mail::message::{Mailbox, Outgoing};
use crate::mail::render::Draft;
use crate::outln;
use crate::settings::smtp_sender;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, send_to: Option<&str>) -> Result<()> {
    let sender = smtp_sender(&ws.config)?;
    let to = send_to
        .map(|a| EmailAddress::parse(a).map_err(|e| anyhow!("--send-to: {e}")))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let summary = sender.check().await?;
        outln!("ok: {summary}")?;
        if let Some(to) = to {
            let me = Mailbox::from(&ws.config.owner);
            let draft = Draft {
                subject: "followup: test message".into(),
                body:
                    "This is a test message from `followup check-smtp`. Your SMTP settings work.\n"
                        .into(),
            };
            let message = Outgoing::new(
                me.clone(),
                Mailbox::new(&me.name, to.clone()),
                draft,
                Utc::now(),
            );
            let raw = message.to_lettre()?.formatted();
            let envelope = Envelope { from: me.email, to };
            let delivered = sender.send(&envelope, &raw).await?;
            outln!(
                "sent a test message to {}: {}",
                envelope.to,
                delivered.response
            )?;
        }
        sender.shutdown().await;
        Ok(())
    })
}
