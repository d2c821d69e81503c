//! The daemon reading a real Dovecot: a reply stops the sequence (at once with IDLE), an
//! out-of-office holds the interviewer, the user's own message in Sent counts toward the cap
//! without stopping anything, each message sent gets exactly one copy in Sent, an uncertain send
//! found in Sent is settled, a server restarted mid-IDLE is caught up with nothing missed, a
//! wrong password is shown while mail still goes out, and a Sent folder that does not exist is
//! retried after a backoff, logged once and shown with the folders that do (by `validate` too,
//! from the folders the daemon listed); a first run reads a folder of thousands of messages to its
//! end. Skipped like every Dovecot test.
//!
//! Every test's interviewers are at a domain of its own, so the messages other tests left in
//! the shared mailbox never concern it.

use std::time::Duration;

use serde_json::Value;

use crate::support::api::{MessageId, Step};
use crate::support::dovecot::{DEADLINE, Dovecot, StartOnDrop, dovecot_ctl};
use crate::support::smtp_server::Behaviour;
use crate::support::wait::wait_for_async;
use crate::support::world::{ME, World, cause_of};

/// A home in `mode` whose mailbox is the Dovecot test user's, with one interview (Tue 3 Nov
/// 10:00 New York) with Jane at a domain no other test uses. Returns the home and Jane's
/// address.
fn home(d: &Dovecot, mode: &str, imap_extra: &str) -> (World, String) {
    home_polling(d, mode, imap_extra, "2s")
}

/// [`home`], asking the server every `poll` when it has no IDLE.
fn home_polling(d: &Dovecot, mode: &str, imap_extra: &str, poll: &str) -> (World, String) {
    let domain = format!("globex-{}.example.com", uuid::Uuid::new_v4().simple());
    let jane = format!("jane@{domain}");
    let record = format!(
        "company: Globex\nposition: Backend Engineer\nstart: 2026-11-03 10:00\n\
         interviewers:\n  - name: Jane Roe\n    email: {jane}\n"
    );
    let password = d.password.clone();
    let imap = format!(
        "imap:\n  host: {}\n  port: {}\n  security: plain\n  username: {}\n  \
         password_file: imap-password\n  poll: {poll}\n{imap_extra}",
        d.host, d.starttls_port, d.user
    );
    let w = World::serving(mode)
        .with("globex.yaml", &record)
        .configure(|c| c.extra.push_str(&imap));
    w.write_file("imap-password", password.as_bytes());
    chmod_private(&w.path("imap-password"));
    (w, jane)
}

