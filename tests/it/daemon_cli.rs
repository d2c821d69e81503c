//! `followup run` end to end: the real binary on real files and a real sled state, sending to a
//! real SMTP server on loopback (in this process), in each mode, through failures, edits and
//! signals.

mod support;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, Duration as Span, FixedOffset, Utc};
use serde_json::Value;
use support::mime::{base64, decode_words, quoted_printable};
use support::smtp_server::{Behaviour, FailAt, Received, ServerOptions, StallAt, TestSmtpServer};

const OWNER: &str = "sam@example.org";
const ZOE: &str = "zoe@globex.example.com";
const OMAR: &str = "omar@globex.example.com";
const LEE: &str = "lee@globex.example.com";
const ANA: &str = "ana@initech.example.net";

/// The thank-you time of [`GLOBEX`]: its end (11:00 in New York) plus two hours.
const THANK_YOU_AT: &str = "2026-11-03 13:00";

const GLOBEX: &str = "\
company: Globex
position: Backend Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Zoë Müller
    title: Engineering Manager
    email: zoe@globex.example.com
    primary: true
  - name: Omar Diaz
    email: omar@globex.example.com
attachments:
  - cv.pdf
";

const INITECH: &str = "\
company: Initech
position: Platform Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Ana Lima
    email: ana@initech.example.net
";

const ATTACHMENT: &[u8] = b"%PDF-1.4 not really a pdf \x00\x01\x02\xff";

/// How long any one wait may take.
const WAIT: Duration = Duration::from_secs(15);

// --- the user's home: config, records, and the binary run on them ---------------------------------

struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// A config in `mode`, with SMTP to `port` on loopback; `extra` is appended to the config.
    fn new(mode: &str, port: u16, extra: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = Self { dir };
        std::fs::create_dir(home.path().join("interviews")).unwrap();
        std::fs::write(home.path().join("interviews/cv.pdf"), ATTACHMENT).unwrap();
        let config = format!(
            "me:\n  name: Sam Seeker\n  email: {OWNER}\ntimezone: America/New_York\n\
             interviews: interviews\nstate_dir: state\nqueue_dir: queue\nmode: {mode}\n\
             smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: plain\n  timeout: 2s\n{extra}"
        );
        std::fs::write(home.config(), config).unwrap();
        home
    }

    fn with(self, name: &str, text: &str) -> Self {
        self.write(name, text);
        self
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join("interviews").join(name), text).unwrap();
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.path().join("followup.yaml")
    }

    fn queue(&self, folder: &str) -> PathBuf {
        self.path().join("queue").join(folder)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_followup"));
        cmd.arg("--config")
            .arg(self.config())
            .args(args)
            .env_remove("FOLLOWUP_CONFIG")
            .env("RUST_LOG", "info");
        cmd
    }

    /// Runs a command to its end, off the runtime's threads so the SMTP server keeps serving.
    async fn run(&self, args: &[&str]) -> Out {
        let mut cmd = self.command(args);
        let output = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        Out::from(output)
    }

    /// `run` that must succeed.
    async fn ok(&self, args: &[&str]) -> Out {
        let out = self.run(args).await;
        assert_eq!(
            out.code,
            Some(0),
            "followup {args:?} failed:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        out
    }

    async fn once_at(&self, now: &str) -> Out {
        self.ok(&["run", "--once", "--now", now]).await
    }

    async fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args).await;
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}):\n{}", out.stdout))
    }

    async fn status(&self) -> Value {
        self.json(&["status", "--json"]).await
    }

    /// The state as `state export` prints it, by key.
    async fn sends(&self) -> BTreeMap<String, Value> {
        let state = self.json(&["state", "export"]).await;
        state["sends"]
            .as_array()
            .unwrap_or_else(|| panic!("no sends in the export: {state}"))
            .iter()
            .map(|s| (key_of(s), s.clone()))
            .collect()
    }

    /// When `step` to `recipient` is due, from `plan --json` as of `now`.
    async fn due(&self, step: &str, recipient: &str, now: &str) -> String {
        let plan = self.json(&["plan", "--now", now, "--json"]).await;
        plan.as_array()
            .unwrap()
            .iter()
            .find(|r| r["step"] == step && r["recipient"] == recipient)
            .and_then(|r| r["due"].as_str())
            .unwrap_or_else(|| panic!("no {step} for {recipient} in the plan: {plan:#}"))
            .to_string()
    }

    /// `followup run` as a long-running daemon; its stderr goes to a file in the home.
    fn spawn(&self, name: &str) -> Daemon {
        let log = self.path().join(format!("{name}.log"));
        let child = self
            .command(&["run"])
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn files(&self, folder: &str) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(self.queue(folder)) {
            Ok(dir) => dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .collect(),
            Err(_) => Vec::new(),
        };
        files.sort();
        files
    }

    /// The one `.eml` in `folder` addressed to `to`.
    fn file_to(&self, folder: &str, to: &str) -> PathBuf {
        let found: Vec<PathBuf> = self
            .files(folder)
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .any(|l| l.starts_with("To:") && l.contains(to))
            })
            .collect();
        assert_eq!(found.len(), 1, "files to {to} in {folder}: {found:?}");
        found[0].clone()
    }
}

