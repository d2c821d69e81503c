//! Interop with a real MTA: a thank-you goes through Postfix on loopback and lands in a local
//! Maildir, and the delivered file is checked header by header, once as built by the library and
//! once as sent by `followup run --once`.
//!
//! Skipped unless `FOLLOWUP_INTEROP=1`. `.ci/run` sets it up: `.ci/postfix-setup.sh` installs
//! Postfix on 127.0.0.1 delivering `followup.test` to a Maildir, and exports the variables below.
//! With `FOLLOWUP_INTEROP=1` a missing variable or an unreachable server is a failure, never a
//! skip, so CI cannot pass without having delivered a message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Duration as Span, NaiveDate, Utc};

use crate::support::api::{
    EmailAddress, Envelope, Interview, Interviewer, Mailbox, Outgoing, Owner, PasswordSource,
    RenderContext, Security, SmtpConfig, SmtpOptions, SmtpSender, Status, Step, Templates,
};
use crate::support::gate::Gate;
use crate::support::mail::Mail;
use crate::support::wait::wait_for;
use crate::support::world::{ME, Smtp, World};

const INTEROP: Gate = Gate {
    var: "FOLLOWUP_INTEROP",
    only_when_asked: true,
    how_to_run: "as root, `bash .ci/run` sets up Postfix and runs the suite; or run \
     `bash .ci/postfix-setup.sh` as root, then `FOLLOWUP_INTEROP=1 \
     FOLLOWUP_INTEROP_SMTP=127.0.0.1:25 FOLLOWUP_INTEROP_RCPT=fuinterop@followup.test \
     FOLLOWUP_INTEROP_MAILDIR=/home/fuinterop/Maildir cargo test --test it interop_postfix` as a \
     user that can read the Maildir",
};

/// How long Postfix gets to put the message into the Maildir after accepting it.
const DELIVERY_WAIT: Duration = Duration::from_secs(20);

const OWNER_NAME: &str = "Sam Åkesson";
const INTERVIEWER_NAME: &str = "Zoë Müller";
const ATTACHMENT_NAME: &str = "portfolio.pdf";

#[tokio::test]
async fn follow_up_is_delivered_through_postfix_to_a_maildir() {
    let Some(env) = INTEROP.check(interop_env) else {
        return;
    };
    let files = tempfile::tempdir().unwrap();
    let attachment = files.path().join(ATTACHMENT_NAME);
    std::fs::write(&attachment, attachment_bytes()).unwrap();

    let owner = owner();
    let iv = interview(&env.rcpt, attachment);
    let person = iv.primary();
    let draft = Templates::builtin()
        .render(
            Step::ThankYou,
            &RenderContext::new(&iv, person, &owner, Step::ThankYou),
        )
        .unwrap_or_else(|e| panic!("the built-in thank-you does not render: {e:?}"));
    let outgoing = Outgoing::new(
        Mailbox::from(&owner),
        Mailbox::new(&person.name, env.rcpt.clone()),
        draft,
        Utc::now(),
    )
    .with_attachments(iv.attachments_for(Step::ThankYou).to_vec());
    let raw = outgoing
        .to_lettre()
        .unwrap_or_else(|e| panic!("the message cannot be built: {e}"))
        .formatted();

    let config = SmtpConfig {
        host: env.host.clone(),
        port: env.port,
        security: Security::Plain,
        username: None,
        password: PasswordSource::Credential("smtp-password"),
        auth: Default::default(),
        ca_file: None,
        timeout: None,
        hello_name: None,
    };
    let options = SmtpOptions {
        hello_name: Some("client.followup.test".into()),
        connect_timeout: Duration::from_secs(10),
        transaction_timeout: Duration::from_secs(30),
        extra_root_cert: None,
    };
    let sender = SmtpSender::new(&config, None, options)
        .unwrap_or_else(|e| panic!("cannot set up SMTP to {}:{}: {e}", env.host, env.port));
    let envelope = Envelope {
        from: owner.email.clone(),
        to: env.rcpt.clone(),
    };
    let delivered = sender.send(&envelope, &raw).await.unwrap_or_else(|e| {
        panic!(
            "Postfix at {}:{} did not take the message: {e}\nIs it running? To run it: {}",
            env.host, env.port, INTEROP.how_to_run
        )
    });
    sender.shutdown().await;
    println!("Postfix answered: {}", delivered.response);

    check_delivered(
        &env,
        &Sent {
            message_id: outgoing.message_id.to_string(),
            subject: outgoing.subject.clone(),
            from: format!("{} <{}>", outgoing.from.name, outgoing.from.email),
            to: format!("{} <{}>", outgoing.to.name, outgoing.to.email),
            date: Some(outgoing.date),
            response: delivered.response,
        },
    );
}

