//! The IMAP client against a real Dovecot on loopback: the three ways of connecting, a refused
//! login, the `\Sent` folder, APPEND without duplicates, fetching since a UID, IDLE waking on
//! delivery, a 50 MB message read as a prefix, and a server stopped mid-IDLE and started again.
//!
//! Skipped (printing "skipped") unless `FOLLOWUP_INTEROP_IMAP` is set; with `FOLLOWUP_INTEROP=1`
//! a missing or unreachable Dovecot is a failure. `.ci/run` sets it up with
//! `.ci/dovecot-setup.sh`, which also stops and starts the server for the fault test. Messages
//! are delivered by writing files into the Maildir, as an MDA does. The tests share one mailbox,
//! so they take turns (`TURN`); each finds its own messages by a unique Message-ID.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use followup::core::MessageId;
use followup::input::secret::Secret;
use followup::mailbox::imap::TEXT_PREFIX_BYTES;
use followup::mailbox::{
    Backoff, Batch, FolderWatch, ImapClient, ImapError, ImapSettings, Session, StartAt, Timeouts,
    Wake,
};
use followup::net::Security;

const HOW_TO_RUN: &str = "as root, `bash .ci/run` sets up Dovecot and runs the suite; or run \
     `bash .ci/dovecot-setup.sh` as root, then `FOLLOWUP_INTEROP_IMAP=127.0.0.1:143 \
     FOLLOWUP_INTEROP_IMAPS=127.0.0.1:993 FOLLOWUP_INTEROP_IMAP_USER=fuinterop \
     FOLLOWUP_INTEROP_IMAP_PASSWORD=followup-imap-test \
     FOLLOWUP_INTEROP_IMAP_MAILDIR=/home/fuinterop/Maildir cargo test --test imap_dovecot` as root";

/// How long anything the server should do at once may take on a loaded machine.
const DEADLINE: Duration = Duration::from_secs(30);

/// One test at a time on the shared mailbox (and the fault test stops the server).
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Dovecot {
    host: String,
    starttls_port: u16,
    tls_port: u16,
    user: String,
    password: String,
    maildir: PathBuf,
}

/// The server from the environment: `Ok(None)` to skip, `Err` when it must be there and is not.
fn dovecot() -> Result<Option<Dovecot>, String> {
    let required = std::env::var("FOLLOWUP_INTEROP").is_ok_and(|v| v == "1");
    let Ok(imap) = std::env::var("FOLLOWUP_INTEROP_IMAP") else {
        return if required {
            Err("FOLLOWUP_INTEROP=1 but FOLLOWUP_INTEROP_IMAP is not set".into())
        } else {
            Ok(None)
        };
    };
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let split = |v: &str| -> Result<(String, u16), String> {
        let (h, p) = v
            .rsplit_once(':')
            .ok_or(format!("`{v}` is not host:port"))?;
        Ok((
            h.to_string(),
            p.parse().map_err(|_| format!("`{v}`: bad port"))?,
        ))
    };
    let (host, starttls_port) = split(&imap)?;
    let (_, tls_port) = split(&var("FOLLOWUP_INTEROP_IMAPS")?)?;
    let d = Dovecot {
        host,
        starttls_port,
        tls_port,
        user: var("FOLLOWUP_INTEROP_IMAP_USER")?,
        password: var("FOLLOWUP_INTEROP_IMAP_PASSWORD")?,
        maildir: PathBuf::from(var("FOLLOWUP_INTEROP_IMAP_MAILDIR")?),
    };
    std::net::TcpStream::connect_timeout(
        &format!("{}:{}", d.host, d.starttls_port)
            .parse()
            .map_err(|e| format!("{imap}: {e}"))?,
        Duration::from_secs(5),
    )
    .map_err(|e| format!("nothing answers on {imap}: {e}"))?;
    Ok(Some(d))
}

/// Runs a test body against Dovecot, or prints why it skips.
macro_rules! with_dovecot {
    ($name:literal, |$d:ident| $body:expr) => {{
        let $d = match dovecot() {
            Ok(Some(d)) => d,
            Ok(None) => {
                println!(
                    "skipped {}: FOLLOWUP_INTEROP_IMAP is not set; to run it against Dovecot, {HOW_TO_RUN}",
                    $name
                );
                return;
            }
            Err(e) => panic!("{e}\nTo run it: {HOW_TO_RUN}"),
        };
        let _turn = TURN.lock().await;
        $body
    }};
}

fn fixture_cert() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/tls/cert.pem")
}

/// Short timeouts, so a failure shows within the test's deadlines.
fn test_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(10),
        command: Duration::from_secs(20),
        idle_silence: Duration::from_secs(150),
        idle_renew: Duration::from_secs(300),
    }
}

