//! `--now` belongs to dry runs: a real run acts now, and a dry run decides as the real run would.

use crate::support::smtp_server::{Behaviour, FailAt, ServerOptions};
use crate::support::world::{JANE, World, ZOE};

#[test]
fn now_on_a_real_run_is_a_usage_error() {
    let w = World::globex("approve");
    let out = w
        .run(&["run", "--once", "--now", "2026-11-03 13:00"])
        .exit(2);
    assert!(out.stderr.contains("--dry-run"), "{}", out.stderr);
    assert!(w.queue_files("pending").is_empty(), "nothing was queued");
    let help = w.ok(&["run", "--help"]).stdout;
    assert!(help.contains("With --dry-run --once"), "{help}");
}

/// Two thank-yous retried after a 451 until past their 48 h limit: the dry run says they fail,
/// as the real round then does, rather than showing them as about to be sent.
#[test]
fn dry_run_and_real_run_decide_alike_on_a_retry_past_its_limit() {
    let w = World::serving_with(
        "send",
        ServerOptions {
            behaviour: Behaviour::TempFail(FailAt::Rcpt),
            ..ServerOptions::default()
        },
    )
    .with_globex();
    let first = w.once_at("2026-11-03 13:00");
    assert!(first.stderr.contains("deferred 2"), "{}", first.stderr);

    let late = "2026-11-05 12:00";
    let dry = w.ok(&["run", "--once", "--dry-run", "--now", late]);
    for who in [JANE, ZOE] {
        assert!(
            dry.stdout.contains(&format!(
                "# dry run: globex/thank_you/{who} would fail: still not delivered at its limit"
            )),
            "{}",
            dry.stdout
        );
    }
    assert!(
        !dry.stdout.contains("Subject:"),
        "nothing shown as sent:\n{}",
        dry.stdout
    );
    assert!(dry.stderr.contains("failed 2"), "{}", dry.stderr);

    let real = w.once_at(late);
    assert!(real.stderr.contains("failed 2"), "{}", real.stderr);
    assert!(w.to(JANE).is_empty() && w.to(ZOE).is_empty());
}
