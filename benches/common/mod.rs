//! What the benchmarks share: a workspace of generated records, written to a temporary directory
//! by the benchmark itself, so nothing large is committed.

#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The highlights the records mention, in turn.
const HIGHLIGHTS: [&str; 4] = [
    "the plan to move billing onto an event log",
    "the churn dashboard you are rebuilding",
    "how the team runs its on-call rotation",
    "the migration of the search cluster",
];

/// A workspace in a temporary directory: `followup.yaml` and `interviews/`.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("followup.yaml")
    }
}

/// `count` interviews, `per_file` to a file, each with its own interviewer (and every tenth a
/// second one), that ended at `start` (local, `YYYY-MM-DD HH:MM` in `zone`). `config_rest` is
/// added to the config (`mode: dry-run` is the default there).
pub fn home(count: usize, per_file: usize, start: &str, zone: &str, config_rest: &str) -> Home {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let interviews = dir.path().join("interviews");
    std::fs::create_dir(&interviews).expect("the interviews directory");
    let mut config = format!(
        "me:\n  name: Sam Seeker\n  email: sam@example.org\n  phone: \"+1 555 0100\"\n\
         timezone: {zone}\ninterviews: interviews\nstate_dir: state\n"
    );
    if !config_rest.contains("mode:") {
        config.push_str("mode: dry-run\n");
    }
    config.push_str(config_rest);
    std::fs::write(dir.path().join("followup.yaml"), config).expect("the config");
    for first in (0..count).step_by(per_file.max(1)) {
        let mut text = String::new();
        for i in first..(first + per_file).min(count) {
            record(&mut text, i, start, per_file > 1);
        }
        let name = interviews.join(format!("iv{first:06}.yaml"));
        std::fs::write(name, text).expect("a record file");
    }
    Home { dir }
}

fn record(out: &mut String, i: usize, start: &str, in_list: bool) {
    let (first, lead) = if in_list { ("- ", "  ") } else { ("", "") };
    let highlight = HIGHLIGHTS[i % HIGHLIGHTS.len()];
    let _ = write!(
        out,
        "{first}id: iv{i:06}\n{lead}company: Company {i}\n{lead}position: Backend Engineer\n\
         {lead}start: {start}\n{lead}interviewers:\n\
         {lead}  - name: Jane Roe{i}\n{lead}    title: Engineering Manager\n\
         {lead}    email: jane.roe{i}@company{i}.example.com\n"
    );
    if i.is_multiple_of(10) {
        let _ = write!(
            out,
            "{lead}  - name: Omar Diaz{i}\n{lead}    email: omar.diaz{i}@company{i}.example.com\n"
        );
    }
    let _ = writeln!(out, "{lead}notes:\n{lead}  highlight: {highlight}");
}

/// The directory of `home`'s records.
pub fn interviews(home: &Home) -> PathBuf {
    home.dir.path().join("interviews")
}

/// Where a state directory of `home` goes.
pub fn state(home: &Home) -> PathBuf {
    home.dir.path().join("state")
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}
