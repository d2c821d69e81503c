//! Time zones as people write them: IANA names, and the abbreviations, city names and Windows
//! names they reach for instead, each turned into the IANA zone it most likely means.

use chrono_tz::Tz;

use crate::input::yaml::closest;

/// Abbreviations people write for a zone, and the IANA zone each most often means. The ones
/// chrono-tz knows as fixed offsets (`EST`, `MST`, `HST`, `CET`, `EET`, `WET`, `MET`) are here
/// too: they never change for daylight saving time, which is rarely what the writer meant.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("PST", "America/Los_Angeles"),
    ("PDT", "America/Los_Angeles"),
    ("PT", "America/Los_Angeles"),
    ("MST", "America/Denver"),
    ("MDT", "America/Denver"),
    ("MT", "America/Denver"),
    ("CST", "America/Chicago"),
    ("CDT", "America/Chicago"),
    ("CT", "America/Chicago"),
    ("EST", "America/New_York"),
    ("EDT", "America/New_York"),
    ("ET", "America/New_York"),
    ("AKST", "America/Anchorage"),
    ("HST", "Pacific/Honolulu"),
    ("BST", "Europe/London"),
    ("WET", "Europe/Lisbon"),
    ("CET", "Europe/Berlin"),
    ("CEST", "Europe/Berlin"),
    ("MET", "Europe/Berlin"),
    ("EET", "Europe/Athens"),
    ("EEST", "Europe/Athens"),
    ("MSK", "Europe/Moscow"),
    ("IST", "Asia/Kolkata"),
    ("SGT", "Asia/Singapore"),
    ("HKT", "Asia/Hong_Kong"),
    ("JST", "Asia/Tokyo"),
    ("KST", "Asia/Seoul"),
    ("AEST", "Australia/Sydney"),
    ("AEDT", "Australia/Sydney"),
    ("NZST", "Pacific/Auckland"),
    ("NZDT", "Pacific/Auckland"),
    ("BRT", "America/Sao_Paulo"),
];

/// Cities that are not the name of their zone, and the zone they are in.
const CITIES: &[(&str, &str)] = &[
    ("san_francisco", "America/Los_Angeles"),
    ("san_jose", "America/Los_Angeles"),
    ("seattle", "America/Los_Angeles"),
    ("portland", "America/Los_Angeles"),
    ("san_diego", "America/Los_Angeles"),
    ("las_vegas", "America/Los_Angeles"),
    ("salt_lake_city", "America/Denver"),
    ("dallas", "America/Chicago"),
    ("houston", "America/Chicago"),
    ("austin", "America/Chicago"),
    ("minneapolis", "America/Chicago"),
    ("boston", "America/New_York"),
    ("washington", "America/New_York"),
    ("atlanta", "America/New_York"),
    ("miami", "America/New_York"),
    ("philadelphia", "America/New_York"),
    ("pittsburgh", "America/New_York"),
    ("munich", "Europe/Berlin"),
    ("frankfurt", "Europe/Berlin"),
    ("hamburg", "Europe/Berlin"),
    ("cologne", "Europe/Berlin"),
    ("barcelona", "Europe/Madrid"),
    ("milan", "Europe/Rome"),
    ("geneva", "Europe/Zurich"),
    ("edinburgh", "Europe/London"),
    ("manchester", "Europe/London"),
    ("bangalore", "Asia/Kolkata"),
    ("bengaluru", "Asia/Kolkata"),
    ("mumbai", "Asia/Kolkata"),
    ("delhi", "Asia/Kolkata"),
    ("new_delhi", "Asia/Kolkata"),
    ("beijing", "Asia/Shanghai"),
    ("shenzhen", "Asia/Shanghai"),
    ("osaka", "Asia/Tokyo"),
    ("canberra", "Australia/Sydney"),
    ("wellington", "Pacific/Auckland"),
    ("rio_de_janeiro", "America/Sao_Paulo"),
    ("vancouver", "America/Vancouver"),
    ("montreal", "America/Toronto"),
];

