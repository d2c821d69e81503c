//! Waiting for something to happen: poll a condition until a deadline, never sleep a fixed time
//! and hope. A slow machine then makes a test slower, not wrong.

use std::time::{Duration, Instant};

/// How long a test waits for what should happen within moments before it fails. Generous, since
/// a wait ends as soon as its condition holds.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How often a condition is checked.
const POLL: Duration = Duration::from_millis(20);

/// What a condition answers: `true`, or a value, once it holds.
pub trait Holds {
    type Value;
    fn holds(self) -> Option<Self::Value>;
}

impl Holds for bool {
    type Value = ();
    fn holds(self) -> Option<()> {
        self.then_some(())
    }
}

impl<T> Holds for Option<T> {
    type Value = T;
    fn holds(self) -> Option<T> {
        self
    }
}

/// Checks `condition` until it holds and returns what it gave; fails the test, saying what it
/// waited for, once `deadline` has passed.
#[track_caller]
pub fn wait_for<C: Holds>(what: &str, deadline: Duration, mut condition: impl FnMut() -> C) -> C::Value {
    let started = Instant::now();
    loop {
        if let Some(value) = condition().holds() {
            return value;
        }
        assert!(
            started.elapsed() < deadline,
            "gave up waiting for {what} after {deadline:?}"
        );
        std::thread::sleep(POLL);
    }
}

/// [`wait_for`] inside async code that must go on running meanwhile (a daemon's tick, say).
#[track_caller]
pub fn wait_for_async<C: Holds>(
    what: &str,
    deadline: Duration,
    mut condition: impl FnMut() -> C,
) -> impl Future<Output = C::Value> {
    let what = what.to_owned();
    let caller = std::panic::Location::caller();
    async move {
        let started = Instant::now();
        loop {
            if let Some(value) = condition().holds() {
                return value;
            }
            assert!(
                started.elapsed() < deadline,
                "gave up waiting for {what} after {deadline:?} (at {caller})"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}
