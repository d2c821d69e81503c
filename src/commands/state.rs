//! `followup state export|import`: back up and restore the state.

use std::io::Read;

use anyhow::{Context, Result};

use crate::cli::StateAction;
use crate::outln;
use crate::store::{SledStore, StoreError, export, import, snapshot};
use crate::workspace::Workspace;

/// `followup state export|import`.
pub fn run(ws: &Workspace, action: StateAction) -> Result<()> {
    let dir = &ws.config.state_dir;
    match action {
        StateAction::Export => match SledStore::open(dir) {
            Ok(store) => outln!("{}", export(&store)?)?,
            Err(StoreError::Locked { .. }) => {
                // The daemon holds the database: its snapshot is the latest copy.
                let path = snapshot::path(dir);
                let text = snapshot::load_text(dir)?.with_context(|| {
                    format!(
                        "the daemon holds the state and has not written {} yet",
                        path.display()
                    )
                })?;
                eprintln!(
                    "the daemon is running: printing its latest snapshot, {}",
                    path.display()
                );
                outln!("{text}")?;
            }
            Err(e) => return Err(e.into()),
        },
        StateAction::Import { file, replace } => {
            let mut json = String::new();
            if file.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut json)?;
            } else {
                json = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?;
            }
            let store = SledStore::open(dir)?;
            let summary = import(&store, &json, replace)?;
            snapshot::save(dir, &store)?;
            outln!(
                "imported {} sends and {} statuses (replaced {})",
                summary.sends,
                summary.status_seen,
                summary.replaced_sends
            )?;
        }
    }
    Ok(())
}
