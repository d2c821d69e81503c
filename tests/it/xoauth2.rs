//! `password_command` and `auth: xoauth2` through the real binary and the library, against the
//! in-process SMTP server taught `AUTH XOAUTH2` (IMAP against Dovecot is in `imap_dovecot`).
//! The token comes from a test token helper that counts its runs and prints the current token.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::support::api::{
    Auth, DeliveryError, EmailAddress, Envelope, PasswordCommand, PasswordSource, SecretSource,
    Security, SmtpConfig, SmtpOptions, SmtpSender, Stage,
};
use crate::support::smtp_server::{ServerOptions, TestSmtpServer};
use crate::support::world::World;

pub const ACCOUNT: &str = "sam@example.org";

/// A token helper in `dir`: each run adds one to `runs` and prints the first line of `token`
/// (or, while `token.next` exists, prints `token` once and then moves `token.next` over it:
/// a helper whose first answer is already stale).
pub struct TokenHelper {
    pub dir: PathBuf,
}

impl TokenHelper {
    pub fn new(dir: &Path, token: &str) -> TokenHelper {
        let helper = TokenHelper {
            dir: dir.to_path_buf(),
        };
        helper.set(token);
        let script = format!(
            "#!/bin/sh\nd='{d}'\nn=$(cat \"$d/runs\" 2>/dev/null || echo 0)\n\
             echo $((n + 1)) > \"$d/runs\"\ncat \"$d/token\"\n\
             if [ -e \"$d/token.next\" ]; then mv \"$d/token.next\" \"$d/token\"; fi\n",
            d = dir.display()
        );
        let path = helper.script();
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        helper
    }

    pub fn script(&self) -> PathBuf {
        self.dir.join("token-helper")
    }

    pub fn set(&self, token: &str) {
        std::fs::write(self.dir.join("token"), format!("{token}\n")).unwrap();
    }

    /// The next run prints the current token, and the runs after it `token`.
    pub fn stale_once_then(&self, token: &str) {
        std::fs::write(self.dir.join("token.next"), format!("{token}\n")).unwrap();
    }

    pub fn runs(&self) -> u32 {
        std::fs::read_to_string(self.dir.join("runs"))
            .map(|s| s.trim().parse().unwrap())
            .unwrap_or(0)
    }

    pub fn command(&self) -> PasswordCommand {
        PasswordCommand(vec![self.script().display().to_string()])
    }
}

fn xoauth2_server(token: &str) -> (TestSmtpServer, Arc<Mutex<String>>) {
    let current = Arc::new(Mutex::new(token.to_owned()));
    let server = TestSmtpServer::start(ServerOptions {
        auth: Some((ACCOUNT.into(), "no-password-login".into())),
        xoauth2: Some(current.clone()),
        ..ServerOptions::default()
    });
    (server, current)
}

/// A home in approve mode whose SMTP server takes XOAUTH2 with `token`, the helper at its root.
fn home(token: &str) -> (World, TokenHelper, Arc<Mutex<String>>) {
    let current = Arc::new(Mutex::new(token.to_owned()));
    let w = World::serving_with(
        "approve",
        ServerOptions {
            auth: Some((ACCOUNT.into(), "no-password-login".into())),
            xoauth2: Some(current.clone()),
            ..ServerOptions::default()
        },
    );
    let helper = TokenHelper::new(w.root(), token);
    let script = helper.script().display().to_string();
    let w = w.configure(|c| {
        c.smtp.as_mut().unwrap().extra =
            format!("  username: {ACCOUNT}\n  auth: xoauth2\n  password_command: [\"{script}\"]\n");
    });
    (w, helper, current)
}

