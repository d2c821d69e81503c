//! The time zone an invitation defines for itself (`VTIMEZONE`), for a `TZID` that is neither an
//! IANA nor a Windows name: Outlook writes display names such as `(UTC+01:00) Amsterdam, Berlin,
//! Bern, Rome, Stockholm, Vienna`, Lotus Notes `Western/Central Europe`. The definition gives
//! offsets and the yearly rules that switch between them; the IANA zone whose offsets agree with
//! them all through the year of the event is the zone meant.

use chrono::{
    DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc, Weekday,
};
use chrono_tz::{OffsetComponents, Tz};
use icalendar::{Calendar, CalendarComponent, Component};

/// A zone the file defines: its observances (standard time, daylight time), each with the
/// instants it begins at.
#[derive(Debug, Clone)]
pub struct Defined {
    pub tzid: String,
    observances: Vec<Observance>,
}

/// One `STANDARD` or `DAYLIGHT` part: from its onsets on, the offset is `to`.
#[derive(Debug, Clone)]
struct Observance {
    start: NaiveDateTime,
    from: FixedOffset,
    to: FixedOffset,
    rule: Option<Yearly>,
    extra: Vec<NaiveDateTime>,
}

/// `RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU` and its kin (`BYMONTHDAY=8,...,14;BYDAY=SU`,
/// `BYMONTHDAY=21` alone): the forms time zone definitions use.
#[derive(Debug, Clone)]
struct Yearly {
    month: u32,
    weekday: Option<(i8, Weekday)>,
    month_days: Vec<u32>,
    until: Option<NaiveDateTime>,
}

/// How far from a defined switch a zone may switch and still agree.
const SWITCH_SLACK: Duration = Duration::hours(3);

/// How the zone of a `TZID` was found, for the record to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// An IANA zone with the same offsets and switches as the file's definition.
    Matching(Tz),
    /// No IANA zone agrees with the definition: the start is the instant the definition's
    /// offset gives, written in UTC.
    FixedInUtc { offset: FixedOffset },
}

/// The definition of `tzid` in `calendar`, if the file has one that reads.
pub fn find(calendar: &Calendar, tzid: &str) -> Option<Defined> {
    let want = unquote(tzid);
    calendar.components.iter().find_map(|c| match c {
        CalendarComponent::Other(o)
            if o.component_kind().eq_ignore_ascii_case("VTIMEZONE")
                && o.property_value("TZID").map(unquote) == Some(want) =>
        {
            Defined::read(o, want)
        }
        _ => None,
    })
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"').trim()
}

impl Defined {
    fn read(component: &impl Component, tzid: &str) -> Option<Defined> {
        let observances: Vec<Observance> = component
            .components()
            .iter()
            .filter(|c| {
                let kind = c.component_kind();
                kind.eq_ignore_ascii_case("STANDARD") || kind.eq_ignore_ascii_case("DAYLIGHT")
            })
            .filter_map(Observance::read)
            .collect();
        (!observances.is_empty()).then(|| Defined {
            tzid: tzid.to_string(),
            observances,
        })
    }

    /// The offset in force at `at`: that of the latest onset at or before it, else (before
    /// every onset) the offset the first observance changes from.
    pub fn offset_at(&self, at: DateTime<Utc>) -> FixedOffset {
        let year = at.year();
        let mut best: Option<(DateTime<Utc>, FixedOffset)> = None;
        let mut first: Option<(DateTime<Utc>, FixedOffset)> = None;
        for o in &self.observances {
            for onset in o.onsets(year - 1, year) {
                let Some(utc) = o.onset_utc(onset) else {
                    continue;
                };
                if first.is_none_or(|(f, _)| utc < f) {
                    first = Some((utc, o.from));
                }
                if utc <= at && best.is_none_or(|(b, _)| utc > b) {
                    best = Some((utc, o.to));
                }
            }
        }
        match (best, first) {
            (Some((_, to)), _) => to,
            (None, Some((_, from))) => from,
            (None, None) => self.observances[0].from,
        }
    }

    /// The offset for a local time of the file: the one in force at the instant that local time
    /// names under the offset in force just before (as a clock on the wall reads it).
    pub fn offset_for_local(&self, local: NaiveDateTime) -> FixedOffset {
        let guess = local.and_utc();
        let before = self.offset_at(guess - Duration::hours(48));
        let at = local - Duration::seconds(i64::from(before.local_minus_utc()));
        self.offset_at(at.and_utc())
    }

