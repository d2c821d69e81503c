//! `followup add`: a new interview record, from flags named after the record's fields, from a
//! calendar invitation, and on a terminal by asking for what is still missing. It never waits
//! for an answer when stdin is not a terminal.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use crate::cli::AddArgs;
use crate::core::EmailAddress;
use crate::core::calendar::resolve_lenient;
use crate::core::policy::{format_delay, parse_delay};
use crate::fsutil::{self, Existing};
use crate::input::invitation;
use crate::input::records::{parse_interviews, parse_start};
use crate::input::zone;
use crate::outln;
use crate::workspace::Workspace;

/// Someone met, as the record lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Person {
    name: String,
    title: Option<String>,
    email: Option<EmailAddress>,
}

/// The record being put together.
#[derive(Debug, Default)]
struct Draft {
    id: Option<String>,
    company: Option<String>,
    position: Option<String>,
    start: Option<NaiveDateTime>,
    duration: Option<TimeDelta>,
    timezone: Option<Tz>,
    /// How the invitation's zone was chosen, when its `TZID` named none: said in the record.
    timezone_chosen: Option<String>,
    interviewers: Vec<Person>,
    decision_by: Option<NaiveDate>,
    notes: Vec<(String, String)>,
}

pub fn run(ws: &Workspace, args: AddArgs) -> Result<()> {
    let mut draft = from_flags(&args)?;
    if let Some(path) = &args.ics {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let inv = invitation::read(&text, &ws.config.owner, ws.config.timezone)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        eprintln!("{}", found(path, &inv));
        merge(&mut draft, inv);
    }
    let terminal = std::io::stdin().is_terminal();
    if terminal {
        ask_for_what_is_missing(&mut draft, ws.config.timezone)?;
    }
    let missing = missing(&draft);
    if !missing.is_empty() {
        bail!(
            "missing {}: give {} as flags (stdin is not a terminal, so nothing was asked)",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        );
    }
    let id = match &draft.id {
        Some(id) => id.clone(),
        None => free_id(ws, &draft),
    };
    let dir = &ws.config.interviews;
    let name = format!("{id}.yaml");
    let path = dir.join(&name);
    let text = record_text(&draft, ws.config.timezone);
    let interview = parse_interviews(&text, &path, ws.config.timezone)
        .map_err(|d| {
            anyhow::anyhow!("the record would not be valid, so nothing was written:\n{d}")
        })?
        .remove(0);
    if ws.interview(&interview.id).is_some() {
        bail!("an interview `{id}` exists already: give another with --id");
    }
    if let Some(first) = ws
        .templates
        .check(std::slice::from_ref(&interview), &ws.config.owner)
        .first()
    {
        bail!("with this record a template fails, so nothing was written:\n{first}");
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fsutil::write_atomic_mode(
        dir,
        &name,
        text.as_bytes(),
        Existing::Keep,
        fsutil::user_file_mode(),
    )
    .map_err(|e| match e.already_exists() {
        true => anyhow::anyhow!("{} exists already: give another --id", path.display()),
        false => e.into(),
    })?;
    outln!(
        "wrote {} ({} at {}, {}, with {})",
        path.display(),
        interview.position,
        interview.company,
        crate::core::calendar::human(interview.start, interview.timezone),
        interview
            .interviewers
            .iter()
            .map(|p| p.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    outln!("{}", super::mark::effect(ws, &interview))?;
    Ok(())
}

fn from_flags(args: &AddArgs) -> Result<Draft> {
    let flag = |name: &str, e: String| anyhow::anyhow!("--{name}: {e}");
    let text = |name: &str, v: &Option<String>| -> Result<Option<String>> {
        v.as_deref()
            .map(|t| one_line(t).map_err(|e| flag(name, e)))
            .transpose()
    };
    Ok(Draft {
        id: args.id.clone(),
        company: text("company", &args.company)?,
        position: text("position", &args.position)?,
        start: args
            .start
            .as_deref()
            .map(|s| parse_start(s).map_err(|e| flag("start", e)))
            .transpose()?,
        duration: args
            .duration
            .as_deref()
            .map(|d| parse_delay(d).map_err(|e| flag("duration", e)))
            .transpose()?,
        timezone_chosen: None,
        timezone: args
            .timezone
            .as_deref()
            .map(|z| zone::parse(z).map_err(|e| flag("timezone", e)))
            .transpose()?,
        interviewers: args
            .interviewers
            .iter()
            .map(|p| person(p).map_err(|e| flag("interviewer", e)))
            .collect::<Result<_>>()?,
        decision_by: args
            .decision_by
            .as_deref()
            .map(|d| date(d).map_err(|e| flag("decision-by", e)))
            .transpose()?,
        notes: args
            .notes
            .iter()
            .map(|n| note(n).map_err(|e| flag("note", e)))
            .collect::<Result<_>>()?,
    })
}

/// What the invitation gave, where a flag did not already.
fn merge(draft: &mut Draft, inv: invitation::Invitation) {
    draft.company = draft.company.take().or(inv.company);
    draft.position = draft.position.take().or(inv.position);
    if draft.start.is_none() {
        draft.start = inv.start;
        if draft.timezone.is_none() {
            draft.timezone = inv.zone;
            draft.timezone_chosen = inv.zone_chosen;
        }
    }
    draft.duration = draft.duration.or(inv.duration);
    if draft.interviewers.is_empty() {
        draft.interviewers = inv
            .people
            .into_iter()
            .map(|p| Person {
                name: p.name,
                title: None,
                email: Some(p.email),
            })
            .collect();
    }
}

/// What `--ics` read, for the user to check.
fn found(path: &std::path::Path, inv: &invitation::Invitation) -> String {
    let mut parts = Vec::new();
    if let (Some(start), Some(tz)) = (inv.start, inv.zone) {
        parts.push(format!(
            "{} ({tz})",
            crate::core::calendar::human(resolve_lenient(start, tz), tz)
        ));
    }
    if let Some(d) = inv.duration {
        parts.push(format!("for {}", format_delay(d)));
    }
    if !inv.people.is_empty() {
        let people: Vec<String> = inv
            .people
            .iter()
            .map(|p| format!("{} <{}>", p.name, p.email))
            .collect();
        parts.push(format!("with {}", people.join(", ")));
    }
    if let Some(c) = &inv.company {
        parts.push(format!("at {c}"));
    }
    if let Some(p) = &inv.position {
        parts.push(format!("for {p}"));
    }
    let mut out = format!("{}: {}", path.display(), parts.join(", "));
    for note in &inv.notes {
        out.push_str(&format!("\n  ({note})"));
    }
    out
}

fn missing(d: &Draft) -> Vec<&'static str> {
    let mut out = Vec::new();
    if d.company.is_none() {
        out.push("--company");
    }
    if d.position.is_none() {
        out.push("--position");
    }
    if d.start.is_none() {
        out.push("--start");
    }
    if d.interviewers.is_empty() {
        out.push("--interviewer");
    }
    out
}

/// On a terminal: one question for each missing field, asked again until the answer reads.
fn ask_for_what_is_missing(d: &mut Draft, config_zone: Tz) -> Result<()> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut ask = |question: &str| -> Result<Option<String>> {
        eprint!("{question}");
        std::io::stderr().flush()?;
        match lines.next() {
            Some(line) => Ok(Some(line?.trim().to_string())),
            None => Ok(None),
        }
    };
    /// Asks until `parse` takes the answer; `None` when stdin ends.
    fn until<T>(
        ask: &mut dyn FnMut(&str) -> Result<Option<String>>,
        question: &str,
        parse: &dyn Fn(&str) -> Result<Option<T>, String>,
    ) -> Result<Option<T>> {
        loop {
            let Some(answer) = ask(question)? else {
                return Ok(None);
            };
            match parse(&answer) {
                Ok(value) => return Ok(value),
                Err(e) => eprintln!("  {e}"),
            }
        }
    }
    let required = |a: &str| one_line(a).map(Some);
    if d.company.is_none() {
        d.company = until(&mut ask, "Company: ", &required)?;
    }
    if d.position.is_none() {
        d.position = until(&mut ask, "Position: ", &required)?;
    }
    if d.start.is_none() {
        let zone = d.timezone.unwrap_or(config_zone);
        let question = format!("Start (YYYY-MM-DD HH:MM, in {zone}): ");
        d.start = until(&mut ask, &question, &|a| parse_start(a).map(Some))?;
    }
    if d.duration.is_none() {
        d.duration = until(&mut ask, "Duration [1h]: ", &|a| {
            if a.is_empty() {
                Ok(None)
            } else {
                parse_delay(a).map(Some)
            }
        })?;
    }
    if d.interviewers.is_empty() {
        eprintln!(
            "Who did you meet? One per line, as `Name <address>` or `Name, Title <address>` \
             (the first is the primary); an empty line ends."
        );
        while let Some(answer) = ask("  Interviewer: ")? {
            if answer.is_empty() {
                if d.interviewers.is_empty() {
                    eprintln!("  at least one, please");
                    continue;
                }
                break;
            }
            match person(&answer) {
                Ok(p) => d.interviewers.push(p),
                Err(e) => eprintln!("  {e}"),
            }
        }
    }
    Ok(())
}

fn one_line(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("this is empty: write a value".into());
    }
    if t.chars().any(char::is_control) {
        return Err("keep it on one line".into());
    }
    Ok(t.to_string())
}

