//! SMTP delivery against a real in-process SMTP server: every failure lands in the right class.

use std::time::Duration;

use crate::support::api::{
    DeliveryError, EmailAddress, Envelope, PasswordSource, Secret, Security, SmtpConfig,
    SmtpOptions, SmtpSender, SmtpSetupError, Stage, Transport, nothing_to_record,
};
use crate::support::smtp_server::{Behaviour, FailAt, ServerOptions, StallAt, TestSmtpServer};
use crate::support::wait::{PATIENCE, wait_for};

const PASSWORD: &str = "correct horse battery staple";

const RAW: &[u8] = b"From: me@example.com\r\n\
To: jane@example.org\r\n\
Subject: Thank you\r\n\
\r\n\
Hello Jane,\r\n\
.a line that starts with a dot\r\n\
.\r\n\
Best\r\n";

fn envelope() -> Envelope {
    Envelope {
        from: EmailAddress::parse("me@example.com").unwrap(),
        to: EmailAddress::parse("jane@example.org").unwrap(),
    }
}

fn smtp_config(host: &str, port: u16, security: Security, user: Option<&str>) -> SmtpConfig {
    SmtpConfig {
        host: host.to_owned(),
        port,
        security,
        username: user.map(str::to_owned),
        password: PasswordSource::Env("UNUSED".into()),
        auth: Default::default(),
        ca_file: None,
        timeout: None,
        hello_name: None,
    }
}

fn options() -> SmtpOptions {
    SmtpOptions {
        hello_name: Some("client.example.com".into()),
        connect_timeout: Duration::from_millis(800),
        transaction_timeout: Duration::from_millis(800),
        extra_root_cert: Some(TestSmtpServer::cert_path()),
    }
}

fn plain_sender(server: &TestSmtpServer) -> SmtpSender {
    let config = smtp_config("127.0.0.1", server.port, Security::Plain, None);
    SmtpSender::new(&config, None, options()).unwrap()
}

fn tls_auth_options() -> ServerOptions {
    ServerOptions {
        starttls: true,
        auth: Some(("me".into(), PASSWORD.into())),
        ..ServerOptions::default()
    }
}

#[tokio::test]
async fn plain_to_loopback_delivers_the_exact_bytes_to_one_recipient() {
    let server = TestSmtpServer::behaving(Behaviour::Accept);
    let sender = plain_sender(&server);

    let delivered = sender.send(&envelope(), RAW).await.unwrap();

    assert!(delivered.response.starts_with("250"), "{delivered:?}");
    assert!(delivered.response.contains("TEST1"), "{delivered:?}");
    let received = server.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "me@example.com");
    assert_eq!(received[0].rcpt, vec!["jane@example.org".to_owned()]);
    assert_eq!(
        String::from_utf8_lossy(&received[0].data),
        String::from_utf8_lossy(RAW)
    );
    assert!(!received[0].tls);
}

#[tokio::test]
async fn starttls_and_auth_deliver_and_the_server_checks_the_password() {
    let server = TestSmtpServer::start(tls_auth_options());
    let config = smtp_config("localhost", server.port, Security::Starttls, Some("me"));
    let sender = SmtpSender::new(&config, Some(Secret::new(PASSWORD)), options()).unwrap();

    sender.send(&envelope(), RAW).await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
    assert_eq!(received[0].authenticated_as.as_deref(), Some("me"));
    assert_eq!(received[0].data, RAW);
    let commands = server.commands();
    let starttls = commands.iter().position(|c| c == "STARTTLS").unwrap();
    let auth = commands.iter().position(|c| c == "AUTH").unwrap();
    assert!(starttls < auth, "{commands:?}");
}

