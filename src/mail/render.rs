//! Templates and rendering: one handlebars template per step, rendered strictly into a [`Draft`].
//!
//! A template file is a `Subject: ...` line, a blank line and the plain-text body. Rendering is
//! strict (an unknown or absent value is an error, never an empty string) and does no HTML
//! escaping (`&` stays `&`): these are plain-text mails. A draft with an empty subject or body, or
//! a leftover `{{`/`}}`, is an error, so a message with a hole in it is never sent.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use handlebars::{Handlebars, RenderErrorReason, Template};
use serde_json::{Map, Value, json};

use crate::core::{Interview, Interviewer, Owner, Step, Undeliverable};
use crate::input::diagnostic::{Diagnostic, Diagnostics};
use crate::mail::template_check::unclosed_block;

/// The templates built into the binary, so a config without a templates directory still works;
/// `followup init` writes them out.
pub const BUILTIN: [(Step, &str); 6] = [
    (
        Step::ThankYou,
        include_str!("../../templates/thank_you.hbs"),
    ),
    (
        Step::StatusCheck,
        include_str!("../../templates/status_check.hbs"),
    ),
    (
        Step::CallReminder,
        include_str!("../../templates/call_reminder.hbs"),
    ),
    (
        Step::FinalCheck,
        include_str!("../../templates/final_check.hbs"),
    ),
    (Step::Close, include_str!("../../templates/close.hbs")),
    (
        Step::AfterRejection,
        include_str!("../../templates/after_rejection.hbs"),
    ),
];

/// The body of a template is on line 3: after the `Subject:` line and the blank line.
pub(super) const BODY_FIRST_LINE: usize = 3;

/// A rendered message: what the user would write, before any header is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    pub subject: String,
    pub body: String,
}

/// What went wrong with one rendering, for one step of one interview.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RenderError {
    /// The template file (`<builtin>/<step>.hbs` for a built-in one).
    pub file: PathBuf,
    pub step: Step,
    pub interview: String,
    /// 1-based, in the template file, when handlebars knows it.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub problem: RenderProblem,
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.to_diagnostic().fmt(f)
    }
}

impl RenderError {
    /// The same problem in the shape `validate` prints.
    pub fn to_diagnostic(&self) -> Diagnostic {
        let message = format!(
            "{} for interview `{}`: {}",
            self.step, self.interview, self.problem
        );
        Diagnostic {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message,
        }
    }
}

/// Why a rendered message cannot go out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderProblem {
    #[error(
        "`{0}` is not a value here (a typo, or an optional value that this record lacks; \
         wrap optional values in {{{{#if ...}}}})"
    )]
    Missing(String),
    #[error("{0}")]
    Template(String),
    #[error("the subject is empty")]
    EmptySubject,
    #[error("the body is empty")]
    EmptyBody,
    #[error("`{0}` is empty")]
    EmptyValue(&'static str),
    #[error("the message still holds a placeholder: `{0}`")]
    Leftover(String),
}

/// The six templates, compiled once.
///
/// A step that the templates directory does not hold falls back to the built-in template, so a
/// user can override just the one message they care about.
#[derive(Debug, Clone)]
pub struct Templates {
    pub(super) registry: Handlebars<'static>,
    /// Where each step's template came from, for messages.
    files: BTreeMap<Step, PathBuf>,
    /// How far into its line each step's subject template starts, for positions in the file.
    pub(super) subject_columns: BTreeMap<Step, usize>,
}

impl Templates {
    /// The built-in templates.
    pub fn builtin() -> Self {
        let mut templates = Self::empty();
        for (step, text) in BUILTIN {
            let file = builtin_path(step);
            // The built-in templates are tested; a failure here is a bug caught by the tests.
            if let Err(d) = templates.add(step, &file, text) {
                debug_assert!(false, "built-in template does not compile: {d:?}");
            }
        }
        templates
    }

