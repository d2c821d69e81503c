//! The IMAP client against a real Dovecot on loopback: the three ways of connecting, a refused
//! login, the `\Sent` folder, APPEND without duplicates, fetching since a UID, IDLE waking on
//! delivery, a 50 MB message read as a prefix, and a server stopped mid-IDLE and started again.
//! The server and its mailbox are `support::dovecot`'s. (That the password never reaches the
//! log is checked through the real binary, in `mailbox`.)

use std::time::{Duration, Instant};

use crate::support::api::{
    Backoff, Batch, FolderWatch, ImapClient, ImapError, Secret, Security, StartAt,
    TEXT_PREFIX_BYTES, Wake,
};
use crate::support::dovecot::{
    DEADLINE, Dovecot, StartOnDrop, a_session_is_idling, dovecot_ctl, idling_pids, message,
    unique_id,
};
use crate::support::wait::wait_for_async;

#[tokio::test]
async fn logs_in_over_starttls_implicit_tls_and_plain_on_loopback() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        for security in [Security::Starttls, Security::Tls, Security::Plain] {
            let mut session = d
                .client(security)
                .connect()
                .await
                .unwrap_or_else(|e| panic!("{security:?}: {e}"));
            assert!(session.has_idle(), "Dovecot offers IDLE");
            let folders = session.list_folders().await.unwrap();
            assert!(folders.iter().any(|f| f.name == "INBOX"), "{folders:?}");
            session.logout().await.unwrap();
        }
    }
}

#[tokio::test]
async fn tls_without_the_servers_certificate_trusted_fails_clearly() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut settings = d.settings(Security::Tls);
        settings.ca_file = None;
        let err = ImapClient::new(settings)
            .unwrap()
            .connect()
            .await
            .expect_err("a self-signed certificate is not trusted by default");
        assert!(matches!(err, ImapError::Tls { .. }), "{err}");
        assert!(!err.is_transient(), "{err}");
    }
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_failure_and_not_transient() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut settings = d.settings(Security::Starttls);
        settings.password = Secret::new("not-the-password").into();
        let err = ImapClient::new(settings)
            .unwrap()
            .connect()
            .await
            .expect_err("a wrong password is refused");
        assert!(err.is_auth_failure(), "{err:?}");
        assert!(!err.is_transient(), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains("not-the-password"), "{text}");
        assert!(text.contains(&d.user), "{text}");
    }
}

#[tokio::test]
async fn list_finds_the_special_use_sent_folder() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut session = d.session().await;
        let folders = session.list_folders().await.unwrap();
        let sent = folders
            .iter()
            .find(|f| f.name == "Sent")
            .expect("a Sent folder");
        assert!(sent.sent, "flagged \\Sent: {folders:?}");
        assert_eq!(session.find_sent().await.unwrap().as_deref(), Some("Sent"));
        let err = session.examine("No Such Folder").await.unwrap_err();
        assert!(matches!(err, ImapError::NoFolder { .. }), "{err}");
        // A refused command leaves the session usable.
        session.examine("INBOX").await.unwrap();
        session.logout().await.unwrap();
    }
}

#[tokio::test]
async fn append_files_one_seen_copy_and_never_a_duplicate() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut session = d.session().await;
        let sent = session.find_sent().await.unwrap().expect("Sent");
        let id = unique_id("append");
        let bytes = message(&id, "Thank you for the interview");
        assert!(
            session.append_once(&sent, &id, &bytes).await.unwrap(),
            "appended"
        );
        assert!(
            !session.append_once(&sent, &id, &bytes).await.unwrap(),
            "the second append finds the first"
        );
        session.examine(&sent).await.unwrap();
        let found = session.find_message_id(&id).await.unwrap();
        assert_eq!(found.len(), 1, "exactly one copy: {found:?}");
        assert!(
            session
                .find_message_id(&unique_id("absent"))
                .await
                .unwrap()
                .is_empty(),
            "an id never appended is not found"
        );
        session.logout().await.unwrap();
        let flags = d.maildir_flags(Some(&sent), &id);
        assert_eq!(flags.len(), 1, "one file: {flags:?}");
        assert!(flags[0].contains('S'), "filed as \\Seen: {flags:?}");
    }
}

