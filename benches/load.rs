//! Loading the records (`load_interviews`: read and parse) and validating the whole workspace
//! (`Workspace::load`: that, and every template rendered for every record), for 100, 10,000
//! and 100,000 interviews, one to a file and in lists of 100. The workspaces are written to a
//! temporary directory first.

mod common;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use followup::input::records::load_interviews;
use followup::workspace::Workspace;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("load");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for count in [100, 10_000, 100_000] {
        for per_file in [1, 100] {
            let home = common::home(count, per_file, "2026-10-05 10:00", "Europe/Berlin", "");
            let layout = if per_file == 1 {
                "one per file"
            } else {
                "100 per file"
            };
            let dir = common::interviews(&home);
            group.bench_with_input(
                BenchmarkId::new(format!("records, {layout}"), count),
                &dir,
                |b, dir| {
                    b.iter(|| {
                        let (all, problems) = load_interviews(black_box(dir), chrono_tz::UTC);
                        assert_eq!((all.len(), problems.len()), (count, 0));
                    })
                },
            );
            group.bench_with_input(
                BenchmarkId::new(format!("validate, {layout}"), count),
                &home.config(),
                |b, config| {
                    b.iter(|| {
                        let ws = Workspace::load(black_box(config)).expect("a valid workspace");
                        assert_eq!(ws.interviews.len(), count);
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
