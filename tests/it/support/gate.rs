//! Tests that need what a machine may lack (root to mount a tmpfs, a Postfix on loopback). Such a
//! test says "skipped" and why on stderr when it cannot run, unless its variable is `1`: then a
//! missing prerequisite fails it, so CI cannot pass without having run it.

/// A prerequisite shared by some tests, and the variable that makes it required.
pub struct Gate {
    /// `1`: the tests must run. Unset, empty or `0`: they run when they can (or, with
    /// `only_when_asked`, not at all).
    pub var: &'static str,
    /// The tests run only under `var=1`, even where they could run.
    pub only_when_asked: bool,
    /// Said when the tests skip: how to run them.
    pub how_to_run: &'static str,
}

impl Gate {
    /// Whether `var=1` asks for these tests. Any value but unset, empty, `0` or `1` is a mistake.
    pub fn asked(&self) -> bool {
        asked(self.var)
    }

    /// What `prerequisite` gives, or `None` when the test should return early (it printed why).
    /// Under `var=1` a missing prerequisite fails the test instead.
    #[track_caller]
    pub fn check<T>(&self, prerequisite: impl FnOnce() -> Result<T, String>) -> Option<T> {
        let asked = self.asked();
        let outcome = if self.only_when_asked && !asked {
            Err(format!("{} is not set", self.var))
        } else {
            prerequisite()
        };
        match outcome {
            Ok(value) => Some(value),
            Err(why) if asked => panic!("{}=1 but {why}\nTo run it: {}", self.var, self.how_to_run),
            Err(why) => {
                let test = std::thread::current().name().unwrap_or("a test").to_owned();
                eprintln!(
                    "skipped: {test}: {why} (set {}=1 to require it; to run it: {})",
                    self.var, self.how_to_run
                );
                None
            }
        }
    }
}

/// Whether `var` is `1`; unset, empty or `0` is no. Anything else is a mistake, not a no.
pub fn asked(var: &str) -> bool {
    match std::env::var(var).as_deref() {
        Err(_) | Ok("") | Ok("0") => false,
        Ok("1") => true,
        Ok(other) => panic!("{var} is `{other}`: set it to 1, or unset it"),
    }
}