/// The same delivery, by the daemon itself: `followup run --once` in send mode renders the
/// thank-you from a record on disk, sends it through Postfix, and records it as sent.
#[test]
fn daemon_delivers_through_postfix_to_a_maildir() {
    let Some(env) = INTEROP.check(interop_env) else {
        return;
    };
    let record = format!(
        "company: Acme Tools\nposition: Backend Engineer\nstart: 2026-11-03 14:00\n\
         interviewers:\n  - name: {INTERVIEWER_NAME}\n    title: Head of Platform\n    \
         email: {}\n    primary: true\nattachments:\n  - {ATTACHMENT_NAME}\n",
        env.rcpt
    );
    let w = World::empty()
        .configure(|c| {
            c.owner_name = OWNER_NAME.into();
            c.timezone = "Europe/Berlin".into();
            c.mode = Some("send".into());
            c.smtp = Some(Smtp {
                host: env.host.clone(),
                timeout: "30s".into(),
                ..Smtp::loopback(env.port)
            });
        })
        .with("interop-acme.yaml", &record);
    w.write_file(
        &format!("interviews/{ATTACHMENT_NAME}"),
        &attachment_bytes(),
    );

    // The interview ends at 15:00 in Berlin; the thank-you is due two hours later.
    w.once_at("2026-11-03 17:00");
    let state = w.ok(&["state", "export"]).json();
    let send = state["sends"]
        .as_array()
        .and_then(|sends| {
            sends.iter().find(|s| {
                s["key"]["interview"] == "interop-acme" && s["key"]["step"] == "thank_you"
            })
        })
        .unwrap_or_else(|| panic!("no thank-you in the state: {state:#}"));
    assert_eq!(
        send["state"], "sent",
        "the thank-you is not sent: {send:#}\nIs Postfix running? To run it: {}",
        INTEROP.how_to_run
    );
    let field = |name: &str| {
        send[name]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("the send has no {name}: {send:#}"))
    };
    check_delivered(
        &env,
        &Sent {
            message_id: field("message_id"),
            subject: field("subject"),
            from: format!("{OWNER_NAME} <{ME}>"),
            to: format!("{INTERVIEWER_NAME} <{}>", env.rcpt),
            date: None,
            response: field("note"),
        },
    );
}

/// What was sent, by the library or as the daemon recorded it.
struct Sent {
    message_id: String,
    subject: String,
    /// `Name <address>`, as a reader sees it.
    from: String,
    to: String,
    date: Option<DateTime<Utc>>,
    /// Postfix's answer, which ends with its queue id.
    response: String,
}

