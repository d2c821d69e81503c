//! Every number of the playbook, with the playbook's defaults.

use std::collections::BTreeSet;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc, Weekday};

use super::model::{Interview, Step};

/// When in the recipient's week a step may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// First minute of the window (inclusive).
    pub start: NaiveTime,
    /// End of the window (exclusive); always after `start`.
    pub end: NaiveTime,
    pub days: Weekdays,
}

impl Window {
    pub fn new(start: NaiveTime, end: NaiveTime, days: Weekdays) -> Self {
        Self { start, end, days }
    }

    /// Every day, 08:00 to 20:00: the thank-you window.
    pub fn every_day_8_to_20() -> Self {
        Self::new(hm(8, 0), hm(20, 0), Weekdays::ALL)
    }

    /// Monday to Friday, 09:00 to 17:00: working hours.
    pub fn working_hours() -> Self {
        Self::new(hm(9, 0), hm(17, 0), Weekdays::MON_FRI)
    }

    /// Parses `09:00-17:00`.
    pub fn parse_hours(s: &str, days: Weekdays) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("`{s}` is not a window; write it like 09:00-17:00"))?;
        let parse = |t: &str| {
            NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .map_err(|_| format!("`{}` is not a time of day; write it like 09:00", t.trim()))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if end <= start {
            return Err(format!(
                "window `{s}` ends before it starts; windows cannot cross midnight"
            ));
        }
        Ok(Self::new(start, end, days))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{} {}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M"),
            self.days
        )
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid constant time")
}

/// A set of weekdays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weekdays(u8);

impl Weekdays {
    pub const ALL: Weekdays = Weekdays(0b111_1111);
    pub const MON_FRI: Weekdays = Weekdays(0b001_1111);

    pub fn contains(self, day: Weekday) -> bool {
        self.0 & (1 << day.num_days_from_monday()) != 0
    }

    pub fn from_days(days: impl IntoIterator<Item = Weekday>) -> Self {
        Weekdays(
            days.into_iter()
                .fold(0, |acc, d| acc | (1 << d.num_days_from_monday())),
        )
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromStr for Weekdays {
    type Err = String;
    /// Parses `mon-fri`, `mon,wed,fri`, `every day` or `sat-sun`.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().to_lowercase();
        if s == "every day" || s == "daily" || s == "all" {
            return Ok(Weekdays::ALL);
        }
        let day = |t: &str| {
            t.trim()
                .parse::<Weekday>()
                .map_err(|_| format!("`{}` is not a weekday; use mon, tue, ... sun", t.trim()))
        };
        let mut out = 0u8;
        for part in s.split(',') {
            if let Some((a, b)) = part.split_once('-') {
                let (mut d, last) = (day(a)?, day(b)?);
                loop {
                    out |= 1 << d.num_days_from_monday();
                    if d == last {
                        break;
                    }
                    d = d.succ();
                }
            } else {
                out |= 1 << day(part)?.num_days_from_monday();
            }
        }
        if out == 0 {
            return Err("no weekday given".into());
        }
        Ok(Weekdays(out))
    }
}

impl fmt::Display for Weekdays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Weekdays::ALL {
            return f.write_str("every day");
        }
        if *self == Weekdays::MON_FRI {
            return f.write_str("Mon-Fri");
        }
        let mut d = Weekday::Mon;
        let mut names = Vec::new();
        for _ in 0..7 {
            if self.contains(d) {
                names.push(format!("{d}"));
            }
            d = d.succ();
        }
        f.write_str(&names.join(","))
    }
}

/// The longest delay a config may give: anything longer is a typo.
pub const MAX_DELAY: TimeDelta = TimeDelta::days(3650);

/// Parses a delay such as `2h`, `7d`, `90m` or `1d12h`.
pub fn parse_delay(s: &str) -> Result<TimeDelta, String> {
    let t = s.trim();
    let err = || format!("`{s}` is not a duration; write it like 2h, 7d or 1d12h");
    if t.is_empty() {
        return Err(err());
    }
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: i64 = digits.parse().map_err(|_| err())?;
        digits.clear();
        let unit = match c {
            'w' => TimeDelta::try_weeks(n),
            'd' => TimeDelta::try_days(n),
            'h' => TimeDelta::try_hours(n),
            'm' => TimeDelta::try_minutes(n),
            's' => TimeDelta::try_seconds(n),
            _ => None,
        }
        .ok_or_else(err)?;
        total = total.checked_add(&unit).ok_or_else(err)?;
    }
    if !digits.is_empty() {
        return Err(err());
    }
    if total > MAX_DELAY {
        return Err(format!("`{s}` is longer than ten years"));
    }
    Ok(total)
}

