//! One test (or more) per playbook row and per rule, named after the rule.

use super::*;
use crate::core::calendar::local;
use crate::core::why::Why;
use chrono::{Datelike, NaiveDateTime, TimeZone, Timelike, Weekday};
use chrono_tz::{America::New_York, Asia::Tokyo, Europe::Berlin};

fn naive(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
}

fn at(s: &str, tz: Tz) -> DateTime<Utc> {
    tz.from_local_datetime(&naive(s))
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn person(name: &str, email: &str) -> Interviewer {
    Interviewer {
        name: name.into(),
        greeting: None,
        title: None,
        email: (!email.is_empty()).then(|| EmailAddress::parse(email).unwrap()),
        primary: false,
    }
}

fn interview(id: &str, start: &str, tz: Tz, people: Vec<Interviewer>) -> Interview {
    let begin = at(start, tz);
    Interview {
        id: id.into(),
        company: "Acme".into(),
        position: "Engineer".into(),
        local_start: naive(start),
        start: begin,
        end: begin + TimeDelta::hours(1),
        timezone: tz,
        interviewers: people,
        decision_by: None,
        status: Status::Waiting,
        status_on: None,
        notes: Default::default(),
        attachments: vec![],
        domains: Vec::new(),
        source: "interviews/test.yaml".into(),
    }
}

fn owner() -> Owner {
    Owner {
        name: "Sam Seeker".into(),
        email: EmailAddress::parse("sam@example.org").unwrap(),
        aliases: Vec::new(),
        phone: None,
        signature: None,
        timezone: New_York,
    }
}

fn plan_at(records: &[Interview], history: &History, now: DateTime<Utc>) -> Vec<Action> {
    plan(records, history, &Policy::default(), &owner(), now)
}

fn find<'a>(actions: &'a [Action], id: &str, step: Step, recipient: &str) -> &'a Action {
    actions
        .iter()
        .find(|a| a.key == SendKey::new(id, step, recipient))
        .unwrap_or_else(|| panic!("no {id}/{step}/{recipient} in {actions:#?}"))
}

fn local_of(a: &Action) -> NaiveDateTime {
    local(a.due, a.timezone)
}

fn sent(at: DateTime<Utc>) -> PastSend {
    PastSend::new(SendState::Sent, at)
}

const JANE: &str = "jane@acme.example.com";
const OMAR: &str = "omar@acme.example.com";

/// An interview with one interviewer.
fn solo(id: &str, start: &str, tz: Tz, name: &str, email: &str) -> Interview {
    interview(id, start, tz, vec![person(name, email)])
}

/// Tue 2026-11-03 10:00-11:00 New York, Jane (primary) and Omar.
fn panel() -> Interview {
    let mut jane = person("Jane Roe", JANE);
    jane.primary = true;
    interview(
        "acme",
        "2026-11-03 10:00",
        New_York,
        vec![person("Omar Diaz", OMAR), jane],
    )
}

fn before(iv: &Interview) -> DateTime<Utc> {
    iv.start - TimeDelta::hours(1)
}

/// One interview planned before it starts, with nothing sent yet.
fn plan_fresh(iv: &Interview) -> Vec<Action> {
    plan_fresh_with(iv, &Policy::default())
}

fn plan_fresh_with(iv: &Interview, policy: &Policy) -> Vec<Action> {
    plan(
        std::slice::from_ref(iv),
        &History::default(),
        policy,
        &owner(),
        before(iv),
    )
}

#[test]
fn thank_you_goes_to_every_interviewer_two_hours_after_the_end() {
    let iv = panel();
    let actions = plan_fresh(&iv);
    for who in [JANE, OMAR] {
        let a = find(&actions, "acme", Step::ThankYou, who);
        assert_eq!(a.state, ActionState::Scheduled);
        assert_eq!(local_of(a), naive("2026-11-03 13:00"));
        assert_eq!(a.to.as_ref().unwrap().key(), who);
        assert_eq!(a.channel, Channel::Email);
    }
}

#[test]
fn later_steps_go_to_the_primary_only() {
    let iv = panel();
    let actions = plan_fresh(&iv);
    for step in [Step::StatusCheck, Step::CallReminder, Step::FinalCheck] {
        assert!(
            actions
                .iter()
                .any(|a| a.key.step == step && a.key.recipient == JANE)
        );
        assert!(
            !actions
                .iter()
                .any(|a| a.key.step == step && a.key.recipient == OMAR)
        );
    }
}

#[test]
fn primary_defaults_to_the_first_interviewer() {
    let iv = interview(
        "acme",
        "2026-11-03 10:00",
        New_York,
        vec![person("Omar Diaz", OMAR), person("Jane Roe", JANE)],
    );
    let actions = plan_fresh(&iv);
    find(&actions, "acme", Step::StatusCheck, OMAR);
}

#[test]
fn status_check_comes_seven_days_after_the_end_without_a_decision_date() {
    let iv = panel();
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::StatusCheck, JANE);
    assert_eq!(local_of(a), naive("2026-11-10 11:00"));
    assert_eq!(a.state, ActionState::Scheduled);
    assert_why(
        a,
        |w| matches!(w, Why::AfterInterview { delay, ended: None } if delay.0 == TimeDelta::days(7)),
    );
}

#[test]
fn decision_date_pushes_the_status_check_to_two_days_after_it() {
    let mut iv = panel();
    iv.decision_by = NaiveDate::from_ymd_opt(2026, 11, 20);
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::StatusCheck, JANE);
    // Two days after Fri 20 November is Sunday: the working-hours window moves it to Monday.
    assert_eq!(local_of(a), naive("2026-11-23 09:00"));
    assert_why(a, |w| {
        matches!(w, Why::AfterDecisionDate { decision, .. }
            if *decision == NaiveDate::from_ymd_opt(2026, 11, 20).unwrap())
    });
    assert!(
        matches!(a.reason.cause(), Why::Window { .. }),
        "{}",
        a.reason
    );
}

#[test]
fn status_check_is_never_before_the_decision_date() {
    let mut iv = panel();
    iv.decision_by = NaiveDate::from_ymd_opt(2026, 12, 1);
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::StatusCheck, JANE);
    assert!(local_of(a).date() > NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
}

#[test]
fn call_reminder_goes_to_the_user_seven_days_after_the_status_check() {
    let iv = panel();
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::CallReminder, JANE);
    assert_eq!(a.channel, Channel::Call);
    assert_eq!(a.to.as_ref().unwrap().as_str(), "sam@example.org");
    assert_eq!(a.recipient_name, "Jane Roe");
    assert_eq!(local_of(a), naive("2026-11-17 11:00"));
}

#[test]
fn final_check_comes_seven_days_after_the_previous_touch() {
    let iv = panel();
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::FinalCheck, JANE);
    assert_eq!(local_of(a), naive("2026-11-24 11:00"));
    assert_eq!(a.to.as_ref().unwrap().key(), JANE);
}

