//! A calendar invitation (`.ics`, as Google Calendar, Outlook and Zoom send them) read into
//! what a new interview record needs: when, how long, in which zone, with whom, at which
//! company, for which position. Whatever it cannot tell is left out, for `followup add` to
//! ask.

use chrono::{Datelike, NaiveDateTime, TimeDelta, TimeZone};
use chrono_tz::Tz;
use icalendar::{Calendar, CalendarComponent, CalendarDateTime, Component, DatePerhapsTime, Event};

use crate::core::policy::MAX_DELAY;
use crate::core::{EmailAddress, Owner};
use crate::input::vtimezone::{self, Resolved};
use crate::input::zone;

/// Someone the invitation names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub name: String,
    pub email: EmailAddress,
}

/// What an invitation says of an interview.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invitation {
    /// The local start, in `zone`.
    pub start: Option<NaiveDateTime>,
    pub zone: Option<Tz>,
    /// How `zone` was chosen when the invitation's `TZID` is not a zone's name, for the record
    /// to say.
    pub zone_chosen: Option<String>,
    pub duration: Option<TimeDelta>,
    /// The organizer and the attendees, minus the user and any room: the organizer first.
    pub people: Vec<Person>,
    pub company: Option<String>,
    pub position: Option<String>,
    pub summary: Option<String>,
    /// What could not be read, for the user to know.
    pub notes: Vec<String>,
}

/// Why an invitation cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    #[error("not an iCalendar file ({0})")]
    NotICalendar(String),
    #[error("it holds no event with a start time")]
    NoEvent,
    /// A date or a length no interview has: a typo or a hostile file.
    #[error(
        "{property} `{value}` is out of range: {expected}; fix the invitation, or add the \
         interview without --ics, with --{flag} and the rest as flags"
    )]
    OutOfRange {
        property: &'static str,
        value: String,
        expected: &'static str,
        flag: &'static str,
    },
}

/// The years an interview's start may fall in.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

/// Reads the first event of `text`. `me` is the user, left out of the people (by address or by
/// name: invitations often reach another of their addresses); `default_zone` is the zone of
/// times given in UTC or without a zone.
pub fn read(text: &str, me: &Owner, default_zone: Tz) -> Result<Invitation, InvitationError> {
    let calendar: Calendar = text
        .parse()
        .map_err(|e: String| InvitationError::NotICalendar(first_line(&e).to_string()))?;
    let event = calendar
        .components
        .iter()
        .find_map(|c| match c {
            CalendarComponent::Event(e) if e.get_start().is_some() => Some(e),
            _ => None,
        })
        .ok_or(InvitationError::NoEvent)?;
    let mut inv = Invitation {
        summary: event.get_summary().map(one_line).filter(|s| !s.is_empty()),
        ..Invitation::default()
    };
    Times {
        calendar: &calendar,
        event,
        default_zone,
    }
    .read(&mut inv)?;
    inv.people = people(event, me);
    inv.company = inv.people.iter().find_map(|p| company_of(p.email.domain()));
    inv.position = inv
        .summary
        .as_deref()
        .and_then(|s| position_from(s, inv.company.as_deref(), &me.name));
    Ok(inv)
}

/// Text on one line: a parameter with an unclosed quote, or an escaped `\n`, can carry line
/// breaks and control characters into a value; they become spaces, runs of blanks one.
fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn first_line(s: &str) -> &str {
    s.lines().find(|l| !l.trim().is_empty()).unwrap_or(s).trim()
}

fn out_of_range(
    event: &Event,
    property: &'static str,
    expected: &'static str,
    flag: &'static str,
) -> InvitationError {
    InvitationError::OutOfRange {
        property,
        value: first_line(event.property_value(property).unwrap_or_default())
            .chars()
            .take(80)
            .collect(),
        expected,
        flag,
    }
}

/// What the times of the event are read with: the calendar holds the zone definitions.
struct Times<'a> {
    calendar: &'a Calendar,
    event: &'a Event,
    default_zone: Tz,
}

