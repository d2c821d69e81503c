//! Targeted edits of a record file: one `key: value` line changed or added, every other byte
//! (comments, layout, other records in the same file) left as the user wrote it.

use crate::input::yaml::{self, Seg};

/// Why a value cannot be set in place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error(
        "line {line}: `{key}` is not a plain value on one line, so it cannot be changed in \
         place; edit it by hand"
    )]
    NotPlain { line: usize, key: String },
    #[error("cannot find where to add `{key}`: the record has no `{anchor}` line")]
    NoAnchor { key: String, anchor: String },
}

/// `text` with `key` of the mapping at `base` set to `value` (already YAML, such as
/// `replied` or `2026-12-05`). An existing value is replaced where it stands, keeping its
/// comment; a missing key is added on a line of its own after `after`'s line (and the comment
/// lines that continue it), indented as that key is.
pub fn set_value(
    text: &str,
    base: &[Seg],
    key: &str,
    value: &str,
    after: &str,
) -> Result<String, EditError> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = |k: &str| {
        let path: Vec<Seg> = base.iter().copied().chain([Seg::Key(k)]).collect();
        yaml::locate(text, &path)
    };
    if let Some((line, column)) = at(key) {
        let current = lines.get(line - 1).copied().unwrap_or_default();
        let start = byte_of_column(current, column);
        let before = &current[..start];
        if !before.trim_end().ends_with(&format!("{key}:")) {
            return Err(EditError::NotPlain {
                line,
                key: key.to_string(),
            });
        }
        let end = start
            + value_len(&current[start..]).ok_or_else(|| EditError::NotPlain {
                line,
                key: key.to_string(),
            })?;
        let edited = format!("{}{value}{}", &current[..start], &current[end..]);
        return Ok(replace_line(&lines, line - 1, &edited));
    }
    let Some((line, column)) = at(after) else {
        return Err(EditError::NoAnchor {
            key: key.to_string(),
            anchor: after.to_string(),
        });
    };
    let anchor = lines.get(line - 1).copied().unwrap_or_default();
    let value_start = byte_of_column(anchor, column);
    let indent = anchor[..value_start]
        .rfind(&format!("{after}:"))
        .map_or(0, |i| anchor[..i].chars().count());
    // Comment lines right below, indented past the key, belong to the anchor's line.
    let mut insert_at = line;
    while let Some(next) = lines.get(insert_at) {
        let trimmed = next.trim_start();
        let deeper = next.len() - trimmed.len() > indent;
        if trimmed.starts_with('#') && deeper {
            insert_at += 1;
        } else {
            break;
        }
    }
    let mut out: String = lines[..insert_at].concat();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("{}{key}: {value}\n", " ".repeat(indent)));
    out.push_str(&lines[insert_at..].concat());
    Ok(out)
}

/// The byte index of a 1-based character column.
fn byte_of_column(line: &str, column: usize) -> usize {
    line.char_indices()
        .nth(column.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i)
}

/// How long the scalar at the start of `rest` is: a quoted one to its closing quote, a plain
/// one up to a comment or the end of the line. `None` for what is not a one-line scalar.
fn value_len(rest: &str) -> Option<usize> {
    let line = rest.trim_end_matches(['\n', '\r']);
    match line.chars().next()? {
        '|' | '>' | '[' | '{' | '&' | '*' | '!' => None,
        quote @ ('"' | '\'') => {
            let mut escaped = false;
            for (i, c) in line.char_indices().skip(1) {
                match c {
                    '\\' if quote == '"' && !escaped => escaped = true,
                    c if c == quote && !escaped => return Some(i + 1),
                    _ => escaped = false,
                }
            }
            None
        }
        _ => {
            let end = line.find(" #").unwrap_or(line.len());
            Some(line[..end].trim_end().len())
        }
    }
}

fn replace_line(lines: &[&str], index: usize, with: &str) -> String {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out.push_str(if i == index { with } else { line });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = "\
# Globex, the panel
company: Globex
start: 2026-12-01 14:00   # local time
interviewers:
  - name: Jane Roe
status: waiting                   # waiting | replied
                                  # (a comment that goes on)
notes:
  highlight: billing
";

    #[test]
    fn an_existing_value_is_replaced_in_place_keeping_its_comment() {
        let out = set_value(RECORD, &[], "status", "replied", "start").unwrap();
        assert_eq!(
            out,
            RECORD.replace(
                "status: waiting                   # waiting",
                "status: replied                   # waiting"
            )
        );
    }

    #[test]
    fn a_missing_key_is_added_after_its_anchor_and_its_comment_lines() {
        let out = set_value(RECORD, &[], "status_on", "2026-12-05", "status").unwrap();
        assert!(
            out.contains("# (a comment that goes on)\nstatus_on: 2026-12-05\nnotes:"),
            "{out}"
        );
        assert_eq!(out.len(), RECORD.len() + "status_on: 2026-12-05\n".len());
    }

    #[test]
    fn records_in_a_list_are_edited_each_in_its_own_mapping() {
        let list = "- id: a\n  company: A\n  start: 2026-12-01 14:00\n- id: b\n  company: B\n  \
                    start: 2026-12-02 14:00\n  status: \"waiting\"\n";
        let out = set_value(list, &[Seg::Index(1)], "status", "offer", "start").unwrap();
        assert!(out.ends_with("  status: offer\n"), "{out}");
        let out = set_value(list, &[Seg::Index(0)], "status", "rejected", "start").unwrap();
        assert!(
            out.contains("  start: 2026-12-01 14:00\n  status: rejected\n- id: b"),
            "{out}"
        );
    }

    #[test]
    fn a_value_that_is_not_one_plain_line_is_left_alone() {
        let text = "company: Globex\nstart: 2026-12-01 14:00\nstatus: |\n  replied\n";
        let e = set_value(text, &[], "status", "offer", "start").unwrap_err();
        assert!(matches!(e, EditError::NotPlain { line: 3, .. }), "{e}");
    }
}
