//! How long the planner takes for a busy job search: it runs on every tick and every `plan`.

use std::hint::black_box;

use chrono::{NaiveDate, TimeDelta, TimeZone, Utc};
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use followup::core::{EmailAddress, History, Interview, Interviewer, Owner, Policy, Status, plan};

/// `n` interviews over two months, two or three interviewers each, in three zones; every fifth
/// has a recruiter too, each recruiter shared by ten interviews (so the weekly cap defers).
fn interviews(n: usize) -> Vec<Interview> {
    let zones = [
        chrono_tz::America::New_York,
        chrono_tz::Europe::Berlin,
        chrono_tz::Asia::Tokyo,
    ];
    (0..n)
        .map(|i| {
            let tz = zones[i % zones.len()];
            let day =
                NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + TimeDelta::days((i % 60) as i64);
            let local = day.and_hms_opt(9 + (i % 8) as u32, 0, 0).unwrap();
            let start = tz
                .from_local_datetime(&local)
                .single()
                .unwrap()
                .with_timezone(&Utc);
            let person = |name: String, email: String, primary| Interviewer {
                name,
                greeting: None,
                title: None,
                email: Some(EmailAddress::parse(&email).unwrap()),
                primary,
            };
            let mut people = vec![
                person(format!("Lead {i}"), format!("lead{i}@example.com"), true),
                person(format!("Peer {i}"), format!("peer{i}@example.com"), false),
            ];
            if i % 5 == 0 {
                let r = i / 50;
                people.push(person(
                    format!("Rita {r}"),
                    format!("rita{r}@example.org"),
                    false,
                ));
            }
            Interview {
                id: format!("iv{i:06}"),
                company: format!("Company {i}"),
                position: "Engineer".into(),
                local_start: local,
                start,
                end: start + TimeDelta::hours(1),
                timezone: tz,
                interviewers: people,
                decision_by: (i % 3 == 0).then(|| day + TimeDelta::days(10)),
                status: if i % 7 == 0 {
                    Status::Rejected
                } else {
                    Status::Waiting
                },
                status_on: (i % 7 == 0).then(|| day + TimeDelta::days(5)),
                notes: Default::default(),
                attachments: vec![],
                domains: Vec::new(),
                source: "bench.yaml".into(),
            }
        })
        .collect()
}

/// The user the plans are for.
fn owner() -> Owner {
    Owner {
        name: "Sam Seeker".into(),
        email: EmailAddress::parse("sam@example.org").unwrap(),
        aliases: Vec::new(),
        phone: None,
        signature: None,
        timezone: chrono_tz::America::New_York,
    }
}

fn bench(c: &mut Criterion) {
    let owner = owner();
    let policy = Policy::default();
    let now = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    for n in [10, 100, 1000] {
        let records = interviews(n);
        c.bench_function(&format!("plan {n} interviews"), |b| {
            b.iter(|| {
                plan(
                    black_box(&records),
                    &History::default(),
                    &policy,
                    &owner,
                    now,
                )
            })
        });
    }
}

/// The large sets, sampled less: one run of 100,000 takes seconds.
fn bench_large(c: &mut Criterion) {
    let owner = owner();
    let policy = Policy::default();
    let now = Utc.with_ymd_and_hms(2026, 10, 1, 0, 0, 0).unwrap();
    let mut group = c.benchmark_group("plan large");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(3));
    for n in [10_000, 100_000] {
        let records = interviews(n);
        group.bench_function(format!("plan {n} interviews"), |b| {
            b.iter(|| {
                plan(
                    black_box(&records),
                    &History::default(),
                    &policy,
                    &owner,
                    now,
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_large);
criterion_main!(benches);