impl Dovecot {
    fn settings(&self, security: Security) -> ImapSettings {
        ImapSettings {
            host: self.host.clone(),
            port: match security {
                Security::Tls => self.tls_port,
                Security::Starttls | Security::Plain => self.starttls_port,
            },
            security,
            username: self.user.clone(),
            password: Secret::new(self.password.clone()),
            ca_file: Some(fixture_cert()),
            timeouts: test_timeouts(),
            use_idle: true,
        }
    }

    fn client(&self, security: Security) -> ImapClient {
        ImapClient::new(self.settings(security)).expect("settings are valid")
    }

    async fn session(&self) -> Session {
        self.client(Security::Starttls)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot log in to Dovecot: {e}"))
    }

    /// Delivers a message into the INBOX as an MDA does (tmp/, then a rename into new/), owned
    /// by the mailbox's user. Returns the file's path.
    fn deliver(&self, message: &[u8]) -> PathBuf {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(&self.maildir).expect("the Maildir exists");
        let name = format!(
            "{}.followup-test.{}",
            now_secs(),
            uuid::Uuid::new_v4().simple()
        );
        let tmp = self.maildir.join("tmp").join(&name);
        std::fs::write(&tmp, message).expect("write into Maildir/tmp");
        std::os::unix::fs::chown(&tmp, Some(owner.uid()), Some(owner.gid())).expect("chown");
        let new = self.maildir.join("new").join(&name);
        std::fs::rename(&tmp, &new).expect("rename into Maildir/new");
        new
    }

    /// Removes a delivered file, wherever Dovecot moved it (new/ or cur/ with flags).
    fn remove_delivered(&self, delivered: &Path) {
        let name = delivered
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for dir in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(dir)) {
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().starts_with(&name) {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
    }

    /// The flags Dovecot keeps in the file name (`...:2,S`) of every file of a folder holding
    /// this Message-ID.
    fn maildir_flags(&self, folder: Option<&str>, id: &MessageId) -> Vec<String> {
        let root = match folder {
            None => self.maildir.clone(),
            Some(f) => self.maildir.join(format!(".{f}")),
        };
        let needle = id.to_string();
        let mut flags = Vec::new();
        for dir in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let holds = std::fs::read(e.path())
                    .map(|b| String::from_utf8_lossy(&b).contains(&needle))
                    .unwrap_or(false);
                if holds {
                    let name = e.file_name().to_string_lossy().into_owned();
                    flags.push(
                        name.rsplit_once(":2,")
                            .map(|(_, f)| f.to_string())
                            .unwrap_or_default(),
                    );
                }
            }
        }
        flags
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn unique_id(what: &str) -> MessageId {
    MessageId::from_header(&format!(
        "<{what}.{}@followup-test.example.org>",
        uuid::Uuid::new_v4().simple()
    ))
    .unwrap()
}

fn message(id: &MessageId, subject: &str) -> Vec<u8> {
    format!(
        "From: Jane Roe <jane.roe@globex.example>\r\nTo: Sam Rivera <sam@example.org>\r\n\
         Subject: {subject}\r\nDate: Thu, 5 Nov 2026 09:12:40 +0100\r\nMessage-ID: {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hi Sam,\r\n\r\nthanks for your note.\r\n"
    )
    .into_bytes()
}

/// Whether a Dovecot imap process of this user is in IDLE now (its title says so).
fn a_session_is_idling(user: &str) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        std::fs::read(p.path().join("cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("imap [") && c.contains(user) && c.contains(" IDLE]")
        })
    })
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs `.ci/dovecot-setup.sh ACTION` (stop/start), failing the test if it fails.
fn dovecot_ctl(action: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/dovecot-setup.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(action)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run .ci/dovecot-setup.sh");
    assert!(
        out.status.success(),
        "`{} {action}` failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Starts Dovecot again when the fault test ends, however it ends.
struct StartOnDrop;

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        dovecot_ctl("start");
    }
}