/// Waits for the message in the Maildir and checks what Postfix wrote against what was sent.
fn check_delivered(env: &InteropEnv, sent: &Sent) {
    let (path, mail) = wait_for_maildir_file(&env.maildir, &sent.message_id);
    println!("delivered to {}", path.display());
    let within = |what: String| format!("{what}\nin {}:\n{}", path.display(), mail.raw);

    assert_eq!(
        mail.one("Message-ID"),
        sent.message_id,
        "{}",
        within("Message-ID".into())
    );
    assert!(
        sent.message_id
            .trim_end_matches('>')
            .ends_with("@example.org"),
        "{}",
        within(format!(
            "Message-ID {} is not on the sender's domain",
            sent.message_id
        ))
    );
    assert_eq!(mail.subject(), sent.subject, "{}", within("Subject".into()));
    let date = mail.one("Date");
    let date = DateTime::parse_from_rfc2822(&date)
        .unwrap_or_else(|e| panic!("{}", within(format!("Date `{date}` is not RFC 2822: {e}"))));
    if let Some(sent_at) = sent.date {
        assert_eq!(
            date.timestamp(),
            sent_at.timestamp(),
            "{}",
            within("Date".into())
        );
    }
    for (name, wanted) in [("From", &sent.from), ("To", &sent.to)] {
        let raw = mail.one(name);
        assert!(
            raw.is_ascii() && raw.to_ascii_lowercase().contains("=?utf-8?"),
            "{}",
            within(format!(
                "{name} `{raw}` does not carry its name as RFC 2047 words"
            ))
        );
        assert_eq!(&mail.mailbox(name), wanted, "{}", within(name.into()));
    }
    let delivered_to = mail.one("Delivered-To");
    assert!(
        delivered_to.eq_ignore_ascii_case(env.rcpt.as_str()),
        "{}",
        within(format!(
            "Delivered-To is {delivered_to}, sent to {}",
            env.rcpt
        ))
    );
    assert!(
        !mail.raw.to_ascii_lowercase().contains("x-followup"),
        "{}",
        within("an internal X-Followup header went out".into())
    );
    let queue_id = sent.response.rsplit(' ').next().unwrap_or_default();
    assert!(
        mail.all("Received")
            .iter()
            .any(|r| r.contains("(Postfix)") && r.contains(queue_id)),
        "{}",
        within(format!(
            "no Received header by Postfix with queue id `{queue_id}` (from `{}`)",
            sent.response
        ))
    );

    let content_type = mail.one("Content-Type");
    assert!(
        content_type.starts_with("multipart/mixed"),
        "{}",
        within(format!("Content-Type is `{content_type}`"))
    );
    let parts = mail.parts();
    assert_eq!(
        parts.len(),
        2,
        "{}",
        within("wanted text and attachment".into())
    );
    let text_type = parts[0].header("Content-Type").unwrap_or_default();
    assert!(
        text_type.eq_ignore_ascii_case("text/plain; charset=utf-8"),
        "{}",
        within(format!("the first part is `{text_type}`"))
    );
    let text = String::from_utf8(parts[0].bytes().to_vec())
        .unwrap_or_else(|e| panic!("{}", within(format!("the text is not UTF-8: {e}"))));
    let first = INTERVIEWER_NAME
        .split_whitespace()
        .next()
        .unwrap_or_default();
    let greeting = format!("Dear {first},");
    assert!(
        text.contains(&greeting) && text.contains(ATTACHMENT_NAME),
        "{}",
        within(format!(
            "the text lacks `{greeting}` or the attachment's name"
        ))
    );
    let disposition = parts[1].header("Content-Disposition").unwrap_or_default();
    assert!(
        disposition.starts_with("attachment") && disposition.contains(ATTACHMENT_NAME),
        "{}",
        within(format!(
            "the second part's Content-Disposition is `{disposition}`"
        ))
    );
    let file_type = parts[1].header("Content-Type").unwrap_or_default();
    assert_eq!(
        file_type,
        format!("application/pdf; name=\"{ATTACHMENT_NAME}\""),
        "{}",
        within("the attachment's type, with the name older clients read".into())
    );
    assert!(
        parts[1].bytes() == attachment_bytes(),
        "{}",
        within("the attachment's bytes differ from the file's".into())
    );
}

/// Where the test server is, from the environment.
#[derive(Debug)]
struct InteropEnv {
    host: String,
    port: u16,
    rcpt: EmailAddress,
    maildir: PathBuf,
}

