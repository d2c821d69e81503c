//! What strict rendering cannot see in a template: a block left open (handlebars reports it at
//! the end of the file in its grammar's words), and names in places strict mode never looks at:
//! the arguments of `#if`, `#unless`, `#each` and `#with`, and whatever sits in a branch no
//! record takes. A misspelt guard (`{{#if notes.higlight}}`) would otherwise drop its sentence
//! silently, for every record.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use handlebars::template::{BlockParam, HelperTemplate, Parameter, Template, TemplateElement};
use serde_json::Value;

use crate::core::{Interview, Interviewer, Owner, Step};
use crate::input::diagnostic::Diagnostic;
use crate::input::yaml::closest;
use crate::mail::render::{
    BODY_FIRST_LINE, RenderContext, RenderError, Templates, body_name, subject_name,
};

/// The checks `validate` makes of the templates against the records.
impl Templates {
    /// The names every template uses, in every branch and in the arguments of `#if`,
    /// `#unless`, `#each` and `#with`, checked against the names a record can have: errors for
    /// names no record can have (a misspelt guard), warnings for notes no record has yet.
    pub fn check_names(
        &self,
        records: &[Interview],
        owner: &Owner,
    ) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let (mut errors, mut warnings) = (Vec::new(), Vec::new());
        let notes: BTreeSet<&str> = records
            .iter()
            .flat_map(|iv| iv.notes.keys().map(String::as_str))
            .chain(CONVENTIONAL_NOTES)
            .collect();
        for &step in Step::ALL {
            let every = every_name(&notes, owner, step);
            let parts = [
                (
                    subject_name(step),
                    0,
                    self.subject_columns.get(&step).copied(),
                ),
                (body_name(step), BODY_FIRST_LINE - 1, None),
            ];
            for (name, line0, col0) in parts {
                let Some(template) = self.registry.get_template(&name) else {
                    continue;
                };
                for u in unknown_names(template, &every) {
                    let column = match col0 {
                        Some(c) if u.line == 1 => u.column + c,
                        _ => u.column,
                    };
                    let at = |message: String| {
                        Diagnostic::at(&self.file(step), u.line + line0, column, message)
                    };
                    match (&u.suggestion, u.note) {
                        (Some(meant), _) => errors.push(at(format!(
                            "`{}` is not a name a record can have: did you mean `{meant}`?",
                            u.name
                        ))),
                        (None, true) => warnings.push(at(format!(
                            "no record has a note `{}` yet: what it guards is left out until \
                             one does",
                            u.name
                        ))),
                        (None, false) => errors.push(at(format!(
                            "`{}` is not a name a record can have (the names are listed in the \
                             README, under Templates)",
                            u.name
                        ))),
                    }
                }
            }
        }
        errors.dedup();
        warnings.dedup();
        (errors, warnings)
    }

    /// Test-renders every step for every person the playbook can address it to, in every record,
    /// and returns every problem found.
    pub fn check(&self, records: &[Interview], owner: &Owner) -> Vec<Diagnostic> {
        // Rendering every step for every record is most of the time a large set of records
        // takes to load, and each render stands alone: the records are shared out among the
        // cores (a few hundred at least to a thread, so a small set stays on this one).
        let mut out =
            crate::parallel::map_chunks(records, 512, |part| self.check_part(part, owner));
        out.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
        out.dedup();
        out
    }

    /// [`Templates::check`] of some of the records, unsorted. A step whose templates depend
    /// only on the shape of the values is rendered once for each shape met, and its outcome
    /// given to every record of that shape: a large set of records is mostly alike.
    fn check_part(&self, records: &[Interview], owner: &Owner) -> Vec<Diagnostic> {
        let by_shape: BTreeSet<Step> = Step::ALL
            .iter()
            .copied()
            .filter(|&step| {
                [subject_name(step), body_name(step)].iter().all(|name| {
                    self.registry
                        .get_template(name)
                        .is_some_and(depends_only_on_shape)
                })
            })
            .collect();
        let mut outcomes: HashMap<ShapeOf, Option<RenderError>> = HashMap::new();
        let mut out = Vec::new();
        for iv in records {
            // One context for each person, moved from step to step.
            let mut contexts: Vec<(&Interviewer, RenderContext)> = Vec::new();
            for (step, person) in iv.pairings() {
                let ctx = match contexts.iter().position(|(p, _)| std::ptr::eq(*p, person)) {
                    Some(i) => {
                        contexts[i].1.set_step(iv, step);
                        &contexts[i].1
                    }
                    None => {
                        let ctx = RenderContext::new(iv, person, owner, step);
                        contexts.push((person, ctx));
                        &contexts[contexts.len() - 1].1
                    }
                };
                let mut key = Vec::new();
                let failed = if by_shape.contains(&step) && shape(ctx.data(), &mut key) {
                    outcomes
                        .entry((step, ctx.empty_required, key))
                        .or_insert_with(|| self.render(step, ctx).err())
                        .clone()
                        .map(|e| RenderError {
                            interview: iv.id.clone(),
                            ..e
                        })
                } else {
                    self.render(step, ctx).err()
                };
                if let Some(e) = failed {
                    let mut d = e.to_diagnostic();
                    d.message = format!("{} (record {})", d.message, iv.source.display());
                    out.push(d);
                }
            }
        }
        out
    }
}