    /// The instants of the year where the offset changes, in UTC.
    fn switches(&self, year: i32) -> Vec<DateTime<Utc>> {
        let mut out: Vec<DateTime<Utc>> = self
            .observances
            .iter()
            .flat_map(|o| {
                o.onsets(year, year)
                    .into_iter()
                    .filter_map(|t| o.onset_utc(t))
            })
            .filter(|t| t.year() == year)
            .collect();
        out.sort();
        out
    }

    /// The zone meant: an IANA zone whose offsets agree with the definition through the year of
    /// `local` (twice a day, and either side of each switch), the one the `TZID`
    /// names by its city when several do; else the instant in UTC.
    pub fn resolve(&self, local: NaiveDateTime) -> Resolved {
        let year = local.year();
        let Some(jan1) = NaiveDate::from_ymd_opt(year, 1, 1) else {
            return Resolved::FixedInUtc {
                offset: self.offset_for_local(local),
            };
        };
        // Definitions are loose about the hour of a switch (Lotus Notes gives 02:00 where the
        // European Union switches at 03:00 summer time): a zone agrees when it switches within
        // [`SWITCH_SLACK`] of each switch and agrees everywhere else.
        let switches = self.switches(year);
        let near_a_switch =
            |t: &DateTime<Utc>| switches.iter().any(|s| (*t - *s).abs() < SWITCH_SLACK);
        let mut samples: Vec<DateTime<Utc>> = (0..366 * 2)
            .map(|half_days| {
                jan1.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
                    + Duration::hours(12 * half_days)
            })
            .filter(|t| !near_a_switch(t))
            .collect();
        for s in &switches {
            samples.push(*s - SWITCH_SLACK);
            samples.push(*s + SWITCH_SLACK);
        }
        let expected: Vec<(DateTime<Utc>, i32)> = samples
            .into_iter()
            .map(|t| (t, self.offset_at(t).local_minus_utc()))
            .collect();
        let agrees = |tz: &Tz| {
            expected.iter().all(|(t, want)| {
                let o = tz.offset_from_utc_datetime(&t.naive_utc());
                (o.base_utc_offset() + o.dst_offset()).num_seconds() == i64::from(*want)
            })
        };
        let matching: Vec<Tz> = chrono_tz::TZ_VARIANTS
            .iter()
            .filter(|tz| is_geographic(tz.name()))
            .filter(|tz| agrees(tz))
            .copied()
            .collect();
        match self.preferred(&matching) {
            Some(tz) => Resolved::Matching(tz),
            None => Resolved::FixedInUtc {
                offset: self.offset_for_local(local),
            },
        }
    }

    /// Among zones that agree: the first the `TZID` names by its city (`... Amsterdam, Berlin`
    /// → Europe/Amsterdam), else the one the Windows names stand for, else the first by name.
    fn preferred(&self, matching: &[Tz]) -> Option<Tz> {
        let words: Vec<String> = self
            .tzid
            .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let text = words.join(" ");
        let named_at = |tz: &Tz| {
            let city = tz
                .name()
                .rsplit('/')
                .next()?
                .replace('_', " ")
                .to_lowercase();
            text.match_indices(&city).map(|(i, _)| i).find(|&i| {
                let before = text[..i].chars().next_back();
                let after = text[i + city.len()..].chars().next();
                before.is_none_or(|c| c == ' ') && after.is_none_or(|c| c == ' ')
            })
        };
        matching
            .iter()
            .filter_map(|tz| named_at(tz).map(|i| (i, *tz)))
            .min_by_key(|(i, _)| *i)
            .map(|(_, tz)| tz)
            .or_else(|| {
                matching
                    .iter()
                    .find(|tz| super::zone::is_windows_choice(tz.name()))
                    .copied()
            })
            .or_else(|| matching.first().copied())
    }
}

/// A zone of a place (`Europe/Berlin`), not a legacy alias (`CET`, `US/Eastern`) or a bare
/// offset (`Etc/GMT-1`).
fn is_geographic(name: &str) -> bool {
    const AREAS: &[&str] = &[
        "Africa/",
        "America/",
        "Antarctica/",
        "Asia/",
        "Atlantic/",
        "Australia/",
        "Europe/",
        "Indian/",
        "Pacific/",
    ];
    AREAS.iter().any(|a| name.starts_with(a))
}

