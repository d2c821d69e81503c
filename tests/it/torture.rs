//! The torture test: `followup run --once` as a real child process, SIGKILLed at random moments
//! (also in the middle of an SMTP transaction) while a real SMTP server on loopback misbehaves,
//! over months of virtual time. Afterwards what the server received is compared with the state:
//! no key delivered twice, no due send lost, no message without a record, nothing left `sending`.
//!
//! Where Dovecot is there (as every Dovecot test, see `support::dovecot`), the SMTP sink also
//! files every message it accepted in Dovecot's Sent, as Gmail files what it relays, and the
//! mailbox is then read once: every uncertain send that reached the server must end settled as
//! sent, never sent again. The uncertain counts before and after are printed.
//!
//! `FOLLOWUP_TORTURE=1` (set by `.ci/run`) runs the full bound, 70 interviews and at least 50
//! kills; without it a plain `cargo test` runs a short one that checks the same invariants over
//! fewer interviews, kills and steps. `FOLLOWUP_TORTURE_SCALE` (default 1) scales the number of
//! interviews and the span of time; `FOLLOWUP_TORTURE_SEED` replays a run. See
//! `docs/reliability.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc, Weekday};

use crate::support::api::{Folder, QueueDir, SendRecord, SendState, Snapshot};
use crate::support::dovecot::Dovecot;
use crate::support::gate;
use crate::support::runner::Running;
use crate::support::smtp_server::{Behaviour, FailAt, StallAt, TestSmtpServer};
use crate::support::world::{ME, World, open_state};

const ZONE: chrono_tz::Tz = chrono_tz::America::New_York;
/// A run that has not exited after this long is hung: the test fails.
const HUNG: Duration = Duration::from_secs(60);

/// How much a run does.
struct Bound {
    /// Interviews at scale 1.
    interviews: usize,
    /// At least this many kills over the run, whatever the dice say.
    min_kills: usize,
    /// Each step moves the virtual clock by this many hours, at least and at most.
    step_hours: (u64, u64),
}

/// CI's run (`FOLLOWUP_TORTURE=1`): about three steps a day over two and a half months.
const FULL: Bound = Bound {
    interviews: 70,
    min_kills: 50,
    step_hours: (3, 12),
};

/// The everyday `cargo test`: the same walk through every step of the playbook, with fewer
/// interviews, kills and wake-ups.
const SHORT: Bound = Bound {
    interviews: 8,
    min_kills: 12,
    step_hours: (16, 40),
};

/// xorshift64*: tiny, deterministic from the seed, good enough to pick moments.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

struct Person {
    name: String,
    email: String,
}

struct Interview {
    id: String,
    company: &'static str,
    start: NaiveDateTime,
    minutes: u32,
    zone: Option<&'static str>,
    people: Vec<Person>,
    decision_by: Option<NaiveDate>,
    /// When the rejection arrives: the record is rewritten as `rejected` once the virtual clock
    /// passes it, as the user would edit it.
    rejected_on: Option<NaiveDate>,
}

impl Interview {
    fn yaml(&self, rejected: bool) -> String {
        let mut y = format!(
            "company: {}\nposition: Engineer {}\nstart: {}\nduration: {}m\n",
            self.company,
            self.id,
            self.start.format("%Y-%m-%d %H:%M"),
            self.minutes
        );
        if let Some(zone) = self.zone {
            y.push_str(&format!("timezone: {zone}\n"));
        }
        y.push_str("interviewers:\n");
        for (i, p) in self.people.iter().enumerate() {
            y.push_str(&format!("  - name: {}\n    email: {}\n", p.name, p.email));
            if i == 0 {
                y.push_str("    primary: true\n");
            }
        }
        if let Some(d) = self.decision_by {
            y.push_str(&format!("decision_by: {d}\n"));
        }
        match (rejected, self.rejected_on) {
            (true, Some(d)) => y.push_str(&format!("status: rejected\nstatus_on: {d}\n")),
            _ => y.push_str("status: waiting\n"),
        }
        y.push_str("notes:\n  highlight: the part about the event log\n");
        y
    }

    fn start_utc(&self) -> DateTime<Utc> {
        let tz: chrono_tz::Tz = self.zone.map_or(ZONE, |z| z.parse().unwrap());
        tz.from_local_datetime(&self.start)
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }
}