    /// Loads `<dir>/<step>.hbs` for every step that has one; the others stay built in. `None`
    /// means the built-in templates only. A `.hbs` file that matches no step is an error, since
    /// it is most likely a misspelt override that would otherwise be silently ignored.
    pub fn load(dir: Option<&Path>) -> Result<Self, Diagnostics> {
        let mut templates = Self::builtin();
        let Some(dir) = dir else {
            return Ok(templates);
        };
        let mut problems = Vec::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    if path.extension().and_then(|e| e.to_str()) != Some("hbs") {
                        continue;
                    }
                    let stem = path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default();
                    if stem.parse::<Step>().is_err() {
                        let names: Vec<_> = Step::ALL.iter().map(|s| s.as_str()).collect();
                        problems.push(Diagnostic::new(
                            &path,
                            format!(
                                "no step is called `{stem}`; template files are named {}.hbs",
                                names.join(".hbs, ")
                            ),
                        ));
                    }
                }
            }
            Err(e) => {
                return Err(Diagnostics(vec![Diagnostic::new(
                    dir,
                    format!("cannot read the templates directory: {e}"),
                )]));
            }
        }
        for &step in Step::ALL {
            let file = dir.join(format!("{step}.hbs"));
            let bytes = match std::fs::read(&file) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => {
                    problems.push(Diagnostic::new(&file, format!("cannot read it: {e}")));
                    continue;
                }
            };
            match String::from_utf8(bytes) {
                Ok(text) => problems.extend(templates.add(step, &file, &text).err()),
                Err(e) => problems.push(Diagnostic::new(
                    &file,
                    format!(
                        "is not UTF-8 text (byte {}); save it as UTF-8",
                        e.utf8_error().valid_up_to()
                    ),
                )),
            }
        }
        if problems.is_empty() {
            Ok(templates)
        } else {
            Err(Diagnostics(problems))
        }
    }

    fn empty() -> Self {
        let mut registry = Handlebars::new();
        registry.set_strict_mode(true);
        registry.register_escape_fn(handlebars::no_escape);
        Self {
            registry,
            files: BTreeMap::new(),
            subject_columns: BTreeMap::new(),
        }
    }

    /// Splits, compiles and registers one template; errors point into `file`.
    fn add(&mut self, step: Step, file: &Path, text: &str) -> Result<(), Diagnostic> {
        let text = text
            .strip_prefix('\u{feff}')
            .unwrap_or(text)
            .replace("\r\n", "\n");
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = strip_header_name(first, "subject").ok_or_else(|| {
            Diagnostic::at(
                file,
                1,
                1,
                "the first line must be the subject, like `Subject: Thank you, {{interviewer.name}}`",
            )
        })?;
        let (blank, body) = rest.split_once('\n').unwrap_or((rest, ""));
        if !blank.trim().is_empty() {
            return Err(Diagnostic::at(
                file,
                2,
                1,
                "the second line must be blank: it separates the subject from the body",
            ));
        }
        let subject_column = first.len() - subject.len() + 1;
        let compile = |src: &str, line0: usize, col0: usize| {
            Template::compile(src).map_err(|e| {
                // An unclosed block is reported at its opening tag, not where the file ends.
                let ((line, column), message) = match unclosed_block(src) {
                    Some((line, column, message)) => ((line, column), message),
                    None => (e.pos().unwrap_or((1, 1)), e.reason().to_string()),
                };
                let column = if line == 1 { column + col0 } else { column };
                Diagnostic::at(file, line + line0, column, message)
            })
        };
        let subject_t = compile(subject, 0, subject_column - 1)?;
        let body_t = compile(body, BODY_FIRST_LINE - 1, 0)?;
        self.registry
            .register_template(&subject_name(step), subject_t);
        self.registry.register_template(&body_name(step), body_t);
        self.files.insert(step, file.to_path_buf());
        self.subject_columns.insert(step, subject_column - 1);
        Ok(())
    }

    /// The file a step's template came from.
    pub fn file(&self, step: Step) -> PathBuf {
        self.files
            .get(&step)
            .cloned()
            .unwrap_or_else(|| builtin_path(step))
    }

    /// Renders one step for one person; every problem is an error that names the template file,
    /// the step and the interview.
    pub fn render(&self, step: Step, ctx: &RenderContext) -> Result<Draft, RenderError> {
        let fail = |line, column, problem| RenderError {
            file: self.file(step),
            step,
            interview: ctx.interview_id.clone(),
            line,
            column,
            problem,
        };
        if let Some(key) = ctx.empty_required {
            return Err(fail(None, None, RenderProblem::EmptyValue(key)));
        }
        let run = |name: String, line0: usize| {
            self.registry
                .render_with_context(&name, &ctx.data)
                .map_err(|e| {
                    let line = e.line_no.map(|l| l + line0);
                    let problem = match e.reason() {
                        RenderErrorReason::MissingVariable(path) => {
                            RenderProblem::Missing(path.clone().unwrap_or_default())
                        }
                        other => RenderProblem::Template(other.to_string()),
                    };
                    fail(line, e.column_no, problem)
                })
        };
        let subject = run(subject_name(step), 0)?;
        let body = run(body_name(step), BODY_FIRST_LINE - 1)?;
        let subject = one_line(&subject);
        let body = tidy_body(&body);
        if subject.is_empty() {
            return Err(fail(Some(1), None, RenderProblem::EmptySubject));
        }
        if body.trim().is_empty() {
            return Err(fail(None, None, RenderProblem::EmptyBody));
        }
        for text in [&subject, &body] {
            if let Some(left) = leftover(text) {
                return Err(fail(None, None, RenderProblem::Leftover(left)));
            }
        }
        Ok(Draft { subject, body })
    }
}