impl Observance {
    fn read(c: &impl Component) -> Option<Observance> {
        let start = local_date_time(c.property_value("DTSTART")?)?;
        let from = utc_offset(c.property_value("TZOFFSETFROM")?)?;
        let to = utc_offset(c.property_value("TZOFFSETTO")?)?;
        let rule = c.property_value("RRULE").and_then(Yearly::read);
        let mut extra = Vec::new();
        let rdates = c
            .multi_properties()
            .get("RDATE")
            .into_iter()
            .flatten()
            .map(|p| p.value())
            .chain(c.property_value("RDATE"));
        for value in rdates {
            extra.extend(value.split(',').filter_map(local_date_time));
        }
        Some(Observance {
            start,
            from,
            to,
            rule,
            extra,
        })
    }

    /// Local onsets in the years `first..=last` (and the first onset, if earlier).
    fn onsets(&self, first: i32, last: i32) -> Vec<NaiveDateTime> {
        let mut out = vec![self.start];
        out.extend(self.extra.iter().copied());
        if let Some(rule) = &self.rule {
            for year in first.max(self.start.year())..=last {
                let Some(day) = rule.date_in(year) else {
                    continue;
                };
                let at = day.and_time(self.start.time());
                if at >= self.start && rule.until.is_none_or(|u| at <= u) {
                    out.push(at);
                }
            }
        }
        out
    }

    /// A local onset as an instant: the local time is that of the offset changed from.
    fn onset_utc(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        local
            .checked_sub_signed(Duration::seconds(i64::from(self.from.local_minus_utc())))
            .map(|t| t.and_utc())
    }
}

impl Yearly {
    fn read(rule: &str) -> Option<Yearly> {
        let mut freq = None;
        let mut month = None;
        let mut weekday = None;
        let mut month_days = Vec::new();
        let mut until = None;
        for part in rule.split(';') {
            let (key, value) = part.split_once('=')?;
            match key.trim().to_ascii_uppercase().as_str() {
                "FREQ" => freq = Some(value.trim().to_ascii_uppercase()),
                "BYMONTH" => {
                    month = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|m| (1..=12).contains(m))
                }
                "BYDAY" => weekday = Some(by_day(value.trim())?),
                "BYMONTHDAY" => {
                    for d in value.split(',') {
                        month_days.push(
                            d.trim()
                                .parse::<u32>()
                                .ok()
                                .filter(|d| (1..=31).contains(d))?,
                        );
                    }
                }
                "UNTIL" => until = local_date_time(value.trim()),
                "INTERVAL" if value.trim() == "1" => {}
                // The time of day is DTSTART's; Lotus Notes repeats it in the rule.
                "WKST" | "BYHOUR" | "BYMINUTE" | "BYSECOND" => {}
                // COUNT, INTERVAL > 1, BYSETPOS...: not the forms zone definitions use.
                _ => return None,
            }
        }
        (freq.as_deref() == Some("YEARLY")).then_some(())?;
        if weekday.is_none() && month_days.is_empty() {
            return None;
        }
        Some(Yearly {
            month: month?,
            weekday,
            month_days,
            until,
        })
    }

    /// The day of `year` the rule names.
    fn date_in(&self, year: i32) -> Option<NaiveDate> {
        let first = NaiveDate::from_ymd_opt(year, self.month, 1)?;
        let days_in_month = (28..=31)
            .rev()
            .find(|d| NaiveDate::from_ymd_opt(year, self.month, *d).is_some())?;
        let days = (1..=days_in_month).filter_map(|d| first.with_day(d));
        match (self.weekday, self.month_days.is_empty()) {
            (Some((0, wd)), false) | (Some((1, wd)), false) => days
                .filter(|d| d.weekday() == wd && self.month_days.contains(&d.day()))
                .min(),
            (Some((n, wd)), true) => {
                let matching: Vec<NaiveDate> = days.filter(|d| d.weekday() == wd).collect();
                match n {
                    0 => matching.first().copied(),
                    n if n > 0 => matching.get(usize::try_from(n - 1).ok()?).copied(),
                    n => {
                        let back = usize::try_from(-i32::from(n)).ok()?;
                        matching
                            .len()
                            .checked_sub(back)
                            .and_then(|i| matching.get(i))
                            .copied()
                    }
                }
            }
            (None, false) => days.filter(|d| self.month_days.contains(&d.day())).min(),
            _ => None,
        }
    }
}