/// The server the variables describe; why not, when one is missing or wrong.
fn interop_env() -> Result<InteropEnv, String> {
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("{name} is not set"))
    };
    let smtp = var("FOLLOWUP_INTEROP_SMTP")?;
    let (host, port) = smtp
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .ok_or_else(|| format!("FOLLOWUP_INTEROP_SMTP is `{smtp}`, not host:port"))?;
    let rcpt = var("FOLLOWUP_INTEROP_RCPT")?;
    let rcpt = EmailAddress::parse(&rcpt)
        .map_err(|e| format!("FOLLOWUP_INTEROP_RCPT `{rcpt}` is not an address: {e}"))?;
    let maildir = PathBuf::from(var("FOLLOWUP_INTEROP_MAILDIR")?);
    if !maildir.join("new").is_dir() {
        return Err(format!(
            "FOLLOWUP_INTEROP_MAILDIR {} has no readable new/ directory: is Postfix set up, and \
             may this user read it?",
            maildir.display()
        ));
    }
    Ok(InteropEnv {
        host,
        port,
        rcpt,
        maildir,
    })
}

/// Waits for a message holding `needle` in `maildir/new`; its path and the message.
fn wait_for_maildir_file(maildir: &Path, needle: &str) -> (PathBuf, Mail) {
    let new = maildir.join("new");
    let what = format!(
        "a message holding {needle} in {}; see Postfix's log (/var/log/postfix.log under \
         .ci/postfix-setup.sh) and `postqueue -p`",
        new.display()
    );
    let (path, bytes) = wait_for(&what, DELIVERY_WAIT, || {
        let entries = std::fs::read_dir(&new)
            .unwrap_or_else(|e| panic!("cannot read the Maildir {}: {e}", new.display()));
        entries.flatten().find_map(|entry| {
            let bytes = std::fs::read(entry.path()).ok()?;
            String::from_utf8_lossy(&bytes)
                .contains(needle)
                .then(|| (entry.path(), bytes))
        })
    });
    (path, Mail::parse(Vec::new(), &bytes))
}

// --- the sample records --------------------------------------------------------------------------

/// The attachment: every byte value, so a transfer encoding that loses one shows.
fn attachment_bytes() -> Vec<u8> {
    (0..=255u8).cycle().take(3000).collect()
}

fn owner() -> Owner {
    Owner {
        name: OWNER_NAME.into(),
        email: address(ME),
        aliases: Vec::new(),
        phone: None,
        signature: Some("https://example.org/sam".into()),
        timezone: chrono_tz::Europe::Berlin,
    }
}

fn interview(rcpt: &EmailAddress, attachment: PathBuf) -> Interview {
    let local_start = NaiveDate::from_ymd_opt(2026, 11, 3)
        .and_then(|d| d.and_hms_opt(14, 0, 0))
        .unwrap_or_default();
    let start = local_start.and_utc() - Span::hours(1);
    let mut notes = BTreeMap::new();
    notes.insert(
        "highlight".into(),
        "moving the billing service to event sourcing".into(),
    );
    Interview {
        id: "interop-acme".into(),
        company: "Acme Tools".into(),
        position: "Backend Engineer".into(),
        local_start,
        start,
        end: start + Span::hours(1),
        timezone: chrono_tz::Europe::Berlin,
        interviewers: vec![Interviewer {
            name: INTERVIEWER_NAME.into(),
            greeting: None,
            title: Some("Head of Platform".into()),
            email: Some(rcpt.clone()),
            primary: true,
        }],
        decision_by: None,
        status: Status::Waiting,
        status_on: None,
        notes,
        attachments: vec![attachment],
        domains: Vec::new(),
        source: PathBuf::from("interviews/interop-acme.yaml"),
    }
}

fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap_or_else(|e| panic!("`{s}` must parse as an address: {e}"))
}