const COMPANIES: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Wonka",
    "Cyberdyne",
];
const FIRST: &[&str] = &[
    "Jane", "Omar", "Priya", "Zoe", "Ken", "Ada", "Luis", "Mei", "Tom", "Ines", "Raj", "Eva",
];
const LAST: &[&str] = &[
    "Roe",
    "Diaz",
    "Natarajan",
    "Muller",
    "Okafor",
    "Lovelace",
    "Garcia",
    "Chen",
    "Berg",
    "Silva",
];

fn interviews(rng: &mut Rng, n: usize) -> Vec<Interview> {
    let recruiters: Vec<Person> = (0..6)
        .map(|i| Person {
            name: format!("Riley Recruiter{i}"),
            email: format!("riley{i}@talent.example.net"),
        })
        .collect();
    // About three interviews a working day, from Monday 2026-11-02.
    let first = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
    let span_days = (n as u64 * 7 / 15).max(5);
    let mut out = Vec::new();
    for i in 0..n {
        let mut day = first + TimeDelta::days(rng.below(span_days) as i64);
        while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            day += TimeDelta::days(1);
        }
        let company = *rng.pick(COMPANIES);
        let domain = format!("{}.example.com", company.to_lowercase());
        let count = rng.range(1, 3) as usize;
        let mut people = Vec::new();
        let mut used = BTreeSet::new();
        while people.len() < count {
            let p = if rng.chance(0.35) {
                let r = rng.pick(&recruiters);
                Person {
                    name: r.name.clone(),
                    email: r.email.clone(),
                }
            } else {
                let (f, l) = (*rng.pick(FIRST), *rng.pick(LAST));
                Person {
                    name: format!("{f} {l}"),
                    email: format!("{}.{}{i}@{domain}", f.to_lowercase(), l.to_lowercase()),
                }
            };
            if used.insert(p.email.clone()) {
                people.push(p);
            }
        }
        let decision_by = rng
            .chance(0.4)
            .then(|| day + TimeDelta::days(rng.range(3, 12) as i64));
        let rejected_on = rng
            .chance(0.12)
            .then(|| day + TimeDelta::days(rng.range(2, 16) as i64));
        out.push(Interview {
            id: format!("iv{i:03}"),
            company,
            start: day.and_hms_opt(rng.range(9, 16) as u32, 0, 0).unwrap(),
            minutes: *rng.pick(&[30, 45, 60, 90]),
            zone: rng.chance(0.15).then_some("Europe/London"),
            people,
            decision_by,
            rejected_on,
        });
    }
    out
}

fn pick_behaviour(rng: &mut Rng) -> Behaviour {
    match rng.below(100) {
        0..=54 => Behaviour::Accept,
        55..=63 => Behaviour::TempFail(FailAt::Rcpt),
        64..=68 => Behaviour::TempFail(FailAt::EndOfData),
        69 => Behaviour::PermFail(FailAt::Rcpt),
        70 => Behaviour::PermFail(FailAt::EndOfData),
        71..=75 => Behaviour::DropAfterBody,
        76..=81 => Behaviour::DeliverThenDrop,
        82..=83 => Behaviour::Stall(StallAt::AfterBody),
        84..=85 => Behaviour::DeliverThenStall,
        _ => Behaviour::RefuseConnections,
    }
}

/// When to SIGKILL a run.
#[derive(Clone, Copy)]
enum Kill {
    /// This long after it was started.
    After(Duration),
    /// This long after it first connected to the server (never, if it does not connect).
    AfterConnect(Duration),
}

/// The test's view of the world: the workspace, the server and the counters.
struct Rig {
    world: World,
    /// Every run's log, one after the other.
    log: File,
    runs: usize,
    kills: usize,
    kills_mid_transaction: usize,
    flips: usize,
    /// Moving average of how long a run that talked to the server takes, in ms: kills land in
    /// `0..1.3 x` this.
    busy_ms: f64,
    /// Wall time spent in runs.
    run_ms: f64,
}

impl Rig {
    fn server(&self) -> &TestSmtpServer {
        self.world.server()
    }

    fn log_path(&self) -> std::path::PathBuf {
        self.world.path("runs.log")
    }