/// Writes a delay back in the shape `parse_delay` reads.
pub fn format_delay(d: TimeDelta) -> String {
    let mut secs = d.num_seconds();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            let _ = write!(out, "{}{unit}", secs / size); // a String takes any text
            secs %= size;
        }
    }
    if out.is_empty() { "0m".into() } else { out }
}

/// When a step is due relative to its anchor, and when it may go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepPolicy {
    pub delay: TimeDelta,
    pub window: Window,
    /// Whether the weekly cap may hold the step back. A step that is not capped still counts
    /// as a touch for the steps after it.
    pub capped: bool,
}

/// How many touches a person may receive in a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cap {
    pub count: u32,
    pub period: TimeDelta,
}

/// The playbook's numbers. `Policy::default()` is the playbook as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Delay after the interview's end; window for the thank-you.
    pub thank_you: StepPolicy,
    /// A thank-you later than this after the end is reported as late.
    pub thank_you_target: TimeDelta,
    /// A thank-you later than this after the end is never sent automatically.
    pub thank_you_limit: TimeDelta,
    /// Delay after the interview's end when no decision date was given.
    pub status_check: StepPolicy,
    /// Delay after the decision date when one was given.
    pub after_decision: TimeDelta,
    /// Delay after the status check.
    pub call_reminder: StepPolicy,
    /// Delay after the previous touch.
    pub final_check: StepPolicy,
    /// Delay after the final check.
    pub close: StepPolicy,
    /// Delay after the rejection was recorded.
    pub after_rejection: StepPolicy,
    pub cap: Cap,
    /// How long a send that keeps failing with temporary errors is retried before it fails.
    pub retry_lifetime: TimeDelta,
    /// The first retry after a temporary error waits this long, each next one twice as long, up
    /// to `retry_max`.
    pub retry_first: TimeDelta,
    pub retry_max: TimeDelta,
    /// At most one "waiting for approval" digest per this long.
    pub digest_every: TimeDelta,
    /// Dates (in the recipient's zone) on which nothing goes out.
    pub holidays: BTreeSet<NaiveDate>,
    /// Whether holidays hold back the thank-you too (`policy.thank_you.holidays: true`). By
    /// default they hold back the later steps only: a thank-you answers that day's meeting, and
    /// held over a holiday it would miss its 48 hours.
    pub thank_you_holidays: bool,
}

impl Default for Policy {
    fn default() -> Self {
        let later = |days| StepPolicy {
            delay: TimeDelta::days(days),
            window: Window::working_hours(),
            capped: true,
        };
        Self {
            thank_you: StepPolicy {
                delay: TimeDelta::hours(2),
                window: Window::every_day_8_to_20(),
                capped: true,
            },
            thank_you_target: TimeDelta::hours(24),
            thank_you_limit: TimeDelta::hours(48),
            status_check: later(7),
            after_decision: TimeDelta::days(2),
            call_reminder: later(7),
            final_check: later(7),
            close: later(7),
            // It answers the message they sent: it goes within a day or two, whatever the
            // user received the week before.
            after_rejection: StepPolicy {
                capped: false,
                ..later(1)
            },
            cap: Cap {
                count: 1,
                period: TimeDelta::days(7),
            },
            retry_lifetime: TimeDelta::days(3),
            retry_first: TimeDelta::minutes(5),
            retry_max: TimeDelta::hours(1),
            digest_every: TimeDelta::hours(1),
            holidays: BTreeSet::new(),
            thank_you_holidays: false,
        }
    }
}

