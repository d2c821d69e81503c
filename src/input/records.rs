//! Interview records: `interviews/*.yaml` into validated [`Interview`]s.
//!
//! A record is parsed into raw serde structs whose scalar fields validate themselves (so a bad
//! address or zone is reported at its own line), then checked as a whole: times resolved in the
//! interview's zone, one primary at most, no person listed twice, attachments that exist.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{NaiveDateTime, TimeDelta};
use chrono_tz::Tz;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::core::calendar::{LocalTimeError, resolve_strict};
use crate::core::{Interview, Interviewer, Status};
use crate::input::diagnostic::{Diagnostic, Diagnostics};
use crate::input::yaml::{self, Address, Date, Delay, PathText, PersonName, Seg, Text, Zone};

const WHAT: &str = "one interview (a mapping with company, position, start, interviewers) \
                    or a list of them";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterview {
    id: Option<Id>,
    company: Text,
    position: Text,
    start: LocalStart,
    duration: Option<Delay>,
    timezone: Option<Zone>,
    interviewers: Vec<RawInterviewer>,
    decision_by: Option<Date>,
    #[serde(default)]
    status: Status,
    status_on: Option<Date>,
    #[serde(default)]
    notes: Notes,
    #[serde(default)]
    attachments: Vec<PathText>,
    /// The company's mail domains, when the interviewers' addresses do not say them all.
    #[serde(default)]
    domains: Vec<Domain>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInterviewer {
    name: PersonName,
    /// How the messages open, without the comma: `Dear Dr. Weiß` [default: `Dear` and the
    /// first name].
    greeting: Option<Greeting>,
    title: Option<Text>,
    email: Option<Address>,
    #[serde(default)]
    primary: bool,
}

/// A file holds one interview or a list of them.
enum Records {
    One(Box<RawInterview>),
    Many(Vec<RawInterview>),
}

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Records;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(WHAT)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Records, A::Error> {
                RawInterview::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|r| Records::One(Box::new(r)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records, A::Error> {
                let mut all = Vec::new();
                while let Some(r) = seq.next_element()? {
                    all.push(r);
                }
                Ok(Records::Many(all))
            }
        }
        d.deserialize_any(V)
    }
}

/// An interview id: it becomes part of keys like `id/step/recipient` and of file names, so it
/// is kept to a safe alphabet.
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "an id like acme-2026-03", check_id).map(Id)
    }
}