#[test]
fn close_notice_goes_to_the_user_seven_days_after_the_final_check_and_ends_the_sequence() {
    let iv = panel();
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::Close, "sam@example.org");
    assert_eq!(a.channel, Channel::Notice);
    assert_eq!(local_of(a), naive("2026-12-01 11:00"));
    assert!(a.due == actions.iter().map(|a| a.due).max().unwrap());
    assert_eq!(actions.len(), 2 + 4, "two thank-yous and four later steps");
}

#[test]
fn sequence_chains_from_when_a_step_was_actually_sent() {
    let iv = panel();
    let mut history = History::default();
    let thanks = at("2026-11-03 13:00", New_York);
    history
        .sends
        .insert(SendKey::new("acme", Step::ThankYou, JANE), sent(thanks));
    history
        .sends
        .insert(SendKey::new("acme", Step::ThankYou, OMAR), sent(thanks));
    let late = at("2026-11-12 15:00", New_York);
    history
        .sends
        .insert(SendKey::new("acme", Step::StatusCheck, JANE), sent(late));
    let actions = plan_at(
        std::slice::from_ref(&iv),
        &history,
        late + TimeDelta::hours(1),
    );
    assert_eq!(
        find(&actions, "acme", Step::StatusCheck, JANE).state,
        ActionState::Sent
    );
    let call = find(&actions, "acme", Step::CallReminder, JANE);
    assert_eq!(local_of(call), naive("2026-11-19 15:00"));
}

#[test]
fn a_sent_step_is_reported_and_never_planned_again() {
    let iv = panel();
    let mut history = History::default();
    let when = at("2026-11-03 13:05", New_York);
    history
        .sends
        .insert(SendKey::new("acme", Step::ThankYou, JANE), sent(when));
    let actions = plan_at(
        std::slice::from_ref(&iv),
        &history,
        when + TimeDelta::days(1),
    );
    let thanks: Vec<_> = actions
        .iter()
        .filter(|a| a.key == SendKey::new("acme", Step::ThankYou, JANE))
        .collect();
    assert_eq!(thanks.len(), 1);
    assert_eq!(thanks[0].state, ActionState::Sent);
    assert_eq!(thanks[0].due, when);
}

#[test]
fn friday_evening_interview_gets_its_thank_you_saturday_morning_within_24_hours() {
    // Ends Friday 19:00: 2 h later is 21:00, outside 08:00-20:00.
    let iv = solo("late", "2026-11-06 18:00", New_York, "Jane Roe", JANE);
    let actions = plan_fresh(&iv);
    let a = find(&actions, "late", Step::ThankYou, JANE);
    assert_eq!(local_of(a), naive("2026-11-07 08:00"));
    assert_eq!(local_of(a).weekday(), Weekday::Sat);
    assert!(a.due - iv.end <= TimeDelta::hours(24));
    assert_why(a, |w| {
        matches!(w, Why::Window { from: Some(from), to, .. }
            if local(from.at, New_York) == naive("2026-11-06 21:00")
                && to.at == a.due)
    });
    assert_reason(a, "moved from Fri 21:00 EST to Sat 08:00 EST: send window");
}

#[test]
fn later_steps_go_out_in_working_hours_only() {
    // Ends Friday 19:00: seven days later is Friday 19:00, so the status check waits for Monday.
    let iv = solo("late", "2026-11-06 18:00", New_York, "Jane Roe", JANE);
    let actions = plan_fresh(&iv);
    let a = find(&actions, "late", Step::StatusCheck, JANE);
    assert_eq!(local_of(a), naive("2026-11-16 09:00"));
}

#[test]
fn send_window_is_reckoned_in_the_recipients_zone() {
    let iv = solo(
        "tokyo",
        "2026-11-04 16:00",
        Tokyo,
        "Aiko Sato",
        "aiko@example.com",
    );
    let actions = plan_fresh(&iv);
    for a in actions.iter().filter(|a| a.channel == Channel::Email) {
        let t = local(a.due, Tokyo);
        assert!(t.hour() >= 8 && t.hour() < 20, "{} at {t}", a.key);
    }
    let check = find(&actions, "tokyo", Step::StatusCheck, "aiko@example.com");
    assert_eq!(local_of(check), naive("2026-11-12 09:00"));
}

#[test]
fn late_start_skips_a_thank_you_past_its_hard_limit() {
    let iv = panel();
    let now = iv.end + TimeDelta::hours(49);
    let actions = plan_at(std::slice::from_ref(&iv), &History::default(), now);
    for who in [JANE, OMAR] {
        let a = find(&actions, "acme", Step::ThankYou, who);
        assert_eq!(a.state, ActionState::Skipped);
        assert!(
            matches!(a.reason.cause(), Why::PastLimit { .. }),
            "{}",
            a.reason
        );
    }
    // The rest of the sequence still goes ahead.
    assert_eq!(
        find(&actions, "acme", Step::StatusCheck, JANE).state,
        ActionState::Scheduled
    );
}

#[test]
fn late_start_within_the_limit_sends_the_thank_you_now_marked_late() {
    let iv = panel();
    let now = iv.end + TimeDelta::hours(30);
    let actions = plan_at(std::slice::from_ref(&iv), &History::default(), now);
    let a = find(&actions, "acme", Step::ThankYou, JANE);
    assert_eq!(a.state, ActionState::Scheduled);
    assert_eq!(a.due, now);
    assert_why(a, |w| matches!(w, Why::Overdue { .. }));
    assert_why(
        a,
        |w| matches!(w, Why::LateThankYou { target, .. } if target.0 == TimeDelta::days(1)),
    );
}

#[test]
fn replied_stops_the_automatic_checks() {
    let mut iv = panel();
    iv.status = Status::Replied;
    iv.status_on = NaiveDate::from_ymd_opt(2026, 11, 5);
    let actions = plan_fresh(&iv);
    for step in [Step::StatusCheck, Step::CallReminder, Step::FinalCheck] {
        assert_eq!(
            find(&actions, "acme", step, JANE).state,
            ActionState::Cancelled
        );
    }
    // A thank-you is not a check: it still goes.
    assert_eq!(
        find(&actions, "acme", Step::ThankYou, JANE).state,
        ActionState::Scheduled
    );
}

#[test]
fn replied_with_a_new_decision_date_plans_the_status_check_from_it() {
    let mut iv = panel();
    iv.status = Status::Replied;
    iv.status_on = NaiveDate::from_ymd_opt(2026, 11, 5);
    iv.decision_by = NaiveDate::from_ymd_opt(2026, 11, 18);
    let actions = plan_fresh(&iv);
    let a = find(&actions, "acme", Step::StatusCheck, JANE);
    assert_eq!(a.state, ActionState::Scheduled);
    assert_eq!(local_of(a), naive("2026-11-20 09:00"));
    assert_eq!(
        find(&actions, "acme", Step::CallReminder, JANE).state,
        ActionState::Cancelled
    );
}