#[tokio::test]
async fn a_wrong_password_is_permanent_at_auth_and_never_shown() {
    let server = TestSmtpServer::start(tls_auth_options());
    let config = smtp_config("localhost", server.port, Security::Starttls, Some("me"));
    let wrong = "wrong-password-1234";
    let sender = SmtpSender::new(&config, Some(Secret::new(wrong)), options()).unwrap();

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
    assert!(!err.to_string().contains(wrong));
    assert!(!format!("{err:?}").contains(wrong));
    assert!(!format!("{sender:?}").contains(wrong));
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn implicit_tls_delivers() {
    let server = TestSmtpServer::start(ServerOptions {
        implicit_tls: true,
        auth: Some(("me".into(), PASSWORD.into())),
        ..ServerOptions::default()
    });
    let config = smtp_config("localhost", server.port, Security::Tls, Some("me"));
    let sender = SmtpSender::new(&config, Some(Secret::new(PASSWORD)), options()).unwrap();

    sender.send(&envelope(), RAW).await.unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1);
    assert!(received[0].tls);
    assert!(!server.saw_command("STARTTLS"));
}

#[tokio::test]
async fn an_untrusted_certificate_is_transient_at_tls() {
    let server = TestSmtpServer::start(tls_auth_options());
    let config = smtp_config("localhost", server.port, Security::Starttls, Some("me"));
    let options = SmtpOptions {
        extra_root_cert: None,
        ..options()
    };
    let sender = SmtpSender::new(&config, Some(Secret::new(PASSWORD)), options).unwrap();

    let err = sender.send(&envelope(), RAW).await.unwrap_err();

    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::Tls);
    assert!(!server.saw_command("AUTH"));
}

