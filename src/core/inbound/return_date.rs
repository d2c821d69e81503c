//! The return date of an out-of-office, from the ways people write it: "back on Monday
//! 14 December", "until 12/14", "returning 2026-12-14", "bis zum 14.12.", "ab dem 15. Dezember",
//! "de retour le lundi 14 décembre", "jusqu'au 14/12".
//!
//! A date counts only right after a phrase that announces it ([`TRIGGERS`]), so "thanks for
//! your message of 3 December" is not taken for one. A date without a year is the next such day
//! on or after a week before the message was sent (an autoresponder left on a few days too long
//! still names this year's date).

use chrono::{Datelike, Days, NaiveDate};

/// How a numeric date with two parts up to 12 reads: month first in English, day first in
/// German and French.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    MonthFirst,
    DayFirst,
}

/// The phrases after which a return date is written, lower-case, longest first where one
/// starts another.
const TRIGGERS: &[(&str, Order)] = &[
    ("back in the office on", Order::MonthFirst),
    ("back in the office", Order::MonthFirst),
    ("back on", Order::MonthFirst),
    ("back", Order::MonthFirst),
    ("returning on", Order::MonthFirst),
    ("returning", Order::MonthFirst),
    ("return on", Order::MonthFirst),
    ("return", Order::MonthFirst),
    ("until", Order::MonthFirst),
    ("till", Order::MonthFirst),
    ("through", Order::MonthFirst),
    ("zurück am", Order::DayFirst),
    ("zurück", Order::DayFirst),
    ("wieder am", Order::DayFirst),
    ("wieder ab", Order::DayFirst),
    ("ab dem", Order::DayFirst),
    ("bis zum", Order::DayFirst),
    ("bis einschließlich", Order::DayFirst),
    ("bis", Order::DayFirst),
    ("de retour le", Order::DayFirst),
    ("de retour", Order::DayFirst),
    ("retour le", Order::DayFirst),
    ("jusqu'au", Order::DayFirst),
    ("à partir du", Order::DayFirst),
];

/// Words that may stand between the phrase and the date.
const FILLERS: &[&str] = &[
    "on",
    "the",
    "of",
    "at",
    "le",
    "du",
    "den",
    "dem",
    "am",
    "zum",
    "einschließlich",
    "inclusive",
    "including",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "mon",
    "tue",
    "tues",
    "wed",
    "thu",
    "thurs",
    "fri",
    "sat",
    "sun",
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "lundi",
    "mardi",
    "mercredi",
    "jeudi",
    "vendredi",
    "samedi",
    "dimanche",
];

const MONTHS: &[(&str, u32)] = &[
    ("january", 1),
    ("jan", 1),
    ("januar", 1),
    ("jänner", 1),
    ("janvier", 1),
    ("janv", 1),
    ("february", 2),
    ("feb", 2),
    ("februar", 2),
    ("février", 2),
    ("fevrier", 2),
    ("févr", 2),
    ("march", 3),
    ("mar", 3),
    ("märz", 3),
    ("mär", 3),
    ("mars", 3),
    ("april", 4),
    ("apr", 4),
    ("avril", 4),
    ("may", 5),
    ("mai", 5),
    ("june", 6),
    ("jun", 6),
    ("juni", 6),
    ("juin", 6),
    ("july", 7),
    ("jul", 7),
    ("juli", 7),
    ("juillet", 7),
    ("august", 8),
    ("aug", 8),
    ("août", 8),
    ("aout", 8),
    ("september", 9),
    ("sep", 9),
    ("sept", 9),
    ("septembre", 9),
    ("october", 10),
    ("oct", 10),
    ("oktober", 10),
    ("okt", 10),
    ("octobre", 10),
    ("november", 11),
    ("nov", 11),
    ("novembre", 11),
    ("december", 12),
    ("dec", 12),
    ("dezember", 12),
    ("dez", 12),
    ("décembre", 12),
    ("decembre", 12),
    ("déc", 12),
];

/// How many words after the phrase are read.
const WINDOW_WORDS: usize = 8;

/// The first return date the text announces, if any. `sent_on` is the day the message was
/// written: it gives a date without a year its year.
pub fn parse_return_date(text: &str, sent_on: NaiveDate) -> Option<NaiveDate> {
    let text = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    let mut found: Vec<(usize, NaiveDate)> = Vec::new();
    for (trigger, order) in TRIGGERS {
        for (at, _) in text.match_indices(trigger) {
            let end = at + trigger.len();
            if !is_word_boundary(&text, at, end) {
                continue;
            }
            if let Some(date) = date_after(&text[end..], *order, sent_on) {
                found.push((at, date));
            }
        }
    }
    found.into_iter().min_by_key(|(at, _)| *at).map(|(_, d)| d)
}