fn key_of(v: &Value) -> String {
    let k = &v["key"];
    match k.as_str() {
        Some(s) => s.to_string(),
        None => format!(
            "{}/{}/{}",
            k["interview"].as_str().unwrap_or_default(),
            k["step"].as_str().unwrap_or_default(),
            k["recipient"].as_str().unwrap_or_default()
        ),
    }
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Out {
    fn from(o: Output) -> Self {
        Self {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A `followup run` child; killed if a test fails before it stops it.
struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    async fn wait_log(&mut self, what: &str, needle: impl Fn(&str) -> bool) -> String {
        let log = self.log.clone();
        poll(what, || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            needle(&text).then_some(text)
        })
        .await
    }

    fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// Waits (bounded) for the process to exit; its exit code.
    async fn exit_code(&mut self) -> Option<i32> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "followup run did not exit within {WAIT:?}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `f` every 50 ms until it gives a value; fails after [`WAIT`].
async fn poll<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn server(behaviour: Behaviour) -> TestSmtpServer {
    TestSmtpServer::start(ServerOptions {
        behaviour,
        ..ServerOptions::default()
    })
    .await
}

// --- what the server received ---------------------------------------------------------------------

/// One received message, split into unfolded headers and body.
struct Mail {
    rcpt: Vec<String>,
    headers: Vec<(String, String)>,
    raw: String,
}

impl Mail {
    fn parse(r: &Received) -> Self {
        let raw = String::from_utf8_lossy(&r.data).into_owned();
        let head = raw
            .split_once("\r\n\r\n")
            .or_else(|| raw.split_once("\n\n"))
            .map_or(raw.as_str(), |(h, _)| h);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in head.lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, v)) = headers.last_mut() {
                    v.push(' ');
                    v.push_str(line.trim());
                }
            } else if let Some((n, v)) = line.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        Self {
            rcpt: r.rcpt.clone(),
            headers,
            raw,
        }
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The one header called `name`.
    fn one(&self, name: &str) -> &str {
        let all = self.all(name);
        assert_eq!(all.len(), 1, "{name} headers: {all:?} in\n{}", self.raw);
        all[0]
    }

    fn to(&self) -> &str {
        assert_eq!(
            self.rcpt.len(),
            1,
            "one recipient per message: {:?}",
            self.rcpt
        );
        &self.rcpt[0]
    }
}

fn mails(server: &TestSmtpServer) -> Vec<Mail> {
    server.received().iter().map(Mail::parse).collect()
}

/// The messages the server received for `rcpt`.
fn mails_to(server: &TestSmtpServer, rcpt: &str) -> Vec<Mail> {
    mails(server)
        .into_iter()
        .filter(|m| m.rcpt.iter().any(|r| r == rcpt))
        .collect()
}

/// The text of a message's body: every part decoded and joined, for "does it say X".
fn body_text(mail: &Mail) -> String {
    let (_, body) = mail
        .raw
        .split_once("\r\n\r\n")
        .or_else(|| mail.raw.split_once("\n\n"))
        .unwrap_or(("", ""));
    let qp = String::from_utf8_lossy(&quoted_printable(body)).into_owned();
    let mut text = qp.clone();
    // Base64 parts: decode every run of base64 lines that decodes to UTF-8.
    for chunk in body.split("\r\n\r\n") {
        let candidate: String = chunk.lines().take_while(|l| !l.starts_with("--")).collect();
        if !candidate.is_empty()
            && let Some(bytes) = base64(&candidate)
            && let Ok(s) = String::from_utf8(bytes)
        {
            text.push_str(&s);
        }
    }
    text
}

fn message_id_domain(id: &str) -> &str {
    id.trim_matches(['<', '>']).rsplit('@').next().unwrap_or("")
}

// --- 1. send mode ---------------------------------------------------------------------------------

/// In send mode each due message goes out once, one per interviewer, well formed, with the
/// attachment on the thank-you; later steps thread under it; a second round sends nothing again.
#[tokio::test(flavor = "multi_thread")]
async fn send_mode_sends_each_message_once_threaded_under_the_thank_you() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("send", smtp.port, "").with("globex.yaml", GLOBEX);

    let out = home.once_at(THANK_YOU_AT).await;
    assert!(out.stderr.contains("sent 2"), "{}", out.stderr);
    let all = mails(&smtp);
    assert_eq!(all.len(), 2, "one thank-you per interviewer");
    let zoe = mails_to(&smtp, ZOE);
    let omar = mails_to(&smtp, OMAR);
    assert_eq!((zoe.len(), omar.len()), (1, 1));

    for (mail, name) in [(&zoe[0], "Zoë Müller"), (&omar[0], "Omar Diaz")] {
        let to_addr = mail.to().to_string();
        let id = mail.one("Message-ID");
        assert!(id.starts_with('<') && id.ends_with('>'), "{id}");
        assert_eq!(message_id_domain(id), "example.org", "{id}");
        let date = mail.one("Date");
        let date = DateTime::parse_from_rfc2822(date).unwrap_or_else(|e| panic!("{date}: {e}"));
        assert_eq!(
            date.with_timezone(&Utc).to_rfc3339(),
            "2026-11-03T18:00:00+00:00"
        );
        assert!(mail.one("From").contains("<sam@example.org>"));
        let to = mail.one("To");
        assert!(to.contains(&format!("<{to_addr}>")), "{to}");
        assert!(!to.contains(','), "one recipient in To: {to}");
        assert_eq!(
            decode_words(to).replace('"', ""),
            format!("{name} <{to_addr}>")
        );
        assert!(mail.all("Cc").is_empty() && mail.all("Bcc").is_empty());
        assert!(
            !mail.raw.to_ascii_lowercase().contains("x-followup"),
            "no internal header goes out:\n{}",
            mail.raw
        );
        let content_type = mail.one("Content-Type");
        assert!(
            content_type.starts_with("multipart/mixed"),
            "{content_type}"
        );
        assert!(
            mail.raw.contains("text/plain; charset=utf-8"),
            "{}",
            mail.raw
        );
        assert!(
            mail.raw.contains("Content-Disposition: attachment") && mail.raw.contains("cv.pdf"),
            "the attachment is on the thank-you:\n{}",
            mail.raw
        );
        assert!(body_text(mail).contains(&format!("Dear {name},")));
        assert!(!mail.one("Subject").starts_with("Re:"));
    }
    let to = zoe[0].one("To");
    assert!(
        to.is_ascii() && to.to_ascii_lowercase().contains("=?utf-8?"),
        "a non-ASCII name goes as RFC 2047 words: {to}"
    );
    let thank_you_id = zoe[0].one("Message-ID").to_string();
    let thank_you_subject = decode_words(zoe[0].one("Subject"));

    // Never twice: the same instant again, and a little later.
    home.once_at(THANK_YOU_AT).await;
    home.once_at("2026-11-03 15:00").await;
    assert_eq!(smtp.received().len(), 2, "nothing is sent twice");

    // The status check, to the primary only, threaded under the thank-you.
    let due = home.due("status_check", ZOE, THANK_YOU_AT).await;
    assert_eq!(due, "2026-11-10T16:00:00Z");
    home.once_at(&due).await;
    let zoe = mails_to(&smtp, ZOE);
    assert_eq!(zoe.len(), 2, "the status check went to the primary");
    assert_eq!(smtp.received().len(), 3, "and to nobody else");
    let check = &zoe[1];
    assert_eq!(check.one("In-Reply-To"), thank_you_id);
    assert!(check.one("References").contains(&thank_you_id));
    assert_eq!(
        decode_words(check.one("Subject")),
        format!("Re: {thank_you_subject}")
    );
    assert!(check.raw.contains("text/plain; charset=utf-8"));
    assert!(
        !check.raw.contains("cv.pdf"),
        "no attachment on the status check"
    );
    let check_id = check.one("Message-ID").to_string();
    assert_ne!(check_id, thank_you_id);
    assert_eq!(message_id_domain(&check_id), "example.org");

    // The call reminder: to the user, about calling the primary.
    let due = home.due("call_reminder", ZOE, &due).await;
    home.once_at(&due).await;
    let mine = mails_to(&smtp, OWNER);
    assert_eq!(mine.len(), 1, "the call reminder went to the user");
    assert_eq!(smtp.received().len(), 4);
    assert!(mine[0].one("To").contains(OWNER));

    // The final check: threaded under everything sent to the primary before.
    let due = home.due("final_check", ZOE, &due).await;
    home.once_at(&due).await;
    let zoe = mails_to(&smtp, ZOE);
    assert_eq!(zoe.len(), 3, "the final check went to the primary");
    let last = &zoe[2];
    let references = last.one("References");
    assert!(
        references.contains(&thank_you_id) && references.contains(&check_id),
        "References holds the whole chain: {references}"
    );
    assert!(
        references.find(&thank_you_id) < references.find(&check_id),
        "{references}"
    );
    assert_eq!(last.one("In-Reply-To"), check_id);
    assert_eq!(smtp.received().len(), 5);

    let sends = home.sends().await;
    for key in [
        format!("globex/thank_you/{ZOE}"),
        format!("globex/thank_you/{OMAR}"),
        format!("globex/status_check/{ZOE}"),
        format!("globex/final_check/{ZOE}"),
    ] {
        assert_eq!(sends[&key]["state"], "sent", "{key}: {:#}", sends[&key]);
    }
}