fn chmod_private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A message from Jane, written `date`, maybe answering `parent`.
fn from_jane(
    jane: &str,
    date: &str,
    subject: &str,
    parent: Option<&str>,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    let id = format!(
        "<reply.{}@{}>",
        uuid::Uuid::new_v4().simple(),
        jane.split('@').nth(1).unwrap()
    );
    let threading = parent
        .map(|p| format!("In-Reply-To: {p}\r\nReferences: {p}\r\n"))
        .unwrap_or_default();
    format!(
        "From: Jane Roe <{jane}>\r\nTo: Sam Seeker <{ME}>\r\nSubject: {subject}\r\n\
         Date: {date}\r\nMessage-ID: {id}\r\n{threading}{extra}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The planned actions of `step`, as `plan --json` says them.
fn planned(w: &World, now: &str, step: Step) -> Value {
    let plan = w.ok(&["plan", "--json", "--now", now]).json();
    plan.as_array()
        .unwrap()
        .iter()
        .find(|a| a["step"] == step.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no {step} in {plan:#}"))
}

/// The Message-ID of the thank-you the in-process server received for `jane`.
fn thank_you_id(w: &World, jane: &str) -> String {
    let mail = w.to(jane);
    assert_eq!(mail.len(), 1, "one thank-you to {jane}");
    mail[0].one("Message-ID")
}

#[tokio::test]
async fn a_reply_in_the_inbox_stops_the_checks_and_the_user_is_told() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.once_at("2026-11-03 13:00");
    let parent = thank_you_id(&w, &jane);
    d.deliver(&from_jane(
        &jane,
        "Wed, 04 Nov 2026 10:00:00 -0500",
        "Re: Thank you for your time on Tuesday",
        Some(&parent),
        "",
        "Hi Sam,\r\n\r\nthank you, we will be in touch after the other interviews.\r\n\r\nJane",
    ));
    w.once_at("2026-11-10 09:00");

    assert_eq!(w.to(&jane).len(), 1, "no status check after a reply");
    let check = planned(&w, "2026-11-10 09:00", Step::StatusCheck);
    assert_eq!(check["state"], "cancelled", "{check:#}");
    assert_eq!(check["cause"]["kind"], "heard_reply", "{check:#}");
    assert!(
        check["cause"]["from"]
            .as_str()
            .is_some_and(|from| from.contains("Jane Roe")),
        "{check:#}"
    );
    let told = w.to(ME);
    let notice = told
        .iter()
        .find(|m| m.subject().contains("answered"))
        .unwrap_or_else(|| panic!("no notice of the reply among {} messages to me", told.len()));
    assert!(
        notice.text().contains("we will be in touch"),
        "{}",
        notice.text()
    );
    assert!(
        notice.text().contains("followup resume globex"),
        "{}",
        notice.text()
    );
    let replies = w.ok(&["replies"]).stdout;
    assert!(
        replies.contains("threads under one of ours") || replies.contains("reply from Jane Roe"),
        "{replies}"
    );

    // It was not a reply after all: the checks come back.
    w.ok(&["resume", "globex"]);
    let check = planned(&w, "2026-11-10 09:00", Step::StatusCheck);
    assert_eq!(check["state"], "scheduled", "{check:#}");
}

/// More batches than a first read could hold at once before anything used them: the run read
/// the first 64 of them and then waited for ever, as the kill -9 torture test once showed.
#[tokio::test]
async fn a_first_run_reads_a_folder_of_thousands_of_messages_to_the_end() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let folder = format!("Bulk-{}", uuid::Uuid::new_v4().simple());
    let root = d.maildir.join(format!(".{folder}"));
    let _folder = FolderOnDisk::new(&root);
    let (w, jane) = home(&d, "send", &format!("  folders: [INBOX, {folder}]\n"));
    w.once_at("2026-11-03 13:00");
    let parent = thank_you_id(&w, &jane);
    // 65 batches of others' mail, then Jane's reply: only a read to the end hears it.
    for n in 0..65 * 50 {
        let filler = format!(
            "From: Newsletter <news@lists.example.net>\r\nTo: {ME}\r\nSubject: Issue {n}\r\n\
             Date: Wed, 04 Nov 2026 09:00:00 +0000\r\nMessage-ID: <issue.{n}.{folder}@lists.example.net>\r\n\r\n\
             Nothing to do with an interview.\r\n"
        );
        d.deliver_to(Some(&folder), filler.as_bytes());
    }
    d.deliver_to(
        Some(&folder),
        &from_jane(
            &jane,
            "Wed, 04 Nov 2026 10:00:00 -0500",
            "Re: Thank you for your time on Tuesday",
            Some(&parent),
            "",
            "Hi Sam,\r\n\r\nthank you, we will be in touch.\r\n\r\nJane",
        ),
    );

    let mut run = w.round_at("2026-11-10 09:00").spawn(&w.path("bulk.log"));
    let status = crate::support::wait::wait_for(
        "the run to read the folder to its end",
        Duration::from_secs(120),
        || run.try_exit(),
    );
    assert!(
        status.success(),
        "{}",
        std::fs::read_to_string(w.path("bulk.log")).unwrap_or_default()
    );
    assert_eq!(
        w.to(&jane).len(),
        1,
        "no status check after the reply at the folder's end"
    );
    let check = planned(&w, "2026-11-10 09:00", Step::StatusCheck);
    assert_eq!(check["cause"]["kind"], "heard_reply", "{check:#}");
}

/// A Maildir++ folder of this test's own, owned as the mailbox is, removed at the end.
struct FolderOnDisk(std::path::PathBuf);

impl FolderOnDisk {
    fn new(root: &std::path::Path) -> Self {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(root.parent().unwrap()).expect("the Maildir exists");
        for dir in [
            root.to_path_buf(),
            root.join("cur"),
            root.join("new"),
            root.join("tmp"),
        ] {
            std::fs::create_dir_all(&dir).unwrap();
            std::os::unix::fs::chown(&dir, Some(owner.uid()), Some(owner.gid())).unwrap();
        }
        Self(root.to_path_buf())
    }
}

impl Drop for FolderOnDisk {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_rejection_by_mail_plans_the_gracious_note_threaded_under_it() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.once_at("2026-11-03 13:00");
    let parent = thank_you_id(&w, &jane);
    let rejection = from_jane(
        &jane,
        "Thu, 05 Nov 2026 10:00:00 -0500",
        "Your application",
        Some(&parent),
        "",
        "Dear Sam,\r\n\r\nwe have decided to move forward with other candidates.\r\n",
    );
    let their_id = String::from_utf8_lossy(&rejection)
        .lines()
        .find_map(|l| l.strip_prefix("Message-ID: ").map(str::to_string))
        .unwrap();
    d.deliver(&rejection);
    w.once_at("2026-11-06 09:30");

    let notes = w.to(&jane);
    assert_eq!(
        notes.len(),
        2,
        "the thank-you, then the note after the rejection"
    );
    let note = &notes[1];
    assert_eq!(note.one("In-Reply-To"), their_id);
    assert!(
        note.one("Subject").starts_with("Re: "),
        "{}",
        note.one("Subject")
    );
}

#[tokio::test]
async fn an_out_of_office_holds_the_interviewer_until_the_day_after_they_are_back() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.once_at("2026-11-03 13:00");
    d.deliver(&from_jane(
        &jane,
        "Mon, 09 Nov 2026 08:00:00 -0500",
        "Automatic reply: Thank you for your time on Tuesday",
        None,
        "Auto-Submitted: auto-replied\r\n",
        "I am out of the office and back on Monday 16 November.",
    ));
    w.once_at("2026-11-09 12:00");
    let check = planned(&w, "2026-11-09 12:00", Step::StatusCheck);
    assert!(
        check["due_local"].as_str().unwrap().contains("2026-11-17"),
        "held to the day after the return date: {check:#}"
    );
    assert!(cause_of(&check, "away").is_some(), "{check:#}");
}

#[tokio::test]
async fn the_users_own_message_in_sent_counts_toward_the_cap_and_stops_nothing() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.once_at("2026-11-03 13:00");
    let own = format!(
        "From: Sam Seeker <{ME}>\r\nTo: Jane Roe <{jane}>\r\nSubject: A question\r\n\
         Date: Mon, 09 Nov 2026 09:30:00 -0500\r\nMessage-ID: <own.{}@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hi Jane, one more question about the on-call rotation.\r\n",
        uuid::Uuid::new_v4().simple()
    );
    d.deliver_to(Some("Sent"), own.as_bytes());
    w.once_at("2026-11-10 09:00");

    assert_eq!(
        w.to(&jane).len(),
        1,
        "no status check a day after the user's own message"
    );
    let check = planned(&w, "2026-11-10 09:00", Step::StatusCheck);
    assert_eq!(check["state"], "deferred", "{check:#}");
    assert_eq!(check["cause"]["kind"], "cap", "{check:#}");
    assert!(
        check["cause"]["blocking_step"].is_null(),
        "the user's own message blocks it: {check:#}"
    );
}

