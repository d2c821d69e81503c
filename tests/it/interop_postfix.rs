//! Interop with a real MTA: a thank-you built by the library goes through Postfix on loopback and
//! lands in a local Maildir, and the delivered file is checked header by header.
//!
//! Skipped unless `FOLLOWUP_INTEROP=1`. `.ci/run` sets it up: `.ci/postfix-setup.sh` installs
//! Postfix on 127.0.0.1 delivering `followup.test` to a Maildir, and exports the variables below.
//! With `FOLLOWUP_INTEROP=1` a missing variable or an unreachable server is a failure, never a
//! skip, so CI cannot pass without having delivered a message.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use followup::config::{PasswordSource, Security, SmtpConfig};
use followup::core::{EmailAddress, Interview, Interviewer, Owner, SendKey, Status, Step};
use followup::delivery::{Envelope, SmtpOptions, SmtpSender};
use followup::message::{Mailbox, Outgoing};
use followup::render::{RenderContext, Templates, attachments_for};
use support::mime::{base64, decode_words, quoted_printable};

const HOW_TO_RUN: &str = "as root, `bash .ci/run` sets up Postfix and runs the suite; or run \
     `bash .ci/postfix-setup.sh` as root, then `FOLLOWUP_INTEROP=1 \
     FOLLOWUP_INTEROP_SMTP=127.0.0.1:25 FOLLOWUP_INTEROP_RCPT=fuinterop@followup.test \
     FOLLOWUP_INTEROP_MAILDIR=/home/fuinterop/Maildir cargo test --test interop_postfix` as a user \
     that can read the Maildir";

/// How long Postfix gets to put the message into the Maildir after accepting it.
const DELIVERY_WAIT: Duration = Duration::from_secs(20);

const OWNER_NAME: &str = "Sam Åkesson";
const INTERVIEWER_NAME: &str = "Zoë Müller";
const ATTACHMENT_NAME: &str = "portfolio.pdf";

#[tokio::test]
async fn follow_up_is_delivered_through_postfix_to_a_maildir() {
    let Some(env) = interop_env().unwrap_or_else(|e| panic!("{e}\nTo run it: {HOW_TO_RUN}")) else {
        println!(
            "skipped: FOLLOWUP_INTEROP is not set; to run this test against Postfix, {HOW_TO_RUN}"
        );
        return;
    };
    if let Err(e) = deliver_and_check(&env).await {
        panic!("Postfix interop failed: {e}");
    }
}

/// The same delivery, by the daemon itself: `followup run --once` in send mode renders the
/// thank-you from a record on disk, sends it through Postfix, and records it as sent.
#[test]
fn daemon_delivers_through_postfix_to_a_maildir() {
    let Some(env) = interop_env().unwrap_or_else(|e| panic!("{e}\nTo run it: {HOW_TO_RUN}")) else {
        println!(
            "skipped: FOLLOWUP_INTEROP is not set; to run this test against Postfix, {HOW_TO_RUN}"
        );
        return;
    };
    if let Err(e) = daemon_delivers_and_check(&env) {
        panic!("Postfix interop through `followup run` failed: {e}");
    }
}