/// The Windows names Outlook and Exchange put in invitations (`TZID:Pacific Standard Time`).
const WINDOWS: &[(&str, &str)] = &[
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Central Standard Time", "America/Chicago"),
    ("Eastern Standard Time", "America/New_York"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Romance Standard Time", "Europe/Paris"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("India Standard Time", "Asia/Kolkata"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("UTC", "UTC"),
];

/// Reads a zone written in a config or a record: an IANA name, case as the database has it.
/// Anything else is an error that suggests the zone it most likely means.
pub fn parse(text: &str) -> Result<Tz, String> {
    let t = text.trim();
    let suggestion = meant(t);
    match (t.parse::<Tz>(), suggestion) {
        (Ok(tz), None) => Ok(tz),
        (_, Some(zone)) => Err(format!("`{t}` {}: write {zone}", why_not(t))),
        (Err(_), None) => {
            let names = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
            match closest(t, names) {
                Some(best) => Err(format!(
                    "unknown time zone `{t}`: did you mean {best}? Use an IANA name like \
                     Europe/Berlin"
                )),
                None => Err(format!(
                    "unknown time zone `{t}`: use an IANA name like Europe/Berlin"
                )),
            }
        }
    }
}

/// The zone of an invitation's `TZID`: an IANA name or a Windows one.
pub fn from_calendar(tzid: &str) -> Option<Tz> {
    let t = tzid.trim().trim_matches('"');
    if let Ok(tz) = t.parse::<Tz>() {
        return Some(tz);
    }
    let windows = WINDOWS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(t));
    windows.and_then(|(_, zone)| zone.parse().ok())
}

/// Whether `name` is the IANA zone a Windows name stands for: among zones with the same rules,
/// the one Windows (and so Outlook) means.
pub fn is_windows_choice(name: &str) -> bool {
    WINDOWS.iter().any(|(_, zone)| *zone == name)
}

/// The IANA zone that `t` stands for, when it is an abbreviation, a city, a Windows name or a
/// name in the wrong case, rather than the IANA name itself.
fn meant(t: &str) -> Option<&'static str> {
    let upper = t.to_ascii_uppercase();
    if let Some((_, zone)) = ABBREVIATIONS.iter().find(|(a, _)| *a == upper) {
        return Some(zone);
    }
    if let Some((_, zone)) = WINDOWS.iter().find(|(n, _)| n.eq_ignore_ascii_case(t)) {
        return (*zone != "UTC").then_some(*zone);
    }
    if t.parse::<Tz>().is_ok() {
        return None;
    }
    let city = t
        .rsplit('/')
        .next()
        .unwrap_or(t)
        .trim()
        .replace([' ', '-'], "_")
        .to_lowercase();
    if let Some((_, zone)) = CITIES.iter().find(|(c, _)| *c == city) {
        return Some(zone);
    }
    // `berlin`, `Europe/berlin`, `New York`: the database's own name, written loosely.
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|z| z.name())
        .find(|name| {
            name.eq_ignore_ascii_case(&t.replace(' ', "_"))
                || name
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(&city))
        })
}

fn why_not(t: &str) -> &'static str {
    let upper = t.to_ascii_uppercase();
    if t.parse::<Tz>().is_ok() {
        "is a fixed offset that ignores daylight saving time"
    } else if ABBREVIATIONS.iter().any(|(a, _)| *a == upper) {
        "is an abbreviation, not a time zone"
    } else {
        "is not the name of a time zone"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abbreviations_and_cities_suggest_the_iana_zone() {
        for (written, zone) in [
            ("PST", "America/Los_Angeles"),
            ("est", "America/New_York"),
            ("EST", "America/New_York"),
            ("America/San_Francisco", "America/Los_Angeles"),
            ("Bangalore", "Asia/Kolkata"),
            ("berlin", "Europe/Berlin"),
            ("New York", "America/New_York"),
            ("Pacific Standard Time", "America/Los_Angeles"),
        ] {
            let e = parse(written).unwrap_err();
            assert!(e.ends_with(&format!("write {zone}")), "{written}: {e}");
        }
    }

    #[test]
    fn iana_names_are_accepted_and_typos_get_the_closest() {
        assert_eq!(parse("Europe/Berlin"), Ok(chrono_tz::Europe::Berlin));
        assert_eq!(parse("UTC"), Ok(chrono_tz::UTC));
        let e = parse("Europe/Berln").unwrap_err();
        assert!(e.contains("did you mean Europe/Berlin?"), "{e}");
    }

    #[test]
    fn invitations_name_zones_the_iana_or_the_windows_way() {
        assert_eq!(
            from_calendar("Pacific Standard Time"),
            Some(chrono_tz::America::Los_Angeles)
        );
        assert_eq!(
            from_calendar("Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(from_calendar("Mars Standard Time"), None);
    }
}
