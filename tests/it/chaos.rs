//! The mailbox chaos test: a daemon in send mode reading a real Dovecot for about two minutes
//! while the test stops and starts the server, freezes it (SIGSTOP) past every timeout, takes
//! the Sent folder away and brings it back, and changes the password and back; meanwhile new
//! interviews (so sends) and replies keep arriving. At the end: every message sent exactly once,
//! every reply heard, every Sent copy filed exactly once, the daemon's CPU under 5 % of the wall
//! time, fewer than 300 log lines, and each problem was shown by `status` while it lasted.
//!
//! It needs Dovecot (as every Dovecot test) and runs only under `FOLLOWUP_TORTURE=1`, which
//! `.ci/run` sets: it takes two minutes. Whatever happens, the server is left as
//! `.ci/dovecot-setup.sh setup` leaves it (running, thawed, its password and Sent folder back).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::dovecot::{DEADLINE, Dovecot};
use crate::support::gate::Gate;
use crate::support::wait::wait_for;
use crate::support::world::{World, interview_ending_now};

const CHAOS: Gate = Gate {
    var: "FOLLOWUP_TORTURE",
    only_when_asked: true,
    how_to_run: "as root with Dovecot set up (`bash .ci/dovecot-setup.sh`) and the \
     FOLLOWUP_INTEROP_* variables of `.ci/run`: `FOLLOWUP_TORTURE=1 flock \
     /tmp/followup-mailserver.lock cargo test --test it chaos`",
};

/// How long the faults go on: each round of them takes about 25 s.
const CHAOS_FOR: Duration = Duration::from_secs(100);

/// Runs `.ci/dovecot-setup.sh` with `args`, failing the test if it fails.
fn ctl(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/dovecot-setup.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run .ci/dovecot-setup.sh");
    assert!(
        out.status.success(),
        "`dovecot-setup.sh {}` failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Puts the server back however the test ends: thawed, running, its password as it was, and
/// the test's own Sent folder (the shared `Sent` is created again by Dovecot as soon as it is
/// gone, so the test files its copies in a folder of its own) removed.
struct Restore {
    sent: PathBuf,
    hidden: PathBuf,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| ctl(&["thaw"]));
        let _ = std::panic::catch_unwind(|| ctl(&["start"]));
        let _ = std::panic::catch_unwind(|| ctl(&["password"]));
        let _ = std::fs::remove_dir_all(&self.hidden);
        let _ = std::fs::remove_dir_all(&self.sent);
    }
}

/// Makes a Maildir++ folder `name` in `maildir`, owned as the Maildir is.
fn make_folder(maildir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(maildir).unwrap();
    let dir = maildir.join(format!(".{name}"));
    for sub in ["", "cur", "new", "tmp"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).unwrap();
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    dir
}

/// The daemon's CPU time so far (user + system), from `/proc/<pid>/stat`.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).unwrap();
    Duration::from_millis(ticks * 1000 / per_second)
}

/// The test's world: the home, the server and who was written to.
struct Chaos {
    w: World,
    d: Dovecot,
    domain: String,
    /// Interviewers added so far.
    people: Vec<String>,
    /// Replies delivered so far, by interviewer.
    replied: Vec<String>,
}

impl Chaos {
    /// A new interview whose thank-you is due now: a send that arrives.
    fn add_interview(&mut self) {
        let n = self.people.len();
        let email = format!("person{n}@{}", self.domain);
        self.w.write(
            &format!("chaos{n}.yaml"),
            &interview_ending_now(&format!("Chaos{n}"), &format!("Person {n}"), &email),
        );
        self.people.push(email);
    }

    /// The Message-ID of the thank-you to `email`, once it went out.
    fn thank_you_id(&self, email: &str) -> Option<String> {
        let mails = self.w.to(email);
        mails.first().and_then(|m| m.header("Message-ID"))
    }

    /// A reply to the oldest thank-you not answered yet, into INBOX (the file is written even
    /// while the server is down, as an MDA would).
    fn deliver_reply(&mut self) {
        let Some(email) = self
            .people
            .iter()
            .find(|p| !self.replied.contains(p) && self.thank_you_id(p).is_some())
            .cloned()
        else {
            return;
        };
        let parent = self.thank_you_id(&email).unwrap();
        let reply = format!(
            "From: {email}\r\nTo: sam@example.org\r\nSubject: Re: Thank you\r\n\
             Date: {}\r\nMessage-ID: <{}@{}>\r\nIn-Reply-To: {parent}\r\n\
             References: {parent}\r\n\r\nThanks, we will be in touch next week.\r\n",
            chrono::Utc::now().to_rfc2822(),
            uuid::Uuid::new_v4().simple(),
            self.domain
        );
        self.d.deliver(reply.as_bytes());
        self.replied.push(email);
    }

    fn status(&self) -> String {
        self.w.ok(&["status"]).stdout
    }