#[test]
fn check_smtp_with_xoauth2_sends_with_the_token_and_never_shows_it() {
    let token = "ya29.smtp-token-4f1d0c9e";
    let (w, helper, _) = home(token);
    w.ok(&["validate"]);
    let before = helper.runs();
    assert!(before >= 1, "validate runs the command");
    let out = w
        .followup()
        .env("RUST_LOG", "trace")
        .args(["check-smtp", "--send-to", "jane@example.org"])
        .succeeds();
    // The transcript, for `--nocapture`.
    println!(
        "$ followup check-smtp --send-to jane@example.org\n{}",
        out.stdout
    );
    assert!(out.stdout.contains("with XOAUTH2"), "{}", out.stdout);
    assert!(out.stdout.contains("AUTH XOAUTH2"), "{}", out.stdout);
    let received = w.server().received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].authenticated_as.as_deref(), Some(ACCOUNT));
    // Once to check the setup, once for each connection: the check's and the send's.
    assert_eq!(helper.runs(), before + 3);
    let everything = format!("{}{}", out.stdout, out.stderr);
    assert!(!everything.contains(token), "{everything}");
    assert!(!everything.contains("smtp-token"), "{everything}");
    assert!(!everything.contains("auth=Bearer"), "{everything}");
    // Nor the XOAUTH2 string in base64 (`user=` begins it).
    assert!(!everything.contains("dXNlcj1"), "{everything}");
}

#[test]
fn a_token_the_server_refuses_is_an_error_at_auth_in_check_smtp() {
    let (w, _helper, current) = home("ya29.old-token");
    *current.lock().unwrap() = "ya29.only-the-server-knows".into();
    let out = w.run(&["check-smtp"]).exit(1);
    println!("$ followup check-smtp\n{}", out.stderr);
    assert!(out.stderr.contains("AUTH"), "{}", out.stderr);
    assert!(out.stderr.contains("535"), "{}", out.stderr);
    assert!(!out.stderr.contains("ya29"), "{}", out.stderr);
    assert!(w.server().received().is_empty());
}

#[test]
fn xoauth2_against_a_server_without_it_names_what_the_server_offers() {
    let w = World::serving_with(
        "approve",
        ServerOptions {
            auth: Some((ACCOUNT.into(), "pw".into())),
            ..ServerOptions::default()
        },
    );
    let helper = TokenHelper::new(w.root(), "ya29.unused");
    let script = helper.script().display().to_string();
    let w = w.configure(|c| {
        c.smtp.as_mut().unwrap().extra =
            format!("  username: {ACCOUNT}\n  auth: xoauth2\n  password_command: [\"{script}\"]\n");
    });
    let out = w.run(&["check-smtp"]).exit(1);
    println!("$ followup check-smtp\n{}", out.stderr);
    assert!(out.stderr.contains("no AUTH XOAUTH2"), "{}", out.stderr);
    assert!(out.stderr.contains("AUTH PLAIN, LOGIN"), "{}", out.stderr);
}