// --- 2. approve mode ------------------------------------------------------------------------------

/// Replaces the first line starting with `prefix` in a queue file.
fn edit_line(path: &Path, prefix: &str, new: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut done = false;
    let edited: Vec<String> = text
        .lines()
        .map(|l| {
            if !done && l.starts_with(prefix) {
                done = true;
                new.to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    assert!(done, "no line starting with `{prefix}` in\n{text}");
    std::fs::write(path, edited.join("\n") + "\n").unwrap();
}

fn move_to(home: &Home, file: &Path, folder: &str) -> PathBuf {
    let to = home.queue(folder).join(file.file_name().unwrap());
    std::fs::rename(file, &to).unwrap();
    to
}

fn keys(rows: &Value) -> Vec<String> {
    rows.as_array()
        .unwrap_or_else(|| panic!("not a list: {rows}"))
        .iter()
        .map(|r| r["key"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// In approve mode nothing goes to an interviewer until the user approves it; then what the
/// file says goes out. A rejected or deleted file never goes out.
#[tokio::test(flavor = "multi_thread")]
async fn approve_mode_sends_only_what_the_user_approved_as_edited() {
    let smtp = server(Behaviour::Accept).await;
    let globex = GLOBEX.replace(
        "attachments:",
        "  - name: Lee Park\n    email: lee@globex.example.com\nattachments:",
    );
    let home = Home::new("approve", smtp.port, "")
        .with("globex.yaml", &globex)
        .with("initech.yaml", INITECH);

    let out = home.once_at(THANK_YOU_AT).await;
    assert!(out.stderr.contains("queued 4"), "{}", out.stderr);
    assert_eq!(home.files("pending").len(), 4, "one file per due message");
    for who in [ZOE, OMAR, LEE, ANA] {
        assert!(
            mails_to(&smtp, who).is_empty(),
            "nothing goes to {who} before approval"
        );
    }
    assert!(
        mails(&smtp).iter().all(|m| m.to() == OWNER),
        "only notices to the user may go out"
    );

    // Zoë's: edited, then approved by moving the file.
    let zoe = home.file_to("pending", ZOE);
    edit_line(&zoe, "Subject:", "Subject: Thanks for Tuesday, Zoë");
    edit_line(
        &zoe,
        "Learning more about the team",
        "I especially enjoyed the whiteboard session on sled.",
    );
    move_to(&home, &zoe, "approved");
    // Omar's: rejected by moving it; Lee's: deleted; Ana's: approved with the command.
    let omar = home.file_to("pending", OMAR);
    move_to(&home, &omar, "rejected");
    std::fs::remove_file(home.file_to("pending", LEE)).unwrap();
    let ana = home.file_to("pending", ANA);
    let ana_id = ana.file_stem().unwrap().to_str().unwrap().to_string();
    home.ok(&["queue", "approve", &ana_id]).await;
    assert!(
        !ana.exists()
            && home
                .queue("approved")
                .join(ana.file_name().unwrap())
                .exists()
    );

    let out = home.once_at("2026-11-03 13:05").await;
    assert!(out.stderr.contains("sent 2"), "{}", out.stderr);
    let to_zoe = mails_to(&smtp, ZOE);
    assert_eq!(to_zoe.len(), 1);
    assert_eq!(
        decode_words(to_zoe[0].one("Subject")),
        "Thanks for Tuesday, Zoë"
    );
    let text = body_text(&to_zoe[0]);
    assert!(text.contains("whiteboard session on sled"), "{text}");
    assert!(!text.contains("Learning more about the team"), "{text}");
    assert!(
        to_zoe[0].raw.contains("cv.pdf"),
        "the approved thank-you keeps its attachment"
    );
    assert!(!to_zoe[0].raw.to_ascii_lowercase().contains("x-followup"));
    assert_eq!(
        mails_to(&smtp, ANA).len(),
        1,
        "approved with `queue approve`"
    );
    assert_eq!(home.files("approved").len(), 0);
    assert_eq!(home.files("sent").len(), 2, "{:?}", home.files("sent"));
    home.file_to("sent", ZOE);
    home.file_to("sent", ANA);

    // Later rounds: the rejected and the deleted never go out, and nothing goes twice.
    home.once_at("2026-11-03 14:00").await;
    home.once_at("2026-11-04 10:00").await;
    assert!(mails_to(&smtp, OMAR).is_empty(), "rejected: never sent");
    assert!(mails_to(&smtp, LEE).is_empty(), "deleted: never sent");
    assert_eq!(mails_to(&smtp, ZOE).len(), 1);
    assert_eq!(mails_to(&smtp, ANA).len(), 1);

    let digests = mails_to(&smtp, OWNER);
    assert_eq!(
        digests.len(),
        1,
        "one digest of what waits, not one per round"
    );
    assert!(
        decode_words(digests[0].one("Subject")).contains("4 follow-up(s) wait for your approval"),
        "{}",
        digests[0].raw
    );

    let status = home.status().await;
    let waiting = keys(&status["waiting_for_approval"]);
    assert!(waiting.is_empty(), "nothing waits: {status:#}");
    let sent = keys(&status["sent"]);
    assert!(
        sent.contains(&format!("globex/thank_you/{ZOE}")),
        "{status:#}"
    );
    assert!(
        !sent.iter().any(|k| k.contains(OMAR) || k.contains(LEE)),
        "{status:#}"
    );
    let sends = home.sends().await;
    assert_eq!(
        sends[&format!("globex/thank_you/{OMAR}")]["state"],
        "rejected"
    );
    assert_eq!(
        sends[&format!("globex/thank_you/{LEE}")]["state"],
        "rejected"
    );
}

/// A thank-you approved after its 48-hour limit is not sent until approved again with --late.
#[tokio::test(flavor = "multi_thread")]
async fn thank_you_approved_after_its_limit_waits_for_approve_late() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("approve", smtp.port, "").with("initech.yaml", INITECH);
    home.once_at(THANK_YOU_AT).await;
    let file = home.file_to("pending", ANA);
    let id = file.file_stem().unwrap().to_str().unwrap().to_string();
    let approved = move_to(&home, &file, "approved");

    // The interview ended 2026-11-03 11:00 in New York: the limit is two days later.
    let out = home.once_at("2026-11-05 12:00").await;
    assert!(mails_to(&smtp, ANA).is_empty(), "not sent after its limit");
    assert!(approved.exists(), "the file stays where the user put it");
    assert!(
        out.stderr.contains("limit") && out.stderr.contains("--late"),
        "the log says why and what to do:\n{}",
        out.stderr
    );
    let status = home.status().await;
    assert!(
        keys(&status["approved"]).contains(&id),
        "status shows it still waits: {status:#}"
    );

    // What the log tells the user to run, as it says it.
    let advice = out
        .stderr
        .split("`followup queue approve --late ")
        .nth(1)
        .and_then(|rest| rest.split('`').next())
        .unwrap_or_else(|| panic!("no `queue approve --late` advice in:\n{}", out.stderr))
        .to_string();
    let out = home.ok(&["queue", "approve", "--late", &advice]).await;
    assert!(
        out.stdout.contains("late") || out.stdout.contains("approved"),
        "{}",
        out.stdout
    );
    home.once_at("2026-11-05 12:05").await;
    let sent = mails_to(&smtp, ANA);
    assert_eq!(sent.len(), 1, "sent once approved late");
    assert!(!sent[0].raw.to_ascii_lowercase().contains("x-followup"));
    assert_eq!(home.files("sent").len(), 1);
    assert!(home.files("approved").is_empty());
}

// --- 3. dry run -----------------------------------------------------------------------------------

/// Every file under `root` with its size, mtime and bytes.
fn tree(root: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
                out.insert(path, (0, None, Vec::new()));
            } else {
                let bytes = std::fs::read(&path).unwrap_or_default();
                out.insert(path, (meta.len(), meta.modified().ok(), bytes));
            }
        }
    }
    out
}

/// `--dry-run` prints what is due and touches nothing: no connection, no state, no queue file.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_prints_due_messages_and_changes_nothing() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("approve", smtp.port, "")
        .with("globex.yaml", GLOBEX)
        .with("initech.yaml", INITECH);
    // A real state and queue to leave alone: Ana's thank-you sent, Globex's waiting.
    home.once_at(THANK_YOU_AT).await;
    let ana = home.file_to("pending", ANA);
    let id = ana.file_stem().unwrap().to_str().unwrap().to_string();
    home.ok(&["queue", "approve", &id]).await;
    home.once_at("2026-11-03 13:05").await;
    assert_eq!(mails_to(&smtp, ANA).len(), 1);
    let connections = smtp.connection_count();
    let before = tree(home.path());

    let due = home.due("status_check", ANA, "2026-11-03 13:05").await;
    let out = home
        .ok(&["run", "--once", "--dry-run", "--now", &due])
        .await;
    assert!(
        out.stdout
            .contains(&format!("# dry run: initech/status_check/{ANA}")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("To: Ana Lima <{ANA}>")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Message-ID: <"), "{}", out.stdout);
    assert!(
        !out.stdout.contains("initech/thank_you"),
        "what was sent is not shown again:\n{}",
        out.stdout
    );
    assert_eq!(smtp.connection_count(), connections, "no SMTP connection");
    let after = tree(home.path());
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "no file appeared or went"
    );
    for (path, was) in &before {
        assert!(after[path] == *was, "{} changed", path.display());
    }
}

/// What dry-run shows is what would go out: a follow-up is threaded under the thank-you sent.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_shows_a_follow_up_threaded_as_it_would_be_sent() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("send", smtp.port, "").with("initech.yaml", INITECH);
    home.once_at(THANK_YOU_AT).await;
    let sent = mails_to(&smtp, ANA);
    assert_eq!(sent.len(), 1);
    let thank_you_id = sent[0].one("Message-ID").to_string();
    let subject = decode_words(sent[0].one("Subject"));

    let due = home.due("status_check", ANA, THANK_YOU_AT).await;
    let out = home
        .ok(&["run", "--once", "--dry-run", "--now", &due])
        .await;
    assert!(
        out.stdout.contains("initech/status_check"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!("In-Reply-To: {thank_you_id}"))
            && out.stdout.contains(&format!("Subject: Re: {subject}")),
        "the dry run shows the status check as it would go out (threaded):\n{}",
        out.stdout
    );
    // And the real one is threaded, for comparison.
    home.once_at(&due).await;
    let real = mails_to(&smtp, ANA);
    assert_eq!(real[1].one("In-Reply-To"), thank_you_id);
}

/// `mode: dry-run` on a fresh home: the messages on stdout, no connection, no state database
/// and no queue created.
#[tokio::test(flavor = "multi_thread")]
async fn dry_run_mode_connects_nowhere_and_creates_no_state_or_queue() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("dry-run", smtp.port, "").with("globex.yaml", GLOBEX);
    let before = tree(home.path());
    let out = home.once_at(THANK_YOU_AT).await;
    for who in [ZOE, OMAR] {
        assert!(
            out.stdout
                .contains(&format!("# dry run: globex/thank_you/{who}")),
            "{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("Dear Zoë Müller,"), "{}", out.stdout);
    assert_eq!(smtp.connection_count(), 0, "dry-run never connects");
    assert!(
        !home.path().join("state").exists(),
        "no state dir, no sled db"
    );
    let after = tree(home.path());
    let appeared: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(appeared.is_empty(), "dry-run created {appeared:?}");
}

// --- 4. and 5. SMTP failures ----------------------------------------------------------------------

/// A 4xx defers the send (shown as retrying); the retry after the backoff sends it once.
#[tokio::test(flavor = "multi_thread")]
async fn temporary_failure_is_retried_after_the_backoff_and_sent_once() {
    let smtp = server(Behaviour::TempFail(FailAt::Rcpt)).await;
    let home = Home::new("send", smtp.port, "").with("globex.yaml", GLOBEX);

    let out = home.once_at(THANK_YOU_AT).await;
    assert!(out.stderr.contains("deferred 2"), "{}", out.stderr);
    assert!(smtp.received().is_empty());
    let status = home.status().await;
    let deferred = status["deferred"].as_array().unwrap();
    assert_eq!(deferred.len(), 2, "{status:#}");
    for row in deferred {
        assert_eq!(
            row["at"], "2026-11-03T18:05:00Z",
            "retried in 5 minutes: {row}"
        );
        assert!(
            row["note"].as_str().unwrap_or_default().contains("451"),
            "{row}"
        );
    }
    let sends = home.sends().await;
    assert_eq!(
        sends[&format!("globex/thank_you/{ZOE}")]["state"],
        "deferred"
    );

    // Before the retry is due nothing is tried, even when the server would take it.
    smtp.set_behaviour(Behaviour::Accept);
    home.once_at("2026-11-03 13:02").await;
    assert!(smtp.received().is_empty(), "not retried before its time");

    home.once_at("2026-11-03 13:06").await;
    assert_eq!(mails_to(&smtp, ZOE).len(), 1);
    assert_eq!(mails_to(&smtp, OMAR).len(), 1);
    home.once_at("2026-11-03 14:30").await;
    assert_eq!(smtp.received().len(), 2, "sent exactly once each");
    let status = home.status().await;
    assert!(
        status["deferred"].as_array().unwrap().is_empty(),
        "{status:#}"
    );
    assert_eq!(status["sent"].as_array().unwrap().len(), 2, "{status:#}");
    // The retried message is the same message: same Message-ID as recorded.
    let sends = home.sends().await;
    let recorded = sends[&format!("globex/thank_you/{ZOE}")]["message_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(mails_to(&smtp, ZOE)[0].one("Message-ID"), recorded);
}

/// A 5xx fails the send at once (shown by `status`, never retried) and a notice to the user is
/// attempted.
#[tokio::test(flavor = "multi_thread")]
async fn permanent_failure_fails_at_once_is_shown_and_notifies_the_user() {
    let smtp = server(Behaviour::PermFail(FailAt::Rcpt)).await;
    let home = Home::new("send", smtp.port, "").with("initech.yaml", INITECH);

    let out = home.once_at(THANK_YOU_AT).await;
    assert!(out.stderr.contains("failed 1"), "{}", out.stderr);
    assert!(smtp.received().is_empty());
    let status = home.status().await;
    let failed = status["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{status:#}");
    assert_eq!(failed[0]["key"], format!("initech/thank_you/{ANA}"));
    assert!(
        failed[0]["note"]
            .as_str()
            .unwrap_or_default()
            .contains("550"),
        "{failed:?}"
    );
    // The server refuses every RCPT, the notice's too: the attempt is in the log.
    assert!(
        out.stderr.contains("cannot send a notice")
            && out.stderr.contains("could not send initech/thank_you"),
        "a notice was attempted:\n{}",
        out.stderr
    );

    // Failed is final: the server accepting again changes nothing for it.
    smtp.set_behaviour(Behaviour::Accept);
    home.once_at("2026-11-03 14:00").await;
    home.once_at("2026-11-04 09:00").await;
    assert!(
        mails_to(&smtp, ANA).is_empty(),
        "a failed send is never retried"
    );
    let sends = home.sends().await;
    assert_eq!(
        sends[&format!("initech/thank_you/{ANA}")]["state"],
        "failed"
    );
}

// --- 6. to 8. the long-running daemon -------------------------------------------------------------

/// The sends in the snapshot the running daemon keeps beside its database, by key.
fn snapshot_sends(home: &Home) -> BTreeMap<String, Value> {
    let path = home.path().join("state/state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let state: Value = serde_json::from_str(&text).unwrap();
    state["sends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (key_of(s), s.clone()))
        .collect()
}

/// An interview, in a zone where it is mid-afternoon now, that ended three hours ago: its
/// thank-you is due now (inside the 08:00-20:00 window and well within its limit).
fn interview_ending_now(company: &str, name: &str, email: &str) -> String {
    let now = Utc::now();
    let hour = i32::try_from(chrono::Timelike::hour(&now)).unwrap();
    let offset = 14 - hour; // local hour 14:xx; from UTC+14 down to UTC-9
    let zone = match offset {
        0 => "Etc/GMT".to_string(),
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    };
    let local = now.with_timezone(&FixedOffset::east_opt(offset * 3600).unwrap());
    let start = local - Span::hours(4);
    format!(
        "company: {company}\nposition: Site Reliability Engineer\nstart: {}\nduration: 1h\n\
         timezone: {zone}\ninterviewers:\n  - name: {name}\n    email: {email}\n",
        start.format("%Y-%m-%d %H:%M")
    )
}

/// A broken edit to a running daemon's record is reported with file and line, changes nothing,
/// and the next good edit is picked up by the watcher; SIGTERM then stops it with exit 0.
#[tokio::test(flavor = "multi_thread")]
async fn broken_record_edit_keeps_the_last_good_version_and_the_daemon_running() {
    let smtp = server(Behaviour::Accept).await;
    let good = interview_ending_now("Globex", "Zoë Müller", ZOE);
    let home = Home::new("send", smtp.port, "").with("globex.yaml", &good);
    let mut daemon = home.spawn("daemon");
    poll("the thank-you", || {
        (!smtp.received().is_empty()).then_some(())
    })
    .await;
    assert_eq!(mails_to(&smtp, ZOE).len(), 1);

    // A YAML syntax error on line 2 (`status` and `state export` refuse to load such records,
    // so what the daemon did is read from its own snapshot).
    let broken = good.replacen(
        "position: Site Reliability Engineer",
        "position: [unclosed",
        1,
    );
    assert_ne!(broken, good);
    home.write("globex.yaml", &broken);
    let log = daemon
        .wait_log("the error about the broken record", |l| {
            l.contains("the last good version stays in force")
        })
        .await;
    assert!(
        log.lines().any(|l| l.contains("ERROR")
            && (l.contains("globex.yaml:2:") || l.contains("globex.yaml:3:"))),
        "the log names the file and line:\n{log}"
    );
    assert!(daemon.running(), "the daemon keeps running:\n{log}");
    // Give a tick the chance to act on the broken version, then check it did not.
    home.write("initech.yaml", "company: [still broken\n");
    daemon
        .wait_log("the second error", |l| {
            l.matches("the last good version stays in force").count() >= 2
        })
        .await;
    std::fs::remove_file(home.path().join("interviews/initech.yaml")).unwrap();
    let snapshot = snapshot_sends(&home);
    assert_eq!(
        snapshot
            .get(&format!("globex/thank_you/{ZOE}"))
            .map(|s| s["state"].clone()),
        Some(Value::from("sent")),
        "{snapshot:#?}"
    );
    assert!(
        snapshot.values().all(|s| s["state"] != "cancelled"),
        "nothing is cancelled: {snapshot:#?}"
    );
    assert_eq!(smtp.received().len(), 1, "nothing more is sent");
    assert!(!daemon.log().contains("cancelled"), "{}", daemon.log());

    // A fix and a new interview: the new thank-you goes out within seconds.
    home.write("globex.yaml", &good);
    home.write(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    poll("the new interview's thank-you", || {
        (!mails_to(&smtp, ANA).is_empty()).then_some(())
    })
    .await;
    assert_eq!(mails_to(&smtp, ZOE).len(), 1, "the first is not sent again");
    assert_eq!(smtp.received().len(), 2, "{}", daemon.log());

    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.exit_code().await, Some(0), "{}", daemon.log());
    let sends = home.sends().await;
    assert_eq!(sends[&format!("initech/thank_you/{ANA}")]["state"], "sent");
    assert_eq!(sends[&format!("globex/thank_you/{ZOE}")]["state"], "sent");
}

/// A second daemon on the same state refuses to start, saying why; the first carries on.
#[tokio::test(flavor = "multi_thread")]
async fn second_daemon_on_the_same_state_refuses_to_start() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("send", smtp.port, "").with("globex.yaml", GLOBEX);
    let mut first = home.spawn("first");
    first
        .wait_log("the first daemon to start", |l| {
            l.contains("followup is running")
        })
        .await;

    let second = home.run(&["run"]).await;
    assert_ne!(second.code, Some(0), "the second daemon must not run");
    assert!(!second.stderr.contains("panicked"), "{}", second.stderr);
    let err = second.stderr.to_lowercase();
    assert!(
        err.contains("state")
            && err.contains(
                &home
                    .path()
                    .join("state")
                    .display()
                    .to_string()
                    .to_lowercase()
            ),
        "names the state directory: {}",
        second.stderr
    );
    assert!(
        err.contains("in use by another followup daemon") || err.contains("lock"),
        "says it is in use: {}",
        second.stderr
    );
    assert!(first.running(), "the first is unaffected:\n{}", first.log());

    // The first still works: a new record is picked up and sent.
    home.write(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    poll("the first daemon to send", || {
        (!mails_to(&smtp, ANA).is_empty()).then_some(())
    })
    .await;
    first.signal(libc::SIGTERM);
    assert_eq!(first.exit_code().await, Some(0), "{}", first.log());
}

/// SIGTERM while a send is stuck: the process waits for the transaction to end (bounded by the
/// SMTP timeout), exits 0, and the state says the send must be retried or decided, never lost.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_send_exits_0_and_leaves_the_send_recoverable() {
    let smtp = server(Behaviour::Stall(StallAt::Rcpt)).await;
    let home = Home::new("send", smtp.port, "").with(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    let mut daemon = home.spawn("daemon");
    poll("the stalled RCPT", || {
        smtp.saw_command("RCPT").then_some(())
    })
    .await;
    daemon.signal(libc::SIGTERM);
    assert_eq!(daemon.exit_code().await, Some(0), "{}", daemon.log());
    assert!(smtp.received().is_empty());

    let sends = home.sends().await;
    let key = sends
        .keys()
        .find(|k| k.ends_with(&format!("/thank_you/{ANA}")))
        .unwrap_or_else(|| panic!("the send is not in the state: {sends:#?}"))
        .clone();
    let state = sends[&key]["state"].as_str().unwrap().to_string();
    assert!(
        state == "deferred" || state == "uncertain",
        "{key} is {state}, not deferred or uncertain:\n{:#}\n{}",
        sends[&key],
        daemon.log()
    );

    // And it is not lost: the next run sends it once the server answers.
    smtp.set_behaviour(Behaviour::Accept);
    if state == "deferred" {
        let retry = sends[&key]["next_attempt"].as_str().unwrap().to_string();
        let at = DateTime::parse_from_rfc3339(&retry).unwrap() + Span::minutes(1);
        home.once_at(&at.to_rfc3339()).await;
        assert_eq!(mails_to(&smtp, ANA).len(), 1, "sent at the retry");
    }
}

/// Checks the aftermath of a send whose body went out without an answer: `uncertain`, never
/// resent by itself, waiting in `pending/` with a note, the user told; approving it sends it with
/// the same Message-ID.
async fn check_uncertain_is_decided_by_the_user(home: &Home, smtp: &TestSmtpServer) {
    let key = format!("/thank_you/{ANA}");
    let sends = home.sends().await;
    let (_, send) = sends
        .iter()
        .find(|(k, _)| k.ends_with(&key))
        .unwrap_or_else(|| panic!("no send in {sends:#?}"));
    assert_eq!(send["state"], "uncertain", "{send:#}");
    let message_id = send["message_id"].as_str().unwrap().to_string();

    let pending = home.file_to("pending", ANA);
    let text = std::fs::read_to_string(&pending).unwrap();
    assert!(
        text.contains("X-Followup-Note:") && text.contains(&message_id),
        "queued for a decision, with a note and the same Message-ID:\n{text}"
    );
    let notices: Vec<Mail> = mails_to(smtp, OWNER);
    assert_eq!(notices.len(), 1, "the user is told once");
    assert!(
        decode_words(notices[0].one("Subject")).contains("not sure whether"),
        "{}",
        notices[0].raw
    );

    // Rounds later: still not resent by itself, no second notice.
    home.ok(&["run", "--once"]).await;
    assert!(
        mails_to(smtp, ANA).is_empty(),
        "an uncertain send is never resent by itself"
    );
    assert_eq!(mails_to(smtp, OWNER).len(), 1);

    let id = pending.file_stem().unwrap().to_str().unwrap().to_string();
    home.ok(&["queue", "approve", &id]).await;
    home.ok(&["run", "--once"]).await;
    let sent = mails_to(smtp, ANA);
    assert_eq!(sent.len(), 1, "sent again once the user approved it");
    assert_eq!(
        sent[0].one("Message-ID"),
        message_id,
        "with the same Message-ID"
    );
}

/// A daemon killed (SIGKILL) after it handed the body over leaves a send that the next start
/// must treat as uncertain: never resent automatically.
#[tokio::test(flavor = "multi_thread")]
async fn send_killed_after_the_body_is_uncertain_at_the_next_start() {
    let smtp = server(Behaviour::Stall(StallAt::AfterBody)).await;
    let home = Home::new("send", smtp.port, "").with(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    let mut daemon = home.spawn("daemon");
    poll("the DATA command", || {
        smtp.saw_command("DATA").then_some(())
    })
    .await;
    // The body follows DATA at once; give it a moment to be read before the crash.
    tokio::time::sleep(Duration::from_millis(300)).await;
    daemon.signal(libc::SIGKILL);
    assert_eq!(daemon.exit_code().await, None, "killed by the signal");

    let sends = home.sends().await;
    let send = sends
        .values()
        .find(|s| s["key"]["recipient"] == ANA)
        .unwrap_or_else(|| panic!("{sends:#?}"));
    assert_eq!(send["state"], "sending", "{send:#}");
    assert_eq!(send["body_handed_over"], true, "{send:#}");

    smtp.set_behaviour(Behaviour::Accept);
    let out = home.ok(&["run", "--once"]).await;
    assert!(out.stderr.contains("uncertain"), "{}", out.stderr);
    check_uncertain_is_decided_by_the_user(&home, &smtp).await;
}

/// SIGTERM while the server sits on the answer to the body: the daemon waits out the SMTP
/// timeout, exits 0, and the send is uncertain (it may have been delivered), not lost.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_the_answer_to_the_body_is_pending_leaves_it_uncertain() {
    let smtp = server(Behaviour::Stall(StallAt::AfterBody)).await;
    let home = Home::new("send", smtp.port, "").with(
        "initech.yaml",
        &interview_ending_now("Initech", "Ana Lima", ANA),
    );
    let mut daemon = home.spawn("daemon");
    poll("the DATA command", || {
        smtp.saw_command("DATA").then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The notice to the user after the timeout needs a server that answers.
    daemon.signal(libc::SIGTERM);
    smtp.set_behaviour(Behaviour::Accept);
    assert_eq!(daemon.exit_code().await, Some(0), "{}", daemon.log());
    assert!(mails_to(&smtp, ANA).is_empty());
    check_uncertain_is_decided_by_the_user(&home, &smtp).await;
}

/// A 4xx or 5xx answer to the end of DATA is a definite "not delivered": the send is deferred or
/// failed, not uncertain, and nothing waits in the queue for a decision.
#[tokio::test(flavor = "multi_thread")]
async fn refusal_after_the_body_is_a_definite_answer_not_uncertain() {
    for (behaviour, want) in [
        (Behaviour::TempFail(FailAt::EndOfData), "deferred"),
        (Behaviour::PermFail(FailAt::EndOfData), "failed"),
    ] {
        let smtp = server(behaviour).await;
        let home = Home::new("send", smtp.port, "").with("initech.yaml", INITECH);
        home.once_at(THANK_YOU_AT).await;
        let sends = home.sends().await;
        let send = &sends[&format!("initech/thank_you/{ANA}")];
        assert_eq!(send["state"], want, "{behaviour:?}: {send:#}");
        assert!(home.files("pending").is_empty(), "{behaviour:?}");
        if want == "deferred" {
            smtp.set_behaviour(Behaviour::Accept);
            home.once_at("2026-11-03 13:06").await;
            assert_eq!(mails_to(&smtp, ANA).len(), 1, "retried and sent");
        }
    }
}

/// `status` tells the user why an approved file is not being sent (here: a thank-you approved
/// after its limit), instead of listing it as "about to be sent".
#[tokio::test(flavor = "multi_thread")]
async fn status_says_why_an_approved_file_is_not_sent() {
    let smtp = server(Behaviour::Accept).await;
    let home = Home::new("approve", smtp.port, "").with("initech.yaml", INITECH);
    home.once_at(THANK_YOU_AT).await;
    let file = home.file_to("pending", ANA);
    move_to(&home, &file, "approved");
    home.once_at("2026-11-05 12:00").await;
    assert!(mails_to(&smtp, ANA).is_empty());

    let status = home.status().await;
    let text = status.to_string();
    assert!(
        text.contains("limit") || text.contains("--late"),
        "status --json says nothing about why it is not sent: {status:#}"
    );
    let out = home.ok(&["status", "--now", "2026-11-05 12:01"]).await;
    assert!(
        out.stdout.contains("--late") || out.stdout.contains("limit"),
        "status lists it as about to be sent:\n{}",
        out.stdout
    );
}
