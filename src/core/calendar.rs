//! Local time done right: delays in calendar days, send windows and DST.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;

use super::policy::{Policy, Window};

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

/// The first instant at or after `t` inside `window` in `tz`, skipping holidays.
pub fn next_in_window(t: DateTime<Utc>, window: &Window, tz: Tz, policy: &Policy) -> DateTime<Utc> {
    let here = local(t, tz);
    let date = here.date();
    if policy.is_send_day(window, date) {
        if here.time() < window.start {
            return resolve_lenient(date.and_time(window.start), tz);
        }
        if here.time() < window.end {
            return t;
        }
    }
    let mut day = date;
    // A window has at least one weekday; a year of holidays is the most that can block it.
    for _ in 0..400 {
        day = day.succ_opt().unwrap_or(day);
        if policy.is_send_day(window, day) {
            return resolve_lenient(day.and_time(window.start), tz);
        }
    }
    t
}

/// `Mon 2026-11-02 09:00 EST`: how people read times.
pub fn human(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%a %Y-%m-%d %H:%M %Z")
        .to_string()
}

/// `Sat 10:00`: a short form for reasons.
pub fn short(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%a %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

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
        let policy = Policy::default();
        let sat = Utc.from_utc_datetime(&at(2026, 11, 7, 22, 0));
        let next = next_in_window(sat, &Window::working_hours(), utc, &policy);
        assert_eq!(next.naive_utc(), at(2026, 11, 9, 9, 0));
    }
}
