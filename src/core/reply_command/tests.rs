//! The command rules on replies as mail programs write them (`tests/it/fixtures/approve/`)
//! and on hostile ones.

use std::path::PathBuf;

use chrono::TimeZone;

use super::*;
use crate::core::inbound::Party;
use crate::mailbox::inbound::parse;

const DIGEST: &str = "<digest.4f1c0c5e9a7b4e2d8c3f6a1b2d9e0f7a8b6c5d4e3f2a1b0c@example.org>";

fn me() -> Vec<EmailAddress> {
    vec![
        EmailAddress::parse("sam@example.org").unwrap(),
        EmailAddress::parse("sam.seeker@example.net").unwrap(),
    ]
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap()
}

fn digest(numbers: &[u32]) -> DigestShown {
    DigestShown {
        message_id: MessageId::parse(DIGEST).unwrap(),
        sent_at: now(),
        numbers: numbers.to_vec(),
    }
}

fn rules(me: &[EmailAddress]) -> CommandRules<'_> {
    CommandRules {
        me,
        reply_within: Duration::days(3),
        authserv_id: None,
    }
}

fn fixture(name: &str) -> InboundMessage {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/fixtures/approve")
        .join(name);
    parse(&std::fs::read(path).unwrap())
}

fn judged(name: &str) -> Result<Vec<(u32, Decision)>, Refusal> {
    let me = me();
    let msg = fixture(name);
    let d = digest(&[1, 2, 3]);
    assert_eq!(digest_answered(&msg, std::slice::from_ref(&d)), Some(&d));
    judge(&msg, &d, &rules(&me), false, now() + Duration::hours(1))
        .map(|c| c.decisions.into_iter().collect())
}

use Decision::{Approve, ApproveLate, Reject};

#[test]
fn gmail_web_reply_is_read_above_its_quote() {
    assert_eq!(judged("gmail-web.eml"), Ok(vec![(1, Approve)]));
}

#[test]
fn gmail_app_reply_with_commas_and_a_capital_is_read() {
    assert_eq!(
        judged("gmail-app.eml"),
        Ok(vec![(1, Approve), (3, Approve)])
    );
}

#[test]
fn apple_mail_iphone_reply_is_read_above_sent_from_my_iphone() {
    assert_eq!(judged("apple-mail-iphone.eml"), Ok(vec![(2, Reject)]));
}

#[test]
fn apple_mail_mac_reply_reads_two_command_lines() {
    assert_eq!(
        judged("apple-mail-mac.eml"),
        Ok(vec![(1, Reject), (3, Approve)])
    );
}

#[test]
fn outlook_desktop_reply_is_cut_at_its_header_block() {
    assert_eq!(judged("outlook-desktop.eml"), Ok(vec![(2, Approve)]));
}

#[test]
fn outlook_mobile_html_only_reply_is_cut_at_div_rply_fwd_msg() {
    let msg = fixture("outlook-mobile-html-only.eml");
    assert!(msg.command.html.is_some(), "HTML only: the HTML is kept");
    assert_eq!(
        judged("outlook-mobile-html-only.eml"),
        Ok(vec![(2, Reject)])
    );
}

#[test]
fn thunderbird_reply_approves_all_shown() {
    assert_eq!(
        judged("thunderbird.eml"),
        Ok(vec![(1, Approve), (2, Approve), (3, Approve)])
    );
}

#[test]
fn a_reply_with_only_quoted_commands_is_no_command() {
    assert_eq!(judged("only-quoted.eml"), Err(Refusal::NoCommand));
}

fn reply(text: &str) -> InboundMessage {
    InboundMessage {
        message_id: MessageId::parse("<r1@example.org>").ok(),
        from: Some(Party::new(Some("Sam"), "sam@example.org")),
        subject: "Re: followup: 2 follow-ups wait for your approval".into(),
        in_reply_to: vec![MessageId::parse(DIGEST).unwrap()],
        text: text.into(),
        command: CommandSignals {
            from_count: 1,
            ..Default::default()
        },
        ..Default::default()
    }
}

fn judge_reply(msg: &InboundMessage, numbers: &[u32]) -> Result<Command, Refusal> {
    let me = me();
    judge(msg, &digest(numbers), &rules(&me), false, now())
}

#[test]
fn a_number_both_approved_and_rejected_is_a_conflict() {
    let msg = reply("approve 2\nreject 2\n");
    assert_eq!(judge_reply(&msg, &[1, 2]), Err(Refusal::Conflict(2)));
}

#[test]
fn a_number_the_digest_did_not_show_refuses_the_command() {
    assert_eq!(
        judge_reply(&reply("approve 99"), &[1, 2]),
        Err(Refusal::NotShown(99))
    );
}

#[test]
fn yes_approves_only_a_digest_of_one() {
    let one = judge_reply(&reply("Yes\n\nSam"), &[4]).unwrap();
    assert_eq!(
        one.decisions.into_iter().collect::<Vec<_>>(),
        vec![(4, Approve)]
    );
    assert_eq!(
        judge_reply(&reply("ok"), &[1, 2]),
        Err(Refusal::YesWithSeveral(2))
    );
}