#[tokio::test]
async fn fetch_after_a_uid_returns_only_newer_messages_and_sets_no_flag() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut session = d.session().await;
        let before = session.examine("INBOX").await.unwrap();
        assert!(before.uid_validity > 0);
        let last_seen = before.uid_next.expect("Dovecot reports UIDNEXT") - 1;
        let ids = [unique_id("fetch-a"), unique_id("fetch-b")];
        for (i, id) in ids.iter().enumerate() {
            d.deliver(&message(id, &format!("Reply {i}")));
        }
        // EXAMINE again: the server notices the new files and keeps the UIDVALIDITY.
        let after = session.examine("INBOX").await.unwrap();
        assert_eq!(after.uid_validity, before.uid_validity);
        let fetched = session.fetch_after(last_seen, 50).await.unwrap();
        let mut got: Vec<_> = fetched
            .iter()
            .map(|f| f.parse().message_id.unwrap())
            .collect();
        assert!(
            fetched.windows(2).all(|w| w[0].uid < w[1].uid),
            "oldest first"
        );
        // Files that arrived together are numbered in the order Dovecot reads the directory.
        got.sort();
        let mut ids = ids.to_vec();
        ids.sort();
        assert_eq!(got, ids, "exactly the new ones");
        assert!(fetched.iter().all(|f| f.uid > last_seen));
        assert!(fetched.iter().all(|f| !f.is_truncated()));
        assert!(fetched[0].parse().subject.starts_with("Reply "));
        let newest = fetched.last().unwrap().uid;
        assert!(
            session.fetch_after(newest, 50).await.unwrap().is_empty(),
            "nothing after the newest"
        );
        // A batch limit returns the oldest first.
        let one = session.fetch_after(last_seen, 1).await.unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].uid, fetched[0].uid);
        session.logout().await.unwrap();
        for id in &ids {
            let flags = d.maildir_flags(None, id);
            assert!(
                flags.iter().all(|f| !f.contains('S')),
                "PEEK sets no \\Seen: {flags:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_50_mb_message_is_fetched_as_its_header_and_a_prefix() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let id = unique_id("large");
        let mut big = format!(
            "From: Jane Roe <jane.roe@globex.example>\r\nTo: sam@example.org\r\n\
             Subject: The deck\r\nMessage-ID: {id}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n\
             Content-Type: text/plain\r\n\r\nHere is the deck.\r\n--b1\r\n\
             Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        .into_bytes();
        let line =
            b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n";
        while big.len() < 50 * 1024 * 1024 {
            big.extend_from_slice(line);
        }
        big.extend_from_slice(b"--b1--\r\n");
        let size = big.len();

        let mut session = d.session().await;
        let before = session.examine("INBOX").await.unwrap();
        let delivered = d.deliver(&big);
        drop(big);
        session.examine("INBOX").await.unwrap();
        let fetched = session
            .fetch_after(before.uid_next.unwrap() - 1, 50)
            .await
            .unwrap();
        d.remove_delivered(&delivered);
        let m = fetched
            .iter()
            .find(|f| f.parse().message_id.as_ref() == Some(&id))
            .expect("the large message is fetched");
        assert_eq!(m.size, Some(size as u32), "RFC822.SIZE is the whole size");
        assert!(
            m.text.len() <= TEXT_PREFIX_BYTES as usize,
            "{} bytes",
            m.text.len()
        );
        assert!(m.is_truncated());
        assert_eq!(m.parse().text.trim(), "Here is the deck.");
        session.logout().await.unwrap();
    }
}

#[tokio::test]
async fn idle_wakes_when_a_message_is_delivered() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut session = d.session().await;
        let before = session.examine("INBOX").await.unwrap();
        let waiting = tokio::spawn(async move {
            let wake = session.idle(Duration::from_secs(120)).await;
            (wake, session)
        });
        wait_for_async("Dovecot shows the session in IDLE", DEADLINE, || {
            a_session_is_idling(&d.user)
        })
        .await;
        let id = unique_id("idle");
        let delivered_at = Instant::now();
        d.deliver(&message(&id, "While you were idling"));
        let (wake, mut session) = tokio::time::timeout(DEADLINE, waiting)
            .await
            .expect("IDLE woke within the deadline")
            .unwrap();
        println!("IDLE woke {:?} after the delivery", delivered_at.elapsed());
        assert_eq!(wake.unwrap(), Wake::Changed);
        // The session is usable after IDLE and finds the message.
        let fetched = session
            .fetch_after(before.uid_next.unwrap() - 1, 50)
            .await
            .unwrap();
        assert!(
            fetched
                .iter()
                .any(|f| f.parse().message_id.as_ref() == Some(&id))
        );
        session.logout().await.unwrap();
    }
}

