//! The daemon's tick against a real SMTP server on loopback, a real sled state and real files,
//! in virtual time: each test drives `tick(now)` through days of the playbook in milliseconds.

use chrono::TimeDelta;

use crate::support::api::{Folder, SendRecord, SendState, SledStore, Step, Store};
use crate::support::smtp_server::{Behaviour, FailAt, StallAt};
use crate::support::wait::{PATIENCE, wait_for_async};
use crate::support::world::{JANE, LiveDaemon, ME, World, ZOE, at, key, open_state, run_until};

#[tokio::test(flavor = "multi_thread")]
async fn send_mode_delivers_every_step_once_threaded_under_the_first_message() {
    let w = World::globex("send");
    let mut d = w.daemon();
    run_until(&mut d, at("2026-11-03 12:00"), at("2026-12-31 00:00")).await;

    // The thank-yous: one each, with the attachment, RFC 2047 for the non-ASCII name.
    let zoe = w.to(ZOE);
    assert_eq!(zoe.len(), 1, "Zoë gets the thank-you only");
    let to = zoe[0].header("To").unwrap();
    assert!(to.contains("=?utf-8?"), "{to}");
    assert!(
        zoe[0]
            .header("Content-Type")
            .unwrap()
            .starts_with("multipart/mixed")
    );
    assert!(zoe[0].raw.contains("portfolio.pdf"));
    assert!(zoe[0].header("X-Followup-Key").is_none());

    // Jane: thank-you, status check, final check; each follow-up threads under the first.
    let jane = w.to(JANE);
    assert_eq!(jane.len(), 3, "thank_you, status_check, final_check");
    let ids: Vec<String> = jane
        .iter()
        .map(|r| r.header("Message-ID").unwrap())
        .collect();
    assert!(
        ids.iter().all(|id| id.ends_with("@example.org>")),
        "{ids:?}"
    );
    let first_subject = jane[0].header("Subject").unwrap();
    for (i, r) in jane.iter().enumerate().skip(1) {
        assert_eq!(r.header("In-Reply-To").unwrap(), ids[i - 1]);
        assert_eq!(r.header("References").unwrap(), ids[..i].join(" "));
        assert_eq!(r.header("Subject").unwrap(), format!("Re: {first_subject}"));
        assert!(
            r.header("Content-Type")
                .unwrap()
                .starts_with("text/plain; charset=utf-8")
        );
        assert!(r.header("Date").is_some());
    }

    // The call reminder and the close notice come to the user.
    let mine = w.to(ME);
    let subjects: Vec<_> = mine.iter().map(|r| r.header("Subject").unwrap()).collect();
    assert_eq!(mine.len(), 2, "{subjects:?}");
    assert!(subjects[0].starts_with("Call Jane about"), "{subjects:?}");
    assert!(w.record(&key(Step::Close, ME)).state == SendState::Sent);
    // One envelope recipient per message.
    assert!(w.server().received().iter().all(|r| r.rcpt.len() == 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tick_that_runs_twice_sends_nothing_twice() {
    let w = World::globex("send");
    let mut d = w.daemon();
    let now = at("2026-11-03 13:00");
    d.tick(now).await.unwrap();
    d.tick(now).await.unwrap();
    d.tick(now + TimeDelta::minutes(1)).await.unwrap();
    drop(d);
    // A new process on the same state.
    let mut again = w.daemon();
    again.recover(now).await.unwrap();
    again.tick(now + TimeDelta::minutes(2)).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1);
    assert_eq!(w.to(ZOE).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_temporary_failure_backs_off_from_five_minutes_doubling_then_succeeds_once() {
    let w = World::globex("send");
    w.server().set_behaviour(Behaviour::TempFail(FailAt::Rcpt));
    let mut d = w.daemon();
    let start = at("2026-11-03 13:00");
    let r = d.tick(start).await.unwrap();
    assert_eq!(r.deferred.len(), 2);
    let jane = key(Step::ThankYou, JANE);
    assert_eq!(
        w.record(&jane).next_attempt,
        Some(start + TimeDelta::minutes(5))
    );
    // Not before the retry is due.
    d.tick(start + TimeDelta::minutes(4)).await.unwrap();
    assert_eq!(w.record(&jane).attempts, 1);
    d.tick(start + TimeDelta::minutes(5)).await.unwrap();
    let second = w.record(&jane);
    assert_eq!((second.attempts, second.state), (2, SendState::Deferred));
    assert_eq!(second.next_attempt, Some(start + TimeDelta::minutes(15)));
    w.server().set_behaviour(Behaviour::Accept);
    d.tick(start + TimeDelta::minutes(15)).await.unwrap();
    assert_eq!(w.record(&jane).state, SendState::Sent);
    let got = w.to(JANE);
    assert_eq!(got.len(), 1);
    // The retry sends the message recorded at the first attempt: same Message-ID.
    assert_eq!(
        got[0].header("Message-ID"),
        w.record(&jane).message_id.map(String::from)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thank_you_still_failing_at_its_hard_limit_fails_and_the_user_is_told() {
    let w = World::globex("send");
    w.server().set_behaviour(Behaviour::TempFail(FailAt::Rcpt));
    let mut d = w.daemon();
    let start = at("2026-11-03 13:00");
    let mut now = start;
    while now < start + TimeDelta::hours(50) {
        d.tick(now).await.unwrap();
        now += TimeDelta::hours(2);
    }
    let jane = w.record(&key(Step::ThankYou, JANE));
    assert_eq!(jane.state, SendState::Failed, "{jane:?}");
    assert!(jane.last_error.unwrap().contains("451"));
    assert!(w.server().received().is_empty());
    // Once the server accepts again, nothing that failed is resent on its own.
    w.server().set_behaviour(Behaviour::Accept);
    d.tick(now).await.unwrap();
    assert!(w.to(JANE).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_fails_at_once_and_a_notice_goes_to_the_user() {
    let w = World::globex("send");
    let mut d = w.daemon();
    w.server()
        .set_behaviour(Behaviour::PermFail(FailAt::EndOfData));
    let now = at("2026-11-03 13:00");
    let r = d.tick(now).await.unwrap();
    assert_eq!(r.failed.len(), 2, "{r:?}");
    assert_eq!(
        w.record(&key(Step::ThankYou, JANE)).state,
        SendState::Failed
    );
    d.tick(now + TimeDelta::hours(1)).await.unwrap();
    assert!(w.server().received().is_empty(), "never retried");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_after_the_body_is_uncertain_and_waits_for_the_user() {
    let w = World::globex("send");
    let mut d = w.daemon();
    w.server().set_behaviour(Behaviour::DropAfterBody);
    let now = at("2026-11-03 13:00");
    let r = d.tick(now).await.unwrap();
    assert_eq!(r.uncertain.len(), 2, "{r:?}");
    w.server().set_behaviour(Behaviour::Accept);
    d.tick(now + TimeDelta::hours(1)).await.unwrap();
    assert!(
        w.to(JANE).is_empty(),
        "an uncertain send is never resent by itself"
    );
    // It waits in pending/ with a note; approving it sends it with the same Message-ID.
    let jane = key(Step::ThankYou, JANE);
    let entry = d
        .queue()
        .find_in(&[Folder::Pending], &jane.to_string())
        .unwrap()
        .expect("queued for a decision");
    assert!(
        std::fs::read_to_string(&entry.path)
            .unwrap()
            .contains("X-Followup-Note: this may already")
    );
    d.queue().approve(&entry.id).unwrap();
    d.tick(now + TimeDelta::hours(2)).await.unwrap();
    let got = w.to(JANE);
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].header("Message-ID"),
        w.record(&jane).message_id.map(String::from)
    );
    assert_eq!(w.record(&jane).state, SendState::Sent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stall_after_the_body_is_uncertain_after_the_timeout() {
    let w = World::globex("send").with_smtp_timeout("1s");
    let mut d = w.daemon();
    w.server()
        .set_behaviour(Behaviour::Stall(StallAt::AfterBody));
    // Only the first message meets the stall: the rest (the other thank-you, the notice) go
    // through, so the test waits out one timeout instead of four.
    let server = w.server();
    let accept_after_the_stall = async {
        wait_for_async("the first stall", PATIENCE, || server.stalls() > 0).await;
        server.set_behaviour(Behaviour::Accept);
    };
    let (r, ()) = tokio::join!(d.tick(at("2026-11-03 13:00")), accept_after_the_stall);
    let r = r.unwrap();
    assert!(!r.uncertain.is_empty(), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_up_sends_again_what_never_left_and_holds_back_what_may_have() {
    let w = World::globex("send");
    let now = at("2026-11-03 13:00");
    {
        let state = open_state(&w.path("state"));
        for (who, handed_over) in [(JANE, false), (ZOE, true)] {
            let k = key(Step::ThankYou, who);
            let mut r = SendRecord::new(k.clone(), SendState::Sending, now);
            r.body_handed_over = handed_over;
            r.message_id = Some(
                format!("<crash.{handed_over}@example.org>")
                    .parse()
                    .unwrap(),
            );
            r.rendered = None;
            assert!(state.transition(&k, &[None], &r).unwrap());
        }
    }
    let mut d = w.daemon();
    let recovered = d.recover(now + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(recovered.uncertain, vec![key(Step::ThankYou, ZOE)]);
    assert_eq!(
        w.record(&key(Step::ThankYou, ZOE)).state,
        SendState::Uncertain
    );
    assert_eq!(
        w.record(&key(Step::ThankYou, JANE)).state,
        SendState::Deferred
    );
    d.tick(now + TimeDelta::minutes(2)).await.unwrap();
    assert!(w.to(ZOE).is_empty(), "never resent automatically");
}

#[tokio::test(flavor = "multi_thread")]
async fn approve_mode_sends_nothing_until_the_file_is_approved_then_exactly_the_edited_file() {
    let w = World::globex("approve");
    let mut d = w.daemon();
    let now = at("2026-11-03 13:00");
    let r = d.tick(now).await.unwrap();
    assert_eq!(r.queued.len(), 2);
    assert!(w.to(JANE).is_empty() && w.to(ZOE).is_empty());
    let pending = d.queue().scan(Folder::Pending).unwrap();
    assert_eq!(pending.len(), 2);
    let jane = pending.iter().find(|e| e.id.contains("jane")).unwrap();
    let edited =
        std::fs::read_to_string(&jane.path)
            .unwrap()
            .replacen("Subject: ", "Subject: [edited] ", 1)
            + "\nP.S. An added line.\n";
    std::fs::write(&jane.path, edited).unwrap();
    std::fs::rename(
        &jane.path,
        d.queue()
            .dir(Folder::Approved)
            .join(jane.path.file_name().unwrap()),
    )
    .unwrap();
    let zoe = pending.iter().find(|e| e.id.contains("zoe")).unwrap();
    std::fs::remove_file(&zoe.path).unwrap();

    d.tick(now + TimeDelta::minutes(1)).await.unwrap();
    let got = w.to(JANE);
    assert_eq!(got.len(), 1);
    assert!(got[0].header("Subject").unwrap().starts_with("[edited] "));
    assert!(got[0].raw.contains("P.S. An added line."));
    assert_eq!(d.queue().scan(Folder::Sent).unwrap().len(), 1);
    assert!(w.to(ZOE).is_empty());
    assert_eq!(
        w.record(&key(Step::ThankYou, ZOE)).state,
        SendState::Rejected
    );
    // A digest of what waited went to the user at most once.
    assert!(w.to(ME).len() <= 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thank_you_approved_after_its_limit_waits_for_a_late_approval() {
    let w = World::globex("approve");
    let mut d = w.daemon();
    let now = at("2026-11-03 13:00");
    d.tick(now).await.unwrap();
    let entry = d
        .queue()
        .find_in(&[Folder::Pending], &key(Step::ThankYou, JANE).to_string())
        .unwrap()
        .unwrap();
    d.queue().approve(&entry.id).unwrap();
    let late = now + TimeDelta::days(4);
    d.tick(late).await.unwrap();
    assert!(w.to(JANE).is_empty());
    assert!(
        d.problems().values().any(|p| p.contains("--late")),
        "{:?}",
        d.problems()
    );
    // `queue approve --late` adds the header; then it goes.
    let approved = d
        .queue()
        .find_in(&[Folder::Approved], &entry.id)
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(&approved.path).unwrap();
    std::fs::write(
        &approved.path,
        format!("X-Followup-Approved-Late: yes\n{text}"),
    )
    .unwrap();
    d.tick(late + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_edit_keeps_the_last_good_records_in_force() {
    let w = World::globex("send");
    let mut d = w.daemon();
    std::fs::write(w.path("interviews/globex.yaml"), "company: [broken\n").unwrap();
    let err = d.reload().unwrap_err();
    assert!(err.to_string().contains("globex.yaml:"), "{err}");
    d.tick(at("2026-11-03 13:00")).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1, "the last good record still holds");
}

#[tokio::test(flavor = "multi_thread")]
async fn removing_an_interview_cancels_what_waits_and_keeps_what_was_sent() {
    let w = World::globex("approve");
    let mut d = w.daemon();
    let now = at("2026-11-03 13:00");
    d.tick(now).await.unwrap();
    let jane = d
        .queue()
        .find_in(&[Folder::Pending], &key(Step::ThankYou, JANE).to_string())
        .unwrap()
        .unwrap();
    d.queue().approve(&jane.id).unwrap();
    d.tick(now + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(w.to(JANE).len(), 1);
    std::fs::remove_file(w.path("interviews/globex.yaml")).unwrap();
    d.reload().unwrap();
    d.tick(now + TimeDelta::minutes(2)).await.unwrap();
    assert_eq!(
        w.record(&key(Step::ThankYou, ZOE)).state,
        SendState::Cancelled
    );
    assert_eq!(w.record(&key(Step::ThankYou, JANE)).state, SendState::Sent);
    assert!(d.queue().scan(Folder::Pending).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_daemon_on_the_same_state_is_refused() {
    let w = World::globex("send");
    let _first = w.daemon();
    let second = SledStore::open(w.path("state"));
    let err = second
        .err()
        .expect("the second open is refused")
        .to_string();
    assert!(err.contains("another followup"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn in_approve_mode_reminders_to_the_user_need_no_approval() {
    let w = World::globex("approve");
    let mut d = w.daemon();
    let mut now = at("2026-11-03 13:00");
    // The user approves everything that waits, every time the daemon wakes.
    for _ in 0..100 {
        let report = d.tick(now).await.unwrap();
        for entry in d.queue().scan(Folder::Pending).unwrap() {
            d.queue().approve(&entry.id).unwrap();
        }
        d.tick(now + TimeDelta::minutes(1)).await.unwrap();
        match report.next {
            Some(next) if next < at("2026-12-31 00:00") => now = next,
            _ => break,
        }
    }
    let sent = d.queue().scan(Folder::Sent).unwrap();
    let steps: Vec<Step> = sent
        .iter()
        .filter_map(|e| e.key().map(|k| k.step))
        .collect();
    assert!(
        !steps.contains(&Step::CallReminder) && !steps.contains(&Step::Close),
        "{steps:?}"
    );
    let mine: Vec<_> = w
        .to(ME)
        .iter()
        .filter_map(|r| r.header("Subject"))
        .filter(|s| !s.starts_with("followup:"))
        .collect();
    assert_eq!(
        mine.len(),
        2,
        "the call reminder and the close notice: {mine:?}"
    );
    assert_eq!(
        w.record(&key(Step::CallReminder, JANE)).state,
        SendState::Sent
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_due_after_the_thank_yous_limit_is_not_sent_late() {
    let w = World::globex("send");
    w.server().set_behaviour(Behaviour::TempFail(FailAt::Rcpt));
    let mut d = w.daemon();
    let start = at("2026-11-03 13:00");
    d.tick(start).await.unwrap();
    // The machine was off for three days.
    w.server().set_behaviour(Behaviour::Accept);
    let back = start + TimeDelta::days(3);
    let r = d.tick(back).await.unwrap();
    assert!(r.failed.contains(&key(Step::ThankYou, JANE)), "{r:?}");
    assert!(w.to(JANE).is_empty(), "not sent after its limit");
    let jane = w.record(&key(Step::ThankYou, JANE));
    assert!(jane.last_error.unwrap().contains("limit"));
    assert_eq!(w.to(ME).len(), 2, "a notice for each of the two thank-yous");
}