fn daemon_delivers_and_check(env: &InteropEnv) -> Result<(), String> {
    let home = tempfile::tempdir().map_err(|e| format!("cannot make a tempdir: {e}"))?;
    let dir = home.path();
    let write = |path: PathBuf, bytes: &[u8]| {
        std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    std::fs::create_dir(dir.join("interviews")).map_err(|e| e.to_string())?;
    let attachment_bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    write(
        dir.join("interviews").join(ATTACHMENT_NAME),
        &attachment_bytes,
    )?;
    let config = format!(
        "me:\n  name: {OWNER_NAME}\n  email: sam@example.org\ntimezone: Europe/Berlin\n\
         interviews: interviews\nstate_dir: state\nmode: send\n\
         smtp:\n  host: {}\n  port: {}\n  security: plain\n  timeout: 30s\n",
        env.host, env.port
    );
    write(dir.join("followup.yaml"), config.as_bytes())?;
    let record = format!(
        "company: Acme Tools\nposition: Backend Engineer\nstart: 2026-11-03 14:00\n\
         interviewers:\n  - name: {INTERVIEWER_NAME}\n    title: Head of Platform\n    \
         email: {}\n    primary: true\nattachments:\n  - {ATTACHMENT_NAME}\n",
        env.rcpt
    );
    write(dir.join("interviews/interop-acme.yaml"), record.as_bytes())?;

    let followup = |args: &[&str]| -> Result<String, String> {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_followup"))
            .arg("--config")
            .arg(dir.join("followup.yaml"))
            .args(args)
            .env_remove("FOLLOWUP_CONFIG")
            .env("RUST_LOG", "info")
            .output()
            .map_err(|e| format!("cannot run followup: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Err(format!("followup {args:?} failed:\n{stderr}"));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // The interview ends at 15:00 in Berlin; the thank-you is due two hours later.
    followup(&["run", "--once", "--now", "2026-11-03 17:00"])?;
    let state: serde_json::Value = serde_json::from_str(&followup(&["state", "export"])?)
        .map_err(|e| format!("`state export` is not JSON: {e}"))?;
    let send = state["sends"]
        .as_array()
        .and_then(|sends| {
            sends.iter().find(|s| {
                s["key"]["interview"] == "interop-acme" && s["key"]["step"] == "thank_you"
            })
        })
        .ok_or_else(|| format!("no thank-you in the state: {state:#}"))?;
    if send["state"] != "sent" {
        return Err(format!(
            "the thank-you is not sent: {send:#}\nIs Postfix running? {HOW_TO_RUN}"
        ));
    }
    let field = |name: &str| {
        send[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("the send has no {name}: {send:#}"))
    };
    let (message_id, subject, response) = (field("message_id")?, field("subject")?, field("note")?);

    let (path, text) = wait_for_maildir_file(&env.maildir, &message_id, DELIVERY_WAIT)?;
    println!("delivered to {}", path.display());
    check_daemon_delivered(
        &text,
        env,
        &message_id,
        &subject,
        &response,
        &attachment_bytes,
    )
    .map_err(|e| format!("{e}\nin {}:\n{text}", path.display()))
}

/// Checks what Postfix wrote against what the daemon recorded as sent.
fn check_daemon_delivered(
    text: &str,
    env: &InteropEnv,
    message_id: &str,
    subject: &str,
    response: &str,
    attachment: &[u8],
) -> Result<(), String> {
    let (headers, body) = split_message(text);
    let one = |name: &str| {
        let all: Vec<&str> = headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        match all.as_slice() {
            [one] => Ok(*one),
            _ => Err(format!("{} {name} headers, wanted one", all.len())),
        }
    };
    let expect = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };

    expect(
        one("Message-ID")? == message_id,
        format!(
            "Message-ID is {}, recorded {message_id}",
            one("Message-ID")?
        ),
    )?;
    expect(
        message_id.trim_end_matches('>').ends_with("@example.org"),
        format!("Message-ID {message_id} is not on the sender's domain"),
    )?;
    let got = decode_words(one("Subject")?);
    expect(
        got == subject,
        format!("Subject is `{got}`, recorded `{subject}`"),
    )?;
    let date = one("Date")?;
    DateTime::parse_from_rfc2822(date).map_err(|e| format!("Date `{date}`: {e}"))?;
    for (name, wanted) in [
        ("From", format!("{OWNER_NAME} <sam@example.org>")),
        ("To", format!("{INTERVIEWER_NAME} <{}>", env.rcpt)),
    ] {
        let raw = one(name)?;
        expect(
            raw.is_ascii() && raw.to_ascii_lowercase().contains("=?utf-8?"),
            format!("{name} `{raw}` does not carry its name as RFC 2047 words"),
        )?;
        let decoded = decode_words(raw).replace('"', "");
        expect(
            decoded == wanted,
            format!("{name} decodes to `{decoded}`, wanted `{wanted}`"),
        )?;
    }
    let delivered_to = one("Delivered-To")?;
    expect(
        delivered_to.eq_ignore_ascii_case(env.rcpt.as_str()),
        format!("Delivered-To is {delivered_to}, sent to {}", env.rcpt),
    )?;
    expect(
        !headers
            .iter()
            .any(|(n, _)| n.to_ascii_lowercase().starts_with("x-followup")),
        "an internal X-Followup header went out".into(),
    )?;
    let queue_id = response.rsplit(' ').next().unwrap_or_default();
    expect(
        headers.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("Received") && v.contains("(Postfix)") && v.contains(queue_id)
        }),
        format!("no Received header by Postfix with queue id `{queue_id}` (from `{response}`)"),
    )?;

    let content_type = one("Content-Type")?;
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|_| content_type.starts_with("multipart/mixed"))
        .ok_or_else(|| format!("Content-Type is `{content_type}`, not multipart/mixed"))?;
    let parts = split_parts(body, boundary);
    expect(
        parts.len() == 2,
        format!("{} MIME parts, wanted text and attachment", parts.len()),
    )?;
    let (text_headers, text_body) = split_message(parts[0]);
    let text_type = header(&text_headers, "Content-Type").unwrap_or_default();
    expect(
        text_type.eq_ignore_ascii_case("text/plain; charset=utf-8"),
        format!("the first part is `{text_type}`, not text/plain; charset=utf-8"),
    )?;
    let text = String::from_utf8(decode_part(&text_headers, text_body)?)
        .map_err(|e| format!("the text is not UTF-8: {e}"))?;
    let greeting = format!("Dear {INTERVIEWER_NAME},");
    expect(
        text.contains(&greeting) && text.contains(ATTACHMENT_NAME),
        format!("the text lacks `{greeting}` or the attachment's name:\n{text}"),
    )?;
    let (file_headers, file_body) = split_message(parts[1]);
    let disposition = header(&file_headers, "Content-Disposition").unwrap_or_default();
    expect(
        disposition.starts_with("attachment") && disposition.contains(ATTACHMENT_NAME),
        format!("the second part's Content-Disposition is `{disposition}`"),
    )?;
    expect(
        decode_part(&file_headers, file_body)? == attachment,
        "the attachment's bytes differ from the file's".into(),
    )
}