#[tokio::test]
async fn every_message_sent_gets_exactly_one_copy_in_sent() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "  save_sent: always\n");
    w.once_at("2026-11-03 13:00");
    let id = MessageId::from_header(&thank_you_id(&w, &jane)).unwrap();
    // Another round (and another read of Sent) adds nothing.
    w.once_at("2026-11-03 14:00");
    let copies = d.maildir_flags(Some("Sent"), &id);
    assert_eq!(copies.len(), 1, "one copy, flagged seen: {copies:?}");
    assert!(copies[0].contains('S'), "{copies:?}");
    assert!(
        std::fs::read_dir(w.path("state/sent-copies"))
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "nothing left waiting"
    );
}

#[tokio::test]
async fn an_uncertain_send_found_in_sent_is_settled_and_never_resent() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.server().set_behaviour(Behaviour::DeliverThenDrop);
    w.once_at("2026-11-03 13:00");
    let received = w.to(&jane);
    assert_eq!(received.len(), 1);
    let sent_bytes = received[0].raw.clone().into_bytes();
    let key = "globex/thank_you/".to_string() + &jane;
    assert_eq!(w.exported()[&key]["state"], "uncertain");
    w.server().set_behaviour(Behaviour::Accept);
    // The provider filed it in Sent, as Gmail and others do with what they relay.
    d.deliver_to(Some("Sent"), &sent_bytes);
    w.once_at("2026-11-03 14:00");

    assert_eq!(w.exported()[&key]["state"], "sent");
    assert!(
        w.queue_files("pending").is_empty(),
        "its decision file is filed away"
    );
    assert_eq!(w.to(&jane).len(), 1, "never resent");
    assert!(
        w.to(ME).iter().any(|m| m.subject().contains("did go out")),
        "the user is told"
    );
}