fn check_id(s: &str) -> Result<String, String> {
    let ok = s.len() <= 100
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{}` is not a valid id: use letters, digits, `.`, `_` and `-` (no `/` or spaces), \
             starting with a letter or digit, at most 100 characters, like acme-2026-03",
            s.escape_debug()
        ))
    }
}

/// A mail domain of the company, like `globex.example.com`; kept lower-case.
struct Domain(String);

impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "a mail domain like globex.example.com", |s| {
            let domain = s.trim().trim_start_matches('@').to_ascii_lowercase();
            let ok = domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && domain
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if ok {
                Ok(Domain(domain))
            } else {
                Err(format!(
                    "`{}` is not a mail domain: write the part after the @, like \
                     globex.example.com",
                    s.escape_debug()
                ))
            }
        })
    }
}

/// The start as written, a local date-time.
struct LocalStart(NaiveDateTime);

impl<'de> Deserialize<'de> for LocalStart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(
            d,
            "a local date and time like 2026-03-10 14:00",
            parse_start,
        )
        .map(LocalStart)
    }
}

/// A record's `start`: a local date and time, as `followup add` also reads it.
pub fn parse_start(s: &str) -> Result<NaiveDateTime, String> {
    let t = s.trim();
    [
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
    .ok_or_else(|| {
        format!(
            "`{t}` is not a local date and time: write it like 2026-03-10 14:00 \
                 (24-hour clock, in the interview's time zone)"
        )
    })
}

/// Free text for templates. Numbers and booleans are kept as written; nested values are refused.
#[derive(Default)]
struct Notes(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for Notes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Notes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping of note names to text, like `highlight: the API redesign`")
            }
            fn visit_unit<E>(self) -> Result<Notes, E> {
                Ok(Notes::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Notes, A::Error> {
                let mut notes = BTreeMap::new();
                while let Some(Text(key)) = map.next_key()? {
                    let NoteText(value) = map.next_value()?;
                    notes.insert(key, value);
                }
                Ok(Notes(notes))
            }
        }
        d.deserialize_any(V)
    }
}

/// A greeting as written, one line, without the comma the templates put after it.
struct Greeting(String);

impl<'de> Deserialize<'de> for Greeting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "a greeting like Dear Dr. Weiß", |s| {
            let greeting = s.trim().trim_end_matches([',', ' ']);
            if greeting.is_empty() {
                Err(
                    "the greeting is empty: write how the message opens, like `Dear Dr. Weiß`"
                        .into(),
                )
            } else if greeting.chars().any(char::is_control) {
                Err(format!(
                    "`{}` holds a line break: keep it on one line",
                    greeting.escape_debug()
                ))
            } else {
                Ok(Greeting(greeting.to_string()))
            }
        })
    }
}

struct NoteText(String);

impl<'de> Deserialize<'de> for NoteText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NoteText;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a note as plain text (quote it, or use `|` for several lines)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NoteText, E> {
                if v.trim().is_empty() {
                    Err(E::custom(
                        "this note is empty: write its text or remove it (an empty field \
                         would leave a gap in the message)",
                    ))
                } else {
                    Ok(NoteText(v.trim_end().to_string()))
                }
            }
        }
        // serde_yaml hands any scalar to `deserialize_str` as written: `3` stays "3".
        d.deserialize_str(V)
    }
}

/// Parses one record file. `default_tz` is the config's zone, for records without `timezone`.
/// Pure but for checking that attachments exist.
pub fn parse_interviews(
    text: &str,
    path: &Path,
    default_tz: Tz,
) -> Result<Vec<Interview>, Diagnostics> {
    parse_located(text, path, default_tz).map(|all| all.into_iter().map(|(i, ..)| i).collect())
}

/// An interview, where its id comes from, and what is worth a warning about it.
type Located = (Interview, IdAt, Vec<Diagnostic>);

/// A record that passed its checks, and where its id comes from.
type Checked = (Interview, IdAt);

/// Where an interview's id is written. Its line is looked up only when a message needs it (a
/// duplicate id): looking it up for every interview would read a file of many once per
/// interview.
#[derive(Debug, Clone, Copy)]
enum IdAt {
    /// The id is the file's stem.
    FileName,
    /// An `id:` key: in the file's one record (`None`) or in the list's item at this index.
    Written(Option<usize>),
}

impl IdAt {
    /// The line and column of the `id:` value in `text`, the file's text.
    fn find(self, text: &str) -> Option<(usize, usize)> {
        match self {
            IdAt::FileName => None,
            IdAt::Written(None) => yaml::locate(text, &[Seg::Key("id")]),
            IdAt::Written(Some(i)) => yaml::locate(text, &[Seg::Index(i), Seg::Key("id")]),
        }
    }
}

fn parse_located(text: &str, path: &Path, default_tz: Tz) -> Result<Vec<Located>, Diagnostics> {
    let records: Records = yaml::parse_once(text, path, WHAT).map_err(|d| Diagnostics(vec![d]))?;
    let raws: Vec<(Vec<Seg>, RawInterview)> = match records {
        Records::One(r) => vec![(vec![], *r)],
        Records::Many(rs) if rs.is_empty() => {
            return Err(Diagnostics(vec![Diagnostic::new(
                path,
                format!("the file holds an empty list: write {WHAT}, or delete the file"),
            )]));
        }
        Records::Many(rs) => rs
            .into_iter()
            .enumerate()
            .map(|(i, r)| (vec![Seg::Index(i)], r))
            .collect(),
    };
    let list = raws.first().is_some_and(|(base, _)| !base.is_empty());
    let ctx = Ctx {
        text,
        path,
        dir: base_dir(path),
        default_tz,
    };
    // Sized to the records: a vector grown from empty holds room for four, and a file of one
    // record would keep that room for as long as its interview is loaded.
    let mut out: Vec<Located> = Vec::with_capacity(raws.len());
    let mut errors = Vec::new();
    let mut ids: HashMap<String, IdAt> = HashMap::new();
    for (base, raw) in raws {
        match ctx.check(&base, raw, list) {
            Ok((interview, at)) => {
                if let Some(first) = ids.get(&interview.id) {
                    let also = first
                        .find(text)
                        .map_or(String::new(), |(l, _)| format!(" at line {l}"));
                    errors.push(ctx.at(
                        &base,
                        &[Seg::Key("id")],
                        format!(
                            "duplicate interview id `{}` (also{also}): give each interview its \
                             own id",
                            interview.id
                        ),
                    ));
                } else {
                    ids.insert(interview.id.clone(), at);
                    let warnings = ctx.warnings(&base, &interview);
                    out.push((interview, at, warnings));
                }
            }
            Err(mut ds) => errors.append(&mut ds),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Diagnostics(errors))
    }
}

/// Reads every `*.yaml` / `*.yml` file of `dir` in name order. Returns the interviews of the
/// files that are free of errors, and every problem found in any file, so that one broken file
/// does not hide the others' problems. An id used twice keeps its first file.
pub fn load_interviews(dir: &Path, default_tz: Tz) -> (Vec<Interview>, Vec<Diagnostic>) {
    let (interviews, problems, _) = load_interviews_and_warnings(dir, default_tz);
    (interviews, problems)
}

/// [`load_interviews`], and the warnings about the records that loaded.
pub fn load_interviews_and_warnings(
    dir: &Path,
    default_tz: Tz,
) -> (Vec<Interview>, Vec<Diagnostic>, Vec<Diagnostic>) {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let files = match record_files(&dir) {
        Ok(files) => files,
        Err(e) => {
            let msg = format!(
                "cannot read the interviews directory: {e}; create it, or point `interviews:` \
                 in the config at the directory that holds your interview files"
            );
            return (Vec::new(), vec![Diagnostic::new(&dir, msg)], Vec::new());
        }
    };
    let mut interviews = Vec::new();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut seen: HashMap<String, (PathBuf, IdAt)> = HashMap::new();
    // Files are read and parsed on every core; ids are then checked in file order, so the
    // first file to use an id keeps it whatever the threads did.
    for (file, parsed) in files.iter().zip(parse_files(&files, default_tz)) {
        match parsed {
            Ok(all) => {
                // The text again only for a message that needs a line: a duplicate id.
                let text = || yaml::read(file).unwrap_or_default();
                for (interview, at, noted) in all {
                    if let Some((first, first_at)) = seen.get(&interview.id) {
                        let first_line = yaml::read(first).ok().and_then(|t| first_at.find(&t));
                        let line = first_line.map_or(String::new(), |(l, _)| format!(":{l}"));
                        let msg = format!(
                            "duplicate interview id `{}`: {}{line} already uses it; give one of \
                             them another `id:` (or rename the file)",
                            interview.id,
                            first.display()
                        );
                        problems.push(match at.find(&text()) {
                            Some((l, c)) => Diagnostic::at(file, l, c, msg),
                            None => Diagnostic::new(file, msg),
                        });
                    } else {
                        seen.insert(interview.id.clone(), (file.clone(), at));
                        interviews.push(interview);
                        warnings.extend(noted);
                    }
                }
            }
            Err(Diagnostics(mut ds)) => problems.append(&mut ds),
        }
    }
    (interviews, problems, warnings)
}

/// Reads and parses each of `files`, in order; a large set is shared out among the cores (a
/// hundred files at least to a thread, so a small set stays on this one).
fn parse_files(files: &[PathBuf], default_tz: Tz) -> Vec<Result<Vec<Located>, Diagnostics>> {
    let parse = |file: &PathBuf| {
        yaml::read(file)
            .map_err(|d| Diagnostics(vec![d]))
            .and_then(|text| parse_located(&text, file, default_tz))
    };
    crate::parallel::map_chunks(files, 100, |part| part.iter().map(parse).collect())
}

/// The record files of `dir`, sorted; editor backups and lock files are skipped.
fn record_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if !is_yaml || name.starts_with(['.', '#']) {
            continue;
        }
        // The directory listing says what most entries are without a `stat` each (100,000
        // files, 100,000 system calls); a link, or an entry it does not type, is followed.
        let is_file = match entry.file_type() {
            Ok(kind) if kind.is_file() => true,
            Ok(kind) if kind.is_dir() => false,
            _ => path.is_file(),
        };
        if is_file {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn base_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

struct Ctx<'a> {
    text: &'a str,
    path: &'a Path,
    dir: PathBuf,
    default_tz: Tz,
}

impl Ctx<'_> {
    fn at(&self, base: &[Seg], rest: &[Seg], message: impl Into<String>) -> Diagnostic {
        let full: Vec<Seg> = base.iter().chain(rest).copied().collect();
        yaml::at(self.path, self.text, &full, message)
    }

    /// What is worth a warning in a record that loaded: a primary interviewer without an
    /// address, whose follow-ups go to someone else (the rule is [`Interview::primary_index`]).
    fn warnings(&self, base: &[Seg], iv: &Interview) -> Vec<Diagnostic> {
        let named = iv.named_primary_index();
        let person = &iv.interviewers[named];
        if person.email.is_some() {
            return Vec::new();
        }
        let here = [
            Seg::Key("interviewers"),
            Seg::Index(named),
            Seg::Key("name"),
        ];
        let message = match iv.primary_index() {
            other if other != named => {
                let instead = &iv.interviewers[other].name;
                format!(
                    "{} is the primary interviewer but has no e-mail address: the status checks \
                     and the later follow-ups go to {instead} instead; add {}'s `email:`, or \
                     mark {instead} `primary: true`",
                    person.name, person.name
                )
            }
            _ if iv.interviewers.len() == 1 => format!(
                "{} has no e-mail address: no follow-up e-mail goes out for this interview, \
                 only the call reminder and the close notice to you",
                person.name
            ),
            _ => "nobody in this interview has an e-mail address: no follow-up e-mail goes out, \
                  only the call reminder and the close notice to you"
                .to_string(),
        };
        vec![self.at(base, &here, message)]
    }

    fn id_of(&self, base: &[Seg], raw: &Option<Id>, list: bool) -> Result<String, Diagnostic> {
        if let Some(Id(id)) = raw {
            return Ok(id.clone());
        }
        if list {
            return Err(self.at(
                base,
                &[],
                "this interview has no `id`: in a file that holds a list, give each interview \
                 an `id:` (like acme-2026-03)",
            ));
        }
        let stem = self.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        check_id(stem).map_err(|e| {
            Diagnostic::new(
                self.path,
                format!("the file name is used as the id, but {e}: rename the file or add `id:`"),
            )
        })
    }

    fn check(
        &self,
        base: &[Seg],
        raw: RawInterview,
        list: bool,
    ) -> Result<Checked, Vec<Diagnostic>> {
        let mut errors = Vec::new();
        let id = self
            .id_of(base, &raw.id, list)
            .map_err(|d| errors.push(d))
            .ok();
        let id_at = match (&raw.id, base.first()) {
            (None, _) => IdAt::FileName,
            (Some(_), Some(Seg::Index(i))) => IdAt::Written(Some(*i)),
            (Some(_), _) => IdAt::Written(None),
        };
        let tz = raw.timezone.map_or(self.default_tz, |Zone(tz)| tz);
        let local_start = raw.start.0;
        let duration = raw.duration.map_or(TimeDelta::hours(1), |Delay(d)| d);
        if duration <= TimeDelta::zero() {
            errors.push(self.at(
                base,
                &[Seg::Key("duration")],
                "the duration is zero: write how long the interview lasted, like 45m or 1h",
            ));
        }
        let start = resolve_strict(local_start, tz)
            .map_err(|e| {
                let advice = match e {
                    LocalTimeError::Gap(..) => "; write the time the clocks showed, after the jump",
                    LocalTimeError::Fold(..) => "",
                };
                errors.push(self.at(base, &[Seg::Key("start")], format!("start {e}{advice}")));
            })
            .ok();
        if let Some(Date(d)) = raw.decision_by
            && d < local_start.date()
        {
            errors.push(self.at(
                base,
                &[Seg::Key("decision_by")],
                format!(
                    "decision_by {d} is before the interview ({}): fix the date, or remove \
                         it if no decision date was given",
                    local_start.date()
                ),
            ));
        }
        let interviewers = self.interviewers(base, raw.interviewers, &mut errors);
        let attachments = self.attachments(base, raw.attachments, &mut errors);
        match (id, start) {
            (Some(id), Some(start)) if errors.is_empty() => Ok((
                Interview {
                    id,
                    company: raw.company.0,
                    position: raw.position.0,
                    local_start,
                    start,
                    end: start + duration,
                    timezone: tz,
                    interviewers,
                    decision_by: raw.decision_by.map(|Date(d)| d),
                    status: raw.status,
                    status_on: raw.status_on.map(|Date(d)| d),
                    notes: raw.notes.0,
                    attachments,
                    domains: raw.domains.into_iter().map(|Domain(d)| d).collect(),
                    source: self.path.to_path_buf(),
                },
                id_at,
            )),
            _ => Err(errors),
        }
    }

    fn interviewers(
        &self,
        base: &[Seg],
        raw: Vec<RawInterviewer>,
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<Interviewer> {
        if raw.is_empty() {
            errors.push(self.at(
                base,
                &[Seg::Key("interviewers")],
                "no interviewers: list the people you met, each with at least a `name:`",
            ));
            return Vec::new();
        }
        // A new vector of the exact size: collected from the raw list, it would keep the raw
        // list's room (grown for four) for as long as the interview is loaded.
        let mut people: Vec<Interviewer> = Vec::with_capacity(raw.len());
        people.extend(raw.into_iter().map(|r| Interviewer {
            name: r.name.0,
            greeting: r.greeting.map(|Greeting(g)| g),
            title: r.title.map(|Text(t)| t),
            email: r.email.map(|Address(a)| a),
            primary: r.primary,
        }));
        let mut primary: Option<&str> = None;
        let mut keys: HashMap<String, &str> = HashMap::new();
        for (i, p) in people.iter().enumerate() {
            let here = |key| [Seg::Key("interviewers"), Seg::Index(i), Seg::Key(key)];
            if p.primary {
                if let Some(first) = primary {
                    errors.push(self.at(
                        base,
                        &here("primary"),
                        format!(
                            "both {first} and {} are marked `primary: true`: mark only one \
                             (the person status checks go to)",
                            p.name
                        ),
                    ));
                } else {
                    primary = Some(&p.name);
                }
            }
            if let Some(other) = keys.insert(p.key(), &p.name) {
                let (field, what) = match &p.email {
                    Some(e) => ("email", format!("the address {e}")),
                    None => ("name", format!("the name {}", p.name)),
                };
                errors.push(self.at(
                    base,
                    &here(field),
                    format!(
                        "{what} is listed twice in this interview (also for {other}): list each \
                         person once; addresses are compared ignoring case"
                    ),
                ));
            }
        }
        people
    }

    fn attachments(
        &self,
        base: &[Seg],
        raw: Vec<PathText>,
        errors: &mut Vec<Diagnostic>,
    ) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for (i, PathText(p)) in raw.into_iter().enumerate() {
            let here = [Seg::Key("attachments"), Seg::Index(i)];
            if p.starts_with("~") {
                errors.push(self.at(
                    base,
                    &here,
                    format!(
                        "`{}`: `~` is not expanded here; write the path relative to this file, \
                         or absolute",
                        p.display()
                    ),
                ));
                continue;
            }
            let full = self.dir.join(&p);
            if !full.is_file() {
                let why = if full.is_dir() {
                    "is a directory, not a file"
                } else {
                    "does not exist"
                };
                errors.push(self.at(
                    base,
                    &here,
                    format!(
                        "attachment `{}` {why} (looked for {}): fix the path; it is relative \
                         to this file",
                        p.display(),
                        full.display()
                    ),
                ));
                continue;
            }
            out.push(full);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::diagnostic::assert_at;
    use chrono::{NaiveDate, TimeZone, Utc};
    use chrono_tz::Europe::Berlin;

    const GOOD: &str = "\
company: Acme
position: Backend engineer
start: 2026-03-10 14:00
interviewers:
  - name: Jane Doe
    title: Engineering manager
    email: jane@example.com
  - name: Sam Roe
";

    fn parse(text: &str) -> Result<Vec<Interview>, Diagnostics> {
        parse_interviews(text, Path::new("acme.yaml"), Berlin)
    }

    /// The only diagnostic of a failed parse.
    /// The only diagnostic of a failed parse.
    fn one_error(text: &str) -> Diagnostic {
        parse(text).expect_err("expected an error").only()
    }

    #[test]
    fn good_record_gets_defaults_and_utc_times() {
        let all = parse(GOOD).unwrap();
        let i = &all[0];
        assert_eq!(i.id, "acme");
        assert_eq!(i.timezone, Berlin);
        assert_eq!(i.status, Status::Waiting);
        let start = Utc.with_ymd_and_hms(2026, 3, 10, 13, 0, 0).unwrap();
        assert_eq!((i.start, i.end), (start, start + TimeDelta::hours(1)));
        assert_eq!(i.interviewers.len(), 2);
        assert_eq!(i.primary().name, "Jane Doe");
        assert_eq!(i.source, Path::new("acme.yaml"));
    }

    #[test]
    fn all_fields_are_read() {
        let text = format!(
            "{GOOD}id: acme-2\nduration: 45m\ntimezone: America/New_York\n\
             decision_by: 2026-03-20\nstatus: rejected\nstatus_on: 2026-03-15\n\
             notes:\n  highlight: the API redesign\n  years: 3\n"
        );
        let i = &parse(&text).unwrap()[0];
        assert_eq!(i.id, "acme-2");
        assert_eq!(i.end - i.start, TimeDelta::minutes(45));
        assert_eq!(i.timezone, chrono_tz::America::New_York);
        assert_eq!(i.decision_by, NaiveDate::from_ymd_opt(2026, 3, 20));
        assert_eq!(i.status, Status::Rejected);
        assert_eq!(i.notes["years"], "3");
        assert_eq!(i.notes["highlight"], "the API redesign");
    }

    #[test]
    fn a_greeting_is_read_without_its_comma() {
        let text = GOOD.replace(
            "  - name: Sam Roe\n",
            "  - name: Jürgen Weiß\n    greeting: \"Dear Dr. Weiß,\"\n",
        );
        let i = &parse(&text).unwrap()[0];
        assert_eq!(i.interviewers[0].greeting, None);
        assert_eq!(i.interviewers[1].greeting.as_deref(), Some("Dear Dr. Weiß"));
        let d = one_error(&GOOD.replace(
            "  - name: Sam Roe\n",
            "  - name: Sam Roe\n    greeting: \",\"\n",
        ));
        assert_at(&d, 9, "greeting is empty");
    }

    #[test]
    fn a_name_that_reads_as_an_address_is_an_error_at_its_line() {
        for name in [
            "sam@example.com",
            "Sam <sam@example.com>",
            "=?utf-8?q?Sam?=",
        ] {
            let d = one_error(&GOOD.replace("Sam Roe", &format!("\"{name}\"")));
            assert_at(&d, 8, "write only the person's name");
        }
    }

    #[test]
    fn list_entries_without_id_are_an_error_naming_the_line() {
        let text = "- id: a\n  company: A\n  position: P\n  start: 2026-03-10 14:00\n  \
                    interviewers: [{name: X}]\n- company: B\n  position: P\n  \
                    start: 2026-03-11T10:00\n  interviewers: [{name: Y}]\n";
        let d = one_error(text);
        assert_at(&d, 6, "has no `id`");
    }

    #[test]
    fn duplicate_id_in_one_file_is_an_error() {
        let entry = "  company: A\n  position: P\n  start: 2026-03-10 14:00\n  \
                     interviewers: [{name: X}]\n";
        let d = one_error(&format!("- id: a\n{entry}- id: a\n{entry}"));
        assert_at(&d, 6, "duplicate interview id `a` (also at line 1)");
    }

    #[test]
    fn unknown_field_is_an_error_naming_the_field() {
        let d = one_error(&GOOD.replace("interviewers:", "interviewrs:"));
        // The typo is reported, not a silently empty list of interviewers.
        let d2 = parse(&format!("{GOOD}interviewrs: []\n")).unwrap_err().0;
        assert_at(
            &d2[0],
            9,
            "unknown field `interviewrs`: did you mean `interviewers`?",
        );
        assert!(d.message.contains("interviewrs"), "{d}");
    }

    #[test]
    fn unknown_field_of_an_interviewer_suggests_the_closest() {
        let d = one_error(&GOOD.replace("    title:", "    tilte:"));
        assert_at(&d, 6, "unknown field `tilte`: did you mean `title`?");
        assert!(d.message.starts_with("interviewers[0]: "), "{d}");
    }

    #[test]
    fn duplicate_field_is_an_error_at_the_second_key() {
        let d = one_error(&format!("{GOOD}company: Other\n"));
        assert_eq!(d.column, Some(1));
        assert_at(&d, 9, "duplicate key `company`");
    }

    #[test]
    fn duplicate_note_is_an_error_at_the_second_key() {
        let d = one_error(&format!("{GOOD}notes:\n  extra: a\n  extra: b\n"));
        assert_at(&d, 11, "duplicate key `extra`");
    }

    #[test]
    fn invalid_address_is_an_error_at_its_line() {
        let d = one_error(&GOOD.replace("jane@example.com", "<jane@example.com>"));
        assert_at(&d, 7, "display name");
        assert_eq!(d.column, Some(12));
    }

    #[test]
    fn unknown_time_zone_is_an_error_at_its_line() {
        let d = one_error(&format!("{GOOD}timezone: Europe/Berln\n"));
        assert_at(
            &d,
            9,
            "unknown time zone `Europe/Berln`: did you mean Europe/Berlin?",
        );
    }

    #[test]
    fn start_in_a_dst_gap_is_an_error_with_the_time_and_zone() {
        let d = one_error(&GOOD.replace("2026-03-10 14:00", "2026-03-29 02:30"));
        assert_at(&d, 3, "2026-03-29 02:30:00 does not exist in Europe/Berlin");
    }

    #[test]
    fn start_in_a_dst_fold_is_an_error_with_the_time_and_zone() {
        let d = one_error(&GOOD.replace("2026-03-10 14:00", "2026-10-25T02:30"));
        assert_at(&d, 3, "2026-10-25 02:30:00 happens twice in Europe/Berlin");
    }

    #[test]
    fn malformed_start_is_an_error_with_an_example() {
        let d = one_error(&GOOD.replace("2026-03-10 14:00", "March 10, 2pm"));
        assert_at(&d, 3, "write it like 2026-03-10 14:00");
    }

    #[test]
    fn interview_with_no_interviewer_is_an_error() {
        let text = "company: Acme\nposition: P\nstart: 2026-03-10 14:00\ninterviewers: []\n";
        assert_at(&one_error(text), 4, "no interviewers");
        let d = one_error("company: Acme\nposition: P\nstart: 2026-03-10 14:00\n");
        assert_at(&d, 1, "missing field `interviewers`");
    }

    #[test]
    fn empty_company_is_an_error() {
        let d = one_error(&GOOD.replace("Acme", "\"  \""));
        assert_at(&d, 1, "this is empty");
    }

    #[test]
    fn two_primaries_are_an_error_at_the_second() {
        let text = GOOD
            .replace(
                "    email: jane@example.com\n",
                "    email: jane@example.com\n    primary: true\n",
            )
            .replace(
                "  - name: Sam Roe\n",
                "  - name: Sam Roe\n    primary: true\n",
            );
        let d = one_error(&text);
        assert_at(
            &d,
            10,
            "both Jane Doe and Sam Roe are marked `primary: true`",
        );
    }

    #[test]
    fn same_address_twice_ignoring_case_is_an_error() {
        let d = one_error(&format!("{GOOD}    email: JANE@example.com\n"));
        assert_at(&d, 9, "listed twice");
    }

    #[test]
    fn decision_date_before_the_interview_is_an_error() {
        let d = one_error(&format!("{GOOD}decision_by: 2026-03-01\n"));
        assert_at(&d, 9, "decision_by 2026-03-01 is before the interview");
    }

    #[test]
    fn impossible_date_is_an_error() {
        let d = one_error(&format!("{GOOD}status_on: 2026-02-30\n"));
        assert_at(&d, 9, "`2026-02-30` is not a date");
    }

    #[test]
    fn id_with_a_slash_is_an_error() {
        let d = one_error(&format!("{GOOD}id: acme/2\n"));
        assert_at(&d, 9, "`acme/2` is not a valid id");
    }

    #[test]
    fn file_stem_that_is_not_an_id_is_an_error() {
        let ds = parse_interviews(GOOD, Path::new("acme corp.yaml"), Berlin).unwrap_err();
        assert!(
            ds.0[0].message.contains("rename the file or add `id:`"),
            "{ds}"
        );
    }

    #[test]
    fn unknown_status_suggests_the_closest() {
        let d = one_error(&format!("{GOOD}status: rejectd\n"));
        assert_at(&d, 9, "unknown value `rejectd`: did you mean `rejected`?");
    }

    #[test]
    fn nested_note_is_an_error() {
        let d = one_error(&format!("{GOOD}notes:\n  extra: [a, b]\n"));
        assert_at(&d, 10, "a note as plain text");
    }

    #[test]
    fn yaml_syntax_error_has_line_and_column() {
        let d = one_error(&GOOD.replace("position: Backend engineer", "position: [Backend"));
        assert!(d.line.is_some() && d.column.is_some(), "{d}");
    }

    #[test]
    fn wrong_type_is_an_error_at_its_line() {
        let d = one_error(&GOOD.replace(
            "  - name: Sam Roe\n",
            "  - name: Sam Roe\n    primary: yes\n",
        ));
        assert_at(&d, 9, "expected a boolean");
    }

    #[test]
    fn empty_file_is_an_error() {
        let d = one_error("\n# to do\n");
        assert!(d.message.contains("the file is empty"), "{d}");
        let d = one_error("[]\n");
        assert!(d.message.contains("empty list"), "{d}");
    }

    #[test]
    fn file_that_is_a_scalar_is_an_error() {
        let d = one_error("hello\n");
        assert_at(&d, 1, "expected one interview");
        let d = one_error("- 1\n");
        assert_eq!(
            d.message,
            "[0]: invalid type: integer `1`, expected a mapping (`key: value` lines)"
        );
    }

    #[test]
    fn company_domains_are_read_lower_case_and_checked() {
        let i = &parse(&format!(
            "{GOOD}domains: [Globex.Example.COM, \"@hr.example.org\"]\n"
        ))
        .unwrap()[0];
        assert_eq!(i.domains, ["globex.example.com", "hr.example.org"]);
        let d = one_error(&format!("{GOOD}domains: [jane@globex.example.com]\n"));
        assert!(d.message.contains("not a mail domain"), "{d}");
    }

    #[test]
    fn attachments_resolve_against_the_record_and_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("docs")).unwrap();
        std::fs::write(dir.path().join("docs/cv.pdf"), b"%PDF").unwrap();
        let path = dir.path().join("acme.yaml");
        let text = format!("{GOOD}attachments:\n  - docs/cv.pdf\n");
        let i = &parse_interviews(&text, &path, Berlin).unwrap()[0];
        assert_eq!(i.attachments, vec![dir.path().join("docs/cv.pdf")]);
        assert!(i.attachments[0].is_absolute());

        let text = format!("{GOOD}attachments:\n  - docs/cv.pdf\n  - docs/missing.pdf\n");
        let ds = parse_interviews(&text, &path, Berlin).unwrap_err().0;
        assert_at(&ds[0], 11, "attachment `docs/missing.pdf` does not exist");
    }

    #[test]
    fn all_problems_of_a_record_are_reported() {
        let text = GOOD
            .replace("2026-03-10 14:00", "2026-03-29 02:30")
            .replace(
                "  - name: Sam Roe\n",
                "  - name: Jane Doe\n    email: jane@EXAMPLE.com\n",
            );
        let ds = parse(&format!("{text}decision_by: 2026-03-01\n"))
            .unwrap_err()
            .0;
        assert_eq!(ds.len(), 3, "{ds:?}");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn duplicate_ids_across_files_name_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let first = write(dir.path(), "a.yaml", &format!("id: acme\n{GOOD}"));
        let second = write(dir.path(), "b.yml", &format!("{GOOD}id: acme\n"));
        let (interviews, problems) = load_interviews(dir.path(), Berlin);
        assert_eq!(interviews.len(), 1);
        assert_eq!(interviews[0].source, first);
        assert_eq!(problems.len(), 1, "{problems:?}");
        let d = &problems[0];
        assert_eq!((d.file.as_path(), d.line), (second.as_path(), Some(9)));
        assert!(
            d.message
                .contains(&format!("{}:1 already uses it", first.display())),
            "{d}"
        );
    }

    #[test]
    fn load_reports_every_broken_file_and_keeps_the_good_ones() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "good.yaml", GOOD);
        write(dir.path(), "bad1.yaml", &GOOD.replace("company", "compnay"));
        write(dir.path(), "bad2.yaml", "");
        std::fs::write(dir.path().join("bad3.yaml"), b"company: M\xfcller\n").unwrap();
        write(dir.path(), "README.md", "not a record");
        write(dir.path(), ".#good.yaml", "lock file");
        let (interviews, problems) = load_interviews(dir.path(), Berlin);
        assert_eq!(interviews.len(), 1);
        let names: Vec<_> = problems
            .iter()
            .map(|d| d.file.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["bad1.yaml", "bad2.yaml", "bad3.yaml"]);
        assert!(problems[2].message.contains("not UTF-8"));
    }

    #[test]
    fn record_files_follow_links_and_skip_directories() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let target = write(elsewhere.path(), "kept.yaml", GOOD);
        let link = dir.path().join("linked.yaml");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("dir-link.yaml")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("dangling.yaml"))
            .unwrap();
        std::fs::create_dir(dir.path().join("folder.yaml")).unwrap();
        let plain = write(dir.path(), "plain.yml", GOOD);
        assert_eq!(record_files(dir.path()).unwrap(), [link, plain]);
    }

    #[test]
    fn missing_directory_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let (interviews, problems) = load_interviews(&dir.path().join("nope"), Berlin);
        assert!(interviews.is_empty());
        assert!(
            problems[0]
                .message
                .contains("cannot read the interviews directory")
        );
    }
}