/// `-1SU`, `2SA`, `SU`.
fn by_day(value: &str) -> Option<(i8, Weekday)> {
    if value.contains(',') {
        return None;
    }
    let split = value.len().checked_sub(2)?;
    let (n, day) = (value.get(..split)?, value.get(split..)?);
    let n: i8 = match n {
        "" => 0,
        n => n
            .trim_start_matches('+')
            .parse()
            .ok()
            .filter(|n: &i8| (-5..=5).contains(n))?,
    };
    let day = match day.to_ascii_uppercase().as_str() {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    };
    Some((n, day))
}

/// `19701025T030000` (a `Z` at the end is read the same: definitions give local times).
fn local_date_time(value: &str) -> Option<NaiveDateTime> {
    let v = value.trim().trim_end_matches(['Z', 'z']);
    NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(v, "%Y%m%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

/// `+0100`, `-0330`, `+013045`: an offset of less than a day.
fn utc_offset(value: &str) -> Option<FixedOffset> {
    let v = value.trim();
    let (sign, digits) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits[0..2].parse().ok()?;
    let m: i32 = digits[2..4].parse().ok()?;
    let s: i32 = digits.get(4..6).map_or(Some(0), |s| s.parse().ok())?;
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60 + s))
}

/// The offset of a resolved zone at an instant, for the note that says it.
pub fn describe(offset: FixedOffset) -> String {
    let secs = offset.local_minus_utc();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTLOOK_BERLIN: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
BEGIN:VTIMEZONE\r\nTZID:(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna\r\n\
BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\n\
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n\
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n\
END:VCALENDAR\r\n";

    fn defined(text: &str, tzid: &str) -> Defined {
        let calendar: Calendar = text.parse().unwrap();
        find(&calendar, tzid).unwrap()
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn a_display_name_resolves_to_the_zone_with_the_same_rules_named_first() {
        let tzid = "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna";
        let d = defined(OUTLOOK_BERLIN, tzid);
        assert_eq!(
            d.resolve(at("2026-12-08 14:00")),
            Resolved::Matching(chrono_tz::Europe::Amsterdam)
        );
        assert_eq!(
            d.offset_for_local(at("2026-07-01 12:00")).local_minus_utc(),
            7200
        );
        assert_eq!(
            d.offset_for_local(at("2026-12-01 12:00")).local_minus_utc(),
            3600
        );
    }

    #[test]
    fn a_lotus_notes_zone_resolves_to_the_windows_choice_among_the_same_rules() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/it/fixtures/ics/icalendar-py/calendars_issue_156_RDATE_with_PERIOD_TZID_khal_2.ics"
        );
        let text = std::fs::read_to_string(path).unwrap();
        let d = defined(&text, "\"Western/Central Europe\"");
        assert_eq!(
            d.resolve(at("2021-11-01 16:00")),
            Resolved::Matching(chrono_tz::Europe::Berlin)
        );
    }

    #[test]
    fn a_definition_no_zone_follows_gives_the_instant_in_utc() {
        let odd = OUTLOOK_BERLIN
            .replace("BYDAY=-1SU;BYMONTH=10", "BYDAY=2SU;BYMONTH=11")
            .replace(
                "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",
                "Odd",
            );
        let d = defined(&odd, "Odd");
        assert_eq!(
            d.resolve(at("2026-12-08 14:00")),
            Resolved::FixedInUtc {
                offset: FixedOffset::east_opt(3600).unwrap()
            }
        );
    }

    #[test]
    fn rules_name_the_days_zone_definitions_use() {
        let last_sunday = Yearly::read("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU").unwrap();
        assert_eq!(
            last_sunday.date_in(2026),
            NaiveDate::from_ymd_opt(2026, 10, 25)
        );
        let second_sunday = Yearly::read("FREQ=YEARLY;BYMONTH=3;BYDAY=2SU").unwrap();
        assert_eq!(
            second_sunday.date_in(2026),
            NaiveDate::from_ymd_opt(2026, 3, 8)
        );
        let sunday_from_the_8th =
            Yearly::read("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=8,9,10,11,12,13,14;BYDAY=SU").unwrap();
        assert_eq!(
            sunday_from_the_8th.date_in(2026),
            NaiveDate::from_ymd_opt(2026, 3, 8)
        );
        assert!(Yearly::read("FREQ=DAILY;BYMONTH=3;BYDAY=SU").is_none());
        assert_eq!(utc_offset("+0530").unwrap().local_minus_utc(), 19800);
        assert_eq!(utc_offset("+9999"), None);
    }
}