fn is_word_boundary(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// The date at the start of `rest`, past any filler words.
fn date_after(rest: &str, order: Order, sent_on: NaiveDate) -> Option<NaiveDate> {
    let words: Vec<&str> = rest
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '(' | ')' | ';' | '!' | '?'))
        .filter(|w| !w.is_empty())
        .take(WINDOW_WORDS)
        .collect();
    let start = words
        .iter()
        .position(|w| !FILLERS.contains(&w.trim_end_matches(['.', ':'])))?;
    let words = &words[start..];
    let first = *words.first()?;
    if let Some(date) = iso_date(first).or_else(|| numeric_date(first, order, sent_on)) {
        return Some(date);
    }
    let next = words.get(1).copied().unwrap_or("");
    let third = words.get(2).copied().unwrap_or("");
    // "14 December [2026]", "14. Dezember", "14th of December".
    if let Some(day) = day_number(first) {
        let (month_word, year_word) = if next == "of" {
            (third, words.get(3).copied().unwrap_or(""))
        } else {
            (next, third)
        };
        if let Some(month) = month_name(month_word) {
            return with_year(year(year_word), month, day, sent_on);
        }
    }
    // "December 14[th][, 2026]".
    if let (Some(month), Some(day)) = (month_name(first), day_number(next)) {
        return with_year(year(third), month, day, sent_on);
    }
    None
}

/// `2026-12-14`.
fn iso_date(word: &str) -> Option<NaiveDate> {
    let w = word.trim_end_matches(['.', ':']);
    if w.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(w, "%Y-%m-%d").ok()
}

/// `12/14`, `14/12`, `14.12.`, `14.12.2026`, `12/14/26`.
fn numeric_date(word: &str, order: Order, sent_on: NaiveDate) -> Option<NaiveDate> {
    let w = word.trim_end_matches(':');
    let sep = if w.contains('/') {
        '/'
    } else if w.contains('.') {
        '.'
    } else {
        return None;
    };
    let parts: Vec<&str> = w.trim_end_matches('.').split(sep).collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let num = |s: &str| -> Option<u32> {
        (s.len() <= 4 && s.chars().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let a = num(parts[0])?;
    let b = num(parts[1])?;
    let y = match parts.get(2) {
        Some(p) => Some(full_year(num(p)?)?),
        None => None,
    };
    // A dotted date is always day first; a slashed one by which part cannot be a month.
    let (month, day) = if sep == '.' || a > 12 {
        (b, a)
    } else if b > 12 {
        (a, b)
    } else {
        match order {
            Order::MonthFirst => (a, b),
            Order::DayFirst => (b, a),
        }
    };
    with_year(y, month, day, sent_on)
}

/// `26` is 2026; four digits are a year as they are.
fn full_year(y: u32) -> Option<i32> {
    match y {
        0..=99 => Some(2000 + y as i32),
        1000..=9999 => Some(y as i32),
        _ => None,
    }
}

/// `14`, `14.`, `14th`, `1st`, `1er`.
fn day_number(word: &str) -> Option<u32> {
    let w = word.trim_end_matches(['.', ':']);
    let digits: String = w.chars().take_while(char::is_ascii_digit).collect();
    let suffix = &w[digits.len()..];
    if digits.is_empty() || digits.len() > 2 {
        return None;
    }
    if !["", "st", "nd", "rd", "th", "er", "e"].contains(&suffix) {
        return None;
    }
    let day: u32 = digits.parse().ok()?;
    (1..=31).contains(&day).then_some(day)
}

fn month_name(word: &str) -> Option<u32> {
    let w = word.trim_end_matches(['.', ':']);
    MONTHS.iter().find(|(name, _)| *name == w).map(|(_, m)| *m)
}

fn year(word: &str) -> Option<i32> {
    let w = word.trim_end_matches(['.', ':']);
    (w.len() == 4 && w.chars().all(|c| c.is_ascii_digit()))
        .then(|| w.parse().ok())
        .flatten()
}

/// The date, in `year` when given, else in the year that puts it on or after a week before
/// `sent_on`.
fn with_year(year: Option<i32>, month: u32, day: u32, sent_on: NaiveDate) -> Option<NaiveDate> {
    if let Some(y) = year {
        return NaiveDate::from_ymd_opt(y, month, day);
    }
    let earliest = sent_on.checked_sub_days(Days::new(7))?;
    let this_year = NaiveDate::from_ymd_opt(sent_on.year(), month, day);
    match this_year {
        Some(d) if d >= earliest => Some(d),
        _ => NaiveDate::from_ymd_opt(sent_on.year() + 1, month, day),
    }
}