impl Times<'_> {
    /// `DTSTART` and `DTEND` (or `DURATION`) into a local start, a zone and a length.
    fn read(&self, inv: &mut Invitation) -> Result<(), InvitationError> {
        let event = self.event;
        let start = match event.get_start() {
            Some(DatePerhapsTime::DateTime(t)) => t,
            Some(DatePerhapsTime::Date(d)) => {
                inv.notes.push(format!(
                    "the event is for the whole day of {d}, with no time"
                ));
                return Ok(());
            }
            None => return Ok(()),
        };
        if !YEARS.contains(&naive(&start).year()) {
            return Err(out_of_range(
                event,
                "DTSTART",
                "an interview starts between 1970 and 9999",
                "start",
            ));
        }
        let Some((local, tz)) = self.local_time(&start, inv) else {
            return Ok(());
        };
        inv.start = Some(local);
        inv.zone = Some(tz);
        let begin = tz.from_local_datetime(&local).earliest();
        let end = match event.get_end() {
            Some(DatePerhapsTime::DateTime(end)) if YEARS.contains(&naive(&end).year()) => self
                .local_time(&end, inv)
                .and_then(|(l, z)| z.from_local_datetime(&l).earliest())
                .map(|e| e.with_timezone(&tz)),
            _ => None,
        };
        inv.duration = match (begin, end) {
            (Some(b), Some(e)) if e > b => {
                let length = e - b;
                if length > MAX_DELAY {
                    return Err(out_of_range(
                        event,
                        "DTEND",
                        "an interview ends less than ten years after it starts",
                        "duration",
                    ));
                }
                Some(length)
            }
            _ => match event.property_value("DURATION").map(iso_duration) {
                Some(Err(TooLong)) => {
                    return Err(out_of_range(
                        event,
                        "DURATION",
                        "an interview lasts less than ten years",
                        "duration",
                    ));
                }
                Some(Ok(d)) => d,
                None => None,
            },
        };
        Ok(())
    }

    /// A date-time of the invitation as a local time and its zone.
    fn local_time(
        &self,
        t: &CalendarDateTime,
        inv: &mut Invitation,
    ) -> Option<(NaiveDateTime, Tz)> {
        match t {
            CalendarDateTime::WithTimezone { date_time, tzid } => {
                if let Some(tz) = zone::from_calendar(tzid) {
                    return Some((*date_time, tz));
                }
                let Some(defined) = vtimezone::find(self.calendar, tzid) else {
                    note(
                        inv,
                        format!(
                            "its time zone `{tzid}` is not one followup knows, and the \
                             invitation does not define it"
                        ),
                    );
                    return None;
                };
                let (at, tz, chosen) = match defined.resolve(*date_time) {
                    Resolved::Matching(tz) => (
                        *date_time,
                        tz,
                        format!(
                            "`{}` as the invitation defines it: {tz} has the same offsets and \
                             switches",
                            defined.tzid
                        ),
                    ),
                    Resolved::FixedInUtc { offset } => {
                        let utc = date_time.checked_sub_signed(TimeDelta::seconds(i64::from(
                            offset.local_minus_utc(),
                        )))?;
                        (
                            utc,
                            chrono_tz::UTC,
                            format!(
                                "`{}` as the invitation defines it ({}), which no known zone \
                                 follows: the start is written in UTC",
                                defined.tzid,
                                vtimezone::describe(offset)
                            ),
                        )
                    }
                };
                if inv.zone_chosen.is_none() {
                    inv.zone_chosen = Some(chosen.clone());
                    note(inv, format!("time zone {tz}, from {chosen}"));
                }
                Some((at, tz))
            }
            CalendarDateTime::Utc(at) => Some((
                at.with_timezone(&self.default_zone).naive_local(),
                self.default_zone,
            )),
            CalendarDateTime::Floating(local) => Some((*local, self.default_zone)),
        }
    }
}

fn note(inv: &mut Invitation, note: String) {
    if !inv.notes.contains(&note) {
        inv.notes.push(note);
    }
}

/// The date-time as written, whatever its zone.
fn naive(t: &CalendarDateTime) -> NaiveDateTime {
    match t {
        CalendarDateTime::WithTimezone { date_time, .. } => *date_time,
        CalendarDateTime::Utc(at) => at.naive_utc(),
        CalendarDateTime::Floating(local) => *local,
    }
}

/// A `DURATION` longer than any interview (or than arithmetic can hold).
#[derive(Debug, PartialEq, Eq)]
struct TooLong;

