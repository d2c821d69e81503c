//! Recording outcomes and adding interviews without editing YAML: `mark`, `add`, `add --ics`.

use std::path::{Path, PathBuf};

use crate::support::world::{World, cause_of, plan_row};

/// The example record as a user keeps it: comments, a blank line, notes at the end.
const COMMENTED: &str = "\
# Globex: the panel on Tuesday.
company: Globex
position: Backend Engineer
start: 2026-11-03 10:00          # their time, New York
interviewers:
  - name: Jane Roe
    email: jane@globex.example.com
    primary: true

status: waiting                  # waiting | replied | rejected
notes:
  highlight: the billing rewrite
";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/ics")
        .join(name)
}

fn text(w: &World, rel: &str) -> String {
    std::fs::read_to_string(w.path(rel)).unwrap()
}

#[test]
fn mark_edits_the_record_in_place_keeping_its_comments_and_layout() {
    let w = World::empty().with("globex.yaml", COMMENTED);
    let out = w.ok(&[
        "mark",
        "globex",
        "replied",
        "--on",
        "2026-11-06",
        "--decision-by",
        "2026-11-20",
    ]);
    assert!(
        out.stdout
            .contains("globex: replied on 2026-11-06, decision by 2026-11-20"),
        "{}",
        out.stdout
    );
    let after = text(&w, "interviews/globex.yaml");
    assert_eq!(
        after,
        COMMENTED.replace(
            "status: waiting                  # waiting | replied | rejected\n",
            "status: replied                  # waiting | replied | rejected\n\
             status_on: 2026-11-06\ndecision_by: 2026-11-20\n"
        )
    );
    // The plan sees it: one more check, from the new date.
    let rows = w.plan_rows("2026-11-07 09:00");
    let check = plan_row(&rows, "status_check", None);
    assert_eq!(check["state"], "scheduled", "{check}");
    assert!(cause_of(check, "new_decision_date").is_some(), "{check}");
}

#[test]
fn mark_refuses_what_would_break_the_record_and_writes_nothing() {
    let w = World::empty().with("globex.yaml", COMMENTED);
    // A decision date before the interview: the record loader refuses it.
    let err = w
        .run(&[
            "mark",
            "globex",
            "replied",
            "--on",
            "2026-11-04",
            "--decision-by",
            "2026-11-01",
        ])
        .exit(1)
        .stderr;
    assert!(
        err.contains("nothing was written") && err.contains("decision_by"),
        "{err}"
    );
    assert_eq!(text(&w, "interviews/globex.yaml"), COMMENTED);
    let err = w.run(&["mark", "globx", "rejected"]).exit(1).stderr;
    assert!(
        err.contains("no interview `globx`") && err.contains("globex"),
        "{err}"
    );
    w.run(&["mark", "globex", "hired"]).exit(2);
}

#[test]
fn mark_edits_one_record_of_a_file_that_holds_a_list() {
    let list = format!(
        "- id: first\n{}- id: second\n{}",
        indent(RECORD_NO_ATTACHMENT),
        indent(&RECORD_NO_ATTACHMENT.replace("Globex", "Initech"))
    );
    let w = World::empty().with("two.yaml", &list);
    w.ok(&["mark", "second", "rejected", "--on", "2026-11-05"]);
    let after = text(&w, "interviews/two.yaml");
    let (first, second) = after.split_once("- id: second").unwrap();
    assert!(!first.contains("status"), "{after}");
    assert!(
        second.contains("  status: rejected\n  status_on: 2026-11-05\n"),
        "{after}"
    );
    w.ok(&["validate"]);
}

const RECORD_NO_ATTACHMENT: &str = "company: Globex\nposition: Engineer\nstart: 2026-11-03 10:00\n\
                                    interviewers:\n  - name: Jane Roe\n    email: jane@globex.example.com\n";

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

#[test]
fn add_takes_flags_named_after_the_fields_and_never_waits_without_a_terminal() {
    let w = World::empty();
    let out = w.ok(&[
        "add",
        "--company",
        "Hooli",
        "--position",
        "Platform Engineer",
        "--start",
        "2026-11-10 15:00",
        "--duration",
        "45m",
        "--interviewer",
        "Denpok Singh, VP Platform <denpok@hooli.example.com>",
        "--note",
        "highlight=the build farm",
    ]);
    let path = w.path("interviews/hooli-2026-11-10.yaml");
    assert!(
        out.stdout.contains(&path.display().to_string()),
        "{}",
        out.stdout
    );
    let record = std::fs::read_to_string(&path).unwrap();
    assert!(record.contains("    title: VP Platform\n"), "{record}");
    w.ok(&["validate"]);
    // With stdin closed (no terminal) a missing field is an error at once, naming the flags.
    let err = w.run(&["add", "--company", "Hooli"]).exit(1).stderr;
    assert!(
        err.contains("missing --position, --start, --interviewer")
            && err.contains("not a terminal"),
        "{err}"
    );
}