impl Policy {
    /// The timing of one step.
    pub fn step(&self, step: Step) -> &StepPolicy {
        match step {
            Step::ThankYou => &self.thank_you,
            Step::StatusCheck => &self.status_check,
            Step::CallReminder => &self.call_reminder,
            Step::FinalCheck => &self.final_check,
            Step::Close => &self.close,
            Step::AfterRejection => &self.after_rejection,
        }
    }

    /// Whether the weekly cap may hold `step` back: it caps touches only (a notice to the user
    /// never), and each step as its policy says. Every touch counts against the cap, capped or
    /// not.
    pub fn is_capped(&self, step: Step) -> bool {
        step.channel().is_touch() && self.step(step).capped
    }

    /// After this, a thank-you is never sent automatically: it answers that day's meeting.
    pub fn thank_you_deadline(&self, iv: &Interview) -> DateTime<Utc> {
        iv.end + self.thank_you_limit
    }

    /// Whether a thank-you sent at `at` is later than the target (still within the limit).
    pub fn thank_you_is_late(&self, iv: &Interview, at: DateTime<Utc>) -> bool {
        at > iv.end + self.thank_you_target
    }

    /// When `step` of `iv` stops being worth sending, if ever: only the thank-you has a limit.
    pub fn send_limit(&self, step: Step, iv: &Interview) -> Option<DateTime<Utc>> {
        (step == Step::ThankYou).then(|| self.thank_you_deadline(iv))
    }

    /// The limit of `step` of `iv` when `at` is past it: a send still on its way stops there (a
    /// retry fails, an approval needs `--late`). `None` while it may still go out.
    pub fn past_limit(
        &self,
        step: Step,
        iv: &Interview,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.send_limit(step, iv).filter(|limit| at > *limit)
    }

    /// How long to wait before the next try after `attempts` failed with a temporary error.
    pub fn retry_delay(&self, attempts: u32) -> TimeDelta {
        let doublings = attempts.saturating_sub(1).min(10);
        (self.retry_first * 2i32.pow(doublings)).min(self.retry_max)
    }

    /// The last instant a send first reserved at `reserved_at` may still be retried: the retry
    /// lifetime, and never past the step's limit (`None` for an interview no longer in the
    /// records: only the lifetime applies).
    pub fn retry_until(
        &self,
        step: Step,
        iv: Option<&Interview>,
        reserved_at: DateTime<Utc>,
    ) -> DateTime<Utc> {
        let lifetime = reserved_at + self.retry_lifetime;
        match iv.and_then(|iv| self.send_limit(step, iv)) {
            Some(limit) => lifetime.min(limit),
            None => lifetime,
        }
    }

    /// Whether `date` is a holiday that holds `step` back: every step but the thank-you, and
    /// the thank-you too when the policy says so.
    pub fn holds_back(&self, step: Step, date: NaiveDate) -> bool {
        (step != Step::ThankYou || self.thank_you_holidays) && self.holidays.contains(&date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_parse_in_every_unit() {
        assert_eq!(parse_delay("2h").unwrap(), TimeDelta::hours(2));
        assert_eq!(parse_delay("7d").unwrap(), TimeDelta::days(7));
        assert_eq!(
            parse_delay("1d12h").unwrap(),
            TimeDelta::days(1) + TimeDelta::hours(12)
        );
        assert_eq!(parse_delay("90m").unwrap(), TimeDelta::minutes(90));
        for bad in ["", "7", "d", "7x", "-1d", "1.5h"] {
            assert!(parse_delay(bad).is_err(), "{bad:?} parsed");
        }
        assert_eq!(format_delay(TimeDelta::hours(36)), "1d12h");
    }

    #[test]
    fn windows_and_weekdays_parse() {
        let w = Window::parse_hours("09:00-17:00", "mon-fri".parse().unwrap()).unwrap();
        assert_eq!(w, Window::working_hours());
        assert!(Window::parse_hours("17:00-09:00", Weekdays::ALL).is_err());
        let weekend: Weekdays = "sat-sun".parse().unwrap();
        assert!(weekend.contains(Weekday::Sun) && !weekend.contains(Weekday::Mon));
        let wrap: Weekdays = "fri-mon".parse().unwrap();
        assert!(wrap.contains(Weekday::Sat) && !wrap.contains(Weekday::Tue));
        assert!("funday".parse::<Weekdays>().is_err());
    }
}
