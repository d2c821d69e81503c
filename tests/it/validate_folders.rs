//! `validate` never connects, so it says a configured folder does not exist by the folders the
//! daemon last listed on the server, kept in its snapshot (the daemon holds the database): a
//! warning, as `run` does not refuse it, in the words of `check-imap`. With no listing it says
//! nothing about folders.

use followup::mailbox::seen::{FOLDERS_SEEN, FoldersSeen};

use crate::support::api::Store;
use crate::support::world::{World, open_state};

/// A dry-run home with an `imap` section watching INBOX and filing copies in `sent`.
fn home(sent: &str) -> World {
    let imap = format!(
        "imap:\n  host: 127.0.0.1\n  port: 143\n  security: plain\n  username: sam\n  \
         password_file: imap-password\n  folders: [INBOX]\n  sent: {sent}\n"
    );
    let w = World::empty().configure(|c| c.extra.push_str(&imap));
    w.write_file("imap-password", b"secret");
    w
}

#[test]
fn validate_warns_of_a_configured_folder_the_daemon_did_not_see_by_its_snapshot() {
    let w = home("Sent Items");
    let out = w.ok(&["validate"]);
    assert!(
        !out.stderr.contains("does not exist"),
        "no snapshot, nothing said about folders:\n{}",
        out.stderr
    );

    // The daemon's state, as it leaves it after listing the folders, held open as it holds it.
    let state = w.path("state");
    std::fs::create_dir_all(&state).unwrap();
    let store = open_state(&state);
    let seen = FoldersSeen {
        at: "2026-12-07T02:00:00Z".parse().unwrap(),
        folders: vec!["INBOX".into(), "Sent".into(), "Archive".into()],
    };
    store.set_meta(FOLDERS_SEEN, &seen.to_meta()).unwrap();
    followup::store::snapshot::save(&state, &store).unwrap();

    let out = w.ok(&["validate"]);
    assert!(
        out.stderr.contains(
            "warning: imap.sent: the folder `Sent Items` does not exist (the daemon last listed \
             the folders on 2026-12-07T02:00:00Z; `followup check-imap` asks the server now); \
             the folders that exist are: INBOX, Sent, Archive"
        ),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("imap.folders"),
        "INBOX exists:\n{}",
        out.stderr
    );

    let fixed = home("Sent");
    std::fs::create_dir_all(fixed.path("state")).unwrap();
    std::fs::copy(state.join("state.json"), fixed.path("state/state.json")).unwrap();
    let out = fixed.ok(&["validate"]);
    assert!(!out.stderr.contains("does not exist"), "{}", out.stderr);
    drop(store);
}