/// Where the test server is, from the environment.
#[derive(Debug)]
struct InteropEnv {
    host: String,
    port: u16,
    rcpt: EmailAddress,
    maildir: PathBuf,
}

/// `Ok(None)`: not asked for. `Err`: asked for (`FOLLOWUP_INTEROP=1`) but not runnable.
fn interop_env() -> Result<Option<InteropEnv>, String> {
    match std::env::var("FOLLOWUP_INTEROP").as_deref() {
        Err(_) | Ok("") | Ok("0") => return Ok(None),
        Ok("1") => {}
        Ok(other) => {
            return Err(format!(
                "FOLLOWUP_INTEROP is `{other}`: set it to 1, or unset it"
            ));
        }
    }
    let var = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("FOLLOWUP_INTEROP=1 but {name} is not set"))
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
    Ok(Some(InteropEnv {
        host,
        port,
        rcpt,
        maildir,
    }))
}

async fn deliver_and_check(env: &InteropEnv) -> Result<(), String> {
    let files = tempfile::tempdir().map_err(|e| format!("cannot make a tempdir: {e}"))?;
    let attachment_bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let attachment = files.path().join(ATTACHMENT_NAME);
    std::fs::write(&attachment, &attachment_bytes)
        .map_err(|e| format!("cannot write {}: {e}", attachment.display()))?;

    let owner = owner();
    let iv = interview(&env.rcpt, attachment);
    let person = iv.primary();
    let draft = Templates::builtin()
        .render(
            Step::ThankYou,
            &RenderContext::new(&iv, person, &owner, Step::ThankYou),
        )
        .map_err(|e| format!("the built-in thank-you does not render: {e:?}"))?;
    let outgoing = Outgoing::new(
        SendKey::new(&iv.id, Step::ThankYou, env.rcpt.as_str()),
        Mailbox::from(&owner),
        Mailbox::new(&person.name, env.rcpt.clone()),
        draft,
        Utc::now(),
    )
    .with_attachments(attachments_for(&iv, Step::ThankYou).to_vec());
    let raw = outgoing
        .to_lettre()
        .map_err(|e| format!("the message cannot be built: {e}"))?
        .formatted();

    let config = SmtpConfig {
        host: env.host.clone(),
        port: env.port,
        security: Security::Plain,
        username: None,
        password: PasswordSource::Credentials,
        ca_file: None,
        timeout: None,
    };
    let options = SmtpOptions {
        hello_name: Some("client.followup.test".into()),
        connect_timeout: Duration::from_secs(10),
        transaction_timeout: Duration::from_secs(30),
        extra_root_cert: None,
    };
    let sender = SmtpSender::new(&config, None, options)
        .map_err(|e| format!("cannot set up SMTP to {}:{}: {e}", env.host, env.port))?;
    let envelope = Envelope {
        from: owner.email.clone(),
        to: env.rcpt.clone(),
    };
    let delivered = sender.send(&envelope, &raw).await.map_err(|e| {
        format!(
            "Postfix at {}:{} did not take the message: {e}\nIs it running? {HOW_TO_RUN}",
            env.host, env.port
        )
    })?;
    sender.shutdown().await;
    println!("Postfix answered: {}", delivered.response);

    let (path, text) = wait_for_maildir_file(&env.maildir, &outgoing.message_id, DELIVERY_WAIT)?;
    println!("delivered to {}", path.display());
    check_delivered(&text, &outgoing, &delivered.response, &attachment_bytes)
        .map_err(|e| format!("{e}\nin {}:\n{text}", path.display()))
}