#[tokio::test]
async fn a_daemon_whose_server_restarts_reconnects_and_misses_nothing() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.once_at("2026-11-03 13:00");
    let parent = thank_you_id(&w, &jane);
    let mut daemon = w.spawn("daemon");
    daemon.wait_log("the daemon reads the mailbox", |log| {
        log.contains("followup is running")
    });
    wait_for_async("the daemon idles on INBOX", DEADLINE, || {
        crate::support::dovecot::a_session_is_idling(&d.user)
    })
    .await;
    {
        let _start_again = StartOnDrop;
        dovecot_ctl("stop");
        d.deliver(&from_jane(
            &jane,
            "Wed, 04 Nov 2026 10:00:00 -0500",
            "Re: Thank you",
            Some(&parent),
            "",
            "Thanks Sam, talk soon.",
        ));
        // The daemon notices the server is gone and backs off.
        wait_for_async("the loss is logged", DEADLINE, || {
            daemon.log().contains("cannot read")
        })
        .await;
    }
    wait_for_async(
        "the reply is recorded once Dovecot is back",
        DEADLINE,
        || {
            w.ok(&["replies", "--json"])
                .json()
                .as_array()
                .is_some_and(|r| !r.is_empty())
        },
    )
    .await;
    daemon.signal(libc::SIGTERM);
    wait_for_async("the daemon stops", Duration::from_secs(20), || {
        daemon.try_exit().is_some()
    })
    .await;
}

#[tokio::test]
async fn with_idle_a_reply_is_heard_as_soon_as_it_arrives() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    // Polling once an hour: only IDLE can notice the reply within the deadline.
    let (w, jane) = home_polling(&d, "send", "", "1h");
    w.once_at("2026-11-03 13:00");
    let parent = thank_you_id(&w, &jane);
    let mut daemon = w.spawn("daemon");
    daemon.wait_log("the daemon runs", |log| log.contains("followup is running"));
    wait_for_async("the daemon idles on INBOX", DEADLINE, || {
        crate::support::dovecot::a_session_is_idling(&d.user)
    })
    .await;
    d.deliver(&from_jane(
        &jane,
        "Wed, 04 Nov 2026 10:00:00 -0500",
        "Re: Thank you",
        Some(&parent),
        "",
        "Thanks Sam, we will be in touch.",
    ));
    wait_for_async("the reply is recorded", DEADLINE, || {
        w.ok(&["replies", "--json"])
            .json()
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["kind"] == "reply"))
    })
    .await;
    daemon.signal(libc::SIGTERM);
    wait_for_async("the daemon stops", Duration::from_secs(20), || {
        daemon.try_exit().is_some()
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_shown_and_mail_still_goes_out() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, jane) = home(&d, "send", "");
    w.write_file("imap-password", b"not-the-password");
    chmod_private(&w.path("imap-password"));
    let out = w.once_at("2026-11-03 13:00");
    assert_eq!(w.to(&jane).len(), 1, "the thank-you went out over SMTP");
    assert!(!out.stderr.contains("not-the-password"), "{}", out.stderr);
    let status = w.ok(&["status"]).stdout;
    assert!(status.contains("Mailbox:"), "{status}");
    assert!(
        status.contains("imap.username and the password"),
        "{status}"
    );
}

#[tokio::test]
async fn check_imap_proves_the_settings_and_the_password_never_reaches_the_log() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    let (w, _) = home(&d, "send", "");
    let out = w
        .followup()
        .env("RUST_LOG", "trace")
        .arg("check-imap")
        .succeeds();
    assert!(out.stdout.contains("logged in as"), "{}", out.stdout);
    assert!(out.stdout.contains("Sent"), "{}", out.stdout);
    assert!(!out.stdout.contains(&d.password) && !out.stderr.contains(&d.password));
    assert!(!out.stderr.contains("LOGIN"), "{}", out.stderr);
}