#[test]
fn add_asks_for_what_is_missing_on_a_terminal() {
    let w = World::empty();
    let out = w
        .followup()
        .args(["add", "--company", "Hooli"])
        .on_terminal(
            "Platform Engineer\n2026-11-10 25:00\n2026-11-10 15:00\n\n\
             Denpok Singh <denpok@hooli.example.com>\nGavin Belson\n\n",
        )
        .success();
    assert!(
        out.stderr.contains("Position: ") && !out.stderr.contains("Company: "),
        "asks only what is missing: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("is not a local date and time"),
        "asks again: {}",
        out.stderr
    );
    let record = text(&w, "interviews/hooli-2026-11-10.yaml");
    assert!(
        record.contains("start: 2026-11-10 15:00\nduration: 1h\n")
            && record.contains("  - name: Gavin Belson\n"),
        "{record}"
    );
}

#[test]
fn add_ics_reads_google_outlook_and_zoom_invitations() {
    let w = World::empty();
    for (file, id, start, duration, zone, people, position) in [
        (
            "google.ics",
            "globex-2026-12-08",
            "2026-12-08 14:00",
            "1h30m",
            "America/New_York",
            &["Jane Roe", "Omar Diaz"][..],
            "Senior Backend Engineer",
        ),
        (
            "outlook.ics",
            "initech-2026-12-09",
            "2026-12-09 10:00",
            "45m",
            "America/Los_Angeles",
            &["Priya Natarajan", "Lee Chen"],
            "Data Analyst",
        ),
        (
            "zoom.ics",
            "umbrella-2026-12-10",
            "2026-12-10 15:00",
            "45m",
            "Europe/Berlin",
            &["Zoë Müller"],
            "Product Designer",
        ),
    ] {
        let path = fixture(file);
        w.followup().arg("add").arg("--ics").arg(&path).succeeds();
        let record = text(&w, &format!("interviews/{id}.yaml"));
        assert!(
            record.contains(&format!("start: {start}\nduration: {duration}\n")),
            "{file}: {record}"
        );
        assert!(!record.contains("Boardroom"), "no rooms: {record}");
        assert!(
            record.contains(&format!("timezone: {zone}\n")),
            "{file}: {record}"
        );
        assert!(
            record.contains(&format!("position: {position}\n")),
            "{file}: {record}"
        );
        for name in people {
            assert!(
                record.contains(&format!("  - name: {name}\n")),
                "{file}: {record}"
            );
        }
        assert!(
            !record.contains("Sam Seeker") && !record.contains("sam@example.org"),
            "{file}: the user is not an interviewer: {record}"
        );
    }
    w.ok(&["validate"]);
}

#[test]
fn add_ics_resolves_a_display_name_tzid_from_the_invitations_own_vtimezone() {
    let w = World::empty();
    let path = fixture("outlook-display-name.ics");
    let out = w.followup().arg("add").arg("--ics").arg(&path).succeeds();
    assert!(
        out.stderr.contains("time zone Europe/Amsterdam"),
        "{}",
        out.stderr
    );
    let record = text(&w, "interviews/vandelay-2026-07-14.yaml");
    assert!(
        record.contains("start: 2026-07-14 11:00\nduration: 1h\n"),
        "{record}"
    );
    // The record says which zone was chosen, and why.
    assert!(
        record.contains(
            "timezone: Europe/Amsterdam    # `(UTC+01:00) Amsterdam, Berlin, Bern, Rome, \
             Stockholm, Vienna` as the invitation defines it"
        ),
        "{record}"
    );
    w.ok(&["validate"]);
}

#[test]
fn add_ics_with_a_vtimezone_no_zone_follows_writes_the_instant_in_utc() {
    let w = World::empty();
    let path = fixture("custom-zone.ics");
    w.followup().arg("add").arg("--ics").arg(&path).succeeds();
    let record = text(&w, "interviews/vandelay-2026-07-14.yaml");
    // 11:00 at the file's UTC+02:00 of July.
    assert!(
        record.contains("start: 2026-07-14 09:00\nduration: 1h\n"),
        "{record}"
    );
    assert!(
        record
            .contains("timezone: UTC    # `Custom Zone` as the invitation defines it (UTC+02:00)"),
        "{record}"
    );
}

#[test]
fn add_ics_range_checks_durations_naming_the_file_and_the_property() {
    let w = World::empty();
    let path = fixture("duration-overflow.ics");
    let out = w
        .followup()
        .arg("add")
        .arg("--ics")
        .arg(&path)
        .output()
        .exit(1);
    assert!(
        out.stderr
            .contains("duration-overflow.ics: DURATION `P999999999999999999W` is out of range"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(w.path("interviews")).unwrap().count(),
        0,
        "nothing written"
    );
}