    fn spawn_run(&mut self, now: DateTime<Utc>) -> Running {
        self.runs += 1;
        use std::io::Write;
        let _ = writeln!(self.log, "=== run {} --now {}", self.runs, now.to_rfc3339());
        self.world
            .round_at(&now.to_rfc3339())
            .spawn(&self.log_path())
    }

    fn flip(&mut self, rng: &mut Rng) {
        self.server().set_behaviour(pick_behaviour(rng));
        self.flips += 1;
    }

    /// One step: runs at `now` until one run finishes by itself, killing earlier ones as the dice
    /// say. Each killed run is restarted on the same step. A kill is aimed either anywhere in the
    /// run (start-up, recovery, the tick) or at the SMTP part: a few ms after the run's first
    /// connection to the server.
    /// Starts a run and kills it a few ms in, if it is still going then.
    fn kill_early(&mut self, rng: &mut Rng, now: DateTime<Utc>) {
        let mut child = self.spawn_run(now);
        // The kill's moment, at random: what is tested, not a wait.
        std::thread::sleep(Duration::from_micros(rng.below(20_000)));
        if child.running() {
            if self.server().open_transactions() > 0 {
                self.kills_mid_transaction += 1;
            }
            child.kill();
            self.kills += 1;
        } else {
            let status = child.try_exit().expect("it exited");
            assert!(
                status.success(),
                "run {} at {now} failed ({status})",
                self.runs
            );
        }
    }

    fn step(&mut self, rng: &mut Rng, now: DateTime<Utc>, kill_chance: f64) {
        let mut kills_here = 0;
        loop {
            let kill = (kills_here < 3 && rng.chance(kill_chance)).then(|| {
                if rng.chance(0.3) {
                    Kill::After(Duration::from_millis(
                        rng.below((self.busy_ms * 1.3) as u64 + 1),
                    ))
                } else {
                    Kill::AfterConnect(Duration::from_micros(rng.below(40_000)))
                }
            });
            let flip_after = rng
                .chance(0.15)
                .then(|| Duration::from_millis(rng.below(self.busy_ms as u64 + 1)));
            let connections = self.server().connection_count();
            let started = Instant::now();
            let mut connected: Option<Instant> = None;
            let mut child = self.spawn_run(now);
            let mut flipped = false;
            let status = loop {
                if let Some(status) = child.try_exit() {
                    break Some(status);
                }
                let elapsed = started.elapsed();
                if connected.is_none() && self.server().connection_count() > connections {
                    connected = Some(Instant::now());
                }
                if !flipped && flip_after.is_some_and(|t| elapsed >= t) {
                    self.flip(rng);
                    flipped = true;
                }
                let due = match kill {
                    Some(Kill::After(t)) => elapsed >= t,
                    Some(Kill::AfterConnect(t)) => connected.is_some_and(|c| c.elapsed() >= t),
                    None => false,
                };
                if due {
                    if self.server().open_transactions() > 0 {
                        self.kills_mid_transaction += 1;
                    }
                    child.kill();
                    break None;
                }
                assert!(
                    elapsed < HUNG,
                    "run {} at {now} hangs; log: {}",
                    self.runs,
                    self.log_path().display()
                );
                // The watch's tick: it looks for the run's exit, its connection, and the moments
                // of its kill and of a flip; HUNG bounds it.
                std::thread::sleep(Duration::from_micros(200));
            };
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            self.run_ms += ms;
            match status {
                None => {
                    self.kills += 1;
                    kills_here += 1;
                    if rng.chance(0.3) {
                        self.flip(rng);
                    }
                }
                Some(status) => {
                    assert!(
                        status.success(),
                        "run {} at {now} failed ({status}); log: {}",
                        self.runs,
                        self.log_path().display()
                    );
                    if self.server().connection_count() > connections {
                        self.busy_ms = 0.8 * self.busy_ms + 0.2 * ms.min(3000.0);
                    }
                    return;
                }
            }
        }
    }

    fn output(&self, args: &[&str]) -> String {
        self.world.ok(args).stdout
    }
}

fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn scale() -> f64 {
    std::env::var("FOLLOWUP_TORTURE_SCALE")
        .ok()
        .map(|s| s.parse().expect("FOLLOWUP_TORTURE_SCALE is a number"))
        .unwrap_or(1.0)
}

fn seed() -> u64 {
    match std::env::var("FOLLOWUP_TORTURE_SEED") {
        Ok(s) => s.parse().expect("FOLLOWUP_TORTURE_SEED is a number"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

#[test]
fn killed_at_random_the_daemon_never_sends_twice_and_never_loses_a_send() {
    let began = Instant::now();
    let (scale, seed) = (scale(), seed());
    let (bound, size) = if gate::asked("FOLLOWUP_TORTURE") {
        (FULL, "full")
    } else {
        (SHORT, "short (FOLLOWUP_TORTURE=1 runs the full one)")
    };
    println!(
        "torture: seed {seed} (FOLLOWUP_TORTURE_SEED={seed} replays it), scale {scale}, {size}"
    );
    let mut rng = Rng::new(seed);

    let world = World::serving("send").with_smtp_timeout("1s");
    let n = ((bound.interviews as f64 * scale).round() as usize).max(5);
    let ivs = interviews(&mut rng, n);
    for iv in &ivs {
        world.write(&format!("{}.yaml", iv.id), &iv.yaml(false));
    }
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(world.path("runs.log"))
        .unwrap();
    let mut rig = Rig {
        world,
        log,
        runs: 0,
        kills: 0,
        kills_mid_transaction: 0,
        flips: 0,
        busy_ms: 300.0,
        run_ms: 0.0,
    };

    // Virtual time: from the day before the first interview to well after the last close.
    let first = ivs.iter().map(Interview::start_utc).min().unwrap();
    let last = ivs.iter().map(Interview::start_utc).max().unwrap();
    let mut now = first - TimeDelta::days(1);
    let end = last + TimeDelta::days(45);
    let mean_step = (bound.step_hours.0 + bound.step_hours.1) as f64 / 2.0;
    let expected_steps = ((end - now).num_hours() as f64 / mean_step).max(1.0);
    let mut rejected = BTreeSet::new();
    let mut steps = 0usize;
    while now < end {
        now += TimeDelta::hours(rng.range(bound.step_hours.0, bound.step_hours.1) as i64);
        steps += 1;
        for iv in &ivs {
            if let Some(day) = iv.rejected_on
                && ZONE
                    .from_local_datetime(&day.and_hms_opt(12, 0, 0).unwrap())
                    .unwrap()
                    .with_timezone(&Utc)
                    <= now
                && rejected.insert(iv.id.clone())
            {
                rig.world.write(&format!("{}.yaml", iv.id), &iv.yaml(true));
            }
        }
        if rng.chance(0.45) {
            rig.flip(&mut rng);
        }
        // Nearly half the runs are marked for a kill (not all land: a run may finish first, or never
        // connect); more once the run falls short of the minimum.
        let left = (expected_steps - steps as f64).max(1.0);
        let chance = (0.45f64).max(4.0 * (bound.min_kills.saturating_sub(rig.kills)) as f64 / left);
        rig.step(&mut rng, now, chance.min(1.0));
    }
    // Top up: should timing have let too many marked runs finish first (a loaded machine runs
    // everything slower), kill runs early in their start-up and recovery until the minimum is met.
    let mut tries = 0;
    while rig.kills < bound.min_kills && tries < 1000 {
        tries += 1;
        rig.kill_early(&mut rng, now);
    }
    // Settle: a good server and no more kills, until every retry has had its chance.
    rig.server().set_behaviour(Behaviour::Accept);
    for _ in 0..4 {
        now += TimeDelta::hours(2);
        rig.step(&mut rng, now, 0.0);
    }
    let chaos_runs = rig.runs;

    // The mailbox: the sink's messages go into Sent, and one run reads it.
    let at = now.to_rfc3339();
    let before: Snapshot = serde_json::from_str(&rig.output(&["state", "export"])).unwrap();
    let uncertain_before: Vec<String> = before
        .sends
        .iter()
        .filter(|r| r.state == SendState::Uncertain)
        .map(|r| r.key.to_string())
        .collect();
    let reconciled = reconcile_with_the_mailbox(&mut rig, &at);

    // What the state and the planner say, against what the server has.
    let snapshot: Snapshot = serde_json::from_str(&rig.output(&["state", "export"])).unwrap();
    let plan: Vec<serde_json::Value> =
        serde_json::from_str(&rig.output(&["plan", "--now", &at, "--json"])).unwrap();
    let received = rig.server().mails();
    let queue = QueueDir::open(&rig.world.path("state/queue")).unwrap();
    let waiting: BTreeSet<String> = queue
        .scan(Folder::Pending)
        .unwrap()
        .iter()
        .chain(queue.scan(Folder::Approved).unwrap().iter())
        .filter_map(|e| e.key().map(|k| k.to_string()))
        .collect();

    let by_id: BTreeMap<String, &SendRecord> = snapshot
        .sends
        .iter()
        .filter_map(|r| Some((bare_id(r.message_id.as_ref()?.as_str()), r)))
        .collect();
    let mut problems = Vec::new();
    let mut deliveries: BTreeMap<String, usize> = BTreeMap::new();
    let mut notices = 0;
    for r in &received {
        let id = r
            .header("Message-ID")
            .map(|i| bare_id(&i))
            .unwrap_or_default();
        match by_id.get(&id) {
            Some(record) => *deliveries.entry(record.key.to_string()).or_default() += 1,
            None if r.rcpt == [ME]
                && r.header("Subject")
                    .is_some_and(|s| s.starts_with("followup:")) =>
            {
                notices += 1
            }
            None => problems.push(format!(
                "received a message with no record: Message-ID {id}, to {:?}, subject {:?}",
                r.rcpt,
                r.header("Subject")
            )),
        }
    }
    let (mut duplicates, mut lost) = (0, 0);
    let mut count = BTreeMap::<&str, usize>::new();
    let mut uncertain_delivered = 0;
    let mut retried_then_delivered = 0;
    for record in &snapshot.sends {
        let key = record.key.to_string();
        let got = deliveries.get(&key).copied().unwrap_or(0);
        *count.entry(record.state.as_str()).or_default() += 1;
        if got > 1 {
            duplicates += 1;
            problems.push(format!(
                "{key} was delivered {got} times (state {})",
                record.state.as_str()
            ));
        }
        let has_reason = record.last_error.is_some() || record.note.is_some();
        match record.state {
            SendState::Sent if got == 0 => {
                lost += 1;
                problems.push(format!("{key} is `sent` but the server never got it"));
            }
            SendState::Sent => {
                if record.attempts > 1 {
                    retried_then_delivered += 1;
                }
            }
            SendState::Uncertain => {
                uncertain_delivered += got.min(1);
                if !has_reason {
                    problems.push(format!("{key} is uncertain with no reason"));
                }
                if !waiting.contains(&key) {
                    problems.push(format!(
                        "{key} is uncertain but not in the approval queue for a decision"
                    ));
                }
            }
            SendState::Failed | SendState::Skipped | SendState::Cancelled | SendState::Rejected => {
                if got > 0 {
                    problems.push(format!(
                        "{key} is {} but was delivered",
                        record.state.as_str()
                    ));
                }
                if !has_reason {
                    problems.push(format!("{key} is {} with no reason", record.state.as_str()));
                }
            }
            SendState::Deferred if record.next_attempt.is_none_or(|t| t <= now) => {
                lost += 1;
                problems.push(format!("{key} is still deferred, retry due in the past"));
            }
            SendState::Sending | SendState::Planned | SendState::Queued | SendState::Approved => {
                lost += 1;
                problems.push(format!(
                    "{key} was left {} at the end",
                    record.state.as_str()
                ));
            }
            SendState::Deferred => {}
        }
    }
    let uncertain_after = count.get("uncertain").copied().unwrap_or(0);
    if reconciled {
        for key in &uncertain_before {
            let record = snapshot.sends.iter().find(|r| &r.key.to_string() == key);
            let reached = deliveries.get(key).copied().unwrap_or(0) > 0;
            if reached && record.is_none_or(|r| r.state != SendState::Sent) {
                problems.push(format!(
                    "{key} reached the server and is in Sent, but is still {} after the mailbox \
                     was read",
                    record.map_or("missing", |r| r.state.as_str())
                ));
            }
        }
    }
    println!(
        "torture: uncertain sends before the mailbox was read {}, after {}{}",
        uncertain_before.len(),
        uncertain_after,
        if reconciled {
            ""
        } else {
            " (no Dovecot: the mailbox was not read)"
        }
    );
    let mut planned = 0;
    let mut plan_states = BTreeMap::<String, usize>::new();
    for row in &plan {
        let state = row["state"].as_str().unwrap().to_string();
        let due: DateTime<Utc> = row["due"].as_str().unwrap().parse().unwrap();
        if due > now {
            continue;
        }
        planned += 1;
        *plan_states.entry(state.clone()).or_default() += 1;
        if matches!(state.as_str(), "scheduled" | "deferred") {
            lost += 1;
            problems.push(format!(
                "{} is {state}, due {due}, but was never done",
                row["key"].as_str().unwrap()
            ));
        }
    }

    // What the corruption guard costs each run: open the final state a few times.
    let opens = 5;
    let t = Instant::now();
    for _ in 0..opens {
        drop(open_state(&rig.world.path("state")));
    }
    let open_ms = t.elapsed().as_secs_f64() * 1000.0 / opens as f64;
    let db_kb = dir_size(&rig.world.path("state/db")) / 1024;

    let delivered: usize = deliveries.values().sum();
    println!(
        "torture: seed {seed} scale {scale}: {n} interviews, {steps} steps, {chaos_runs} runs, \
         {planned} sends planned (due), {} records {:?}; delivered {delivered}, notices {notices}; \
         kills {} ({} mid-transaction), behaviour flips {}; duplicates {duplicates}, lost {lost}, \
         uncertain {} ({uncertain_delivered} of them delivered), failed {}, \
         retried-then-delivered {retried_then_delivered}; plan {:?}; sled open {open_ms:.0} ms \
         (db {db_kb} KiB); {:.0} ms a run; elapsed {:.0} s",
        snapshot.sends.len(),
        count,
        rig.kills,
        rig.kills_mid_transaction,
        rig.flips,
        count.get("uncertain").copied().unwrap_or(0),
        count.get("failed").copied().unwrap_or(0),
        plan_states,
        rig.run_ms / rig.runs as f64,
        began.elapsed().as_secs_f64()
    );
    if rig.kills < bound.min_kills {
        problems.push(format!(
            "only {} kills; the test needs at least {}",
            rig.kills, bound.min_kills
        ));
    }
    if !problems.is_empty() {
        let kept = rig.world.dir.keep();
        panic!(
            "{} problem(s) (workspace kept in {}, seed {seed}):\n{}",
            problems.len(),
            kept.display(),
            problems.join("\n")
        );
    }
    if std::env::var_os("FOLLOWUP_TORTURE_KEEP").is_some() {
        println!(
            "torture: workspace kept in {}",
            rig.world.dir.keep().display()
        );
    }
}

/// Files every message the sink accepted in Dovecot's Sent, as Gmail does with what it relays,
/// gives the workspace an `imap` section (copies: the provider's, none of followup's), and runs
/// once at `at`, which reads the mailbox before its round. `false` when there is no Dovecot.
fn reconcile_with_the_mailbox(rig: &mut Rig, at: &str) -> bool {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some((d, _turn)) = runtime.block_on(Dovecot::take()) else {
        return false;
    };
    for mail in rig.server().mails() {
        d.deliver_to(Some("Sent"), mail.raw.as_bytes());
    }
    let password = rig.world.path("imap-password");
    std::fs::write(&password, &d.password).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&password, std::fs::Permissions::from_mode(0o600)).unwrap();
    let imap = format!(
        "imap:\n  host: {}\n  port: {}\n  security: plain\n  username: {}\n  \
         password_file: imap-password\n  save_sent: never\n",
        d.host, d.starttls_port, d.user
    );
    rig.world.reconfigure(|c| c.extra.push_str(&imap));
    let mut run = rig.spawn_run(at.parse().unwrap());
    let status = crate::support::wait::wait_for("the mailbox run to end", HUNG, || run.try_exit());
    assert!(
        status.success(),
        "the run that reads the mailbox failed ({status}); log: {}",
        rig.log_path().display()
    );
    true
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| {
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                dir_size(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}