/// The daemon's CPU time so far (user + system), from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap();
    Duration::from_millis(ticks * 1000 / per_second)
}

#[tokio::test]
async fn a_sent_folder_that_does_not_exist_backs_off_and_is_shown_with_the_folders_that_do() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    // A typo as a new user makes it: the server calls it `Sent`.
    let (w, jane) = home(&d, "send", "  sent: Sent Items\n  save_sent: always\n");
    w.once_at("2026-11-03 13:00");
    assert_eq!(w.to(&jane).len(), 1, "the thank-you went out all the same");

    let out = w.run(&["check-imap"]);
    assert_ne!(out.code, Some(0), "{}", out.stdout);
    assert!(
        out.stderr
            .contains("imap.sent: the folder `Sent Items` does not exist"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the folders that exist are:") && out.stderr.contains("Sent"),
        "{}",
        out.stderr
    );

    let mut daemon = w.spawn("daemon");
    daemon.wait_log("the copy's failure is logged", |log| {
        log.contains("in Sent") && log.contains("Sent Items")
    });
    let cpu_before = cpu_time(daemon.pid());
    // What must not happen takes time to show: the copier retrying at once, for ever.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let spent = cpu_time(daemon.pid()) - cpu_before;
    assert!(
        spent < Duration::from_millis(500),
        "{spent:?} of CPU in 5 s"
    );
    let log = daemon.log();
    let lines = log.lines().filter(|l| l.contains("Sent Items")).count();
    assert!(
        lines <= 2,
        "logged once for the copier (and once for the watch):\n{log}"
    );
    assert!(
        !log.contains("Some(") && !log.contains("Outcome"),
        "no Debug text:\n{log}"
    );

    let status = w.ok(&["status"]).stdout;
    assert!(status.contains("waiting for the Sent folder"), "{status}");
    assert!(status.contains("set `imap.sent`"), "what to do: {status}");
    assert!(status.contains("the folders are:"), "{status}");
    // `validate` never connects, nor opens the state the daemon holds: it says the same by the
    // folders the daemon listed when the folder could not be opened.
    let validate = w.ok(&["validate"]).stderr;
    assert!(
        validate.contains(
            "warning: imap.sent: the folder `Sent Items` does not exist (the daemon last listed \
             the folders on"
        ) && validate.contains("the folders that exist are: ")
            && validate.contains("INBOX"),
        "{validate}"
    );
    daemon.signal(libc::SIGTERM);
    wait_for_async("the daemon stops", Duration::from_secs(20), || {
        daemon.try_exit().is_some()
    })
    .await;
}

#[tokio::test]
async fn the_daemon_keeps_the_folders_it_listed_and_validate_names_a_watched_one_missing() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    // No `imap.sent`: the daemon lists the folders to find Sent; and a watched folder with a typo.
    let (w, _) = home(&d, "send", "  folders: [INBOX, Replies Typo]\n");
    let quiet = w.ok(&["validate"]).stderr;
    assert!(!quiet.contains("does not exist"), "no listing yet: {quiet}");
    w.once_at("2026-11-03 13:00");

    let snapshot = w.snapshot();
    let kept = snapshot
        .meta
        .get(followup::mailbox::seen::FOLDERS_SEEN)
        .expect("the folders the daemon listed are in the snapshot");
    let seen = followup::mailbox::seen::FoldersSeen::from_meta(kept).expect("a listing");
    assert!(seen.has("INBOX") && seen.has("Sent"), "{seen:?}");
    assert!(!seen.has("Replies Typo"), "{seen:?}");

    let validate = w.ok(&["validate"]).stderr;
    assert!(
        validate.contains(
            "warning: imap.folders: the folder `Replies Typo` does not exist (the daemon last \
             listed the folders on 2026-11-03T18:00:00Z; `followup check-imap` asks the server \
             now); the folders that exist are: "
        ),
        "{validate}"
    );
    assert!(
        !validate.contains("imap.sent"),
        "Sent is found, not configured: {validate}"
    );
}