fn date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date: write it like 2026-12-11"))
}

/// `Jane Roe <jane@example.com>`, `Jane Roe, Engineering Manager <jane@example.com>`,
/// `jane@example.com` or `Jane Roe`.
fn person(text: &str) -> Result<Person, String> {
    let t = text.trim();
    let (who, email) = match (t.find('<'), t.ends_with('>')) {
        (Some(i), true) => (t[..i].trim(), Some(&t[i + 1..t.len() - 1])),
        (None, _) if t.contains('@') && !t.contains(' ') => ("", Some(t)),
        (None, _) => (t, None),
        _ => {
            return Err(format!(
                "`{t}`: write `Name <address>`, like `Jane Roe <jane@example.com>`"
            ));
        }
    };
    let email = email
        .map(|e| EmailAddress::parse(e.trim()).map_err(|e| e.to_string()))
        .transpose()?;
    let (name, title) = match who.split_once(',') {
        Some((n, title)) => (n.trim(), Some(title.trim().to_string())),
        None => (who, None),
    };
    let name = match (name.is_empty(), &email) {
        (false, _) => one_line(name)?,
        (true, Some(e)) => e.as_str().split('@').next().unwrap_or_default().to_string(),
        (true, None) => return Err("a person needs at least a name".into()),
    };
    Ok(Person {
        name,
        title: title.filter(|t| !t.is_empty()),
        email,
    })
}