/// Checks what Postfix wrote against what was sent.
fn check_delivered(
    text: &str,
    sent: &Outgoing,
    response: &str,
    attachment: &[u8],
) -> Result<(), String> {
    let (headers, body) = split_message(text);
    let one = |name: &str| {
        header(&headers, name).ok_or_else(|| format!("the delivered message has no {name} header"))
    };
    let expect = |ok: bool, what: String| if ok { Ok(()) } else { Err(what) };

    let message_id = one("Message-ID")?;
    expect(
        message_id == sent.message_id,
        format!("Message-ID is {message_id}, sent {}", sent.message_id),
    )?;
    let subject = decode_words(one("Subject")?);
    expect(
        subject == sent.subject,
        format!("Subject is `{subject}`, sent `{}`", sent.subject),
    )?;
    let date = one("Date")?;
    let date = DateTime::parse_from_rfc2822(date)
        .map_err(|e| format!("Date `{date}` is not RFC 2822: {e}"))?;
    expect(
        date.timestamp() == sent.date.timestamp(),
        format!("Date is {date}, sent {}", sent.date.to_rfc2822()),
    )?;

    for (name, person) in [("From", &sent.from), ("To", &sent.to)] {
        let raw = one(name)?;
        expect(
            raw.is_ascii() && raw.to_ascii_lowercase().contains("=?utf-8?"),
            format!("{name} `{raw}` does not carry its name as RFC 2047 words"),
        )?;
        let decoded = decode_words(raw);
        let wanted = format!("{} <{}>", person.name, person.email);
        expect(
            decoded.replace('"', "") == wanted,
            format!("{name} decodes to `{decoded}`, sent `{wanted}`"),
        )?;
    }
    let delivered_to = one("Delivered-To")?;
    expect(
        delivered_to.eq_ignore_ascii_case(sent.to.email.as_str()),
        format!("Delivered-To is {delivered_to}, sent to {}", sent.to.email),
    )?;

    let received: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("Received"))
        .map(|(_, v)| v.as_str())
        .collect();
    let queue_id = response.rsplit(' ').next().unwrap_or_default();
    expect(
        received
            .iter()
            .any(|r| r.contains("(Postfix)") && r.contains(queue_id)),
        format!("no Received header by Postfix with queue id `{queue_id}`: {received:?}"),
    )?;

    let content_type = one("Content-Type")?;
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .filter(|_| content_type.starts_with("multipart/mixed"))
        .ok_or_else(|| format!("Content-Type is `{content_type}`, not multipart/mixed"))?;
    let parts = split_parts(body, boundary);
    expect(
        parts.len() == 2,
        format!("{} MIME parts, wanted text and attachment", parts.len()),
    )?;

    let (text_headers, text_body) = split_message(parts[0]);
    let text_type = header(&text_headers, "Content-Type").unwrap_or_default();
    expect(
        text_type.eq_ignore_ascii_case("text/plain; charset=utf-8"),
        format!("the first part is `{text_type}`, not text/plain; charset=utf-8"),
    )?;
    let text = decode_part(&text_headers, text_body)?;
    let text = String::from_utf8(text).map_err(|e| format!("the text is not UTF-8: {e}"))?;
    let greeting = format!("Dear {},", sent.to.name);
    expect(
        text.contains(&greeting) && text.contains(ATTACHMENT_NAME),
        format!("the text lacks `{greeting}` or the attachment's name:\n{text}"),
    )?;

    let (file_headers, file_body) = split_message(parts[1]);
    let disposition = header(&file_headers, "Content-Disposition").unwrap_or_default();
    expect(
        disposition.starts_with("attachment") && disposition.contains(ATTACHMENT_NAME),
        format!("the second part's Content-Disposition is `{disposition}`"),
    )?;
    let file_type = header(&file_headers, "Content-Type").unwrap_or_default();
    expect(
        file_type == "application/pdf",
        format!("the attachment is `{file_type}`, not application/pdf"),
    )?;
    expect(
        decode_part(&file_headers, file_body)? == attachment,
        "the attachment's bytes differ from the file's".into(),
    )
}

