//! What an SMTP attempt writes to the logs. The test runs in a process of its own (rusty-fork):
//! tracing's per-callsite interest cache is process-wide, and a scoped subscriber racing other
//! tests' threads can miss events.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusty_fork::rusty_fork_test;

use crate::support::api::{
    EmailAddress, Envelope, PasswordSource, Secret, Security, SmtpConfig, SmtpOptions, SmtpSender,
};
use crate::support::smtp_server::{Behaviour, FailAt, ServerOptions, TestSmtpServer};

const PASSWORD: &str = "correct horse battery staple";
const RAW: &[u8] = b"Subject: Thank you\r\n\r\nHello Jane,\r\nBest\r\n";

/// Collects everything a tracing subscriber writes, to check what reaches the logs.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

rusty_fork_test! {
    #[test]
    fn one_log_line_per_attempt_without_the_password_or_the_body() {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let server = TestSmtpServer::start(ServerOptions {
            starttls: true,
            auth: Some(("me".into(), PASSWORD.into())),
            ..ServerOptions::default()
        });
        let config = SmtpConfig {
            host: "localhost".into(),
            port: server.port,
            security: Security::Starttls,
            username: Some("me".into()),
            password: PasswordSource::Env("UNUSED".into()),
            auth: Default::default(),
            ca_file: None,
            timeout: None,
            hello_name: None,
        };
        let options = SmtpOptions {
            hello_name: Some("client.example.com".into()),
            connect_timeout: Duration::from_millis(800),
            transaction_timeout: Duration::from_millis(800),
            extra_root_cert: Some(TestSmtpServer::cert_path()),
        };
        let sender = SmtpSender::new(&config, Some(Secret::new(PASSWORD)), options).unwrap();
        let envelope = Envelope {
            from: EmailAddress::parse("me@example.com").unwrap(),
            to: EmailAddress::parse("jane@example.org").unwrap(),
        };

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            sender.send(&envelope, RAW).await.unwrap();
            server.set_behaviour(Behaviour::PermFail(FailAt::Rcpt));
            sender.send(&envelope, RAW).await.unwrap_err();
        });

        let text = logs.text();
        let ours = text.lines().filter(|l| l.contains("followup::delivery"));
        assert_eq!(ours.count(), 2, "{text}");
        assert!(text.contains("SMTP delivery accepted"), "{text}");
        assert!(text.contains("code=550"), "{text}");
        assert!(text.contains("stage=RCPT TO"), "{text}");
        assert!(text.contains("host=localhost"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
        assert!(!text.contains("Hello Jane"), "{text}");
    }
}