/// `highlight=the plan to move billing`.
fn note(text: &str) -> Result<(String, String), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| {
        format!("`{text}`: write it as NAME=TEXT, like highlight=the billing rewrite")
    })?;
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{key}` is not a note name: use letters, digits and `_`"
        ));
    }
    Ok((key.to_string(), one_line(value)?))
}

/// `globex-2026-12-08`, or with `-2`, `-3` when taken.
fn free_id(ws: &Workspace, d: &Draft) -> String {
    let company: String = d
        .company
        .as_deref()
        .unwrap_or("interview")
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let company: Vec<&str> = company.split('-').filter(|w| !w.is_empty()).collect();
    let company = if company.is_empty() {
        "interview".to_string()
    } else {
        company.join("-")
    };
    let date = d.start.map_or_else(
        || Utc::now().date_naive().to_string(),
        |s| s.date().to_string(),
    );
    let base = format!("{company}-{date}");
    let taken = |id: &str| {
        ws.interview(id).is_some() || ws.config.interviews.join(format!("{id}.yaml")).exists()
    };
    (1..)
        .map(|n| match n {
            1 => base.clone(),
            n => format!("{base}-{n}"),
        })
        .find(|id| !taken(id))
        .unwrap_or(base)
}

/// A scalar as YAML writes it, quoted when it must be.
fn scalar(text: &str) -> String {
    serde_yaml::to_string(text)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| format!("{text:?}"))
}

/// The record, laid out as the example record is, with comments for what is left to fill in.
fn record_text(d: &Draft, config_zone: Tz) -> String {
    let mut out = format!(
        "# Added by `followup add` on {}. Edit it freely; `followup validate` checks it.\n",
        Utc::now().date_naive()
    );
    let mut line = |key: &str, value: String| out.push_str(&format!("{key}: {value}\n"));
    line("company", scalar(d.company.as_deref().unwrap_or_default()));
    line(
        "position",
        scalar(d.position.as_deref().unwrap_or_default()),
    );
    if let Some(start) = d.start {
        line("start", start.format("%Y-%m-%d %H:%M").to_string());
    }
    line(
        "duration",
        format_delay(d.duration.unwrap_or(TimeDelta::hours(1))),
    );
    match &d.timezone_chosen {
        Some(how) => line(
            "timezone",
            format!(
                "{}    # {}",
                d.timezone.unwrap_or(config_zone),
                how.replace(['\r', '\n'], " ")
            ),
        ),
        None => line("timezone", d.timezone.unwrap_or(config_zone).to_string()),
    }
    out.push_str("interviewers:\n");
    for p in &d.interviewers {
        out.push_str(&format!("  - name: {}\n", scalar(&p.name)));
        if let Some(title) = &p.title {
            out.push_str(&format!("    title: {}\n", scalar(title)));
        }
        if let Some(email) = &p.email {
            out.push_str(&format!("    email: {email}\n"));
        }
    }
    match d.decision_by {
        Some(date) => out.push_str(&format!("decision_by: {date}\n")),
        None => out.push_str(
            "# decision_by: YYYY-MM-DD      # when they said they would decide, if they did\n",
        ),
    }
    out.push_str("status: waiting                # `followup mark` records what happens next\n");
    if d.notes.is_empty() {
        out.push_str(
            "# notes:                       # for the templates: a topic you enjoyed, a concern\n\
             #   highlight: ...             # they raised and your answer to it\n\
             #   concern: ...\n\
             #   answer: ...\n",
        );
    } else {
        out.push_str("notes:\n");
        for (k, v) in &d.notes {
            out.push_str(&format!("  {k}: {}\n", scalar(v)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_read_in_the_forms_people_write_them() {
        let p = person("Jane Roe, Engineering Manager <jane@globex.example.com>").unwrap();
        assert_eq!(p.name, "Jane Roe");
        assert_eq!(p.title.as_deref(), Some("Engineering Manager"));
        assert_eq!(p.email.unwrap().as_str(), "jane@globex.example.com");
        assert_eq!(person("Pat Lee").unwrap().email, None);
        assert_eq!(person("omar@globex.example.com").unwrap().name, "omar");
        assert!(person("Jane <jane@globex").is_err());
    }

    #[test]
    fn a_drafted_record_reads_back_with_the_real_loader() {
        let d = Draft {
            company: Some("Globex: the company".into()),
            position: Some("Engineer # one".into()),
            start: parse_start("2026-12-08 14:00").ok(),
            interviewers: vec![person("Jane Roe <jane@globex.example.com>").unwrap()],
            notes: vec![("highlight".into(), "a: b".into())],
            ..Draft::default()
        };
        let text = record_text(&d, chrono_tz::America::New_York);
        let iv = parse_interviews(&text, std::path::Path::new("x.yaml"), chrono_tz::UTC)
            .unwrap()
            .remove(0);
        assert_eq!(iv.company, "Globex: the company");
        assert_eq!(iv.position, "Engineer # one");
        assert_eq!(iv.notes["highlight"], "a: b");
        assert_eq!(iv.timezone, chrono_tz::America::New_York);
    }
}
