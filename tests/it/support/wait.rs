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
pub fn wait_for<C: Holds>(
    what: &str,
    deadline: Duration,
    mut condition: impl FnMut() -> C,
) -> C::Value {
    let waiting = Waiting::new(what, deadline);
    loop {
        match condition().holds() {
            Some(value) => return value,
            None => waiting.give_up_if_late(),
        }
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
    let waiting = Waiting::new(what, deadline);
    async move {
        loop {
            match condition().holds() {
                Some(value) => return value,
                None => waiting.give_up_if_late(),
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// One wait: what for, since when, how long at most, and where the test asked for it.
struct Waiting {
    what: String,
    deadline: Duration,
    started: Instant,
    caller: &'static std::panic::Location<'static>,
}

impl Waiting {
    #[track_caller]
    fn new(what: &str, deadline: Duration) -> Waiting {
        Waiting {
            what: what.to_owned(),
            deadline,
            started: Instant::now(),
            caller: std::panic::Location::caller(),
        }
    }

    fn give_up_if_late(&self) {
        assert!(
            self.started.elapsed() < self.deadline,
            "gave up waiting for {} after {:?} (the wait at {})",
            self.what,
            self.deadline,
            self.caller
        );
    }
}
