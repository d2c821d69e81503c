//! Reasons that name their real cause, in one zone, with dates when they are not this week.

use crate::support::world::{RECORD, World, cause_of, plan_row};

const JANE: &str = "jane@globex.example.com";

/// The interview of the issue: it ends at 19:30 on Wed 23 December, before two holidays.
fn christmas(policy: &str) -> World {
    let record = RECORD
        .replace("start: 2026-11-03 10:00", "start: 2026-12-23 18:30")
        .replace("attachments: [portfolio.pdf]\n", "");
    World::empty()
        .configure(|c| {
            c.extra = format!("holidays: [2026-12-24, 2026-12-25]\n{policy}");
        })
        .with("globex.yaml", &record)
}

#[test]
fn holidays_hold_back_the_later_steps_only_unless_the_policy_says_the_thank_you_too() {
    let rows = christmas("").plan_rows("2026-12-23 12:00");
    let thanks = plan_row(&rows, "thank_you", Some(JANE));
    assert_eq!(thanks["state"], "scheduled", "{thanks}");
    assert_eq!(
        thanks["due"], "2026-12-24T13:00:00Z",
        "08:00 on the 24th: {thanks}"
    );

    let held = christmas("policy:\n  thank_you: { holidays: true }\n");
    let rows = held.plan_rows("2026-12-23 12:00");
    let thanks = plan_row(&rows, "thank_you", Some(JANE));
    assert_eq!(thanks["state"], "skipped", "{thanks}");
    let window = cause_of(thanks, "window").unwrap_or_else(|| panic!("{thanks}"));
    assert_eq!(
        window["holidays"],
        serde_json::json!(["2026-12-24", "2026-12-25"]),
        "{thanks}"
    );
    let reason = thanks["reason"].as_str().unwrap();
    assert!(
        reason.contains("Thu 24 Dec and Fri 25 Dec are holidays"),
        "the holidays are named: {reason}"
    );
}

#[test]
fn a_step_moved_by_a_holiday_names_the_holiday_not_the_window() {
    // The status check falls on Thu 31 Dec at 11:00, a holiday here.
    let w = World::empty()
        .with_portfolio()
        .configure(|c| c.extra = "holidays: [2026-12-31]\n".into())
        .with(
            "globex.yaml",
            &RECORD.replace("2026-11-03 10:00", "2026-12-24 10:00"),
        );
    let rows = w.plan_rows("2026-12-24 09:00");
    let check = plan_row(&rows, "status_check", Some(JANE));
    assert_eq!(check["cause"]["kind"], "holiday", "{check}");
    assert_eq!(
        check["cause"]["holidays"],
        serde_json::json!(["2026-12-31"])
    );
    assert!(cause_of(check, "window").is_none(), "{check}");
    let reason = check["reason"].as_str().unwrap();
    assert!(
        reason.contains("moved off Thu 31 Dec, a holiday, to Fri 1 Jan 2027 09:00 EST"),
        "{reason}"
    );
}

#[test]
fn reasons_give_the_date_when_it_is_not_this_week() {
    let w = World::empty().with_globex();
    let rows = w.plan_rows("2026-11-12 09:00");
    let thanks = plan_row(&rows, "thank_you", Some(JANE));
    let reason = thanks["reason"].as_str().unwrap();
    assert!(reason.contains("ended Tue 3 Nov 11:00 EST"), "{reason}");
}

#[test]
fn simulate_moves_a_step_from_its_own_time_not_from_the_virtual_clock() {
    // Globex's status check falls on Tue 10 Nov at 18:00, after hours; Initech's thank-you at
    // 20:00 that evening moves the virtual clock past it before it goes out on Wednesday.
    let evening = RECORD
        .replace("2026-11-03 10:00", "2026-11-03 17:00")
        .replace("attachments: [portfolio.pdf]\n", "");
    let initech = "company: Initech\nposition: Analyst\nstart: 2026-11-10 17:00\n\
                   interviewers:\n  - name: Priya Natarajan\n    email: priya@initech.example.net\n";
    let w = World::empty()
        .with("globex.yaml", &evening)
        .with("initech.yaml", initech);
    let events = w
        .ok(&["simulate", "--from", "2026-11-03 09:00", "--json"])
        .json();
    let check = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["interview"] == "globex" && e["step"] == "status_check")
        .unwrap();
    let window = cause_of(check, "window").unwrap_or_else(|| panic!("{check}"));
    assert_eq!(window["from"], "2026-11-10T23:00:00Z", "{check}");
    assert!(cause_of(check, "overdue").is_none(), "{check}");
    let reason = check["reason"].as_str().unwrap();
    assert!(
        reason.contains("moved from Tue 18:00 EST to Wed 09:00 EST"),
        "{reason}"
    );
}

#[test]
fn status_says_each_time_in_one_zone_with_its_abbreviation() {
    let w = World::empty().with_portfolio().with(
        "globex.yaml",
        &format!("{RECORD}timezone: America/Chicago\n"),
    );
    let out = w.ok(&["status", "--now", "2026-11-03 09:00"]).stdout;
    let next = out
        .lines()
        .skip_while(|l| !l.starts_with("Next"))
        .nth(1)
        .unwrap_or_else(|| panic!("no Next in:\n{out}"));
    assert!(
        next.contains("13:00 CST (yours: Tue 2026-11-03 14:00 EST)"),
        "{out}"
    );
    assert!(out.contains("ended Tue 11:00 CST"), "{out}");
}

#[test]
fn plan_json_times_are_whole_seconds_and_a_skipped_step_is_due_when_it_would_have_gone() {
    let w = World::empty().with_globex();
    // As of now (real time, with its nanoseconds): the November thank-yous are long skipped.
    let rows = w.ok(&["plan", "--json"]).json();
    for r in rows.as_array().unwrap() {
        let due = r["due"].as_str().unwrap();
        assert!(
            due.len() == 20 && due.ends_with('Z') && !due.contains('.'),
            "{due}"
        );
    }
    let thanks = plan_row(rows.as_array().unwrap(), "thank_you", Some(JANE));
    assert_eq!(thanks["state"], "skipped");
    assert_eq!(thanks["due"], "2026-11-03T18:00:00Z", "{thanks}");
}

#[test]
fn status_json_gives_the_cause_of_each_next_step_beside_its_reason() {
    let w = World::empty().with_globex();
    let status = w
        .ok(&["status", "--now", "2026-11-03 09:00", "--json"])
        .json();
    let next = status["next"]
        .as_array()
        .unwrap_or_else(|| panic!("no next in {status}"));
    let thanks = next
        .iter()
        .find(|r| r["key"].as_str().is_some_and(|k| k.contains("thank_you")))
        .unwrap_or_else(|| panic!("no thank-you in {status}"));
    assert_eq!(thanks["cause"]["kind"], "after_interview", "{thanks}");
    assert_eq!(thanks["cause"]["delay"], "2h", "{thanks}");
    assert!(
        thanks["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("2h after the interview ended")),
        "{thanks}"
    );
}