/// `PT45M`, `PT1H30M`, `P1D`: the forms invitations use. `None` for what does not read (or is
/// not a positive length); an error for a length past [`MAX_DELAY`].
fn iso_duration(text: &str) -> Result<Option<TimeDelta>, TooLong> {
    let Some(rest) = text.trim().strip_prefix('P') else {
        return Ok(None);
    };
    let mut total = TimeDelta::zero();
    let mut number = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => number.push(c),
            unit => {
                if number.is_empty() {
                    return Ok(None);
                }
                let n: i64 = number.parse().map_err(|_| TooLong)?;
                number.clear();
                let part = match (unit, in_time) {
                    ('W', false) => TimeDelta::try_weeks(n),
                    ('D', false) => TimeDelta::try_days(n),
                    ('H', true) => TimeDelta::try_hours(n),
                    ('M', true) => TimeDelta::try_minutes(n),
                    ('S', true) => TimeDelta::try_seconds(n),
                    _ => return Ok(None),
                }
                .ok_or(TooLong)?;
                total = total.checked_add(&part).ok_or(TooLong)?;
            }
        }
    }
    if total > MAX_DELAY {
        return Err(TooLong);
    }
    Ok((total > TimeDelta::zero()).then_some(total))
}

/// The organizer, then the attendees, each once; not the user, not rooms or resources.
fn people(event: &Event, me: &Owner) -> Vec<Person> {
    let mut found: Vec<(Option<String>, String)> = Vec::new();
    if let Some(organizer) = event.properties().get("ORGANIZER") {
        let cn = organizer.params().get("CN").map(|p| p.value().to_string());
        found.push((cn, organizer.value().to_string()));
    }
    for a in event.get_attendees() {
        let room = matches!(
            a.cutype,
            Some(icalendar::CUType::Room | icalendar::CUType::Resource)
        );
        if !room {
            found.push((a.cn.clone(), a.cal_address.clone()));
        }
    }
    let mut out: Vec<Person> = Vec::new();
    for (cn, address) in found {
        let address = address.trim();
        let bare = address
            .strip_prefix("mailto:")
            .or_else(|| address.strip_prefix("MAILTO:"))
            .unwrap_or(address);
        let Ok(email) = EmailAddress::parse(bare) else {
            continue;
        };
        let cn = cn
            .map(|c| one_line(c.trim().trim_matches('"')))
            .filter(|c| !c.is_empty() && !c.contains(['@', '"', ':', ';']));
        let is_me = email.key() == me.email.key()
            || cn
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(me.name.trim()));
        let calendar = email.domain().ends_with("calendar.google.com");
        if is_me || calendar || out.iter().any(|p| p.email.key() == email.key()) {
            continue;
        }
        let name = cn.unwrap_or_else(|| name_from_address(&email));
        out.push(Person { name, email });
    }
    out
}