/// The values a template can use.
///
/// | key | value |
/// |---|---|
/// | `me.name`, `me.first_name`, `me.email` | the user |
/// | `me.phone`, `me.signature` | the user's, when set (`signature`: lines printed under the name) |
/// | `interview.id` | the record's id |
/// | `company`, `position` (also `interview.company`, `interview.position`) | |
/// | `interview.date` | `Tuesday, 3 November`, in the interview's zone |
/// | `interview.day` | `Tuesday` |
/// | `interview.time` | `14:00`, in the interview's zone |
/// | `interviewer.name`, `interviewer.first_name` | the person this message is to or about |
/// | `interviewer.greeting` | how a message to them opens: the record's `greeting`, else `Dear` and the first name |
/// | `interviewer.bounced` | what the server said when their address bounced, when it did |
/// | `interviewer.title`, `interviewer.email` | when the record has them |
/// | `interviewer.primary` | `true` for the primary interviewer |
/// | `primary` | the primary interviewer, with the same keys as `interviewer` |
/// | `interviewers` | every interviewer, each with the same keys as `interviewer` |
/// | `decision_by` | `Friday, 13 November`, when the record has a decision date |
/// | `notes.*` | the record's notes; by convention `highlight` (a topic you enjoyed), `concern` (a concern they raised) with `answer` (yours), `extra` (a sentence to add) |
/// | `attachments` | file names attached to this message (the thank-you carries them), maybe empty |
/// | `step` | `thank_you`, `status_check`, ... |
///
/// An optional value that a record lacks is absent, not empty: use it inside `{{#if ...}}`
/// (`{{#if notes.highlight}}...{{/if}}`). Strict mode makes an unguarded use of an absent value,
/// and any misspelt key, an error that `validate` reports, instead of a hole in a sent message.
#[derive(Debug, Clone)]
pub struct RenderContext {
    interview_id: String,
    /// The data, as handlebars holds it: rendering from a [`Value`] would copy it each time.
    data: handlebars::Context,
    /// A value every message needs that the records left empty.
    pub(super) empty_required: Option<&'static str>,
}

impl PartialEq for RenderContext {
    fn eq(&self, other: &Self) -> bool {
        (&self.interview_id, self.data(), self.empty_required)
            == (&other.interview_id, other.data(), other.empty_required)
    }
}

impl RenderContext {
    /// The data for `step` of `iv`, about `person` (the recipient, or for a call reminder or a
    /// notice the interviewer it concerns).
    pub fn new(iv: &Interview, person: &Interviewer, owner: &Owner, step: Step) -> Self {
        let mut me = Map::new();
        me.insert("name".into(), one_line(&owner.name).into());
        me.insert("first_name".into(), first_name(&owner.name).into());
        me.insert("email".into(), owner.email.as_str().into());
        insert_opt(&mut me, "phone", owner.phone.as_deref());
        insert_opt(&mut me, "signature", owner.signature.as_deref());

        let date = iv.local_start.date();
        let interview = json!({
            "id": one_line(&iv.id),
            "company": one_line(&iv.company),
            "position": one_line(&iv.position),
            "date": long_date(date),
            "day": date.format("%A").to_string(),
            "time": iv.local_start.format("%H:%M").to_string(),
        });

        let mut notes = Map::new();
        for (k, v) in &iv.notes {
            insert_opt(&mut notes, k, Some(v));
        }

        let mut data = Map::new();
        data.insert("me".into(), me.into());
        data.insert("interview".into(), interview);
        data.insert("company".into(), one_line(&iv.company).into());
        data.insert("position".into(), one_line(&iv.position).into());
        data.insert("interviewer".into(), person_value(iv, person));
        data.insert("primary".into(), person_value(iv, iv.primary()));
        data.insert(
            "interviewers".into(),
            iv.interviewers
                .iter()
                .map(|p| person_value(iv, p))
                .collect(),
        );
        if let Some(d) = iv.decision_by {
            data.insert("decision_by".into(), long_date(d).into());
        }
        data.insert("notes".into(), notes.into());

        let required = [
            ("me.name", owner.name.as_str()),
            ("interviewer.name", person.name.as_str()),
            ("company", iv.company.as_str()),
            ("position", iv.position.as_str()),
        ];
        let empty_required = required
            .into_iter()
            .find(|(_, v)| one_line(v).is_empty())
            .map(|(k, _)| k);
        let mut ctx = Self {
            interview_id: iv.id.clone(),
            data: handlebars::Context::from(Value::from(data)),
            empty_required,
        };
        ctx.set_step(iv, step);
        ctx
    }

