//! The send path end to end: one round of the daemon in send mode with 110 thank-yous due (100
//! interviews, every tenth with a second interviewer),
//! against the in-process SMTP server of the tests on loopback, each run from an empty state:
//! plan, claim, render, the before-body mark, SMTP, the outcome, with every flush.

mod common;

// The tests' in-process SMTP server (and the MIME decoder it records mail with).
#[allow(dead_code)]
#[path = "../tests/it/support/mail.rs"]
mod mail;
#[allow(dead_code)]
#[path = "../tests/it/support/smtp_server.rs"]
mod smtp_server;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use followup::daemon::{Daemon, Live, Mode};
use followup::settings::smtp_sender;
use followup::store::SledStore;
use followup::workspace::Workspace;
use smtp_server::{Behaviour, TestSmtpServer};

const INTERVIEWS: usize = 100;

/// One thank-you to each interviewer.
const MESSAGES: usize = INTERVIEWS + INTERVIEWS / 10;

fn bench(c: &mut Criterion) {
    let server = TestSmtpServer::behaving(Behaviour::Accept);
    let smtp = format!(
        "mode: send\nsmtp:\n  host: 127.0.0.1\n  port: {}\n  security: plain\n",
        server.port
    );
    let home = common::home(INTERVIEWS, 1, "2026-10-05 10:00", "Europe/Berlin", &smtp);
    // Three hours after the interviews: every thank-you is due, within its window.
    let now = Utc.with_ymd_and_hms(2026, 10, 5, 11, 0, 0).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut group = c.benchmark_group("send");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(MESSAGES as u64));
    group.bench_function("110 thank-yous, one round", |b| {
        b.iter_batched(
            || {
                let state = common::state(&home);
                let _ = std::fs::remove_dir_all(&state);
                let ws = Workspace::load(&home.config()).expect("a valid workspace");
                let store = SledStore::open(&state).expect("the state");
                let transport = smtp_sender(&ws.config).expect("the sender");
                let live = Live::open(&ws, Box::new(store), transport).expect("the queue");
                Daemon::new(&home.config(), ws, Mode::Send(live))
            },
            |mut daemon| {
                let report = runtime.block_on(daemon.tick(now)).expect("a round");
                assert_eq!(report.sent.len(), MESSAGES);
                daemon
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