#[test]
fn replied_after_the_status_check_plans_one_final_check_from_the_new_date() {
    let mut iv = panel();
    iv.status = Status::Replied;
    iv.status_on = NaiveDate::from_ymd_opt(2026, 11, 11);
    iv.decision_by = NaiveDate::from_ymd_opt(2026, 11, 25);
    let mut history = History::default();
    let checked = at("2026-11-10 11:00", New_York);
    history
        .sends
        .insert(SendKey::new("acme", Step::StatusCheck, JANE), sent(checked));
    let actions = plan_at(
        std::slice::from_ref(&iv),
        &history,
        checked + TimeDelta::days(2),
    );
    let a = find(&actions, "acme", Step::FinalCheck, JANE);
    assert_eq!(local_of(a), naive("2026-11-27 09:00"));
    assert_eq!(
        find(&actions, "acme", Step::Close, "sam@example.org").state,
        ActionState::Cancelled
    );
}

#[test]
fn rejected_leaves_only_the_note_after_rejection_a_day_later() {
    let mut iv = panel();
    iv.status = Status::Rejected;
    iv.status_on = NaiveDate::from_ymd_opt(2026, 11, 12);
    let now = at("2026-11-12 18:00", New_York);
    let mut history = History::default();
    let thanks = at("2026-11-03 13:00", New_York);
    history
        .sends
        .insert(SendKey::new("acme", Step::ThankYou, JANE), sent(thanks));
    let actions = plan_at(std::slice::from_ref(&iv), &history, now);
    let a = find(&actions, "acme", Step::AfterRejection, JANE);
    assert_eq!(a.state, ActionState::Scheduled);
    assert_eq!(local_of(a), naive("2026-11-13 09:00"));
    let pending: Vec<_> = actions.iter().filter(|a| a.state.is_pending()).collect();
    assert_eq!(pending.len(), 1, "{pending:#?}");
    assert_eq!(
        find(&actions, "acme", Step::ThankYou, OMAR).state,
        ActionState::Cancelled
    );
}

/// A thank-you still waiting for approval when the rejection is recorded is withdrawn: the plan
/// says so at once, with the same rule the daemon's next round applies.
#[test]
fn rejected_withdraws_a_message_still_waiting_for_approval() {
    let mut iv = panel();
    iv.status = Status::Rejected;
    iv.status_on = NaiveDate::from_ymd_opt(2026, 11, 3);
    let queued = at("2026-11-03 13:00", New_York);
    let mut history = History::default();
    let key = SendKey::new("acme", Step::ThankYou, OMAR);
    history
        .sends
        .insert(key.clone(), PastSend::new(SendState::Queued, queued));
    let now = queued + TimeDelta::hours(1);
    let actions = plan_at(std::slice::from_ref(&iv), &history, now);
    let waiting = find(&actions, "acme", Step::ThankYou, OMAR);
    assert_eq!(waiting.state, ActionState::Cancelled);
    let rule = history.cancels_waiting(&iv, &key, queued, now);
    assert!(
        matches!(waiting.reason.cause(), Why::Withdrawn { because, queued: true }
            if Some(because.as_ref()) == rule.as_ref()),
        "{}",
        waiting.reason
    );
}

/// An address the state marks undeliverable gets no more e-mail: each later e-mail step is
/// cancelled where it would have been due, with the reason; the call reminder keeps its time.
/// Another address for the same person is another recipient: it gets its messages.
#[test]
fn an_undeliverable_address_gets_no_more_email_but_the_call_still_comes() {
    let iv = panel();
    let mut history = History::default();
    let bounced_at = at("2026-11-03 13:00", New_York);
    history.sends.insert(
        SendKey::new("acme", Step::ThankYou, JANE),
        PastSend::new(SendState::Failed, bounced_at),
    );
    history.undeliverable.insert(
        JANE.into(),
        Undeliverable {
            at: bounced_at,
            reason: "550 5.1.1 No such user".into(),
        },
    );
    let actions = plan_at(
        std::slice::from_ref(&iv),
        &history,
        at("2026-11-04 09:00", New_York),
    );
    for step in [Step::StatusCheck, Step::FinalCheck] {
        let a = find(&actions, "acme", step, JANE);
        assert_eq!(a.state, ActionState::Cancelled, "{step}");
        assert!(
            matches!(a.reason.cause(), Why::Undeliverable { address, server_said, .. }
                if address == JANE && server_said == "550 5.1.1 No such user"),
            "{}",
            a.reason
        );
    }
    assert_eq!(
        local_of(find(&actions, "acme", Step::StatusCheck, JANE)),
        naive("2026-11-10 11:00")
    );
    let call = find(&actions, "acme", Step::CallReminder, JANE);
    assert_eq!(call.state, ActionState::Scheduled);
    assert_eq!(local_of(call), naive("2026-11-17 11:00"));
    assert_eq!(
        find(&actions, "acme", Step::ThankYou, OMAR).state,
        ActionState::Scheduled
    );

    let mut fixed = iv.clone();
    fixed.interviewers[1].email = Some(EmailAddress::parse("jane@roe.example.com").unwrap());
    let actions = plan_at(&[fixed], &history, at("2026-11-04 09:00", New_York));
    // Within the thank-you's limit, the new address gets the thank-you, then the sequence.
    let thanks = find(&actions, "acme", Step::ThankYou, "jane@roe.example.com");
    assert_eq!(thanks.state, ActionState::Scheduled, "{}", thanks.reason);
    let check = find(&actions, "acme", Step::StatusCheck, "jane@roe.example.com");
    assert!(check.state.is_pending(), "{}", check.reason);
}

/// The note after a rejection answers their message: a status check sent two days before does
/// not hold it back a week, unless the policy caps it (`after_rejection: {capped: true}`).
#[test]
fn the_note_after_a_rejection_is_not_held_back_by_the_weekly_cap() {
    let mut iv = panel();
    iv.status = Status::Rejected;
    iv.status_on = NaiveDate::from_ymd_opt(2026, 11, 12);
    let now = at("2026-11-12 18:00", New_York);
    let mut history = History::default();
    history.sends.insert(
        SendKey::new("acme", Step::StatusCheck, JANE),
        sent(at("2026-11-10 10:00", New_York)),
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, now);
    let a = find(&actions, "acme", Step::AfterRejection, JANE);
    assert_eq!(a.state, ActionState::Scheduled, "{}", a.reason);
    assert_eq!(local_of(a), naive("2026-11-13 09:00"));

    let mut policy = Policy::default();
    policy.after_rejection.capped = true;
    let actions = plan(std::slice::from_ref(&iv), &history, &policy, &owner(), now);
    let a = find(&actions, "acme", Step::AfterRejection, JANE);
    assert_eq!(a.state, ActionState::Deferred);
    assert_eq!(local_of(a), naive("2026-11-17 09:00"));
}

