//! A temporary world for daemon tests: config and records in a temp dir, a real SMTP server on
//! loopback, a real sled state, and helpers to read what arrived.

use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use followup::core::{SendKey, Step};
use followup::daemon::Daemon;
use followup::delivery::SmtpSender;
use followup::store::{SendRecord, SledStore, Store};
use followup::workspace::Workspace;

use super::smtp_server::{Received, ServerOptions, TestSmtpServer};

pub const JANE: &str = "jane@globex.example.com";
pub const ZOE: &str = "zoe@globex.example.com";
pub const ME: &str = "sam@example.org";

/// Tue 2026-11-03 10:00-11:00 in New York, with Jane (primary) and Zoë.
pub const RECORD: &str = "\
company: Globex
position: Backend Engineer
start: 2026-11-03 10:00
interviewers:
  - name: Jane Roe
    title: Engineering Manager
    email: jane@globex.example.com
    primary: true
  - name: Zoë Müller
    email: zoe@globex.example.com
attachments: [portfolio.pdf]
";

pub struct World {
    pub dir: tempfile::TempDir,
    pub server: TestSmtpServer,
}

impl World {
    pub async fn new(mode: &str) -> Self {
        let server = TestSmtpServer::start(ServerOptions::default()).await;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("interviews")).unwrap();
        std::fs::write(root.join("interviews/globex.yaml"), RECORD).unwrap();
        std::fs::write(root.join("interviews/portfolio.pdf"), b"%PDF-1.4 test\n").unwrap();
        let config = format!(
            "me:\n  name: Sam Seeker\n  email: {ME}\ntimezone: America/New_York\nmode: {mode}\n\
             interviews: interviews\nstate_dir: state\n\
             smtp:\n  host: 127.0.0.1\n  port: {}\n  security: plain\n  timeout: 2s\n",
            server.port
        );
        std::fs::write(root.join("followup.yaml"), config).unwrap();
        Self { dir, server }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn daemon(&self) -> Daemon<SmtpSender> {
        let config = self.path("followup.yaml");
        let ws = Workspace::load(&config).unwrap();
        let mode = ws.config.mode;
        let store: Box<dyn Store> = Box::new(SledStore::open(&ws.config.state_dir).unwrap());
        let transport = followup::commands::smtp_sender(&ws.config).unwrap();
        Daemon::new(&config, ws, Some(store), Some(transport), mode).unwrap()
    }

    pub fn to(&self, address: &str) -> Vec<Received> {
        self.server
            .received()
            .into_iter()
            .filter(|r| r.rcpt.iter().any(|a| a == address))
            .collect()
    }
}

pub fn at(local: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
    chrono_tz::America::New_York
        .from_local_datetime(&naive)
        .unwrap()
        .with_timezone(&Utc)
}

pub fn text(r: &Received) -> String {
    String::from_utf8_lossy(&r.data).into_owned()
}

pub fn header(r: &Received, name: &str) -> Option<String> {
    let t = text(r);
    let head = t
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n ", " ");
    head.lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with(&format!("{}:", name.to_ascii_lowercase()))
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}

pub fn key(step: Step, who: &str) -> SendKey {
    SendKey::new("globex", step, who)
}

/// Ticks at each instant the daemon asks for, until nothing is left or `until`.
pub async fn run_until(d: &mut Daemon<SmtpSender>, from: DateTime<Utc>, until: DateTime<Utc>) {
    let mut now = from;
    for _ in 0..200 {
        let report = d.tick(now).await.unwrap();
        match report.next {
            Some(next) if next <= until => now = next,
            _ => return,
        }
    }
    panic!("the daemon never settled");
}

pub fn record(d: &Daemon<SmtpSender>, k: &SendKey) -> SendRecord {
    let state = &d.workspace().config.state_dir;
    let snapshot: followup::store::Snapshot =
        serde_json::from_str(&std::fs::read_to_string(state.join("state.json")).unwrap()).unwrap();
    snapshot.sends.into_iter().find(|r| &r.key == k).unwrap()
}