    /// Waits until `status` shows what `seen` looks for, while the problem lasts. On a timeout
    /// the failure shows the last `status` and the daemon's log: a flake is read, not guessed.
    #[track_caller]
    fn status_shows(&self, what: &str, seen: impl Fn(&str) -> bool) {
        let began = Instant::now();
        loop {
            let status = self.status();
            if seen(&status) {
                return;
            }
            if began.elapsed() > DEADLINE {
                let log = std::fs::read_to_string(self.w.path("daemon.log")).unwrap_or_default();
                panic!(
                    "gave up waiting for {what} after {DEADLINE:?}; status:\n{status}\nlog:\n{log}"
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn sent_to_each_once(&self) -> bool {
        self.people.iter().all(|p| self.w.to(p).len() == 1)
    }
}

#[test]
fn through_every_mailbox_fault_nothing_is_lost_doubled_or_spun_on() {
    if CHAOS.check(|| Ok::<_, String>(())).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some((d, _turn)) = runtime.block_on(Dovecot::take()) else {
        return;
    };
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let folder = format!("ChaosSent{}", &unique[..8]);
    let restore = Restore {
        sent: make_folder(&d.maildir, &folder),
        hidden: d.maildir.join(format!(".{folder}-taken-away")),
    };

    let domain = format!("chaos-{unique}.example.com");
    let imap = format!(
        "imap:\n  host: {}\n  port: {}\n  security: plain\n  username: {}\n  \
         password_file: imap-password\n  sent: {folder}\n  save_sent: always\n  poll: 2s\n  \
         timeout: 3s\n  retry_max: 4s\n  retry_lasting: 8s\n",
        d.host, d.starttls_port, d.user
    );
    let w = World::serving("send").configure(|c| c.extra.push_str(&imap));
    w.write_file("imap-password", d.password.as_bytes());
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            w.path("imap-password"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
    }
    let mut c = Chaos {
        w,
        d,
        domain,
        people: Vec::new(),
        replied: Vec::new(),
    };
    c.add_interview();
    // The binary's own log filter, as in production: the lines counted are the user's.
    let mut daemon =
        c.w.followup()
            .env_remove("RUST_LOG")
            .arg("run")
            .spawn(&c.w.path("daemon.log"));
    let began = Instant::now();
    let cpu_began = cpu_time(daemon.pid());
    daemon.wait_log("the daemon runs", |log| log.contains("followup is running"));
    wait_for("the first thank-you", DEADLINE, || c.sent_to_each_once());

    // The faults, one after the other, again and again for about two minutes.
    let mut cycles = 0;
    while cycles == 0 || began.elapsed() < CHAOS_FOR {
        cycles += 1;
        wait_for("the sends so far", DEADLINE, || c.sent_to_each_once());
        // 1. The server stops: sends go on, the problem shows, replies wait in the Maildir.
        ctl(&["stop"]);
        c.add_interview();
        c.deliver_reply();
        c.status_shows("status shows the mailbox down", |s| {
            s.contains("cannot read")
        });
        wait_for("a send while the server is down", DEADLINE, || {
            c.sent_to_each_once()
        });
        ctl(&["start"]);

        // 2. The server hangs (SIGSTOP) past the connect and command timeouts.
        ctl(&["freeze"]);
        c.add_interview();
        c.status_shows(
            "status shows the copy waiting on a server that hangs",
            |s| s.contains("waiting for the Sent folder") && s.contains("did not"),
        );
        ctl(&["thaw"]);
        c.deliver_reply();

        // 3. The Sent folder is taken away, then comes back.
        wait_for("copies filed before Sent goes", DEADLINE, || {
            copies_waiting(&c.w) == 0
        });
        std::fs::rename(&restore.sent, &restore.hidden).unwrap();
        c.add_interview();
        c.status_shows("status shows Sent missing, with what to do", |s| {
            s.contains("waiting for the Sent folder") && s.contains("set `imap.sent`")
        });
        std::fs::rename(&restore.hidden, &restore.sent).unwrap();
        c.deliver_reply();

        // 4. The password changes, then changes back.
        ctl(&["password", "chaos-changed-password"]);
        c.deliver_reply();
        c.status_shows("status shows the login refused, with what to do", |s| {
            s.contains("imap.username and the password")
        });
        ctl(&["password"]);
    }

    // The end: everything settles.
    c.deliver_reply();
    wait_for("every thank-you sent", DEADLINE, || c.sent_to_each_once());
    c.deliver_reply();
    let replies = |c: &Chaos| {
        c.w.ok(&["replies", "--json"])
            .json()
            .as_array()
            .map_or(0, |r| r.iter().filter(|r| r["kind"] == "reply").count())
    };
    wait_for("every reply heard", Duration::from_secs(60), || {
        replies(&c) == c.replied.len()
    });
    wait_for("every copy filed", Duration::from_secs(60), || {
        copies_waiting(&c.w) == 0
    });
    let wall = began.elapsed();
    let cpu = cpu_time(daemon.pid()) - cpu_began;
    let log = daemon.log();
    let lines = log.lines().count();
    daemon.signal(libc::SIGTERM);
    wait_for("the daemon stops", Duration::from_secs(20), || {
        daemon.try_exit().is_some()
    });

    for p in &c.people {
        assert_eq!(c.w.to(p).len(), 1, "{p} got exactly one thank-you");
        let id = c.thank_you_id(p).unwrap();
        let id = crate::support::api::MessageId::from_header(&id).unwrap();
        let copies = c.d.maildir_flags(Some(&folder), &id);
        assert_eq!(copies.len(), 1, "one copy in Sent for {p}: {copies:?}");
    }
    assert_eq!(replies(&c), c.replied.len(), "every reply heard, once");
    let share = cpu.as_secs_f64() / wall.as_secs_f64();
    println!(
        "chaos: {cycles} rounds of faults, {} sends, {} replies, {} copies, {:.1} s wall, {:.2} s \
         CPU ({:.2} %), {lines} log lines",
        c.people.len(),
        c.replied.len(),
        c.people.len(),
        wall.as_secs_f64(),
        cpu.as_secs_f64(),
        share * 100.0
    );
    assert!(share < 0.05, "CPU {:.2} % of the wall time", share * 100.0);
    assert!(lines < 300, "{lines} log lines:\n{log}");
    assert!(
        !log.contains("Some(") && !log.contains("Outcome {"),
        "no Debug text in the log:\n{log}"
    );
    drop(restore);
}

/// Copies of sent messages still waiting in the state directory for the Sent folder.
fn copies_waiting(w: &World) -> usize {
    std::fs::read_dir(w.path("state/sent-copies")).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .count()
    })
}