#[tokio::test]
async fn starttls_required_but_not_offered_fails_at_once_and_the_password_is_never_sent() {
    // The server offers AUTH in clear and no STARTTLS: the client must not take the bait.
    let server = TestSmtpServer::start(ServerOptions {
        starttls: false,
        auth: Some(("me".into(), PASSWORD.into())),
        ..ServerOptions::default()
    });
    let config = smtp_config("127.0.0.1", server.port, Security::Starttls, Some("me"));
    let sender = SmtpSender::new(&config, Some(Secret::new(PASSWORD)), options()).unwrap();

    let err = sender.send(&envelope(), RAW).await.unwrap_err();

    assert_eq!(err.stage(), Stage::Tls, "{err:?}");
    assert!(err.to_string().contains("STARTTLS"), "{err}");
    // Our own setup forbids this session: retrying for days cannot help.
    assert!(err.is_permanent(), "{err:?}");
    assert!(!err.body_may_have_been_handed_over());
    assert!(!server.saw_command("AUTH"), "{:?}", server.commands());
    assert!(!server.saw_command("MAIL"));
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn plain_to_the_ipv6_loopback_in_brackets_delivers() {
    let server = TestSmtpServer::start(ServerOptions {
        ipv6: true,
        ..ServerOptions::default()
    });
    let config = smtp_config("[::1]", server.port, Security::Plain, None);
    let sender = SmtpSender::new(&config, None, options()).unwrap();
    sender.send(&envelope(), RAW).await.unwrap();
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn plain_to_a_non_loopback_host_is_refused_without_connecting() {
    for host in ["mail.example.com", "192.0.2.25", "localhost.example.org"] {
        let config = smtp_config(host, 25, Security::Plain, None);
        let err = SmtpSender::new(&config, None, options()).unwrap_err();
        assert!(
            matches!(err, SmtpSetupError::PlainNotLoopback(ref e) if e.host == host),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn a_username_without_a_password_is_a_setup_error() {
    let config = smtp_config("localhost", 587, Security::Starttls, Some("me"));
    let err = SmtpSender::new(&config, None, options()).unwrap_err();
    assert!(matches!(err, SmtpSetupError::MissingPassword(_)), "{err:?}");
}

#[tokio::test]
async fn temp_fail_451_is_transient_and_the_connection_survives() {
    let server = TestSmtpServer::behaving(Behaviour::TempFail(FailAt::Rcpt));
    let sender = plain_sender(&server);

    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::RcptTo);

    server.set_behaviour(Behaviour::TempFail(FailAt::EndOfData));
    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::Body);
    assert!(!err.body_may_have_been_handed_over(), "a 451 is an answer");

    server.set_behaviour(Behaviour::Accept);
    sender.send(&envelope(), RAW).await.unwrap();
    assert_eq!(server.received().len(), 1);
    assert_eq!(server.connection_count(), 1, "reset and reused after a 4xx");
}

#[tokio::test]
async fn perm_fail_550_is_permanent() {
    let server = TestSmtpServer::behaving(Behaviour::PermFail(FailAt::Rcpt));
    let sender = plain_sender(&server);

    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(err.is_permanent(), "{err:?}");
    assert!(
        matches!(
            err,
            DeliveryError::Permanent {
                stage: Stage::RcptTo,
                code: 550,
                ..
            }
        ),
        "{err:?}"
    );

    server.set_behaviour(Behaviour::PermFail(FailAt::EndOfData));
    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(
        matches!(
            err,
            DeliveryError::Permanent {
                stage: Stage::Body,
                code: 554,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn connection_refused_is_transient_at_connect() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = smtp_config("127.0.0.1", port, Security::Plain, None);
    let sender = SmtpSender::new(&config, None, options()).unwrap();

    let err = sender.send(&envelope(), RAW).await.unwrap_err();

    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::Connect);
}

#[tokio::test]
async fn a_server_closing_at_once_is_transient_at_connect() {
    let server = TestSmtpServer::behaving(Behaviour::RefuseConnections);
    let err = plain_sender(&server)
        .send(&envelope(), RAW)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::Connect);
}

#[tokio::test]
async fn drop_after_body_is_uncertain() {
    let server = TestSmtpServer::behaving(Behaviour::DropAfterBody);
    let sender = plain_sender(&server);

    let err = sender.send(&envelope(), RAW).await.unwrap_err();

    assert!(err.body_may_have_been_handed_over(), "{err:?}");
    assert!(!err.is_transient() && !err.is_permanent());
}

/// A reply that never comes after the body ends the send at the transaction timeout as
/// uncertain, and the stalled connection is dropped: it is neither tested with `NOOP` nor
/// closed with `QUIT` (either would wait on a server that is not answering), nor is the message
/// tried again within the send. The next send opens a new connection.
#[tokio::test]
async fn stall_after_body_is_uncertain_and_the_stalled_connection_is_never_used_again() {
    let server = TestSmtpServer::behaving(Behaviour::Stall(StallAt::AfterBody));
    let config = smtp_config("127.0.0.1", server.port, Security::Plain, None);
    let options = SmtpOptions {
        transaction_timeout: Duration::from_millis(400),
        ..options()
    };
    let sender = SmtpSender::new(&config, None, options).unwrap();

    let err = sender.send(&envelope(), RAW).await.unwrap_err();

    assert!(err.body_may_have_been_handed_over(), "{err:?}");
    assert_eq!(server.stalls(), 1);
    assert_eq!(
        server.commands(),
        ["EHLO", "MAIL", "RCPT", "DATA"],
        "one transaction, nothing after the body"
    );

    server.set_behaviour(Behaviour::Accept);
    sender.send(&envelope(), RAW).await.unwrap();
    let commands = server.commands();
    assert_eq!(
        commands,
        [
            "EHLO", "MAIL", "RCPT", "DATA", "EHLO", "MAIL", "RCPT", "DATA"
        ],
        "the next send greets a new connection, with no NOOP on the stalled one"
    );
    assert_eq!(server.connection_count(), 2);
    assert_eq!(server.received().len(), 1);
}

#[tokio::test]
async fn stall_before_body_is_transient() {
    let server = TestSmtpServer::behaving(Behaviour::Stall(StallAt::Greeting));
    let sender = plain_sender(&server);
    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::Connect);

    server.set_behaviour(Behaviour::Stall(StallAt::Rcpt));
    let err = sender.send(&envelope(), RAW).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(err.stage(), Stage::RcptTo);
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn two_sends_reuse_one_connection() {
    let server = TestSmtpServer::behaving(Behaviour::Accept);
    let sender = plain_sender(&server);

    sender.send(&envelope(), RAW).await.unwrap();
    sender
        .send(&envelope(), b"Subject: second\r\n\r\nAgain.\r\n")
        .await
        .unwrap();

    assert_eq!(server.received().len(), 2);
    assert_eq!(server.connection_count(), 1);
    assert_eq!(server.commands().iter().filter(|c| *c == "EHLO").count(), 1);
    sender.shutdown().await;
    assert_eq!(server.commands().last().map(String::as_str), Some("QUIT"));
}

#[tokio::test]
async fn a_dead_pooled_connection_is_replaced_transparently() {
    let server = TestSmtpServer::behaving(Behaviour::Accept);
    let sender = plain_sender(&server);

    sender.send(&envelope(), RAW).await.unwrap();
    server.drop_connections();
    wait_for("the server to close the session", PATIENCE, || {
        server.sessions() == 0
    });
    sender.send(&envelope(), RAW).await.unwrap();

    assert_eq!(server.received().len(), 2);
    assert_eq!(server.connection_count(), 2);
}

#[tokio::test]
async fn check_connects_authenticates_and_quits() {
    let server = TestSmtpServer::start(tls_auth_options());
    let config = smtp_config("localhost", server.port, Security::Starttls, Some("me"));
    let sender = SmtpSender::new(&config, Some(Secret::new(PASSWORD)), options()).unwrap();

    let summary = sender.check().await.unwrap();

    assert!(summary.contains("STARTTLS"), "{summary}");
    assert!(summary.contains("authenticated as me"), "{summary}");
    assert!(!summary.contains(PASSWORD));
    assert!(server.saw_command("AUTH"));
    assert_eq!(server.commands().last().map(String::as_str), Some("QUIT"));
    assert!(server.received().is_empty());
}

#[tokio::test]
async fn the_sender_works_through_the_transport_trait() {
    async fn deliver(transport: &impl Transport) -> Result<(), DeliveryError> {
        transport.send(&envelope(), RAW, &nothing_to_record).await?;
        transport.shutdown().await;
        Ok(())
    }
    let server = TestSmtpServer::behaving(Behaviour::Accept);
    deliver(&plain_sender(&server)).await.unwrap();
    assert_eq!(server.received().len(), 1);
}

#[test]
fn secret_is_redacted_in_debug_and_display() {
    let secret = Secret::new(PASSWORD);
    assert_eq!(format!("{secret}"), "[redacted]");
    assert_eq!(format!("{secret:?}"), "[redacted]");
    assert_eq!(format!("{:?}", Some(&secret)), "Some([redacted])");
    assert_eq!(secret.expose(), PASSWORD);
}

/// The EHLO on the wire is `smtp.hello_name` when the config gives one.
#[test]
fn ehlo_is_the_configured_hello_name() {
    let home = crate::support::world::World::serving("send").configure(|c| {
        c.smtp.as_mut().unwrap().extra = "  hello_name: client.example.net\n".into();
    });
    home.ok(&["check-smtp"]);
    assert_eq!(home.server().hello_names(), ["client.example.net"]);
}

/// Without `smtp.hello_name`, the EHLO is a fully qualified name: the machine's when it has
/// one, else the domain of `me.email` (never a bare host name like `vm`).
#[test]
fn ehlo_is_fully_qualified_by_default() {
    let home = crate::support::world::World::serving("send");
    home.ok(&["check-smtp"]);
    let names = home.server().hello_names();
    assert_eq!(names.len(), 1, "{names:?}");
    let machine = hostname_of_this_machine();
    assert!(
        names[0].contains('.') && (machine.contains('.') || names[0] != machine),
        "EHLO {} (this machine is `{machine}`)",
        names[0]
    );
}

fn hostname_of_this_machine() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap_or_default()
        .trim()
        .to_owned()
}