/// `omar.diaz@...` → `Omar Diaz`.
fn name_from_address(email: &EmailAddress) -> String {
    let local = email.as_str().split('@').next().unwrap_or_default();
    local
        .split(['.', '_', '-'])
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            chars.next().map_or(String::new(), |first| {
                first.to_uppercase().chain(chars).collect()
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Mail providers whose domain says nothing about an employer.
const PERSONAL_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "aol.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "zoho.com",
    "fastmail.com",
];

/// The company a domain belongs to: `globex.example.com` → `Globex`, `hooli.co.uk` → `Hooli`;
/// none for a personal mail provider.
fn company_of(domain: &str) -> Option<String> {
    let domain = domain.to_lowercase();
    if PERSONAL_MAIL.contains(&domain.as_str()) {
        return None;
    }
    let mut labels: Vec<&str> = domain.split('.').collect();
    labels.pop()?; // the top-level domain
    // `co.uk`, `com.au`; and the reserved `example.*` under a test company.
    while labels.len() > 1
        && matches!(
            *labels.last()?,
            "co" | "com" | "org" | "net" | "ac" | "gov" | "edu" | "example"
        )
    {
        labels.pop();
    }
    // `mail.hooli.com`, `corp.hooli.com`: the name is the last label left.
    let name = labels.last()?;
    let mut chars = name.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

/// Words of a title that say what the job is.
const JOB_WORDS: &[&str] = &[
    "engineer",
    "developer",
    "designer",
    "manager",
    "analyst",
    "scientist",
    "architect",
    "lead",
    "director",
    "consultant",
    "specialist",
    "administrator",
    "intern",
    "researcher",
    "product",
    "marketing",
    "sales",
    "accountant",
    "editor",
    "writer",
    "officer",
    "coordinator",
    "associate",
    "sre",
    "devops",
    "programmer",
    "head",
];

/// Words of a meeting's summary that are about the meeting, not the job.
const MEETING_WORDS: &[&str] = &[
    "interview",
    "interviews",
    "onsite",
    "on-site",
    "phone",
    "screen",
    "screening",
    "technical",
    "final",
    "round",
    "call",
    "chat",
    "with",
    "zoom",
    "meeting",
    "virtual",
    "video",
    "panel",
    "invitation",
    "updated",
    "first",
    "second",
    "third",
    "teams",
    "google",
    "meet",
];

/// The position a summary names, where it can tell: `Interview: Senior Backend Engineer (Sam
/// Seeker)`, `Data Analyst interview - Sam Seeker`, `Umbrella | Product Designer interview`,
/// `Sam Seeker <> Hooli: onsite interview for Staff Engineer`.
pub fn position_from(summary: &str, company: Option<&str>, me: &str) -> Option<String> {
    let lower = summary.to_lowercase();
    if let Some(i) = lower.rfind(" for ") {
        let after = summary[i + 5..].trim();
        let after = after
            .strip_prefix("the ")
            .or_else(|| after.strip_prefix("The "))
            .unwrap_or(after);
        let candidate = clean(after, company, me);
        if looks_like_a_job(&candidate) {
            return Some(candidate);
        }
    }
    let mut text = summary.to_string();
    for sep in [
        " - ", " – ", " — ", " | ", ": ", " <> ", " / ", " x ", "(", ")",
    ] {
        text = text.replace(sep, "\u{1}");
    }
    text.split('\u{1}')
        .map(|part| clean(part, company, me))
        .find(|part| looks_like_a_job(part))
}

/// A part of a summary without the meeting words, the company, the user and punctuation.
fn clean(part: &str, company: Option<&str>, me: &str) -> String {
    let mut words: Vec<&str> = part
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '+' && c != '#'))
        .filter(|w| !w.is_empty())
        .collect();
    let me: Vec<String> = me.split_whitespace().map(str::to_lowercase).collect();
    words.retain(|w| {
        let l = w.to_lowercase();
        !MEETING_WORDS.contains(&l.as_str())
            && !me.contains(&l)
            && company.is_none_or(|c| !c.eq_ignore_ascii_case(w))
            && !matches!(
                l.as_str(),
                "at" | "for" | "the" | "a" | "an" | "role" | "position"
            )
    });
    words.join(" ")
}

fn looks_like_a_job(text: &str) -> bool {
    text.split_whitespace()
        .any(|w| JOB_WORDS.contains(&w.to_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_read_from_the_usual_summaries() {
        for (summary, company, want) in [
            (
                "Interview: Senior Backend Engineer (Sam Seeker)",
                None,
                "Senior Backend Engineer",
            ),
            (
                "Data Analyst interview - Sam Seeker",
                Some("Initech"),
                "Data Analyst",
            ),
            (
                "Umbrella | Product Designer interview",
                Some("Umbrella"),
                "Product Designer",
            ),
            (
                "Sam Seeker <> Hooli: onsite interview for Staff Engineer",
                Some("Hooli"),
                "Staff Engineer",
            ),
        ] {
            assert_eq!(
                position_from(summary, company, "Sam Seeker").as_deref(),
                Some(want),
                "{summary}"
            );
        }
        assert_eq!(position_from("Catch-up", None, "Sam Seeker"), None);
    }

    #[test]
    fn companies_come_from_domains_not_from_mail_providers() {
        assert_eq!(company_of("globex.example.com").as_deref(), Some("Globex"));
        assert_eq!(company_of("mail.hooli.co.uk").as_deref(), Some("Hooli"));
        assert_eq!(
            company_of("initech.example.net").as_deref(),
            Some("Initech")
        );
        assert_eq!(company_of("gmail.com"), None);
    }

    #[test]
    fn iso_durations_read_as_invitations_write_them() {
        assert_eq!(iso_duration("PT45M"), Ok(Some(TimeDelta::minutes(45))));
        assert_eq!(iso_duration("PT1H30M"), Ok(Some(TimeDelta::minutes(90))));
        assert_eq!(iso_duration("nonsense"), Ok(None));
        assert_eq!(iso_duration("P999999999999999999W"), Err(TooLong));
        assert_eq!(iso_duration("P99999999999999999999999D"), Err(TooLong));
        assert_eq!(iso_duration("P3651D"), Err(TooLong));
    }
}