/// A step the cap does not hold back is still a touch: the next message to the same person
/// waits a week after it.
#[test]
fn an_uncapped_step_still_counts_as_a_touch_for_what_comes_after() {
    let rita = "rita@acme.example.com";
    let mut first = solo(
        "acme-a",
        "2026-11-02 10:00",
        New_York,
        "Rita Recruiter",
        rita,
    );
    first.status = Status::Rejected;
    first.status_on = NaiveDate::from_ymd_opt(2026, 11, 12);
    let second = solo(
        "acme-b",
        "2026-11-09 10:00",
        New_York,
        "Rita Recruiter",
        rita,
    );
    let mut history = History::default();
    history.sends.insert(
        SendKey::new("acme-a", Step::ThankYou, rita),
        sent(at("2026-11-02 13:00", New_York)),
    );
    history.sends.insert(
        SendKey::new("acme-b", Step::ThankYou, rita),
        sent(at("2026-11-09 13:00", New_York)),
    );
    let actions = plan_at(&[first, second], &history, at("2026-11-12 18:00", New_York));
    let note = find(&actions, "acme-a", Step::AfterRejection, rita);
    assert_eq!(note.state, ActionState::Scheduled, "{}", note.reason);
    assert_eq!(local_of(note), naive("2026-11-13 09:00"));
    let check = find(&actions, "acme-b", Step::StatusCheck, rita);
    assert_eq!(check.state, ActionState::Deferred);
    assert_eq!(local_of(check), naive("2026-11-20 09:00"));
    assert_why(check, |w| {
        matches!(w, Why::Cap { blocking_step: Some(Step::AfterRejection), interview, .. }
            if interview == "acme-a")
    });
}

#[test]
fn rejected_without_a_date_uses_when_the_state_first_saw_it() {
    let mut iv = panel();
    iv.status = Status::Rejected;
    let seen = at("2026-11-12 18:30", New_York);
    let mut history = History::default();
    history
        .status_seen
        .insert("acme".into(), (Status::Rejected, seen));
    let actions = plan_at(
        std::slice::from_ref(&iv),
        &history,
        seen + TimeDelta::hours(3),
    );
    let a = find(&actions, "acme", Step::AfterRejection, JANE);
    // One day after 18:30 is outside working hours: the next morning.
    assert_eq!(local_of(a), naive("2026-11-16 09:00"));
}

#[test]
fn offer_withdrawn_and_closed_send_nothing_more() {
    for status in [Status::Offer, Status::Withdrawn, Status::Closed] {
        let mut iv = panel();
        iv.status = status;
        let actions = plan_fresh(&iv);
        assert!(!actions.is_empty());
        for a in &actions {
            assert_eq!(a.state, ActionState::Cancelled, "{status:?}: {a:?}");
            assert!(
                matches!(a.reason.cause(), Why::Outcome { status: s } if *s == status),
                "{}",
                a.reason
            );
        }
    }
}

/// Two interviews at one company, two days apart, with the same recruiter as the primary.
fn shared_recruiter() -> Vec<Interview> {
    let mut first = person("Rita Recruiter", "rita@acme.example.com");
    first.primary = true;
    let mut second = person("Rita Recruiter", "Rita@ACME.example.com");
    second.primary = true;
    vec![
        interview("acme-a", "2026-11-02 10:00", New_York, vec![first]),
        interview(
            "acme-b",
            "2026-11-04 10:00",
            New_York,
            vec![second, person("Omar Diaz", OMAR)],
        ),
    ]
}

#[test]
fn weekly_cap_holds_across_two_interviews_sharing_a_recruiter() {
    let records = shared_recruiter();
    let now = at("2026-11-01 12:00", New_York);
    let actions = plan_at(&records, &History::default(), now);
    let rita = "rita@acme.example.com";
    // Rita's first thank-you blocks the second, which then misses its hard limit.
    let second_thanks = find(&actions, "acme-b", Step::ThankYou, rita);
    assert_eq!(second_thanks.state, ActionState::Skipped);
    assert_why(second_thanks, |w| matches!(w, Why::Cap { .. }));
    // acme-a's status check (Mon 9 Nov) blocks acme-b's (Wed 11 Nov) until Mon 16 Nov.
    let check = find(&actions, "acme-b", Step::StatusCheck, rita);
    assert_eq!(check.state, ActionState::Deferred);
    assert_eq!(local_of(check), naive("2026-11-16 09:00"));
    assert_why(check, |w| {
        matches!(w, Why::Cap { recipient, blocking_step: Some(Step::StatusCheck), interview, .. }
            if recipient == "rita@acme.example.com" && interview == "acme-a")
    });
    // Omar is not affected.
    assert_eq!(
        find(&actions, "acme-b", Step::ThankYou, OMAR).state,
        ActionState::Scheduled
    );
}

