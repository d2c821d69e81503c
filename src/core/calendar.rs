//! Local time done right: delays in calendar days, send windows and DST.

use std::fmt;
use std::sync::LazyLock;

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::policy::Window;

/// Why a local date-time cannot stand for one instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("{0} does not exist in {1}: the clocks jump over it (daylight saving time starts)")]
    Gap(NaiveDateTime, Tz),
    #[error(
        "{0} happens twice in {1} (daylight saving time ends); move it out of the repeated hour"
    )]
    Fold(NaiveDateTime, Tz),
}

/// Resolves a local date-time written by a person: a gap or a fold is their mistake to fix.
pub fn resolve_strict(local: NaiveDateTime, tz: Tz) -> Result<DateTime<Utc>, LocalTimeError> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(..) => Err(LocalTimeError::Fold(local, tz)),
        LocalResult::None => Err(LocalTimeError::Gap(local, tz)),
    }
}

/// Resolves a local date-time computed by the planner: in a fold the first instant, in a gap the
/// first instant after it, so a computed time is never lost.
pub fn resolve_lenient(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    let mut probe = local;
    for _ in 0..=4 * 24 {
        match tz.from_local_datetime(&probe) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => probe += TimeDelta::minutes(15),
        }
    }
    // No zone has a gap longer than a day; fall back to reading the time as UTC.
    Utc.from_utc_datetime(&local)
}

/// The local wall-clock time of `t` in `tz`.
pub fn local(t: DateTime<Utc>, tz: Tz) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// Adds a delay: whole days are calendar days in `tz` (7 days after 10:00 is 10:00, across a DST
/// change too), anything else is elapsed time.
pub fn add_delay(t: DateTime<Utc>, delay: TimeDelta, tz: Tz) -> DateTime<Utc> {
    if is_whole_days(delay) {
        resolve_lenient(local(t, tz) + delay, tz)
    } else {
        t + delay
    }
}

pub fn is_whole_days(d: TimeDelta) -> bool {
    d.num_seconds() % 86_400 == 0
}

/// Where a send window puts an instant, and what moved it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    /// The first instant at or after the given one inside the window.
    pub at: DateTime<Utc>,
    /// The given instant was outside the window's hours or days.
    pub outside_window: bool,
    /// Holidays passed over that the window's days would otherwise have allowed, in order.
    pub holidays: Vec<NaiveDate>,
}

/// The first instant at or after `t` inside `window` in `tz`, passing over the dates
/// `is_holiday` names.
pub fn next_in_window(
    t: DateTime<Utc>,
    window: &Window,
    tz: Tz,
    is_holiday: impl Fn(NaiveDate) -> bool,
) -> Placed {
    let here = local(t, tz);
    let date = here.date();
    let mut holidays = Vec::new();
    let window_day = window.days.contains(date.weekday());
    let in_hours = here.time() >= window.start && here.time() < window.end;
    if window_day && is_holiday(date) && here.time() < window.end {
        holidays.push(date);
    } else if window_day && here.time() < window.start {
        let at = resolve_lenient(date.and_time(window.start), tz);
        return Placed {
            at,
            outside_window: true,
            holidays,
        };
    } else if window_day && in_hours {
        return Placed {
            at: t,
            outside_window: false,
            holidays,
        };
    }
    // On a holiday before the window closes, the holiday is the cause, not the hour.
    let outside_window = !window_day || here.time() >= window.end;
    let mut day = date;
    // A window has at least one weekday; a year of holidays is the most that can block it.
    for _ in 0..400 {
        day = day.succ_opt().unwrap_or(day);
        if !window.days.contains(day.weekday()) {
            continue;
        }
        if is_holiday(day) {
            holidays.push(day);
            continue;
        }
        return Placed {
            at: resolve_lenient(day.and_time(window.start), tz),
            outside_window,
            holidays,
        };
    }
    Placed {
        at: t,
        outside_window,
        holidays,
    }
}

/// A format parsed once: chrono parses a format string at every use otherwise, and a large
/// plan writes hundreds of thousands of times.
type Parsed = LazyLock<Vec<Item<'static>>>;

fn parse(spec: &str) -> Vec<Item<'static>> {
    StrftimeItems::new(spec)
        .parse_to_owned()
        .unwrap_or_else(|e| unreachable!("`{spec}` is a valid format: {e}"))
}

static HUMAN: Parsed = LazyLock::new(|| parse("%a %Y-%m-%d %H:%M %Z"));
static SHORT_THIS_WEEK: Parsed = LazyLock::new(|| parse("%a %H:%M %Z"));
static SHORT_THIS_YEAR: Parsed = LazyLock::new(|| parse("%a %-d %b %H:%M %Z"));
static SHORT_OTHER_YEAR: Parsed = LazyLock::new(|| parse("%a %-d %b %Y %H:%M %Z"));
static SHORT_DATE: Parsed = LazyLock::new(|| parse("%a %-d %b"));

/// `Mon 2026-11-02 09:00 EST`: how people read times.
pub fn human(t: DateTime<Utc>, tz: Tz) -> String {
    human_display(t, tz).to_string()
}

/// [`human`], written where it goes rather than into a string of its own.
pub fn human_display(t: DateTime<Utc>, tz: Tz) -> impl fmt::Display {
    t.with_timezone(&tz).format_with_items(HUMAN.iter())
}

/// A time in a reason, read beside `now`: `Tue 11:00 EST` in the week of `now`, else with the
/// date (`Tue 24 Nov 11:00 EST`), and the year when it is another year.
pub fn short(t: DateTime<Utc>, tz: Tz, now: DateTime<Utc>) -> String {
    let (there, today) = (t.with_timezone(&tz), now.with_timezone(&tz));
    let format = if there.iso_week() == today.iso_week() {
        &SHORT_THIS_WEEK
    } else if there.year() == today.year() {
        &SHORT_THIS_YEAR
    } else {
        &SHORT_OTHER_YEAR
    };
    there.format_with_items(format.iter()).to_string()
}

/// A date in a reason: `Fri 25 Dec`.
pub fn short_date(d: NaiveDate) -> String {
    d.format_with_items(SHORT_DATE.iter()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap()
    }

    #[test]
    fn start_in_a_dst_gap_or_fold_is_an_error() {
        let ny = chrono_tz::America::New_York;
        assert!(matches!(
            resolve_strict(at(2026, 3, 8, 2, 30), ny),
            Err(LocalTimeError::Gap(..))
        ));
        assert!(matches!(
            resolve_strict(at(2026, 11, 1, 1, 30), ny),
            Err(LocalTimeError::Fold(..))
        ));
        assert!(resolve_strict(at(2026, 11, 1, 3, 0), ny).is_ok());
    }

    #[test]
    fn calendar_day_delays_keep_the_local_hour_across_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        let before = resolve_strict(at(2026, 10, 23, 10, 0), berlin).unwrap();
        let after = add_delay(before, TimeDelta::days(7), berlin);
        assert_eq!(local(after, berlin), at(2026, 10, 30, 10, 0));
        assert_eq!(after - before, TimeDelta::hours(7 * 24 + 1));
    }

    #[test]
    fn window_moves_saturday_night_to_monday_morning() {
        let utc = chrono_tz::UTC;
        let sat = Utc.from_utc_datetime(&at(2026, 11, 7, 22, 0));
        let next = next_in_window(sat, &Window::working_hours(), utc, |_| false);
        assert_eq!(next.at.naive_utc(), at(2026, 11, 9, 9, 0));
        assert!(next.outside_window && next.holidays.is_empty());
    }
}
