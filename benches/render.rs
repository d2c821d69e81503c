//! Rendering 10,000 messages: each record's thank-you, from its templates to the bytes handed
//! to SMTP (render, compose, build with lettre), as the daemon does before each send.

mod common;

use std::hint::black_box;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use followup::core::{History, SendKey, Step};
use followup::mail::compose::compose;
use followup::workspace::Workspace;

fn bench(c: &mut Criterion) {
    let count = 10_000;
    let home = common::home(count, 100, "2026-10-05 10:00", "Europe/Berlin", "");
    let ws = Workspace::load(&home.config()).expect("a valid workspace");
    let keys: Vec<SendKey> = ws
        .interviews
        .iter()
        .map(|iv| SendKey::of(iv, Step::ThankYou, iv.primary(), &ws.config.owner))
        .collect();
    let history = History::default();
    let now = Utc.with_ymd_and_hms(2026, 10, 5, 12, 0, 0).unwrap();
    let mut group = c.benchmark_group("render");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(count as u64));
    group.bench_function("10000 thank-yous to bytes", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for key in &keys {
                let message = compose(&ws, black_box(key), &[], &history, now).expect("renders");
                bytes += message.to_lettre().expect("builds").formatted().len();
            }
            bytes
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