    /// Makes this the data for `step` of the same interview and person: only `step` and
    /// `attachments` depend on the step, so the rest need not be built again.
    pub fn set_step(&mut self, iv: &Interview, step: Step) {
        let attachments: Vec<Value> = iv
            .attachments_for(step)
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| Value::from(n.to_string_lossy().into_owned()))
            .collect();
        if let Value::Object(data) = self.data.data_mut() {
            data.insert("attachments".into(), attachments.into());
            data.insert("step".into(), step.as_str().into());
        }
    }

    /// Marks the person the message concerns as unreachable by e-mail: `interviewer.bounced`
    /// holds what the server said (the call reminder tells the user, and to ask for a better
    /// address).
    pub fn with_bounce(mut self, bounce: Option<&Undeliverable>) -> Self {
        if let (Some(bounce), Some(Value::Object(person))) =
            (bounce, self.data.data_mut().get_mut("interviewer"))
        {
            insert_opt(person, "bounced", Some(&bounce.reason));
        }
        self
    }

    /// The data as JSON, for previews and tests.
    pub fn data(&self) -> &Value {
        self.data.data()
    }
}

impl fmt::Display for RenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string_pretty(self.data()) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

/// One interviewer as templates see them; `primary` says whether they are the interview's
/// primary interviewer (the one marked, else the first).
fn person_value(iv: &Interview, p: &Interviewer) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), one_line(&p.name).into());
    m.insert("first_name".into(), first_name(&p.name).into());
    let greeting = match &p.greeting {
        Some(g) => one_line(g),
        None => format!("Dear {}", first_name(&p.name)),
    };
    m.insert("greeting".into(), greeting.into());
    insert_opt(&mut m, "title", p.title.as_deref());
    insert_opt(&mut m, "email", p.email.as_ref().map(|e| e.as_str()));
    m.insert("primary".into(), (p.key() == iv.primary().key()).into());
    m.into()
}

/// Absent and blank are the same to a template: neither is there.
fn insert_opt(map: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        let v = v.trim();
        if !v.is_empty() {
            map.insert(key.to_string(), v.into());
        }
    }
}

/// The first given name, skipping a courtesy title: `Dr. Jane Doe` → `Jane`.
fn first_name(full: &str) -> String {
    const TITLES: [&str; 8] = ["dr", "mr", "mrs", "ms", "mx", "prof", "sir", "dame"];
    let words: Vec<&str> = full.split_whitespace().collect();
    words
        .iter()
        .find(|w| {
            let word = w.trim_end_matches('.');
            !TITLES.iter().any(|title| title.eq_ignore_ascii_case(word))
        })
        .or(words.first())
        .map(|w| w.to_string())
        .unwrap_or_default()
}

fn long_date(d: NaiveDate) -> String {
    d.format("%A, %-d %B").to_string()
}

fn builtin_path(step: Step) -> PathBuf {
    PathBuf::from(format!("<builtin>/{step}.hbs"))
}

pub(super) fn subject_name(step: Step) -> String {
    format!("{step}.subject")
}

pub(super) fn body_name(step: Step) -> String {
    format!("{step}.body")
}

/// The value of `Name: value` when the line is that header (name case-insensitive).
fn strip_header_name<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let (n, v) = line.split_once(':')?;
    n.trim().eq_ignore_ascii_case(name).then(|| v.trim_start())
}