#[test]
fn interviews_sharing_an_interviewer_are_planned_as_one_group_and_alike() {
    // acme-a and acme-b share Rita; omar-c shares Omar with acme-b; beta shares no one.
    let mut records = shared_recruiter();
    records.insert(
        0,
        solo("omar-c", "2026-11-05 10:00", New_York, "Omar Diaz", OMAR),
    );
    records.push(solo(
        "beta",
        "2026-11-03 10:00",
        New_York,
        "Bea Tran",
        "bea@beta.example.org",
    ));
    let now = at("2026-11-01 12:00", New_York);
    let (history, policy) = (History::default(), Policy::default());
    let owner = owner();
    let planning = Planning::new(&records, &history, &policy, &owner, now);
    let ids = |g: usize| {
        let mut ids: Vec<String> = planning
            .group(g)
            .into_iter()
            .map(|a| a.key.interview)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    assert_eq!(planning.groups(), 2);
    assert_eq!(ids(0), ["acme-a", "acme-b", "omar-c"]);
    assert_eq!(ids(1), ["beta"]);
    // A group planned alone is what the whole plan holds for it: the cap still spans it.
    let mut by_group: Vec<Action> = (0..planning.groups())
        .flat_map(|g| planning.group(g))
        .collect();
    sort_by_due(&mut by_group);
    let whole = plan(&records, &history, &policy, &owner, now);
    assert_eq!(by_group, whole);
    let second_thanks = find(&whole, "acme-b", Step::ThankYou, "rita@acme.example.com");
    assert_why(second_thanks, |w| matches!(w, Why::Cap { .. }));
}

#[test]
fn weekly_cap_compares_addresses_case_insensitively() {
    let records = shared_recruiter();
    let actions = plan_at(
        &records,
        &History::default(),
        at("2026-11-01 12:00", New_York),
    );
    let keys: Vec<_> = actions
        .iter()
        .filter(|a| a.key.recipient.contains("rita"))
        .map(|a| a.key.recipient.clone())
        .collect();
    assert!(
        keys.iter().all(|k| k == "rita@acme.example.com"),
        "{keys:?}"
    );
}

#[test]
fn weekly_cap_counts_messages_waiting_for_approval() {
    let iv = panel();
    let mut other = solo("globex", "2026-11-03 15:00", New_York, "Jane Roe", JANE);
    other.company = "Globex".into();
    let mut history = History::default();
    let queued = at("2026-11-03 13:00", New_York);
    history.sends.insert(
        SendKey::new("acme", Step::ThankYou, JANE),
        PastSend::new(SendState::Queued, queued),
    );
    let actions = plan_at(&[iv, other], &history, queued + TimeDelta::minutes(5));
    assert_eq!(
        find(&actions, "acme", Step::ThankYou, JANE).state,
        ActionState::Queued
    );
    let blocked = find(&actions, "globex", Step::ThankYou, JANE);
    assert_eq!(blocked.state, ActionState::Skipped);
    assert_why(blocked, |w| matches!(w, Why::Cap { .. }));
}

#[test]
fn a_thank_you_left_unapproved_past_its_limit_stops_holding_the_cap() {
    let iv = panel();
    let mut history = History::default();
    let queued = at("2026-11-03 13:00", New_York);
    history.sends.insert(
        SendKey::new("acme", Step::ThankYou, JANE),
        PastSend::new(SendState::Queued, queued),
    );
    let now = at("2026-11-10 08:00", New_York);
    let actions = plan_at(std::slice::from_ref(&iv), &history, now);
    let check = find(&actions, "acme", Step::StatusCheck, JANE);
    assert_eq!(check.state, ActionState::Scheduled, "{}", check.reason);
    assert_eq!(local_of(check), naive("2026-11-10 11:00"));
}

#[test]
fn weekly_cap_counts_call_tasks() {
    let iv = solo("globex", "2026-11-16 10:00", New_York, "Jane Roe", JANE);
    let mut history = History::default();
    let call = at("2026-11-17 09:00", New_York);
    history
        .sends
        .insert(SendKey::new("acme", Step::CallReminder, JANE), sent(call));
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    // The thank-you on the 16th comes before the call, but the status check on the 23rd is
    // within seven days of the call on the 17th.
    let check = find(&actions, "globex", Step::StatusCheck, JANE);
    assert_eq!(check.state, ActionState::Deferred);
    assert_why(check, |w| {
        matches!(w, Why::Cap { blocking_step: Some(Step::CallReminder), interview, .. }
            if interview == "acme")
    });
    assert_eq!(local_of(check), naive("2026-11-24 09:00"));
}

#[test]
fn weekly_cap_still_counts_touches_of_a_removed_interview() {
    let iv = solo("globex", "2026-11-03 10:00", New_York, "Jane Roe", JANE);
    let mut history = History::default();
    history.sends.insert(
        SendKey::new("gone", Step::StatusCheck, JANE),
        sent(at("2026-11-02 10:00", New_York)),
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    assert_eq!(
        find(&actions, "globex", Step::ThankYou, JANE).state,
        ActionState::Skipped
    );
}

#[test]
fn notices_to_the_user_are_not_capped() {
    // Two interviews ending together: both close notices reach the user on the same day.
    let a = solo("a", "2026-11-03 10:00", New_York, "Jane Roe", JANE);
    let b = solo("b", "2026-11-03 10:00", New_York, "Omar Diaz", OMAR);
    let actions = plan_at(&[a.clone(), b], &History::default(), before(&a));
    let closes: Vec<_> = actions
        .iter()
        .filter(|a| a.key.step == Step::Close)
        .collect();
    assert_eq!(closes.len(), 2);
    assert_eq!(closes[0].due, closes[1].due);
    assert!(closes.iter().all(|c| c.state == ActionState::Scheduled));
}

/// The action's reason, as a person reads it, says `needle`: for tests of the wording.
#[track_caller]
fn assert_reason(a: &Action, needle: &str) {
    let text = a.reason.to_string();
    assert!(text.contains(needle), "`{needle}` not in: {text}");
}

/// One of the action's reasons is one `rule` accepts.
#[track_caller]
fn assert_why(a: &Action, rule: impl Fn(&Why) -> bool) {
    assert!(a.reason.any(rule), "{:?}", a.reason);
}

/// None of the action's reasons is one `rule` accepts.
#[track_caller]
fn assert_not_why(a: &Action, rule: impl Fn(&Why) -> bool) {
    assert!(!a.reason.any(rule), "{:?}", a.reason);
}

/// The example of the starter config: the 24th and 25th of December are holidays.
fn christmas() -> Policy {
    let mut policy = Policy::default();
    for day in [24, 25] {
        policy
            .holidays
            .insert(NaiveDate::from_ymd_opt(2026, 12, day).unwrap());
    }
    policy
}

#[test]
fn holidays_move_later_steps_to_the_next_working_day_naming_the_holiday() {
    let iv = solo("dec", "2026-12-15 10:00", New_York, "Jane Roe", JANE);
    let mut policy = Policy::default();
    policy
        .holidays
        .insert(NaiveDate::from_ymd_opt(2026, 12, 22).unwrap());
    let actions = plan_fresh_with(&iv, &policy);
    let check = find(&actions, "dec", Step::StatusCheck, JANE);
    assert_eq!(local_of(check), naive("2026-12-23 09:00"));
    assert!(
        matches!(check.reason.cause(), Why::Holiday { holidays, .. }
            if *holidays == [NaiveDate::from_ymd_opt(2026, 12, 22).unwrap()]),
        "{}",
        check.reason
    );
    assert_reason(
        check,
        "moved off Tue 22 Dec, a holiday, to Wed 23 Dec 09:00 EST",
    );
    assert_not_why(check, |w| matches!(w, Why::Window { .. }));
}

#[test]
fn holidays_do_not_hold_back_a_thank_you_by_default() {
    // Ends 19:30 on Wed the 23rd; 21:30 is past the window, the 24th and 25th are holidays.
    let iv = solo("dec", "2026-12-23 18:30", New_York, "Jane Roe", JANE);
    let actions = plan_fresh_with(&iv, &christmas());
    let thanks = find(&actions, "dec", Step::ThankYou, JANE);
    assert_eq!(local_of(thanks), naive("2026-12-24 08:00"));
    assert_eq!(thanks.state, ActionState::Scheduled);
    assert_reason(
        thanks,
        "moved from Wed 21:30 EST to Thu 08:00 EST: send window",
    );
}

#[test]
fn policy_thank_you_holidays_holds_it_back_too_and_names_the_holidays() {
    let mut policy = christmas();
    policy.thank_you_holidays = true;
    let iv = solo("dec", "2026-12-23 18:30", New_York, "Jane Roe", JANE);
    let actions = plan_fresh_with(&iv, &policy);
    let thanks = find(&actions, "dec", Step::ThankYou, JANE);
    // Saturday the 26th is past the 48 h limit: skipped, and the holidays are the reason.
    assert_eq!(thanks.state, ActionState::Skipped);
    assert_eq!(local_of(thanks), naive("2026-12-26 08:00"));
    assert_reason(
        thanks,
        "moved from Wed 21:30 EST to Sat 08:00 EST: send window 08:00-20:00 every day, and \
             Thu 24 Dec and Fri 25 Dec are holidays",
    );
    let earlier = solo("dec", "2026-12-24 16:00", New_York, "Jane Roe", JANE);
    let actions = plan_fresh_with(&earlier, &policy);
    let thanks = find(&actions, "dec", Step::ThankYou, JANE);
    assert_eq!(local_of(thanks), naive("2026-12-26 08:00"));
    assert_reason(
        thanks,
        "moved off Thu 24 Dec and Fri 25 Dec, holidays, to Sat 08:00 EST",
    );
}

#[test]
fn reasons_give_the_date_of_a_time_outside_this_week() {
    let iv = solo("old", "2026-11-03 10:00", New_York, "Jane Roe", JANE);
    let now = at("2026-11-16 09:00", New_York);
    let actions = plan_at(std::slice::from_ref(&iv), &History::default(), now);
    let check = find(&actions, "old", Step::StatusCheck, JANE);
    assert_reason(check, "overdue since Tue 10 Nov 11:00 EST");
    let thanks = find(&actions, "old", Step::ThankYou, JANE);
    assert_reason(thanks, "ended Tue 3 Nov 11:00 EST");
}

#[test]
fn a_skipped_step_is_due_when_it_would_have_gone_not_now() {
    let iv = solo("old", "2026-11-03 10:00", New_York, "Jane Roe", JANE);
    let now = at("2026-11-12 09:00", New_York);
    let actions = plan_at(std::slice::from_ref(&iv), &History::default(), now);
    let thanks = find(&actions, "old", Step::ThankYou, JANE);
    assert_eq!(thanks.state, ActionState::Skipped);
    assert_eq!(local_of(thanks), naive("2026-11-03 13:00"));
}

#[test]
fn a_step_due_later_today_is_moved_from_its_own_time_not_from_now() {
    // The status check falls at 19:00 on a Tuesday; planned at 18:00 it moves from 19:00.
    let iv = solo("eve", "2026-11-03 18:00", New_York, "Jane Roe", JANE);
    let now = at("2026-11-10 18:00", New_York);
    let actions = plan_at(std::slice::from_ref(&iv), &History::default(), now);
    let check = find(&actions, "eve", Step::StatusCheck, JANE);
    assert_reason(check, "moved from Tue 19:00 EST to Wed 09:00 EST");
    // Planned after 19:00, by the daemon's clock or simulate's: still moved from 19:00, and
    // not overdue, since its window opens only tomorrow.
    let now = at("2026-11-10 23:30", New_York);
    let actions = plan_at(std::slice::from_ref(&iv), &History::default(), now);
    let check = find(&actions, "eve", Step::StatusCheck, JANE);
    assert_reason(check, "moved from Tue 19:00 EST to Wed 09:00 EST");
    assert_not_why(check, |w| matches!(w, Why::Overdue { .. }));
}

#[test]
fn new_york_dst_end_on_2026_11_01_keeps_the_intended_local_hour() {
    let iv = solo("ny", "2026-10-29 10:00", New_York, "Jane Roe", JANE);
    let actions = plan_fresh(&iv);
    let check = find(&actions, "ny", Step::StatusCheck, JANE);
    assert_eq!(local_of(check), naive("2026-11-05 11:00"));
    // 11:00 EDT was 15:00 UTC; 11:00 EST is 16:00 UTC.
    assert_eq!(
        check.due,
        Utc.with_ymd_and_hms(2026, 11, 5, 16, 0, 0).unwrap()
    );
    let call = find(&actions, "ny", Step::CallReminder, JANE);
    assert_eq!(local_of(call), naive("2026-11-12 11:00"));
}

#[test]
fn berlin_dst_end_on_2026_10_25_keeps_the_intended_local_hour() {
    let iv = solo(
        "de",
        "2026-10-23 14:00",
        Berlin,
        "Jana Berg",
        "jana@example.com",
    );
    let actions = plan_fresh(&iv);
    let thanks = find(&actions, "de", Step::ThankYou, "jana@example.com");
    assert_eq!(local_of(thanks), naive("2026-10-23 17:00"));
    let check = find(&actions, "de", Step::StatusCheck, "jana@example.com");
    assert_eq!(local_of(check), naive("2026-10-30 15:00"));
    assert_eq!(
        check.due,
        Utc.with_ymd_and_hms(2026, 10, 30, 14, 0, 0).unwrap()
    );
}

#[test]
fn a_primary_without_an_address_has_the_later_steps_go_to_the_next_interviewer_with_one() {
    let mut pat = person("Pat Lee", "");
    pat.primary = true;
    let iv = interview(
        "routed",
        "2026-11-03 10:00",
        New_York,
        vec![person("Ann Kim", OMAR), pat, person("Jane Roe", JANE)],
    );
    assert_eq!(
        iv.primary().name,
        "Jane Roe",
        "the next after Pat, not the first"
    );
    let actions = plan_fresh(&iv);
    let check = find(&actions, "routed", Step::StatusCheck, JANE);
    assert_eq!(check.state, ActionState::Scheduled);
    assert_why(
        check,
        |w| matches!(w, Why::StandsIn { primary, stand_in } if primary == "Pat Lee" && stand_in == "Jane Roe"),
    );
    assert_reason(
        check,
        "Pat Lee is the primary but has no e-mail address: Jane Roe stands in",
    );
    assert!(
        !actions
            .iter()
            .any(|a| a.key.step == Step::StatusCheck && a.key.recipient == "pat lee")
    );
}

#[test]
fn interviewer_without_an_address_is_skipped_with_a_reason_but_can_still_be_called() {
    let mut iv = solo("phone", "2026-11-03 10:00", New_York, "Pat Lee", "");
    iv.interviewers[0].primary = true;
    let actions = plan_fresh(&iv);
    let thanks = find(&actions, "phone", Step::ThankYou, "pat lee");
    assert_eq!(thanks.state, ActionState::Skipped);
    assert!(
        matches!(thanks.reason.cause(), Why::NoAddress { name } if name == "Pat Lee"),
        "{}",
        thanks.reason
    );
    assert_eq!(
        find(&actions, "phone", Step::CallReminder, "pat lee").state,
        ActionState::Scheduled
    );
}

#[test]
fn planning_is_deterministic_whatever_the_order_of_the_records() {
    let mut records = shared_recruiter();
    records.push(panel());
    let now = at("2026-11-01 12:00", New_York);
    let first = plan_at(&records, &History::default(), now);
    records.reverse();
    assert_eq!(first, plan_at(&records, &History::default(), now));
}

#[test]
fn a_transient_failure_is_shown_deferred_until_its_retry() {
    let iv = panel();
    let mut history = History::default();
    let first = at("2026-11-03 13:00", New_York);
    let mut past = PastSend::new(SendState::Deferred, first);
    past.next_attempt = Some(first + TimeDelta::minutes(5));
    past.note = Some("451 try again later".into());
    history
        .sends
        .insert(SendKey::new("acme", Step::ThankYou, JANE), past);
    let actions = plan_at(
        std::slice::from_ref(&iv),
        &history,
        first + TimeDelta::minutes(1),
    );
    let a = find(&actions, "acme", Step::ThankYou, JANE);
    assert_eq!(a.state, ActionState::Deferred);
    assert_eq!(a.due, first + TimeDelta::minutes(5));
    assert!(
        matches!(a.reason.cause(), Why::Retrying { error: Some(e) } if e.contains("451")),
        "{}",
        a.reason
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ZONES: [Tz; 3] = [New_York, Berlin, Tokyo];
    const PEOPLE: [&str; 4] = [
        "ann@example.com",
        "ben@example.com",
        "Ann@Example.com",
        "cai@example.org",
    ];

    fn interviews() -> impl Strategy<Value = Vec<Interview>> {
        let one = (
            0u32..60, // day offset
            6u32..22, // hour
            0usize..ZONES.len(),
            prop::collection::vec(0usize..PEOPLE.len(), 1..3),
            prop::option::of(0u32..30),
            0usize..3,
        );
        prop::collection::vec(one, 1..6).prop_map(|specs| {
            specs
                .into_iter()
                .enumerate()
                .map(|(i, (day, hour, zone, people, decision, status))| {
                    let date =
                        NaiveDate::from_ymd_opt(2026, 10, 1).unwrap() + Days::new(day as u64);
                    let start = format!("{date} {hour:02}:00");
                    let tz = ZONES[zone];
                    let mut seen = std::collections::BTreeSet::new();
                    let people: Vec<_> = people
                        .into_iter()
                        .filter(|p| seen.insert(PEOPLE[*p].to_lowercase()))
                        .map(|p| person(&format!("P{p}"), PEOPLE[p]))
                        .collect();
                    let begin = tz
                        .from_local_datetime(&naive(&start))
                        .earliest()
                        .unwrap()
                        .with_timezone(&Utc);
                    let mut iv = interview(&format!("iv{i}"), "2026-01-01 00:00", tz, people);
                    iv.start = begin;
                    iv.end = begin + TimeDelta::hours(1);
                    iv.decision_by = decision.map(|d| date + Days::new(d as u64));
                    iv.status = [Status::Waiting, Status::Waiting, Status::Rejected][status];
                    iv.status_on = (iv.status == Status::Rejected).then_some(date + Days::new(3));
                    iv
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn no_recipient_gets_two_touches_within_the_cap_period(records in interviews()) {
            let now = at("2026-10-01 00:00", New_York);
            let actions = plan_at(&records, &History::default(), now);
            let mut by_person: BTreeMap<String, Vec<&Action>> = BTreeMap::new();
            for a in actions.iter().filter(|a| a.state.is_pending() && a.channel.is_touch()) {
                by_person.entry(a.key.recipient.clone()).or_default().push(a);
            }
            let policy = Policy::default();
            for (who, mut touches) in by_person {
                // At one instant, a capped step is placed before an uncapped one comes.
                touches.sort_by_key(|a| (a.due, !policy.is_capped(a.key.step)));
                // A step the policy does not cap may come sooner; it still holds the next one.
                for pair in touches.windows(2).filter(|p| policy.is_capped(p[1].key.step)) {
                    let tz = pair[1].timezone;
                    let gap = local(pair[1].due, tz).date() - local(pair[0].due, tz).date();
                    prop_assert!(gap.num_days() >= 7, "{who}: {} then {}", pair[0].key, pair[1].key);
                }
            }
        }

        #[test]
        fn nothing_is_due_outside_its_window(records in interviews()) {
            let policy = Policy::default();
            let now = at("2026-10-01 00:00", New_York);
            let actions = plan_at(&records, &History::default(), now);
            for a in actions.iter().filter(|a| a.state.is_pending()) {
                let window = policy.step(a.key.step).window;
                let t = local(a.due, a.timezone);
                prop_assert!(window.days.contains(t.weekday()), "{} on {t}", a.key);
                prop_assert!(t.time() >= window.start && t.time() < window.end, "{} at {t}", a.key);
            }
        }

        #[test]
        fn planning_is_deterministic(records in interviews(), hours in 0i64..2000) {
            let now = at("2026-10-01 00:00", New_York) + TimeDelta::hours(hours);
            let a = plan_at(&records, &History::default(), now);
            let mut reversed = records.clone();
            reversed.reverse();
            prop_assert_eq!(&a, &plan_at(&reversed, &History::default(), now));
        }

        #[test]
        fn every_step_of_every_interview_is_accounted_for(records in interviews()) {
            // Never silently dropped: each interview yields a thank-you per interviewer and
            // either the sequence or the note after a rejection.
            let now = at("2026-10-01 00:00", New_York);
            let actions = plan_at(&records, &History::default(), now);
            for iv in &records {
                let mine = actions.iter().filter(|a| a.key.interview == iv.id).count();
                let expected = iv.interviewers.len() + if iv.status == Status::Rejected { 5 } else { 4 };
                prop_assert_eq!(mine, expected, "{}", iv.id);
            }
        }
    }
}

// --- what the mailbox said -----------------------------------------------------------------

fn heard(interview: &str, when: DateTime<Utc>, heard: crate::core::heard::Heard) -> History {
    let record = crate::core::heard::HeardRecord {
        interview: interview.into(),
        message: format!("<{}@mail.example.com>", when.timestamp()),
        at: when,
        subject: "Re: Thank you".into(),
        first_lines: "Thanks for your note.".into(),
        heard,
        dismissed: false,
    };
    History {
        heard: [(interview.to_string(), vec![record])].into(),
        ..History::default()
    }
}

fn reply_from_jane(rejection: Option<&str>) -> crate::core::heard::Heard {
    crate::core::heard::Heard::Reply {
        from: "Jane Roe <jane@acme.example.com>".into(),
        rule: "From is an interviewer".into(),
        rejection: rejection.map(String::from),
        message_id: None,
    }
}

#[test]
fn a_reply_heard_in_the_mailbox_stops_the_automatic_checks_and_says_who_answered() {
    let iv = panel();
    let history = heard(
        "acme",
        at("2026-11-05 12:00", New_York),
        reply_from_jane(None),
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    for step in [Step::StatusCheck, Step::CallReminder, Step::FinalCheck] {
        let a = find(&actions, "acme", step, JANE);
        assert_eq!(a.state, ActionState::Cancelled, "{step}");
        assert!(
            matches!(a.reason.cause(), Why::HeardReply { from, on, status: Status::Replied, .. }
                if from.contains("Jane Roe") && *on == NaiveDate::from_ymd_opt(2026, 11, 5).unwrap()),
            "{}",
            a.reason
        );
    }
}

#[test]
fn a_heard_reply_that_reads_as_a_rejection_plans_the_note_after_rejection() {
    let iv = panel();
    let history = heard(
        "acme",
        at("2026-11-05 12:00", New_York),
        reply_from_jane(Some("decided to move forward with other candidates")),
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    let note = find(&actions, "acme", Step::AfterRejection, JANE);
    assert_eq!(note.state, ActionState::Scheduled);
    assert_eq!(local_of(note), naive("2026-11-06 09:00"));
    assert_eq!(
        find(&actions, "acme", Step::StatusCheck, JANE).state,
        ActionState::Cancelled
    );
}

#[test]
fn the_record_wins_over_a_reply_heard_in_the_mailbox() {
    let mut iv = panel();
    iv.status = Status::Offer;
    let history = heard(
        "acme",
        at("2026-11-05 12:00", New_York),
        reply_from_jane(None),
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    let check = find(&actions, "acme", Step::StatusCheck, JANE);
    assert!(
        matches!(
            check.reason.cause(),
            Why::Outcome {
                status: Status::Offer
            }
        ),
        "{}",
        check.reason
    );
    assert_not_why(check, |w| matches!(w, Why::HeardReply { .. }));
}

#[test]
fn an_out_of_office_holds_the_interviewers_next_step_until_they_are_back() {
    let iv = panel();
    let history = heard(
        "acme",
        at("2026-11-09 08:00", New_York),
        crate::core::heard::Heard::OutOfOffice {
            interviewer: JANE.into(),
            from: "Jane Roe".into(),
            return_date: NaiveDate::from_ymd_opt(2026, 11, 15),
            until: NaiveDate::from_ymd_opt(2026, 11, 16).unwrap(),
        },
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    let check = find(&actions, "acme", Step::StatusCheck, JANE);
    // Due Tue 10 Nov; held to Mon 16 Nov, then the window.
    assert_eq!(local_of(check), naive("2026-11-16 09:00"));
    assert_why(
        check,
        |w| matches!(w, Why::Away { from, .. } if from == "Jane Roe"),
    );
    // The thank-you answers that day's meeting: it is not held.
    let thanks = find(&actions, "acme", Step::ThankYou, JANE);
    assert_eq!(local_of(thanks), naive("2026-11-03 13:00"));
}

#[test]
fn the_users_own_follow_up_counts_toward_the_weekly_cap() {
    let iv = panel();
    let history = heard(
        "acme",
        at("2026-11-09 10:00", New_York),
        crate::core::heard::Heard::FollowUp {
            interviewer: JANE.into(),
        },
    );
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    let check = find(&actions, "acme", Step::StatusCheck, JANE);
    // Due Tue 10 Nov, a day after the user's own message: not before Mon 16 Nov.
    assert_eq!(check.state, ActionState::Deferred);
    assert_eq!(local_of(check), naive("2026-11-16 09:00"));
    assert_why(check, |w| {
        matches!(
            w,
            Why::Cap {
                blocking_step: None,
                ..
            }
        )
    });
}

#[test]
fn the_users_own_follow_up_after_a_check_was_due_stands_for_it() {
    let iv = panel();
    let own = at("2026-11-12 10:00", New_York);
    let history = heard(
        "acme",
        own,
        crate::core::heard::Heard::FollowUp {
            interviewer: JANE.into(),
        },
    );
    let now = at("2026-11-12 12:00", New_York);
    let mut h = history;
    h.sends.insert(
        SendKey::new("acme", Step::ThankYou, JANE),
        sent(at("2026-11-03 13:00", New_York)),
    );
    let actions = plan_at(std::slice::from_ref(&iv), &h, now);
    let check = find(&actions, "acme", Step::StatusCheck, JANE);
    assert_eq!(check.state, ActionState::Cancelled);
    assert!(
        matches!(check.reason.cause(), Why::OwnMessage { at, step: Step::StatusCheck, .. } if at.at == own),
        "{}",
        check.reason
    );
    // What follows is anchored on the user's message, not on the check's time.
    let call = find(&actions, "acme", Step::CallReminder, JANE);
    assert_eq!(local_of(call), naive("2026-11-19 10:00"));
}

#[test]
fn a_send_that_came_back_bounced_says_so_in_the_plan_and_the_later_steps_still_go() {
    let iv = panel();
    let sent_at = at("2026-11-03 14:00", New_York);
    let mut history = heard(
        "acme",
        at("2026-11-03 14:05", New_York),
        crate::core::heard::Heard::Report {
            from: "MAILER-DAEMON@mail.example.org".into(),
            outcome: crate::core::heard::ReportOutcome::Bounced,
            recipient: JANE.into(),
            code: Some("5.7.1".into()),
            reason: "5.7.1 Message rejected as spam".into(),
            rule: "the returned message is our <x@example.org>".into(),
        },
    );
    history
        .sends
        .insert(SendKey::new("acme", Step::ThankYou, JANE), sent(sent_at));
    let actions = plan_at(std::slice::from_ref(&iv), &history, before(&iv));
    let thanks = find(&actions, "acme", Step::ThankYou, JANE);
    assert_eq!(thanks.state, ActionState::Sent);
    assert!(
        thanks.reason.any(|w| matches!(
            w,
            Why::CameBack {
                outcome: crate::core::heard::ReportOutcome::Bounced,
                server_said,
            } if server_said == "5.7.1 Message rejected as spam"
        )),
        "{}",
        thanks.reason
    );
    assert!(matches!(thanks.reason.cause(), Why::Sent { .. }));
    assert!(
        thanks
            .reason
            .to_string()
            .contains("came back bounced (5.7.1 Message rejected as spam)"),
        "the wording: {}",
        thanks.reason
    );
    // A bounce is no reply: the checks still go.
    assert_eq!(
        find(&actions, "acme", Step::StatusCheck, JANE).state,
        ActionState::Scheduled
    );
}