// Two threads: the watch keeps retrying while the test stops and starts the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_idle_is_reconnected_with_backoff_and_nothing_is_missed() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let backoff = Backoff::new(
            Duration::from_millis(100),
            Duration::from_secs(1),
            Duration::from_secs(60),
        );
        let mut watch = FolderWatch::new(
            d.client(Security::Starttls),
            "INBOX",
            None,
            StartAt::New,
            Duration::from_secs(60),
        )
        .with_backoff(backoff);
        // The first round connects and catches up (nothing: it starts at the newest).
        let first = watch.next().await.unwrap();
        assert!(first.restarted && first.messages.is_empty(), "{first:?}");

        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<Batch, String>>();
        let task = tokio::spawn(async move {
            loop {
                let round = watch.next().await.map_err(|e| e.to_string());
                if tx.send(round).is_err() {
                    return;
                }
            }
        });
        let next = async |rx: &mut tokio::sync::mpsc::UnboundedReceiver<_>| {
            tokio::time::timeout(DEADLINE, rx.recv())
                .await
                .expect("the watch reported within the deadline")
                .expect("the watch runs")
        };

        // A delivery while it idles comes at once.
        wait_for_async("the watch idles", DEADLINE, || a_session_is_idling(&d.user)).await;
        let a = unique_id("before-stop");
        d.deliver(&message(&a, "Before the stop"));
        let batch = next(&mut rx).await.expect("a batch");
        let seen: Vec<_> = batch
            .messages
            .iter()
            .map(|m| m.parse().message_id)
            .collect();
        assert_eq!(seen, [Some(a.clone())]);

        // The server goes away mid-IDLE; mail arrives meanwhile.
        wait_for_async("the watch idles again", DEADLINE, || {
            a_session_is_idling(&d.user)
        })
        .await;
        let restart = StartOnDrop;
        dovecot_ctl("stop");
        let lost = next(&mut rx).await;
        assert!(lost.is_err(), "the stop is reported: {lost:?}");
        let missed = [unique_id("while-down-1"), unique_id("while-down-2")];
        for id in &missed {
            d.deliver(&message(id, "While the server was down"));
        }
        // It keeps trying, each attempt a failure while the server is down.
        let mut refused = 0;
        let down = Instant::now();
        while refused < 3 {
            let round = next(&mut rx).await;
            let err = round.expect_err("nothing to connect to");
            assert!(err.contains("cannot connect"), "{err}");
            refused += 1;
        }
        let waited = down.elapsed();
        // Backoff: 100 ms, 200 ms, 400 ms between the attempts, not a tight loop.
        assert!(
            waited >= Duration::from_millis(300),
            "retried in a tight loop: {waited:?}"
        );
        println!("{refused} refused reconnections in {waited:?} while the server was down");
        drop(restart); // starts it again

        // It reconnects on its own and catches up with exactly what it missed.
        let mut caught = Vec::new();
        let mut failures = 0;
        let start = Instant::now();
        while caught.len() < missed.len() {
            assert!(
                start.elapsed() < DEADLINE,
                "caught up {caught:?} of {missed:?}"
            );
            match next(&mut rx).await {
                Ok(batch) => {
                    assert!(!batch.restarted, "the UIDVALIDITY is unchanged");
                    caught.extend(batch.messages.iter().filter_map(|m| m.parse().message_id));
                }
                Err(_) => failures += 1,
            }
        }
        println!(
            "caught up {failures} failed rounds and {:?} after the start",
            start.elapsed()
        );
        // Dovecot numbers files that arrived together in the order it reads the directory.
        caught.sort();
        let mut missed = missed.to_vec();
        missed.sort();
        assert_eq!(
            caught, missed,
            "nothing missed, nothing twice, nothing before the stop"
        );
        task.abort();
    }
}

#[tokio::test]
async fn idle_that_hears_nothing_ends_and_the_session_stays_usable() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut settings = d.settings(Security::Starttls);
        // Dovecot's keep-alive comes every 2 minutes: 2 s of silence ends IDLE first.
        settings.timeouts.idle_silence = Duration::from_secs(2);
        let mut session = ImapClient::new(settings).unwrap().connect().await.unwrap();
        session.examine("INBOX").await.unwrap();
        let started = Instant::now();
        let wake = tokio::time::timeout(DEADLINE, session.idle(Duration::from_secs(120)))
            .await
            .expect("IDLE ended by the silence timeout");
        assert_eq!(wake.unwrap(), Wake::Timeout);
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        session.noop().await.expect("usable after IDLE");
        session.logout().await.unwrap();
    }
}