#[tokio::test]
async fn logs_in_over_starttls_implicit_tls_and_plain_on_loopback() {
    with_dovecot!(
        "logs_in_over_starttls_implicit_tls_and_plain_on_loopback",
        |d| {
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
    )
}

#[tokio::test]
async fn tls_without_the_servers_certificate_trusted_fails_clearly() {
    with_dovecot!(
        "tls_without_the_servers_certificate_trusted_fails_clearly",
        |d| {
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
    )
}

#[tokio::test]
async fn a_wrong_password_is_an_auth_failure_and_not_transient() {
    with_dovecot!(
        "a_wrong_password_is_an_auth_failure_and_not_transient",
        |d| {
            let mut settings = d.settings(Security::Starttls);
            settings.password = Secret::new("not-the-password");
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
    )
}

#[tokio::test]
async fn list_finds_the_special_use_sent_folder() {
    with_dovecot!("list_finds_the_special_use_sent_folder", |d| {
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
    })
}

#[tokio::test]
async fn append_files_one_seen_copy_and_never_a_duplicate() {
    with_dovecot!("append_files_one_seen_copy_and_never_a_duplicate", |d| {
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
    })
}

#[tokio::test]
async fn fetch_after_a_uid_returns_only_newer_messages_and_sets_no_flag() {
    with_dovecot!(
        "fetch_after_a_uid_returns_only_newer_messages_and_sets_no_flag",
        |d| {
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
    )
}

#[tokio::test]
async fn a_50_mb_message_is_fetched_as_its_header_and_a_prefix() {
    with_dovecot!(
        "a_50_mb_message_is_fetched_as_its_header_and_a_prefix",
        |d| {
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
    )
}

#[tokio::test]
async fn idle_wakes_when_a_message_is_delivered() {
    with_dovecot!("idle_wakes_when_a_message_is_delivered", |d| {
        let mut session = d.session().await;
        let before = session.examine("INBOX").await.unwrap();
        let waiting = tokio::spawn(async move {
            let wake = session.idle(Duration::from_secs(120)).await;
            (wake, session)
        });
        wait_until("Dovecot shows the session in IDLE", || {
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
    })
}

// Two threads: the watch keeps retrying while the test stops and starts the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_idle_is_reconnected_with_backoff_and_nothing_is_missed() {
    with_dovecot!(
        "a_server_stopped_mid_idle_is_reconnected_with_backoff_and_nothing_is_missed",
        |d| {
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
            wait_until("the watch idles", || a_session_is_idling(&d.user)).await;
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
            wait_until("the watch idles again", || a_session_is_idling(&d.user)).await;
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
    )
}

/// The pids of this user's Dovecot imap processes that are in IDLE.
fn idling_pids(user: &str) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid: i32 = p.file_name().to_str()?.parse().ok()?;
            let c = std::fs::read(p.path().join("cmdline")).ok()?;
            let c = String::from_utf8_lossy(&c);
            (c.contains("imap [") && c.contains(user) && c.contains(" IDLE]")).then_some(pid)
        })
        .collect()
}

#[tokio::test]
async fn idle_that_hears_nothing_ends_and_the_session_stays_usable() {
    with_dovecot!(
        "idle_that_hears_nothing_ends_and_the_session_stays_usable",
        |d| {
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
    )
}

#[tokio::test]
async fn a_server_that_goes_silent_mid_idle_is_a_transient_timeout_not_a_hang() {
    with_dovecot!(
        "a_server_that_goes_silent_mid_idle_is_a_transient_timeout_not_a_hang",
        |d| {
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
            wait_until("Dovecot shows the session in IDLE", || {
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
    )
}

#[tokio::test]
async fn without_idle_the_watch_polls_and_still_sees_new_mail() {
    with_dovecot!(
        "without_idle_the_watch_polls_and_still_sees_new_mail",
        |d| {
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
    )
}

#[tokio::test]
async fn a_changed_uidvalidity_restarts_reading_from_the_start_date() {
    with_dovecot!(
        "a_changed_uidvalidity_restarts_reading_from_the_start_date",
        |d| {
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
    )
}

/// A log sink the test can read.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

#[tokio::test]
async fn the_password_never_reaches_the_log_even_at_trace_level() {
    with_dovecot!(
        "the_password_never_reaches_the_log_even_at_trace_level",
        |d| {
            use followup::logging::filter_from;
            use tracing_subscriber::prelude::*;
            use tracing_subscriber::{EnvFilter, reload};

            let captured = Captured::default();
            let sink = captured.clone();
            let (filter, handle) = reload::Layer::new(EnvFilter::new("trace"));
            // Global, with the `log` bridge, as `tracing_subscriber::fmt().init()` sets it up.
            tracing_subscriber::registry()
                .with(filter)
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_ansi(false)
                        .with_writer(move || sink.clone()),
                )
                .try_init()
                .expect("no other test of this binary installs a global subscriber");

            // Unfiltered, async-imap logs the LOGIN command: the reason the directive exists.
            d.client(Security::Plain)
                .connect()
                .await
                .unwrap()
                .logout()
                .await
                .unwrap();
            let raw = captured.take();
            assert!(
                raw.contains(&d.password),
                "async-imap no longer logs LOGIN at trace; logging::PROTOCOL_LOG_OFF may be dropped:\n{raw}"
            );

            handle.reload(filter_from("trace").unwrap()).unwrap();
            d.client(Security::Plain)
                .connect()
                .await
                .unwrap()
                .logout()
                .await
                .unwrap();
            let filtered = captured.take();
            assert!(!filtered.contains(&d.password), "{filtered}");
            assert!(!filtered.contains("LOGIN"), "{filtered}");
        }
    )
}
