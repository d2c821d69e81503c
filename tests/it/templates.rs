//! Template mistakes strict rendering cannot catch, caught by `validate` with file and line.

use crate::support::world::World;

/// A home with Globex and `thank_you.hbs` in its templates directory.
fn with_thank_you(template: &str) -> World {
    let w = World::empty()
        .with_globex()
        .configure(|c| c.extra.push_str("templates: templates\n"));
    w.write_file("templates/thank_you.hbs", template.as_bytes());
    w
}

#[test]
fn an_unclosed_if_is_reported_at_its_opening_tag_saying_what_is_missing() {
    let w = with_thank_you(
        "Subject: Thank you\n\nDear {{interviewer.name}},\n\n{{#if notes.highlight}}\n\
         I enjoyed our talk.\n\nBest regards,\n{{me.name}}\n",
    );
    let err = w.run(&["validate"]).exit(1).stderr;
    assert!(
        err.contains("thank_you.hbs:5:1: `{{#if notes.highlight}}` is never closed: add `{{/if}}`"),
        "{err}"
    );
    assert!(!err.contains("expected"), "no parser grammar: {err}");
}

#[test]
fn a_misspelt_guard_is_a_validate_error_with_file_and_line() {
    let w = with_thank_you(
        "Subject: Thank you\n\nDear {{interviewer.name}},\n\
         {{#if notes.higlight}}We talked about {{notes.highlight}}.{{/if}}\n",
    );
    let err = w.run(&["validate"]).exit(1).stderr;
    assert!(
        err.contains("thank_you.hbs:4:1: `notes.higlight` is not a name a record can have: did you mean `notes.highlight`?"),
        "{err}"
    );
    let w = with_thank_you(
        "Subject: Thank you\n\nDear {{interviewer.name}},\n\
         {{#each interviewers}}{{#if titel}}{{title}}{{/if}}{{/each}}\n",
    );
    let err = w.run(&["validate"]).exit(1).stderr;
    assert!(err.contains("did you mean `title`?"), "{err}");
}

#[test]
fn a_guard_on_a_note_no_record_has_yet_is_a_warning() {
    let w = with_thank_you(
        "Subject: Thank you\n\nDear {{interviewer.name}},\n\
         {{#if notes.referral}}Thanks to {{notes.referral}} for the introduction.{{/if}}\n",
    );
    let out = w.ok(&["validate"]);
    assert!(
        out.stderr.contains("warning: ")
            && out
                .stderr
                .contains("thank_you.hbs:4:1: no record has a note `notes.referral` yet"),
        "{}",
        out.stderr
    );
}