/// Each bad command is refused by `validate` and `check-smtp` in words: the program, what it
/// did, its last line on standard error.
#[test]
fn each_bad_password_command_is_a_clear_error_in_validate_and_check_smtp() {
    let (mut w, _helper, _) = home("ya29.unused");
    w.write_file(
        "fails",
        b"#!/bin/sh\necho 'pizauth: token expired, run pizauth refresh' >&2\nexit 1\n",
    );
    w.write_file("silent", b"#!/bin/sh\nexit 0\n");
    w.write_file("not-executable", b"#!/bin/sh\necho x\n");
    for name in ["fails", "silent"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(w.path(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let cases = [
        ("/nonexistent/token-helper".to_string(), "cannot be started"),
        (
            w.path("not-executable").display().to_string(),
            "cannot be started",
        ),
        (
            w.path("fails").display().to_string(),
            "exited with status 1; its last words on standard error: pizauth: token expired, \
             run pizauth refresh",
        ),
        (w.path("silent").display().to_string(), "printed nothing"),
    ];
    for (program, needle) in cases {
        w = w.configure(|c| {
            c.smtp.as_mut().unwrap().extra = format!(
                "  username: {ACCOUNT}\n  auth: xoauth2\n  password_command: [\"{program}\"]\n"
            );
        });
        for command in ["validate", "check-smtp"] {
            let out = w.run(&[command]).exit(1);
            println!("$ followup {command}\n{}", out.stderr);
            assert!(
                out.stderr.contains(&program) && out.stderr.contains(needle),
                "{command} with {program}: expected `{needle}`:\n{}",
                out.stderr
            );
            // At the line of `password_command` (the section starts at line 10).
            assert!(out.stderr.contains("followup.yaml:15:"), "{}", out.stderr);
        }
        assert_eq!(w.server().connection_count(), 0);
    }
}

fn sender_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        security: Security::Plain,
        username: Some(ACCOUNT.into()),
        password: PasswordSource::Env("UNUSED".into()),
        auth: Auth::Xoauth2,
        ca_file: None,
        timeout: None,
        hello_name: None,
    }
}

const RAW: &[u8] =
    b"From: sam@example.org\r\nTo: jane@example.org\r\nSubject: Thanks\r\n\r\nHello\r\n";

fn envelope() -> Envelope {
    Envelope {
        from: EmailAddress::parse(ACCOUNT).unwrap(),
        to: EmailAddress::parse("jane@example.org").unwrap(),
    }
}

/// The token rotated and the old one revoked: the next connection runs the command again and
/// sends with the new token; a stale first answer is fetched once more and tried once more.
#[tokio::test]
async fn a_rotated_token_is_fetched_at_the_next_connection_and_a_stale_one_is_retried_once() {
    let dir = tempfile::tempdir().unwrap();
    let helper = TokenHelper::new(dir.path(), "ya29.first");
    let (server, current) = xoauth2_server("ya29.first");
    let sender = SmtpSender::with_secret(
        &sender_config(server.port),
        Some(SecretSource::Command(helper.command())),
        SmtpOptions::default(),
    )
    .unwrap();
    sender.send(&envelope(), RAW).await.unwrap();
    assert_eq!(helper.runs(), 1);
    sender.shutdown().await;

    // Rotated at the server and in the helper: the next connection uses the new one.
    *current.lock().unwrap() = "ya29.second".into();
    helper.set("ya29.second");
    sender.send(&envelope(), RAW).await.unwrap();
    assert_eq!(helper.runs(), 2);
    sender.shutdown().await;

    // The helper's first answer is stale (the old token), its second fresh.
    *current.lock().unwrap() = "ya29.third".into();
    helper.stale_once_then("ya29.third");
    sender.send(&envelope(), RAW).await.unwrap();
    assert_eq!(helper.runs(), 4, "one refused token, one retry");
    assert_eq!(server.received().len(), 3);
    sender.shutdown().await;

    // Refused twice: a failure at AUTH after exactly one retry, nothing sent.
    *current.lock().unwrap() = "ya29.revoked-everywhere".into();
    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(
        matches!(
            err,
            DeliveryError::Permanent {
                stage: Stage::Auth,
                code: 535,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(helper.runs(), 6);
    assert_eq!(server.received().len(), 3);
}

// --- IMAP against Dovecot's oauth2 passdb --------------------------------------------------

mod dovecot {
    use std::time::Duration;

    use super::{ACCOUNT, TokenHelper};
    use crate::support::api::{Auth, ImapClient, ImapError, SecretSource, Security};
    use crate::support::dovecot::{DEADLINE, Dovecot, StartOnDrop, dovecot_ctl, fixture_cert};
    use crate::support::introspection::Introspection;
    use crate::support::smtp_server::ServerOptions;
    use crate::support::wait::wait_for_async;
    use crate::support::world::{ME, World};

    fn client(d: &Dovecot, helper: &TokenHelper, security: Security) -> ImapClient {
        let mut settings = d.settings(security);
        settings.auth = Auth::Xoauth2;
        settings.password = SecretSource::Command(helper.command());
        ImapClient::new(settings).unwrap()
    }

    #[tokio::test]
    async fn imap_xoauth2_logs_in_with_the_token_and_a_revoked_one_is_refused_after_one_retry() {
        let Some((d, _turn)) = Dovecot::take().await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let helper = TokenHelper::new(dir.path(), "imap-token-one");
        let endpoint = Introspection::start(&d.user, &["imap-token-one"]);

        for security in [Security::Starttls, Security::Tls] {
            let session = client(&d, &helper, security).connect().await.unwrap();
            session.logout().await.unwrap();
        }
        assert_eq!(helper.runs(), 2, "one run per login");
        assert!(endpoint.asked() >= 2);

        // Revoked at the provider, still printed by the helper: refused after one retry.
        endpoint.rotate("imap-token-two");
        let err = client(&d, &helper, Security::Starttls)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(err, ImapError::AuthFailed { .. }), "{err:?}");
        assert_eq!(helper.runs(), 4);
        assert!(!format!("{err} {err:?}").contains("imap-token"), "{err:?}");

        // The helper's first answer is stale, its second fresh: one login, two runs.
        helper.stale_once_then("imap-token-two");
        let session = client(&d, &helper, Security::Starttls)
            .connect()
            .await
            .unwrap();
        session.logout().await.unwrap();
        assert_eq!(helper.runs(), 6);
    }

    /// Under `xoauth2`, IDLE ends at the re-login time and the watch logs in again with a
    /// fresh token (45 minutes in production; two seconds here).
    #[tokio::test]
    async fn under_xoauth2_an_idle_watch_logs_in_again_with_a_fresh_token() {
        use crate::support::api::{FolderWatch, StartAt};
        let Some((d, _turn)) = Dovecot::take().await else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let helper = TokenHelper::new(dir.path(), "relogin-token-1");
        let endpoint = Introspection::start(&d.user, &["relogin-token-1"]);
        let mut settings = d.settings(Security::Starttls);
        settings.auth = Auth::Xoauth2;
        settings.password = SecretSource::Command(helper.command());
        settings.timeouts.token_relogin = Duration::from_secs(2);
        let client = ImapClient::new(settings).unwrap();
        let mut watch = FolderWatch::new(
            client,
            "INBOX",
            None,
            StartAt::New,
            Duration::from_secs(3600),
        );
        watch.next().await.unwrap();
        assert_eq!(helper.runs(), 1);
        // The provider rotates the token; the helper hands out the new one.
        endpoint.rotate("relogin-token-2");
        helper.set("relogin-token-2");
        let started = std::time::Instant::now();
        watch.next().await.unwrap(); // IDLE, ended at the re-login time
        assert!(started.elapsed() < DEADLINE, "IDLE was not cut short");
        watch.next().await.unwrap(); // a fresh login with the new token
        assert_eq!(helper.runs(), 2);
        assert!(watch.is_connected());
    }

    /// A home in `send` mode whose SMTP server (in-process) and mailbox (Dovecot) both take
    /// XOAUTH2 with the helper's token; Jane's interview at a domain no other test uses.
    fn home(
        d: &Dovecot,
        token: &str,
    ) -> (
        World,
        TokenHelper,
        std::sync::Arc<std::sync::Mutex<String>>,
        String,
    ) {
        let current = std::sync::Arc::new(std::sync::Mutex::new(token.to_owned()));
        let w = World::serving_with(
            "send",
            ServerOptions {
                auth: Some((ACCOUNT.into(), "no-password-login".into())),
                xoauth2: Some(current.clone()),
                ..ServerOptions::default()
            },
        );
        let helper = TokenHelper::new(w.root(), token);
        let script = helper.script().display().to_string();
        let domain = format!("globex-{}.example.com", uuid::Uuid::new_v4().simple());
        let jane = format!("jane@{domain}");
        let record = format!(
            "company: Globex\nposition: Backend Engineer\nstart: 2026-11-03 10:00\n\
             interviewers:\n  - name: Jane Roe\n    email: {jane}\n"
        );
        let imap = format!(
            "imap:\n  host: {}\n  port: {}\n  security: starttls\n  ca_file: {}\n  \
             username: {}\n  auth: xoauth2\n  password_command: [\"{script}\"]\n  poll: 1h\n",
            d.host,
            d.starttls_port,
            fixture_cert().display(),
            d.user
        );
        let w = w.with("globex.yaml", &record).configure(|c| {
            c.smtp.as_mut().unwrap().extra = format!(
                "  username: {ACCOUNT}\n  auth: xoauth2\n  password_command: [\"{script}\"]\n"
            );
            c.extra.push_str(&imap);
        });
        (w, helper, current, jane)
    }

    #[tokio::test]
    async fn check_imap_with_xoauth2_logs_in_and_the_token_never_reaches_the_log() {
        let Some((d, _turn)) = Dovecot::take().await else {
            return;
        };
        let token = "imap-check-token-8c1f";
        let _endpoint = Introspection::start(&d.user, &[token]);
        let (w, _helper, _, _) = home(&d, token);
        w.ok(&["validate"]);
        let out = w
            .followup()
            .env("RUST_LOG", "trace")
            .arg("check-imap")
            .succeeds();
        println!("$ followup check-imap\n{}", out.stdout);
        assert!(out.stdout.contains("logged in as"), "{}", out.stdout);
        assert!(out.stdout.contains("XOAUTH2"), "{}", out.stdout);
        let everything = format!("{}{}", out.stdout, out.stderr);
        assert!(!everything.contains(token), "{everything}");
        assert!(!everything.contains("auth=Bearer"), "{everything}");
    }

    /// The token rotated and the old one revoked while the daemon runs, then Dovecot restarted
    /// (stopped, a reply delivered meanwhile, started again): the daemon logs in again with the
    /// new token, hears the reply, and its next send (the notice of the reply) goes out with the
    /// new token. Nothing at trace level shows either token.
    #[tokio::test]
    async fn a_token_rotated_while_the_daemon_runs_is_used_at_the_next_login_and_send() {
        let Some((d, _turn)) = Dovecot::take().await else {
            return;
        };
        let (old, new) = ("daemon-token-old-51d2", "daemon-token-new-a7e9");
        let endpoint = Introspection::start(&d.user, &[old]);
        let (w, helper, smtp_token, jane) = home(&d, old);
        w.once_at("2026-11-03 13:00");
        let mail = w.to(&jane);
        assert_eq!(mail.len(), 1, "the thank-you went out with XOAUTH2");
        let parent = mail[0].one("Message-ID");

        // Outside the home: the daemon watches the config's directory, and at trace level each
        // change it hears of is a line of log, which would be another change.
        let logs = tempfile::tempdir().unwrap();
        let log = logs.path().join("daemon.log");
        // Everything at trace level but sled's page cache, which says nothing about mail.
        let mut daemon = w
            .followup()
            .env("RUST_LOG", "trace,sled=info")
            .arg("run")
            .spawn(&log);
        let deadline = std::time::Instant::now() + DEADLINE;
        while !crate::support::dovecot::a_session_is_idling(&d.user) {
            if std::time::Instant::now() > deadline || daemon.try_exit().is_some() {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                let tail: String = text.lines().rev().take(60).collect::<Vec<_>>().join("\n");
                panic!(
                    "the daemon does not idle on INBOX; its last log lines, newest first:\n{tail}"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let runs_before = helper.runs();
        // Rotated at the provider (the old token revoked) and in the helper; then the server
        // restarts, which ends the daemon's sessions (`* BYE Server shutting down.`) and leaves
        // it nothing to connect to until it is back. The reply arrives meanwhile.
        helper.set(new);
        endpoint.rotate(new);
        *smtp_token.lock().unwrap() = new.into();
        let logged_before = std::fs::read_to_string(&log).map_or(0, |t| t.len());
        {
            // Started again however the test ends.
            let _start_again = StartOnDrop;
            dovecot_ctl("stop");
            d.deliver(&reply(&jane, &parent));
            wait_for_async("the daemon notices the server is gone", DEADLINE, || {
                std::fs::read_to_string(&log).is_ok_and(|t| {
                    t.get(logged_before..)
                        .is_some_and(|t| t.contains("cannot read"))
                })
            })
            .await;
        }
        wait_for_async("the reply is heard once Dovecot is back", DEADLINE, || {
            w.ok(&["replies", "--json"])
                .json()
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r["kind"] == "reply"))
        })
        .await;
        wait_for_async("the notice goes out with the new token", DEADLINE, || {
            w.to(ME).iter().any(|m| m.subject().contains("answered"))
        })
        .await;
        assert!(helper.runs() > runs_before, "the command ran again");
        daemon.signal(libc::SIGTERM);
        wait_for_async("the daemon stops", Duration::from_secs(20), || {
            daemon.try_exit().is_some()
        })
        .await;
        let text = std::fs::read_to_string(&log).unwrap();
        for secret in [old, new, "auth=Bearer", "dXNlcj1"] {
            assert!(!text.contains(secret), "`{secret}` in the log:\n{text}");
        }
    }

    pub fn reply(jane: &str, parent: &str) -> Vec<u8> {
        let id = format!("<reply.{}@example.com>", uuid::Uuid::new_v4().simple());
        format!(
            "From: Jane Roe <{jane}>\r\nTo: Sam Seeker <{ME}>\r\nSubject: Re: Thank you\r\n\
             Date: Wed, 04 Nov 2026 10:00:00 -0500\r\nMessage-ID: {id}\r\n\
             In-Reply-To: {parent}\r\nReferences: {parent}\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nThanks Sam, we will be in touch.\r\n"
        )
        .into_bytes()
    }
}

/// A token helper that fails for the mailbox fails the reading, not the daemon: the thank-you
/// still goes out over SMTP, and the run says what failed, in words.
#[test]
fn a_failing_imap_password_command_stops_the_reading_not_the_sending() {
    let (w, _helper, _) = home("ya29.smtp-is-fine");
    w.write_file(
        "imap-helper",
        b"#!/bin/sh\necho 'oama: no refresh token for sam, run oama authorize' >&2\nexit 2\n",
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            w.path("imap-helper"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    let helper = w.path("imap-helper").display().to_string();
    // An IMAP server that greets and waits: the login is never reached, the command fails first.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut kept = Vec::new();
        for mut stream in listener.incoming().flatten() {
            use std::io::Write;
            let _ = stream.write_all(b"* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2] ready\r\n");
            kept.push(stream);
        }
    });
    let record = "company: Globex\nposition: Backend Engineer\nstart: 2026-11-03 10:00\n\
                  interviewers:\n  - name: Jane Roe\n    email: jane@globex.example.com\n";
    let w = w.with("globex.yaml", record).configure(|c| {
        c.mode = Some("send".into());
        c.extra.push_str(&format!(
            "imap:\n  host: 127.0.0.1\n  port: {port}\n  security: plain\n  username: {ACCOUNT}\n  \
             auth: xoauth2\n  password_command: [\"{helper}\"]\n"
        ));
    });
    // `validate` runs the command and refuses; the daemon runs it at each login instead.
    let refused = w.run(&["validate"]).exit(1).stderr;
    assert!(refused.contains("exited with status 2"), "{refused}");
    let out = w.once_at("2026-11-03 13:00");
    assert_eq!(w.to("jane@globex.example.com").len(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("oama: no refresh token"),
        "the reason is in the log:\n{}",
        out.stderr
    );
}
