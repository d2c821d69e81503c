//! `followup check-imap`: connect, secure, log in, list the folders, find Sent and look into
//! each watched folder (read-only), to prove the settings. Nothing is changed or marked read.

use anyhow::{Context, Result, bail};

use crate::mailbox::seen::{no_such_folder, with_existing};
use crate::outln;
use crate::settings::mailbox_reading;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace) -> Result<()> {
    let Some(reading) = mailbox_reading(&ws.config)? else {
        bail!(
            "{}: there is no `imap` section; add one to have replies noticed (see the README)",
            ws.config.path.display()
        );
    };
    let imap = ws.config.imap.as_ref().expect("a reading has a section");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut session = reading
            .client
            .connect()
            .await
            .with_context(|| format!("cannot log in to {}:{}", imap.host, imap.port))?;
        outln!(
            "ok: {}:{} ({}), logged in as {}{}{}",
            imap.host,
            imap.port,
            imap.security.as_str(),
            imap.username,
            match imap.auth {
                crate::input::config::Auth::Xoauth2 => " with XOAUTH2",
                crate::input::config::Auth::Password => "",
            },
            if session.has_idle() {
                ", IDLE offered"
            } else {
                ", no IDLE: polled every `imap.poll`"
            }
        )?;
        let folders = session.list_folders().await?;
        let names: Vec<&str> = folders.iter().map(|f| f.name.as_str()).collect();
        outln!("folders: {}", names.join(", "))?;
        let sent = match &reading.sent {
            Some(sent) => sent.clone(),
            None => crate::mailbox::imap::sent_folder(&folders).unwrap_or_else(|| "Sent".into()),
        };
        let mut missing = Vec::new();
        let watched = reading.folders.iter().map(|f| (f, "imap.folders"));
        let sent_key = if reading.sent.is_some() {
            "imap.sent"
        } else {
            "the Sent folder"
        };
        for (folder, key) in watched.chain(std::iter::once((&sent, sent_key))) {
            match session.examine(folder).await {
                Ok(state) => println!("{folder}: {} messages", state.exists),
                Err(crate::mailbox::ImapError::NoFolder { detail, .. }) => {
                    missing.push(no_such_folder(key, folder, &detail))
                }
                Err(e) => missing.push(format!("{key}: {e}")),
            }
        }
        println!(
            "Sent: {sent}; copies of what followup sends {} there",
            if reading.save_copies {
                "are put"
            } else {
                "are not put (the provider files them, or save_sent: never)"
            }
        );
        let _ = session.logout().await;
        if !missing.is_empty() {
            let selectable: Vec<&str> = folders
                .iter()
                .filter(|f| f.selectable)
                .map(|f| f.name.as_str())
                .collect();
            bail!("{}", with_existing(&missing, &selectable));
        }
        Ok(())
    })
}