#[tokio::test]
async fn a_server_that_goes_silent_mid_idle_is_a_transient_timeout_not_a_hang() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        // Stands for a connection dropped without a word (a NAT box forgetting it): the server
        // process is frozen, so nothing is said and nothing is closed.
        let mut settings = d.settings(Security::Starttls);
        settings.timeouts.idle_silence = Duration::from_secs(2);
        settings.timeouts.command = Duration::from_secs(2);
        let mut session = ImapClient::new(settings).unwrap().connect().await.unwrap();
        session.examine("INBOX").await.unwrap();
        let before: Vec<i32> = idling_pids(&d.user);
        let waiting = tokio::spawn(async move {
            let wake = session.idle(Duration::from_secs(120)).await;
            (wake, session)
        });
        let mut frozen = Vec::new();
        wait_for_async("Dovecot shows the session in IDLE", DEADLINE, || {
            frozen = idling_pids(&d.user)
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect();
            !frozen.is_empty()
        })
        .await;
        for &pid in &frozen {
            // SAFETY: kill(2) on a pid read from /proc; the worst case is ESRCH.
            unsafe { libc::kill(pid, libc::SIGSTOP) };
        }
        let outcome = tokio::time::timeout(DEADLINE, waiting).await;
        for &pid in &frozen {
            // SAFETY: as above; the frozen session is of no further use.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        let (wake, session) = outcome.expect("the silence is noticed").unwrap();
        let err = wake.expect_err("a frozen server cannot end IDLE");
        assert!(matches!(err, ImapError::Timeout { .. }), "{err}");
        assert!(err.is_transient(), "{err}");
        assert!(!session.is_open(), "the session is closed after it");
    }
}

#[tokio::test]
async fn without_idle_the_watch_polls_and_still_sees_new_mail() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let mut settings = d.settings(Security::Starttls);
        settings.use_idle = false;
        let client = ImapClient::new(settings).unwrap();
        let poll = Duration::from_millis(300);
        let mut watch = FolderWatch::new(client, "INBOX", None, StartAt::New, poll);
        assert!(watch.next().await.unwrap().messages.is_empty());
        let id = unique_id("polled");
        d.deliver(&message(&id, "Found by polling"));
        let start = Instant::now();
        loop {
            assert!(start.elapsed() < DEADLINE, "not found by polling");
            let batch = tokio::time::timeout(DEADLINE, watch.next())
                .await
                .expect("a poll round ends")
                .unwrap();
            if batch
                .messages
                .iter()
                .any(|m| m.parse().message_id.as_ref() == Some(&id))
            {
                break;
            }
        }
        assert!(start.elapsed() >= poll, "it waited for the poll interval");
    }
}

#[tokio::test]
async fn a_changed_uidvalidity_restarts_reading_from_the_start_date() {
    let Some((d, _turn)) = Dovecot::take().await else {
        return;
    };
    {
        let id = unique_id("validity");
        d.deliver(&message(&id, "Delivered before the renumbering"));
        let mut session = d.session().await;
        let state = session.examine("INBOX").await.unwrap();
        session.logout().await.unwrap();
        // A cursor from before the folder was renumbered: its UIDs mean nothing now.
        let stale = followup::mailbox::Cursor {
            uid_validity: state.uid_validity.wrapping_add(1),
            last_seen: state.uid_next.unwrap() + 1000,
        };
        let today = chrono::Utc::now().date_naive();
        let mut watch = FolderWatch::new(
            d.client(Security::Starttls),
            "INBOX",
            Some(stale),
            StartAt::Since(today),
            Duration::from_secs(60),
        )
        .with_batch(20);
        let mut found = false;
        let mut first = true;
        loop {
            let batch = watch.next().await.unwrap();
            if first {
                assert!(batch.restarted, "the change is reported");
                assert_eq!(batch.cursor.uid_validity, state.uid_validity);
                first = false;
            }
            found |= batch
                .messages
                .iter()
                .any(|m| m.parse().message_id.as_ref() == Some(&id));
            if batch.messages.len() < 20 {
                break;
            }
        }
        assert!(found, "today's message is read again after the renumbering");
    }
}