/// What decides a render's outcome when its templates depend only on the shape of the
/// values: the step, the required value left empty, and the shape.
type ShapeOf = (Step, Option<&'static str>, Vec<u8>);

/// The notes the README suggests; a template may guard on them before any record has one.
pub const CONVENTIONAL_NOTES: [&str; 5] = ["highlight", "concern", "answer", "strength", "extra"];

/// The values of `step` for a record that has every optional value set, and every note of
/// `notes` (those the records or the convention name): the names a template may use. Built by
/// the same code that builds the real values, so the two cannot disagree.
fn every_name(notes: &BTreeSet<&str>, owner: &Owner, step: Step) -> Value {
    let person = Interviewer {
        name: "Jane Roe".into(),
        title: Some("Engineering Manager".into()),
        email: crate::core::EmailAddress::parse("jane@example.com").ok(),
        greeting: Some("Dear Ms. Roe".into()),
        primary: true,
    };
    let notes: BTreeMap<String, String> = notes
        .iter()
        .map(|n| (n.to_string(), "x".to_string()))
        .collect();
    let start = chrono::DateTime::UNIX_EPOCH;
    let iv = Interview {
        id: "every-name".into(),
        company: "Acme".into(),
        position: "Engineer".into(),
        local_start: start.naive_utc(),
        start,
        end: start,
        timezone: chrono_tz::UTC,
        interviewers: vec![person.clone()],
        decision_by: Some(start.date_naive()),
        status: crate::core::Status::Waiting,
        status_on: Some(start.date_naive()),
        notes,
        attachments: vec![PathBuf::from("cv.pdf")],
        domains: vec!["acme.example.com".into()],
        source: PathBuf::new(),
    };
    let mut owner = owner.clone();
    owner.phone = Some("+1 555 0100".into());
    owner.signature = Some("x".into());
    // The thank-you carries the attachments; every step may name `attachments`. The person's
    // address may have bounced.
    let bounced = crate::core::plan::Undeliverable {
        at: start,
        reason: "550 5.1.1".into(),
    };
    let mut data = RenderContext::new(&iv, &person, &owner, Step::ThankYou)
        .with_bounce(Some(&bounced))
        .data()
        .clone();
    data["step"] = step.as_str().into();
    data
}

/// A block opened and never closed (or closed by the wrong tag): where its tag starts in the
/// source (1-based line and column) and what to do.
pub fn unclosed_block(src: &str) -> Option<(usize, usize, String)> {
    let mut open: Vec<(String, String, usize, usize)> = Vec::new();
    let mut rest = src;
    let mut offset = 0;
    while let Some(i) = rest.find("{{") {
        let at = offset + i;
        let escaped = src[..at].ends_with('\\');
        let tag_start = at;
        let after = &src[at + 2..];
        // Comments may hold `}}`: `{{!-- ... --}}` ends at `--}}`.
        let (inner, len) = if after.starts_with("!--") {
            match after.find("--}}") {
                Some(end) => (None, 2 + end + 4),
                None => break,
            }
        } else {
            match after.find("}}") {
                Some(end) => (Some(&after[..end]), 2 + end + 2),
                None => break,
            }
        };
        offset = at + len;
        rest = &src[offset..];
        let Some(inner) = inner.filter(|_| !escaped) else {
            continue;
        };
        let tag = inner.trim_matches(|c: char| c == '~' || c == '{' || c.is_whitespace());
        let (line, column) = position(src, tag_start);
        if let Some(opened) = tag.strip_prefix('#').or_else(|| tag.strip_prefix('^')) {
            let opened = opened.trim_start_matches(['>', '*']).trim_start();
            let name = opened.split_whitespace().next().unwrap_or_default();
            if !name.is_empty() {
                open.push((name.to_string(), inner.trim().to_string(), line, column));
            }
        } else if let Some(closed) = tag.strip_prefix('/') {
            let name = closed.trim();
            match open.pop() {
                Some((opened, text, l, c)) if opened != name => {
                    return Some((
                        l,
                        c,
                        format!(
                            "`{{{{{text}}}}}` is closed by `{{{{/{name}}}}}` at line {line}: \
                             close it with `{{{{/{opened}}}}}` (blocks close in the reverse \
                             order they open)"
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    return Some((
                        line,
                        column,
                        format!(
                            "`{{{{/{name}}}}}` closes a block that was never opened: remove it, \
                             or open the block with `{{{{#{name} ...}}}}` before it"
                        ),
                    ));
                }
            }
        }
    }
    open.into_iter().next().map(|(name, text, line, column)| {
        (
            line,
            column,
            format!(
                "`{{{{{text}}}}}` is never closed: add `{{{{/{name}}}}}` where the text it \
                 guards ends"
            ),
        )
    })
}

fn position(src: &str, byte: usize) -> (usize, usize) {
    let before = &src[..byte];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// The helpers handlebars brings: their names are not values.
const BUILTIN_HELPERS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "log", "raw", "eq", "ne", "gt", "gte", "lt", "lte",
    "and", "or", "not", "len",
];

/// Whether what `template` renders to, and whether it fails, depends only on the shape of the
/// values (which are present, which are empty, how many items a list has, the keys of a map),
/// never on their text: its tags are plain values and `#if`, `#unless`, `#each`, `#with` on
/// plain values. Then two records of the same [`shape`] render alike, so `validate` need render
/// only one of each. A comparison (`eq`), `lookup`, a partial or a subexpression can tell texts
/// apart, and makes every record be rendered.
pub fn depends_only_on_shape(template: &Template) -> bool {
    template.elements.iter().all(|element| match element {
        TemplateElement::RawString(_) | TemplateElement::Comment(_) => true,
        TemplateElement::Expression(h) | TemplateElement::HtmlExpression(h) => {
            let plain = match &h.name {
                Parameter::Name(name) => !BUILTIN_HELPERS.contains(&name.as_str()),
                Parameter::Path(_) => true,
                _ => false,
            };
            plain && h.params.is_empty() && h.hash.is_empty() && h.template.is_none()
        }
        TemplateElement::HelperBlock(h) => {
            let structural = matches!(
                &h.name,
                Parameter::Name(name) if matches!(name.as_str(), "if" | "unless" | "each" | "with")
            );
            structural
                && h.hash.is_empty()
                && h.params.iter().all(|p| matches!(p, Parameter::Path(_)))
                && h.template.as_ref().is_none_or(depends_only_on_shape)
                && h.inverse.as_ref().is_none_or(depends_only_on_shape)
        }
        _ => false,
    })
}

/// The shape of `value` as [`depends_only_on_shape`] means it, written to `out`; `false` when
/// a text in it could change the outcome by itself: a brace, which could make a leftover
/// `{{` in the output. A text counts as empty (falsy), blank (truthy, renders as nothing
/// visible) or written; map keys are part of the shape, as `#each` over a map shows them.
pub fn shape(value: &Value, out: &mut Vec<u8>) -> bool {
    match value {
        Value::Null => out.push(b'n'),
        Value::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Number(n) => out.push(if n.as_f64() == Some(0.0) { b'0' } else { b'1' }),
        Value::String(text) => {
            if text.contains(['{', '}']) {
                return false;
            }
            out.push(if text.is_empty() {
                b'e'
            } else if text.chars().all(|c| c.is_whitespace() || c.is_control()) {
                b'b'
            } else {
                b's'
            });
        }
        Value::Array(items) => {
            out.push(b'[');
            for item in items {
                if !shape(item, out) {
                    return false;
                }
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (key, item) in map {
                out.extend_from_slice(&(key.len() as u64).to_le_bytes());
                out.extend_from_slice(key.as_bytes());
                if !shape(item, out) {
                    return false;
                }
            }
            out.push(b'}');
        }
    }
    true
}

/// A name a template uses that no record can have, at the line and column of its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    pub line: usize,
    pub column: usize,
    /// As written in the template.
    pub name: String,
    /// The closest name a record can have, when there is one near enough to be the meant one.
    pub suggestion: Option<String>,
    /// Under `notes`: a note no record has yet, which is not an error by itself.
    pub note: bool,
}

/// Every name in `template` that `every_name` (the values of a record that has every optional
/// value set, as templates see them) does not have. Helpers' arguments and every branch are
/// checked, as strict rendering does not.
pub fn unknown_names(template: &Template, every_name: &Value) -> Vec<UnknownName> {
    let mut found = Vec::new();
    let scope = Scope {
        stack: vec![every_name.clone()],
        locals: Vec::new(),
    };
    walk(template, &scope, every_name, &mut found);
    found
}

/// Where names are looked up: the values of each enclosing `#each`/`#with`, innermost last,
/// and the block parameters (`as |person|`) in force.
#[derive(Clone)]
struct Scope {
    stack: Vec<Value>,
    locals: Vec<String>,
}

fn walk(template: &Template, scope: &Scope, root: &Value, found: &mut Vec<UnknownName>) {
    for (i, element) in template.elements.iter().enumerate() {
        let (line, column) = template.mapping.get(i).map_or((1, 1), |m| (m.0, m.1));
        let helper = match element {
            TemplateElement::Expression(h)
            | TemplateElement::HtmlExpression(h)
            | TemplateElement::HelperBlock(h) => h,
            _ => continue,
        };
        check_helper(helper, scope, root, (line, column), found);
    }
}

fn check_helper(
    h: &HelperTemplate,
    scope: &Scope,
    root: &Value,
    at: (usize, usize),
    found: &mut Vec<UnknownName>,
) {
    let mut raws: Vec<String> = Vec::new();
    let helper_name = match &h.name {
        // `{{company}}`: a bare word is a helper's name or a value's.
        Parameter::Name(name)
            if h.params.is_empty() && !h.block && !BUILTIN_HELPERS.contains(&name.as_str()) =>
        {
            raws.push(name.clone());
            None
        }
        Parameter::Name(name) => Some(name.as_str()),
        // `{{interviewer.name}}`: the name itself is a path.
        Parameter::Path(path) => {
            raws.push(path_text(path));
            None
        }
        _ => None,
    };
    for p in &h.params {
        if let Parameter::Path(path) = p {
            raws.push(path_text(path));
        }
    }
    for raw in raws {
        if let Some(unknown) = look_up(&raw, scope, root) {
            found.push(UnknownName {
                line: at.0,
                column: at.1,
                ..unknown
            });
        }
    }
    let mut inner = scope.clone();
    if let Some(block_param) = &h.block_param {
        let names = match block_param {
            BlockParam::Single(p) => vec![p],
            BlockParam::Pair((a, b)) => vec![a, b],
            _ => Vec::new(),
        };
        for p in names {
            if let Parameter::Name(n) = p {
                inner.locals.push(n.clone());
            }
        }
    }
    if let (Some("each" | "with"), Some(Parameter::Path(path))) = (helper_name, h.params.first()) {
        let value = resolve(&path_text(path), scope, root).unwrap_or(Value::Null);
        let item = match (helper_name, value) {
            (Some("each"), Value::Array(items)) => items.into_iter().next().unwrap_or(Value::Null),
            (Some("each"), Value::Object(map)) => {
                map.into_iter().next().map_or(Value::Null, |(_, v)| v)
            }
            (_, other) => other,
        };
        inner.stack.push(item);
    }
    if let Some(t) = &h.template {
        walk(t, &inner, root, found);
    }
    if let Some(t) = &h.inverse {
        walk(t, scope, root, found);
    }
}

fn path_text(path: &handlebars::Path) -> String {
    match path {
        handlebars::Path::Relative((_, raw)) => raw.clone(),
        handlebars::Path::Local((_, _, raw)) => raw.clone(),
    }
}

/// The value `raw` names in `scope`, if a record can have it.
fn resolve(raw: &str, scope: &Scope, root: &Value) -> Option<Value> {
    let (base, segments) = split(raw, scope, root)?;
    let mut value = base;
    for seg in segments {
        value = match value {
            Value::Object(map) => map.get(&seg)?.clone(),
            Value::Array(items) => items.into_iter().next()?,
            _ => return None,
        };
    }
    Some(value)
}

/// Where `raw` starts (the scope `../` and `@root` lead to) and its segments; `None` for names
/// that are not looked up in the data (`@index`, block parameters, literal segments).
fn split(raw: &str, scope: &Scope, root: &Value) -> Option<(Value, Vec<String>)> {
    if raw.starts_with('@') && !raw.starts_with("@root") || raw.contains('[') {
        return None;
    }
    let mut rest = raw;
    let mut depth = scope.stack.len() - 1;
    let base = if let Some(r) = rest.strip_prefix("@root") {
        rest = r.trim_start_matches(['.', '/']);
        root.clone()
    } else {
        while let Some(r) = rest.strip_prefix("../") {
            rest = r;
            depth = depth.saturating_sub(1);
        }
        rest = rest
            .strip_prefix("this")
            .map_or(rest, |r| r.trim_start_matches(['.', '/']));
        rest = rest.strip_prefix("./").unwrap_or(rest);
        scope.stack[depth].clone()
    };
    let segments: Vec<String> = rest
        .split(['.', '/'])
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if segments
        .first()
        .is_some_and(|first| scope.locals.contains(first))
    {
        return None;
    }
    Some((base, segments))
}

/// `None` when `raw` is a name a record can have (or one this check does not look up).
fn look_up(raw: &str, scope: &Scope, root: &Value) -> Option<UnknownName> {
    let (base, segments) = split(raw, scope, root)?;
    let mut value = base;
    let mut known: Vec<&str> = Vec::new();
    for (i, seg) in segments.iter().enumerate() {
        let next = match &value {
            Value::Object(map) => map.get(seg).cloned(),
            Value::Array(items) => items.first().cloned(),
            Value::Null => return None,
            _ => None,
        };
        match next {
            Some(v) => {
                known.push(seg);
                value = v;
            }
            None => {
                let names: Vec<String> = match &value {
                    Value::Object(map) => map.keys().cloned().collect(),
                    _ => Vec::new(),
                };
                let prefix = raw
                    .rsplit_once(seg.as_str())
                    .map_or(String::new(), |(p, _)| p.to_string());
                let suggestion = closest(seg, names.iter().map(String::as_str))
                    .map(|best| format!("{prefix}{best}"));
                let note = i == 1 && known == ["notes"];
                return Some(UnknownName {
                    line: 0,
                    column: 0,
                    name: raw.to_string(),
                    suggestion,
                    note,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(src: &str) -> Vec<UnknownName> {
        let every = json!({
            "company": "Acme",
            "notes": {"highlight": "x", "concern": "y"},
            "interviewer": {"name": "Jane", "title": "CTO"},
            "interviewers": [{"name": "Jane", "title": "CTO"}],
        });
        unknown_names(&Template::compile(src).unwrap(), &every)
    }

    #[test]
    fn a_misspelt_guard_is_found_with_the_meant_name() {
        let found = names("Hi\n{{#if notes.higlight}}We talked about it.{{/if}}\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].line, found[0].column), (2, 1));
        assert_eq!(found[0].suggestion.as_deref(), Some("notes.highlight"));
        assert!(found[0].note);
    }

    #[test]
    fn names_inside_each_are_the_items_and_branches_are_all_checked() {
        assert!(
            names("{{#each interviewers}}{{name}} {{#if title}}({{title}}){{/if}}{{/each}}")
                .is_empty()
        );
        assert!(
            names("{{#each interviewers as |p|}}{{p.name}} {{../company}}{{@index}}{{/each}}")
                .is_empty()
        );
        let found = names("{{#unless company}}{{#if interviewer.titel}}x{{/if}}{{/unless}}");
        assert_eq!(found[0].suggestion.as_deref(), Some("interviewer.title"));
        assert!(!found[0].note);
        let found = names("{{#each interviewers}}{{nmae}}{{/each}}");
        assert_eq!(found[0].suggestion.as_deref(), Some("name"));
    }

    #[test]
    fn an_unclosed_block_is_found_at_its_opening_tag() {
        let (line, column, message) =
            unclosed_block("Dear x,\n\n{{#if notes.x}}\nunclosed\n").unwrap();
        assert_eq!((line, column), (3, 1));
        assert!(
            message.contains("`{{#if notes.x}}` is never closed: add `{{/if}}`"),
            "{message}"
        );
        let (line, _, message) = unclosed_block("{{#each a}}\n{{#if b}}x{{/each}}").unwrap();
        assert_eq!(line, 2);
        assert!(message.contains("close it with `{{/if}}`"), "{message}");
        assert!(unclosed_block("{{!-- {{#if x}} --}}\\{{#if y}} {{#if z}}{{/if}}").is_none());
    }
}

/// The checks of the templates against the records.
#[cfg(test)]
mod checks_against_records {
    use super::*;
    use crate::mail::render::tests::{bare, full, one, owner};

    #[test]
    fn the_builtin_templates_use_only_names_a_record_can_have() {
        let (errors, warnings) = Templates::builtin().check_names(&[bare()], &owner());
        assert!(
            errors.is_empty() && warnings.is_empty(),
            "{errors:?} {warnings:?}"
        );
    }

    #[test]
    fn a_misspelt_guard_is_an_error_at_its_line_and_an_unknown_note_a_warning() {
        let t = one("Subject: Hi\n\nDear {{interviewer.name}},\n{{#if notes.higlight}}x{{/if}}\n")
            .unwrap();
        let (errors, _) = t.check_names(&[bare()], &owner());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].line, Some(4));
        assert!(
            errors[0]
                .message
                .contains("did you mean `notes.highlight`?"),
            "{}",
            errors[0]
        );
        let t = one("Subject: Hi {{#if notes.referral}}x{{/if}}\n\nDear {{interviewer.name}}\n")
            .unwrap();
        let (errors, warnings) = t.check_names(&[bare()], &owner());
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((warnings[0].line, warnings[0].column), (Some(1), Some(13)));
    }

    fn copies(iv: &Interview, count: usize) -> Vec<Interview> {
        (0..count)
            .map(|i| Interview {
                id: format!("{}-{i}", iv.id),
                company: format!("Company {i}"),
                source: PathBuf::from(format!("iv{i}.yaml")),
                ..iv.clone()
            })
            .collect()
    }

    #[test]
    fn check_reports_a_failure_for_every_record_of_the_same_shape() {
        let t = one("Subject: Hi\n\nDear {{interviewer.name}}, {{interviewer.title}}\n").unwrap();
        let records = copies(&bare(), 3);
        let found = t.check(&records, &owner());
        // Each record's thank-you to its untitled interviewer fails, named with its record.
        for r in &records {
            assert!(
                found.iter().any(|d| d
                    .message
                    .contains(&format!("record {}", r.source.display()))),
                "{} not reported: {found:?}",
                r.id
            );
        }
    }

    #[test]
    fn check_renders_each_record_whose_text_could_change_the_outcome() {
        // A brace in one record's note makes a leftover there, and only there.
        let mut records = copies(&full(), 3);
        records[1]
            .notes
            .insert("highlight".into(), "the {{team}} offsite".into());
        let found = Templates::builtin().check(&records, &owner());
        assert!(!found.is_empty(), "the brace went unseen");
        assert!(
            found.iter().all(|d| d.message.contains("record iv1.yaml")),
            "{found:?}"
        );
        // A comparison tells texts apart: only the record it picks out fails.
        let t = one("Subject: Hi\n\nDear {{interviewer.name}}\n\
             {{#if (eq company \"Company 2\")}}{{interviewer.title}}{{/if}}\n")
        .unwrap();
        let found = t.check(&copies(&bare(), 3), &owner());
        assert!(!found.is_empty(), "the comparison went unseen");
        assert!(
            found.iter().all(|d| d.message.contains("record iv2.yaml")),
            "{found:?}"
        );
    }

    #[test]
    fn check_covers_every_pairing_the_playbook_makes() {
        let iv = bare();
        let pairs: Vec<_> = iv
            .pairings()
            .into_iter()
            .map(|(s, p)| (s, p.name.clone()))
            .collect();
        assert_eq!(pairs.len(), 2 + 5);
        assert!(pairs.contains(&(Step::ThankYou, "Sam Lee".into())));
        assert!(pairs.contains(&(Step::FinalCheck, "Jane Doe".into())));
    }
}