#[test]
fn approve_late_is_read() {
    let c = judge_reply(&reply("approve late 1"), &[1, 2]).unwrap();
    assert_eq!(
        c.decisions.into_iter().collect::<Vec<_>>(),
        vec![(1, ApproveLate)]
    );
}

#[test]
fn a_command_word_followed_by_words_is_not_understood() {
    assert!(matches!(
        judge_reply(&reply("approve them please"), &[1]),
        Err(Refusal::NotUnderstood(_))
    ));
}

#[test]
fn only_the_first_five_non_empty_lines_are_read() {
    let late = "hi\n\none\ntwo\nthree\nfour\napprove 1\n";
    assert_eq!(judge_reply(&reply(late), &[1]), Err(Refusal::NoCommand));
}

#[test]
fn a_reply_from_a_stranger_is_refused_as_wrong_sender() {
    let mut msg = reply("approve 1");
    msg.from = Some(Party::new(None, "mallory@example.net"));
    assert!(matches!(
        judge_reply(&msg, &[1]),
        Err(Refusal::WrongSender(a)) if a == "mallory@example.net"
    ));
}

#[test]
fn an_alias_may_command() {
    let mut msg = reply("approve 1");
    msg.from = Some(Party::new(None, "Sam.Seeker@example.net"));
    assert!(judge_reply(&msg, &[1]).is_ok());
}

#[test]
fn two_senders_are_refused() {
    let mut msg = reply("approve 1");
    msg.command.from_count = 2;
    assert_eq!(judge_reply(&msg, &[1]), Err(Refusal::NotOneSender(2)));
}

#[test]
fn an_out_of_office_quoting_the_digest_is_automatic() {
    let mut msg = reply("I am away.\n> approve all");
    msg.auto.auto_submitted = Some("auto-replied".into());
    let refused = judge_reply(&msg, &[1]).unwrap_err();
    assert!(matches!(refused, Refusal::Automatic(_)));
    assert!(!refused.is_answered());
}

#[test]
fn a_forwarded_digest_is_refused() {
    let mut msg = reply("approve all");
    msg.subject = "Fwd: followup: 2 follow-ups wait for your approval".into();
    assert_eq!(judge_reply(&msg, &[1]), Err(Refusal::Forwarded));
}

#[test]
fn a_forged_from_caught_by_dmarc_is_refused() {
    let mut msg = reply("approve all");
    msg.command.authentication_results = vec![
        "mx.example.org; spf=softfail smtp.mailfrom=example.org; dkim=none; \
         dmarc=fail (p=none dis=none) header.from=example.org"
            .into(),
        "mx.example.org; dkim=pass header.d=example.org".into(),
    ];
    let refused = judge_reply(&msg, &[1]).unwrap_err();
    assert_eq!(refused, Refusal::Forged { method: "dmarc" });
    assert!(refused.is_security());
}

#[test]
fn a_dkim_failure_for_another_domain_is_not_a_forgery() {
    let mut msg = reply("approve 1");
    msg.command.authentication_results =
        vec!["mx.example.org; dkim=fail header.d=lists.example.com; dmarc=pass".into()];
    assert!(judge_reply(&msg, &[1]).is_ok());
}

#[test]
fn with_authserv_id_a_pass_from_that_server_is_required() {
    let me = me();
    let strict = CommandRules {
        authserv_id: Some("mx.example.org"),
        ..rules(&me)
    };
    let mut msg = reply("approve 1");
    assert_eq!(
        judge(&msg, &digest(&[1]), &strict, false, now()),
        Err(Refusal::NotAuthenticated)
    );
    msg.command.authentication_results =
        vec!["mx.example.org; dkim=pass (2048-bit key) header.d=example.org".into()];
    assert!(judge(&msg, &digest(&[1]), &strict, false, now()).is_ok());
    msg.command.authentication_results =
        vec!["evil.example.net; dkim=pass header.d=example.org".into()];
    assert_eq!(
        judge(&msg, &digest(&[1]), &strict, false, now()),
        Err(Refusal::NotAuthenticated)
    );
}

#[test]
fn a_reply_to_an_old_digest_is_expired() {
    let me = me();
    let later = now() + Duration::days(3) + Duration::minutes(1);
    assert!(matches!(
        judge(
            &reply("approve 1"),
            &digest(&[1]),
            &rules(&me),
            false,
            later
        ),
        Err(Refusal::Expired { .. })
    ));
}

#[test]
fn a_reply_acted_on_before_is_replayed() {
    let me = me();
    assert_eq!(
        judge(&reply("approve 1"), &digest(&[1]), &rules(&me), true, now()),
        Err(Refusal::Replayed)
    );
}

#[test]
fn a_message_naming_no_digest_is_no_command() {
    let mut msg = reply("approve 1");
    msg.in_reply_to.clear();
    assert_eq!(digest_answered(&msg, &[digest(&[1])]), None);
}