// --- helpers, kept small for reuse by a later `followup run --once` version of this test ---------

/// Polls `maildir/new` until a message holding `needle` appears; returns its path and text.
fn wait_for_maildir_file(
    maildir: &Path,
    needle: &str,
    wait: Duration,
) -> Result<(PathBuf, String), String> {
    let new = maildir.join("new");
    let deadline = Instant::now() + wait;
    loop {
        let entries = std::fs::read_dir(&new)
            .map_err(|e| format!("cannot read the Maildir {}: {e}", new.display()))?;
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path())
                && text.contains(needle)
            {
                return Ok((entry.path(), text));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no message holding {needle} reached {} within {wait:?}; see Postfix's log \
                 (/var/log/postfix.log under .ci/postfix-setup.sh) and `postqueue -p`",
                new.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Splits a message (or a MIME part) into its unfolded headers, in order, and its body.
fn split_message(text: &str) -> (Vec<(String, String)>, &str) {
    let text = text.trim_start_matches(['\r', '\n']);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .filter(|(h, _)| !h.contains("\n\n"))
        .or_else(|| text.split_once("\n\n"))
        .unwrap_or((text, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

/// The first header called `name` (case-insensitive).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The parts of a multipart body between `--boundary` lines.
fn split_parts<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut parts: Vec<&str> = body.split(delimiter.as_str()).skip(1).collect();
    // The closing delimiter `--boundary--` leaves a last piece starting with `--`.
    parts.retain(|p| !p.starts_with("--"));
    parts
}

/// A part's content with its transfer encoding undone.
fn decode_part(headers: &[(String, String)], body: &str) -> Result<Vec<u8>, String> {
    let encoding = header(headers, "Content-Transfer-Encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    match encoding.as_str() {
        "7bit" | "8bit" | "binary" => Ok(body.trim_end_matches(['\r', '\n']).as_bytes().to_vec()),
        "base64" => base64(body).ok_or_else(|| "a base64 part does not decode".to_owned()),
        "quoted-printable" => Ok(quoted_printable(body)),
        other => Err(format!("unexpected Content-Transfer-Encoding `{other}`")),
    }
}

// --- the sample records --------------------------------------------------------------------------

fn owner() -> Owner {
    Owner {
        name: OWNER_NAME.into(),
        email: address("sam@example.org"),
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
            title: Some("Head of Platform".into()),
            email: Some(rcpt.clone()),
            primary: true,
        }],
        decision_by: None,
        status: Status::Waiting,
        status_on: None,
        notes,
        attachments: vec![attachment],
        source: PathBuf::from("interviews/interop-acme.yaml"),
    }
}

fn address(s: &str) -> EmailAddress {
    EmailAddress::parse(s).unwrap_or_else(|e| panic!("`{s}` must parse as an address: {e}"))
}