/// Folds every control character and whitespace run into one space: a subject is one line.
pub(crate) fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Plain-text tidying, so templates can put `{{#if}}` blocks on lines of their own: trailing
/// spaces go, runs of blank lines become one, and the body ends with one newline.
fn tidy_body(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.lines() {
        let line: String = line
            .chars()
            .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
            .collect();
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() && blank_run > 0 {
            out.push('\n');
        }
        blank_run = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The first `{{` or `}}` left in rendered text, with a little context.
fn leftover(text: &str) -> Option<String> {
    let at = [text.find("{{"), text.find("}}")]
        .into_iter()
        .flatten()
        .min()?;
    let start = text[..at]
        .char_indices()
        .rev()
        .nth(10)
        .map_or(0, |(i, _)| i);
    let end = text[at..]
        .char_indices()
        .nth(20)
        .map_or(text.len(), |(i, _)| at + i);
    Some(one_line(&text[start..end]))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::{EmailAddress, Status};
    use chrono::{NaiveDate, TimeZone, Utc};

    pub(crate) fn owner() -> Owner {
        Owner {
            name: "Alex Rivera".into(),
            email: EmailAddress::parse("alex@example.org").unwrap(),
            aliases: Vec::new(),
            phone: None,
            signature: None,
            timezone: chrono_tz::Europe::Berlin,
        }
    }

    fn person(name: &str, title: Option<&str>, email: &str, primary: bool) -> Interviewer {
        Interviewer {
            name: name.into(),
            greeting: None,
            title: title.map(Into::into),
            email: Some(EmailAddress::parse(email).unwrap()),
            primary,
        }
    }

    /// A bare record: no notes, no titles, no decision date.
    pub(crate) fn bare() -> Interview {
        let local = NaiveDate::from_ymd_opt(2026, 11, 3)
            .unwrap()
            .and_hms_opt(14, 0, 0)
            .unwrap();
        Interview {
            id: "acme-backend".into(),
            company: "Acme Tools".into(),
            position: "Backend Engineer".into(),
            local_start: local,
            start: Utc.with_ymd_and_hms(2026, 11, 3, 13, 0, 0).unwrap(),
            end: Utc.with_ymd_and_hms(2026, 11, 3, 14, 0, 0).unwrap(),
            timezone: chrono_tz::Europe::Berlin,
            interviewers: vec![
                person("Jane Doe", None, "jane@example.com", true),
                person("Sam Lee", None, "sam@example.com", false),
            ],
            decision_by: None,
            status: Status::Waiting,
            status_on: None,
            notes: BTreeMap::new(),
            attachments: Vec::new(),
            domains: Vec::new(),
            source: PathBuf::from("interviews/acme-backend.yaml"),
        }
    }

    /// A full record: every optional value set, long enough to test the length rule.
    pub(crate) fn full() -> Interview {
        let mut iv = bare();
        iv.interviewers[0].title = Some("Head of Platform Engineering".into());
        iv.interviewers[1].title = Some("Staff Engineer".into());
        iv.decision_by = NaiveDate::from_ymd_opt(2026, 11, 13);
        iv.notes.insert(
            "highlight".into(),
            "moving the billing service to event sourcing".into(),
        );
        iv.notes
            .insert("concern".into(), "my experience with on-call duty".into());
        iv.notes.insert(
            "answer".into(),
            "At my last job I was on call one week in six and wrote most of our runbooks.".into(),
        );
        iv.notes.insert(
            "strength".into(),
            "experience running Postgres at scale".into(),
        );
        iv.notes.insert(
            "extra".into(),
            "Here is the talk I mentioned: https://example.com/talk.".into(),
        );
        iv.attachments = vec![
            PathBuf::from("/home/alex/cv.pdf"),
            PathBuf::from("/home/alex/sample.pdf"),
        ];
        iv
    }

    pub(crate) fn full_owner() -> Owner {
        let mut me = owner();
        me.phone = Some("+49 30 1234567".into());
        me.signature = Some("Backend Engineer\nhttps://example.org/alex".into());
        me
    }

    fn render(t: &Templates, iv: &Interview, me: &Owner, step: Step) -> Result<Draft, RenderError> {
        let person = match step {
            Step::ThankYou => &iv.interviewers[1],
            _ => iv.primary(),
        };
        t.render(step, &RenderContext::new(iv, person, me, step))
    }

    pub(crate) fn one(src: &str) -> Result<Templates, Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thank_you.hbs"), src).unwrap();
        Templates::load(Some(dir.path()))
    }

    #[test]
    fn defaults_render_for_records_with_and_without_notes_and_titles() {
        let t = Templates::builtin();
        for (iv, me) in [(bare(), owner()), (full(), full_owner())] {
            assert!(
                t.check(std::slice::from_ref(&iv), &me).is_empty(),
                "{:?}",
                t.check(std::slice::from_ref(&iv), &me)
            );
            for &step in Step::ALL {
                let d = render(&t, &iv, &me, step).unwrap();
                assert!(!d.subject.is_empty());
                if step != Step::CallReminder {
                    assert!(d.body.contains("Backend Engineer"), "{step}: {}", d.body);
                }
                assert!(d.body.contains("Acme Tools") || d.subject.contains("Acme Tools"));
            }
        }
    }

    #[test]
    fn thank_you_is_personal_and_signed() {
        let t = Templates::builtin();
        let d = render(&t, &full(), &full_owner(), Step::ThankYou).unwrap();
        assert_eq!(d.subject, "Thank you for your time on Tuesday");
        assert!(d.body.starts_with("Dear Sam,\n"), "{}", d.body);
        assert!(d.body.contains("Backend Engineer role at Acme Tools"));
        assert!(d.body.contains("event sourcing"));
        assert!(d.body.contains("on-call duty"));
        assert!(d.body.contains("runbooks"));
        assert!(d.body.contains("https://example.com/talk."));
        assert!(d.body.contains("I have attached cv.pdf and sample.pdf.\n"));
        assert!(
            d.body
                .contains("I am confident my experience running Postgres at scale would")
        );
        assert!(d.body.contains("Tuesday, 3 November"));
        assert!(
            d.body.ends_with(
                "Alex Rivera\nBackend Engineer\nhttps://example.org/alex\n+49 30 1234567\n"
            ),
            "{}",
            d.body
        );
        assert!(!d.body.contains("\n\n\n"));

        let bare = render(&t, &bare(), &owner(), Step::ThankYou).unwrap();
        assert!(!bare.body.contains("conversation about"), "{}", bare.body);
        assert!(bare.body.contains("references or samples of my work"));
        assert!(
            bare.body.ends_with("Best regards,\nAlex Rivera\n"),
            "{}",
            bare.body
        );
    }

    /// People write "Dear Jane,", not "Dear Jane Doe,"; a record's `greeting` says otherwise
    /// ("Dear Dr. Weiß").
    #[test]
    fn messages_greet_by_first_name_or_the_records_greeting() {
        let t = Templates::builtin();
        let mut iv = full();
        for &step in Step::ALL {
            let d = render(&t, &iv, &owner(), step).unwrap();
            let first = d.body.lines().next().unwrap_or_default();
            let expected = if step.channel().goes_to_the_user() {
                "Hello Alex,"
            } else if step == Step::ThankYou {
                "Dear Sam,"
            } else {
                "Dear Jane,"
            };
            assert_eq!(first, expected, "{step}");
        }
        iv.interviewers[0].greeting = Some("Dear Dr. Doe".into());
        let d = render(&t, &iv, &owner(), Step::StatusCheck).unwrap();
        assert!(d.body.starts_with("Dear Dr. Doe,\n"), "{}", d.body);
    }

    /// Words as a reader counts them, for the length rule.
    fn word_count(text: &str) -> usize {
        text.split_whitespace()
            .filter(|w| w.chars().any(char::is_alphanumeric))
            .count()
    }

    /// A record with every note, a long position title and a long company name.
    fn long() -> Interview {
        let mut iv = full();
        iv.position =
            "Senior Staff Software Engineer, Payments Infrastructure and Risk Platform (Remote, EMEA)"
                .into();
        iv.company = "Smith & Wesson Precision Tooling International".into();
        iv.interviewers[0].name = "Dana \"DJ\" O'Neil, Jr.".into();
        iv
    }

    #[test]
    fn every_default_message_is_under_120_words() {
        let t = Templates::builtin();
        for iv in [full(), long()] {
            for &step in Step::ALL {
                let d = render(&t, &iv, &full_owner(), step).unwrap();
                let words = word_count(&d.body);
                assert!(words < 120, "{step} has {words} words:\n{}", d.body);
            }
        }
    }

    #[test]
    fn every_default_subject_is_under_60_characters() {
        let t = Templates::builtin();
        for iv in [full(), long()] {
            for &step in Step::ALL {
                let d = render(&t, &iv, &full_owner(), step).unwrap();
                let chars = d.subject.chars().count();
                // A follow-up goes out as `Re:` and the thank-you's subject.
                assert!(chars < 60 - 4, "{step}: {chars} characters: {}", d.subject);
            }
        }
    }

    /// A follow-up that re-pastes a paragraph of the message before reads as a robot.
    #[test]
    fn no_paragraph_is_repeated_across_steps() {
        let t = Templates::builtin();
        let mut seen: BTreeMap<String, Step> = BTreeMap::new();
        for &step in Step::ALL {
            let d = render(&t, &full(), &full_owner(), step).unwrap();
            // The first line is the greeting, which is the same on purpose.
            let body = d.body.split_once('\n').map_or("", |(_, rest)| rest);
            for paragraph in body.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
                if let Some(first) = seen.insert(paragraph.to_string(), step) {
                    panic!("{first} and {step} both say:\n{paragraph}");
                }
            }
        }
    }

    #[test]
    fn the_status_check_is_brief_and_never_reproaches() {
        let t = Templates::builtin();
        let d = render(&t, &full(), &full_owner(), Step::StatusCheck).unwrap();
        assert!(d.body.contains("Friday, 13 November"), "{}", d.body);
        for reproach in ["has passed", "still no", "haven't heard", "have not heard"] {
            assert!(!d.body.contains(reproach), "`{reproach}`:\n{}", d.body);
        }
        // The thank-you's extra paragraph is not pasted again.
        assert!(!d.body.contains("https://example.com/talk."), "{}", d.body);
    }

    #[test]
    fn the_final_check_closes_the_loop_kindly() {
        let d = render(&Templates::builtin(), &full(), &owner(), Step::FinalCheck).unwrap();
        assert!(d.body.contains("my last note"), "{}", d.body);
        assert!(
            d.body.contains("I wish you and the team every success"),
            "{}",
            d.body
        );
    }

    #[test]
    fn call_reminder_carries_the_call_script() {
        let d = render(
            &Templates::builtin(),
            &full(),
            &full_owner(),
            Step::CallReminder,
        )
        .unwrap();
        let body = d.body.to_lowercase();
        assert_eq!(d.subject, "Call Jane about your Tuesday interview");
        for needle in [
            "no answer yet from acme tools",
            "jane doe (head of platform engineering)",
            "say who you are, the role and your interview date (tuesday, 3 november)",
            "calling about the next steps",
            "ask when to expect one, when to follow up again",
            "what would have made you a stronger candidate",
            "thank them",
            "thank-you note",
            "leave your name and the role",
            "+49 30 1234567",
        ] {
            assert!(body.contains(needle), "missing `{needle}`:\n{}", d.body);
        }
        assert!(!body.contains("first impressions"), "{}", d.body);
        assert!(!body.contains("bounced"), "{}", d.body);
        assert!(d.body.starts_with("Hello Alex,"));
    }

    #[test]
    fn the_call_reminder_says_when_the_address_bounced() {
        let iv = full();
        let bounce = Undeliverable {
            at: Utc.with_ymd_and_hms(2026, 11, 3, 16, 0, 0).unwrap(),
            reason: "550 5.1.1 No such user".into(),
        };
        let ctx = RenderContext::new(&iv, iv.primary(), &owner(), Step::CallReminder)
            .with_bounce(Some(&bounce));
        let d = Templates::builtin()
            .render(Step::CallReminder, &ctx)
            .unwrap();
        assert!(
            d.body
                .contains("Your e-mail to Jane bounced (550 5.1.1 No such user)"),
            "{}",
            d.body
        );
        assert!(
            d.body.contains("ask for an address that works"),
            "{}",
            d.body
        );
        assert!(word_count(&d.body) < 120, "{}", d.body);
    }

    #[test]
    fn close_tells_the_user_to_move_on_and_how_to_record_news() {
        let d = render(&Templates::builtin(), &bare(), &owner(), Step::Close).unwrap();
        for needle in [
            "next opportunity",
            "replied",
            "offer",
            "stopped",
            "Nothing more",
        ] {
            assert!(d.body.contains(needle), "missing `{needle}`:\n{}", d.body);
        }
    }

    #[test]
    fn after_rejection_is_gracious_and_asks_for_feedback() {
        let d = render(
            &Templates::builtin(),
            &bare(),
            &owner(),
            Step::AfterRejection,
        )
        .unwrap();
        assert!(d.body.starts_with("Dear Jane,"));
        assert!(
            d.body
                .contains("feedback on what would have made me a stronger candidate")
        );
        assert!(d.body.contains("future openings"));
        assert!(!d.body.contains("help me a great deal"), "{}", d.body);
    }

    #[test]
    fn ampersands_are_not_html_escaped() {
        let mut iv = bare();
        iv.company = "Smith & Wesson <Tools>".into();
        let d = render(&Templates::builtin(), &iv, &owner(), Step::StatusCheck).unwrap();
        assert!(d.body.contains("Smith & Wesson <Tools>"), "{}", d.body);
        assert!(!d.body.contains("&amp;"));
    }

    #[test]
    fn strict_mode_rejects_an_unknown_variable() {
        let t = one("Subject: Hi\n\nDear {{interviewer.name}},\nat {{compnay}}\n").unwrap();
        let e = render(&t, &bare(), &owner(), Step::ThankYou).unwrap_err();
        assert!(
            matches!(&e.problem, RenderProblem::Missing(p) if p == "compnay"),
            "{e}"
        );
        assert_eq!(e.line, Some(4));
        assert_eq!(e.step, Step::ThankYou);
        assert_eq!(e.interview, "acme-backend");
        let shown = e.to_string();
        assert!(shown.contains("thank_you.hbs:4"), "{shown}");
        assert!(shown.contains("acme-backend"), "{shown}");
    }

    #[test]
    fn strict_mode_allows_if_on_an_absent_value() {
        let t = one(
            "Subject: Hi\n\n{{#if notes.highlight}}H {{notes.highlight}}{{else}}none{{/if}} \
             {{#if interviewer.title}}T{{/if}}{{#unless decision_by}}U{{/unless}} {{interviewer.name}}\n",
        )
        .unwrap();
        let d = render(&t, &bare(), &owner(), Step::ThankYou).unwrap();
        assert_eq!(d.body, "none U Sam Lee\n");
        let d = render(&t, &full(), &owner(), Step::ThankYou).unwrap();
        assert!(d.body.starts_with("H moving"));
    }

    #[test]
    fn an_absent_value_used_without_if_is_an_error() {
        let t = one("Subject: Hi\n\nDear {{interviewer.name}}, {{interviewer.title}}\n").unwrap();
        let e = render(&t, &bare(), &owner(), Step::ThankYou).unwrap_err();
        assert!(
            matches!(&e.problem, RenderProblem::Missing(p) if p == "interviewer.title"),
            "{e}"
        );
        assert!(render(&t, &full(), &owner(), Step::ThankYou).is_ok());
        let found = t.check(&[bare()], &owner());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].message.contains("interviewer.title"));
    }

    #[test]
    fn blank_values_count_as_absent() {
        let mut iv = bare();
        iv.interviewers[1].title = Some("  ".into());
        iv.notes.insert("highlight".into(), "".into());
        let d = render(&Templates::builtin(), &iv, &owner(), Step::ThankYou).unwrap();
        assert!(!d.body.contains("conversation about"));
    }

    #[test]
    fn a_leftover_placeholder_is_an_error() {
        let mut iv = bare();
        iv.notes.insert("extra".into(), "see {{attachment}}".into());
        let e = render(&Templates::builtin(), &iv, &owner(), Step::ThankYou).unwrap_err();
        assert!(matches!(e.problem, RenderProblem::Leftover(_)), "{e}");
        let t = one("Subject: Hi\n\nDear {{interviewer.name}}, \\{{oops}}\n").unwrap();
        let e = render(&t, &bare(), &owner(), Step::ThankYou).unwrap_err();
        assert!(matches!(e.problem, RenderProblem::Leftover(_)), "{e}");
    }

    #[test]
    fn an_empty_subject_is_an_error() {
        let t =
            one("Subject: {{#if notes.nothing}}x{{/if}}\n\nDear {{interviewer.name}}\n").unwrap();
        let e = render(&t, &bare(), &owner(), Step::ThankYou).unwrap_err();
        assert_eq!(e.problem, RenderProblem::EmptySubject);
    }

    #[test]
    fn an_empty_body_is_an_error() {
        let t = one("Subject: Hi\n\n{{#if notes.nothing}}x{{/if}}\n").unwrap();
        let e = render(&t, &bare(), &owner(), Step::ThankYou).unwrap_err();
        assert_eq!(e.problem, RenderProblem::EmptyBody);
    }

    #[test]
    fn an_empty_recipient_name_is_an_error() {
        let mut iv = bare();
        iv.interviewers[1].name = " ".into();
        let e = render(&Templates::builtin(), &iv, &owner(), Step::ThankYou).unwrap_err();
        assert_eq!(e.problem, RenderProblem::EmptyValue("interviewer.name"));
    }

    #[test]
    fn a_missing_subject_line_is_reported_at_line_one() {
        let e = one("Dear {{interviewer.name}}\n").unwrap_err();
        assert_eq!(e.0[0].line, Some(1));
        let e = one("Subject: Hi\nDear {{interviewer.name}}\n").unwrap_err();
        assert_eq!(e.0[0].line, Some(2));
    }

    #[test]
    fn template_syntax_errors_name_the_file_and_line() {
        let e = one("Subject: Hi\n\nDear {{interviewer.name}},\n\n{{#if notes.x}}\nunclosed\n")
            .unwrap_err();
        let d = &e.0[0];
        assert!(d.file.ends_with("thank_you.hbs"), "{d}");
        assert!(d.line.is_some_and(|l| l >= 5), "{d}");
        assert!(d.to_string().contains("thank_you.hbs:"), "{d}");

        let e = one("Subject: Hi {{position\n\nbody\n").unwrap_err();
        assert_eq!(e.0[0].line, Some(1), "{}", e);
    }

    #[test]
    fn a_misspelt_template_file_is_an_error_and_others_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("thankyou.hbs"), "Subject: x\n\ny\n").unwrap();
        let e = Templates::load(Some(dir.path())).unwrap_err();
        assert!(e.0[0].message.contains("thankyou"), "{e}");

        let t = one("Subject: Custom\r\n\r\nHi {{interviewer.first_name}}\r\n").unwrap();
        assert_eq!(
            render(&t, &bare(), &owner(), Step::ThankYou).unwrap().body,
            "Hi Sam\n"
        );
        assert!(t.file(Step::ThankYou).ends_with("thank_you.hbs"));
        assert_eq!(t.file(Step::Close), PathBuf::from("<builtin>/close.hbs"));
        assert!(render(&t, &bare(), &owner(), Step::Close).is_ok());
    }

    #[test]
    fn subjects_fold_line_breaks_from_records() {
        let mut iv = bare();
        iv.position = "Engineer\r\nBcc: victim@example.org".into();
        let t = one("Subject: The {{position}} interview\n\nDear {{interviewer.first_name}}\n")
            .unwrap();
        let d = render(&t, &iv, &owner(), Step::ThankYou).unwrap();
        assert!(!d.subject.contains('\n') && !d.subject.contains('\r'));
        assert!(d.subject.contains("Engineer Bcc: victim@example.org"));
    }

    /// `count` copies of `iv`, each its own record.
    #[test]
    fn primary_defaults_to_the_first_interviewer_in_every_template() {
        let mut iv = bare();
        for i in &mut iv.interviewers {
            i.primary = false;
        }
        let second = &iv.interviewers[1];
        let ctx = RenderContext::new(&iv, second, &owner(), Step::ThankYou);
        let first = iv.interviewers[0].name.as_str();
        assert_eq!(ctx.data()["primary"]["name"], first);
        assert_eq!(ctx.data()["interviewer"]["primary"], false);
        assert_eq!(ctx.data()["interviewers"][0]["primary"], true);
    }

    #[test]
    fn first_names_skip_courtesy_titles() {
        assert_eq!(first_name("Dr. Zoë Müller"), "Zoë");
        assert_eq!(first_name("Prof"), "Prof");
        assert_eq!(first_name(""), "");
    }
}
