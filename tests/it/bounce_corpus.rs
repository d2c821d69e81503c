//! The flufl.bounce corpus (`fixtures/flufl_bounce/`, Apache-2.0): about a hundred real bounces
//! from Postfix, Exim, qmail, Sendmail, Exchange, GroupWise, Yahoo, AOL and others, with the
//! addresses each names and whether the failure is temporary or permanent.
//!
//! Each bounce is read as the answer to one of our sends, as it would arrive in the user's
//! INBOX: a send to each expected address, two days before the bounce, whose Message-ID is the
//! returned message's when it has one (as if we had sent it), and the null sender's
//! `Return-Path: <>` in place of the mailing list's address the corpus was collected with. The figures are printed (`cargo test --test it bounce_corpus -- --nocapture`);
//! the test holds them: no temporary failure makes an address undeliverable, and every
//! permanent one is read as a failure of its address but the misses named in [`KNOWN_MISSES`].

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Duration, TimeZone, Utc};
use followup::core::MessageId;
use followup::core::inbound::{Context, OurSend, Outcome, Verdict, classify};
use followup::mailbox::inbound::parse;

/// Permanent bounces not read as a failure of the expected address, and why.
const KNOWN_MISSES: &[(&str, &str)] = &[
    (
        "yale_01.txt",
        "names the recipient by its local part only (`userx`): no address to tie or mark",
    ),
    (
        "aol_01.txt",
        "names the recipient by its screen name only (`screenname`): no address to tie or mark",
    ),
    (
        "dsn_15.txt",
        "the delivery report is inside a message/rfc822 of another message: a forwarded report is \
         no report (the issue's rule), and the outer text reads as a delay",
    ),
    (
        "sina_01.txt",
        "Chinese wording in GB2312 without a charset: no bounce words a rule can read",
    ),
];

fn corpus() -> Vec<(String, bool, Vec<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/flufl_bounce");
    let table = std::fs::read_to_string(dir.join("expected.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let file = f.next().unwrap().to_string();
            let temporary = f.next().unwrap() == "temporary";
            let addresses = f
                .next()
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_lowercase)
                .collect();
            (file, temporary, addresses)
        })
        .collect()
}

/// The bounce as it arrives in the user's INBOX: a bounce is sent with the null envelope sender
/// (RFC 5321 §4.5.5), which the delivering server writes as `Return-Path: <>`. The corpus was
/// collected by mailing lists, whose servers wrote their own address there instead.
fn as_delivered(raw: &[u8]) -> Vec<u8> {
    let mut out = b"Return-Path: <>\n".to_vec();
    let mut in_header = true;
    for line in raw.split_inclusive(|&b| b == b'\n') {
        if in_header && (line == b"\n" || line == b"\r\n") {
            in_header = false;
        }
        if in_header && line.len() >= 12 && line[..12].eq_ignore_ascii_case(b"return-path:") {
            continue;
        }
        out.extend_from_slice(line);
    }
    out
}

/// What each expected address came out as.
fn read(file: &str, addresses: &[String]) -> BTreeMap<String, Option<Outcome>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/flufl_bounce");
    let raw = std::fs::read(dir.join(file)).unwrap();
    let message = parse(&as_delivered(&raw));
    let received: DateTime<Utc> = message
        .date
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0).unwrap());
    let returned_id = message
        .report
        .returned
        .as_ref()
        .and_then(|r| r.message_id.clone());
    let sent: Vec<OurSend> = addresses
        .iter()
        .enumerate()
        .map(|(i, to)| OurSend {
            interview: format!("interview-{i}"),
            message_id: returned_id.clone().or_else(|| {
                MessageId::from_header(&format!("<followup.thank_you.{i}@example.org>"))
            }),
            to: to.clone(),
            at: received - Duration::days(2),
        })
        .collect();
    let ctx = Context {
        me: &[],
        open: &[],
        sent: &sent,
    };
    let verdict = classify(&message, &ctx, received);
    if std::env::var_os("FOLLOWUP_CORPUS_DETAIL").is_some() {
        println!("{file}: {verdict}");
    }
    addresses
        .iter()
        .map(|a| {
            let outcome = match &verdict {
                Verdict::DeliveryReport(r) => r
                    .recipients
                    .iter()
                    .filter(|r| r.ours.as_deref() == Some(a.as_str()))
                    .map(|r| r.outcome)
                    .max_by_key(|o| match o {
                        Outcome::Undeliverable => 3,
                        Outcome::Bounced => 2,
                        Outcome::Delayed => 1,
                        Outcome::Delivered => 0,
                    }),
                _ => None,
            };
            (a.clone(), outcome)
        })
        .collect()
}

#[test]
fn the_flufl_bounce_corpus_is_read_as_failures_of_the_addresses_and_delays_stay_deliverable() {
    let mut permanent = 0;
    let mut permanent_failure = 0;
    let mut permanent_undeliverable = 0;
    let mut temporary = 0;
    let mut temporary_undeliverable = Vec::new();
    let mut misses = Vec::new();
    for (file, is_temporary, addresses) in corpus() {
        if addresses.is_empty() {
            continue;
        }
        let got = read(&file, &addresses);
        if is_temporary {
            temporary += 1;
            if got.values().any(|o| *o == Some(Outcome::Undeliverable)) {
                temporary_undeliverable.push(format!("{file}: {got:?}"));
            }
            continue;
        }
        permanent += 1;
        if got.values().all(|o| o.is_some_and(Outcome::is_failure)) {
            permanent_failure += 1;
        } else {
            misses.push((file.clone(), format!("{got:?}")));
        }
        if got.values().all(|o| *o == Some(Outcome::Undeliverable)) {
            permanent_undeliverable += 1;
        }
    }
    println!(
        "flufl.bounce corpus: {permanent_failure} of {permanent} permanent bounces read as a \
         failure of the address ({permanent_undeliverable} as undeliverable, the rest as \
         bounced); {} of {temporary} temporary ones wrongly undeliverable",
        temporary_undeliverable.len()
    );
    for (file, got) in &misses {
        println!("  missed {file}: {got}");
    }
    assert!(
        temporary_undeliverable.is_empty(),
        "{temporary_undeliverable:#?}"
    );
    let unknown: Vec<_> = misses
        .iter()
        .filter(|(f, _)| !KNOWN_MISSES.iter().any(|(k, _)| k == f))
        .collect();
    assert!(unknown.is_empty(), "new misses: {unknown:#?}");
}
