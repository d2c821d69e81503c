//! `followup mark INTERVIEW STATUS`: record what happened, as a targeted edit of the record's
//! own file, so a phone-over-SSH user needs one command and the file keeps its comments.

use anyhow::{Context, Result, bail};
use chrono::{NaiveDate, Utc};

use crate::core::{Interview, Status, plan};
use crate::fsutil;
use crate::input::edit::set_value;
use crate::input::records::parse_interviews;
use crate::input::yaml::Seg;
use crate::outln;
use crate::workspace::Workspace;

pub fn run(
    ws: &Workspace,
    id: &str,
    status: &str,
    on: Option<&str>,
    decision_by: Option<&str>,
) -> Result<()> {
    let Some(iv) = ws.interview(id) else {
        let ids: Vec<&str> = ws.interviews.iter().map(|iv| iv.id.as_str()).collect();
        bail!(
            "no interview `{id}` in the records ({}); `followup validate` shows any record that \
             did not load",
            if ids.is_empty() {
                "there are none".to_string()
            } else {
                format!("they are: {}", ids.join(", "))
            }
        );
    };
    let status: Status = status.parse().map_err(anyhow::Error::msg)?;
    let today = Utc::now().with_timezone(&iv.timezone).date_naive();
    let on = match on {
        Some(text) => date(text, "--on")?,
        None => today,
    };
    if on > today {
        bail!("--on {on} is in the future: give the day it happened");
    }
    let decision = decision_by.map(|d| date(d, "--decision-by")).transpose()?;
    if decision.is_some() && !matches!(status, Status::Replied | Status::Waiting) {
        bail!(
            "--decision-by goes with `replied` (they gave a new date) or `waiting`, not with `{}`",
            status.as_str()
        );
    }

    let path = &iv.source;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let base = place_in_file(&text, iv, ws)?;
    let mut edited = set_value(&text, &base, "status", status.as_str(), "start")?;
    edited = set_value(&edited, &base, "status_on", &on.to_string(), "status")?;
    if let Some(d) = decision {
        edited = set_value(&edited, &base, "decision_by", &d.to_string(), "status_on")?;
    }
    let changed = check(ws, iv, &edited, status, on, decision)?;
    fsutil::replace_keeping_mode(path, edited.as_bytes())?;

    let decided = decision
        .map(|d| format!(", decision by {d}"))
        .unwrap_or_default();
    outln!(
        "{id}: {} on {on}{decided}, in {}",
        status.as_str(),
        path.display()
    )?;
    outln!("{}", effect(ws, &changed))?;
    Ok(())
}

fn date(text: &str, flag: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .with_context(|| format!("{flag} `{text}` is not a date: write it like 2026-12-05"))
}

/// Where the record is in its file: the whole document, or one item of a list.
fn place_in_file(text: &str, iv: &Interview, ws: &Workspace) -> Result<Vec<Seg<'static>>> {
    let root: serde_yaml::Value = serde_yaml::from_str(text)
        .with_context(|| format!("{} no longer parses", iv.source.display()))?;
    if !root.is_sequence() {
        return Ok(Vec::new());
    }
    let all = parse_interviews(text, &iv.source, ws.config.timezone)
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let index = all
        .iter()
        .position(|other| other.id == iv.id)
        .with_context(|| format!("`{}` is no longer in {}", iv.id, iv.source.display()))?;
    Ok(vec![Seg::Index(index)])
}

/// The edited file, read back by the record loader and test-rendered by the templates, before
/// a byte of it is written: the interview as it now reads.
fn check(
    ws: &Workspace,
    iv: &Interview,
    edited: &str,
    status: Status,
    on: NaiveDate,
    decision: Option<NaiveDate>,
) -> Result<Interview> {
    let all = parse_interviews(edited, &iv.source, ws.config.timezone).map_err(|d| {
        anyhow::anyhow!("the edit would break the record, so nothing was written:\n{d}")
    })?;
    let changed = all
        .into_iter()
        .find(|other| other.id == iv.id)
        .with_context(|| format!("the edit lost `{}`; nothing was written", iv.id))?;
    let as_meant = changed.status == status
        && changed.status_on == Some(on)
        && decision.is_none_or(|d| changed.decision_by == Some(d));
    if !as_meant {
        bail!(
            "the edit of {} did not read back as meant; nothing was written: edit it by hand",
            iv.source.display()
        );
    }
    let problems = ws
        .templates
        .check(std::slice::from_ref(&changed), &ws.config.owner);
    if let Some(first) = problems.first() {
        bail!("with this change a template fails, so nothing was written:\n{first}");
    }
    Ok(changed)
}

/// What the change means for the plan: the next follow-up of this interview, or that nothing
/// more goes out.
pub(super) fn effect(ws: &Workspace, changed: &Interview) -> String {
    let mut records: Vec<Interview> = ws
        .interviews
        .iter()
        .filter(|other| other.id != changed.id)
        .cloned()
        .collect();
    records.push(changed.clone());
    let history = super::plan::saved_history(ws).unwrap_or_default();
    let c = &ws.config;
    let actions = plan(&records, &history, &c.policy, &c.owner, Utc::now());
    let withdrawn: Vec<String> = actions
        .iter()
        .filter(|a| {
            a.key.interview == changed.id
                && a.state == crate::core::ActionState::Cancelled
                && history
                    .sends
                    .get(&a.key)
                    .is_some_and(|past| past.state.is_withdrawable())
        })
        .map(|a| {
            format!(
                "Withdrawn: {} to {} ({}).\n",
                a.key.step, a.recipient_name, a.reason
            )
        })
        .collect();
    format!("{}{}", withdrawn.concat(), next_of(&actions, changed))
}

/// The next follow-up of the interview, or why nothing more goes out.
fn next_of(actions: &[crate::core::Action], changed: &Interview) -> String {
    let next = actions
        .iter()
        .find(|a| a.key.interview == changed.id && a.state.is_pending());
    match next {
        Some(a) => format!(
            "Next: {} to {}, {} ({})",
            a.key.step,
            a.recipient_name,
            crate::core::calendar::human(a.due, a.timezone),
            a.reason
        ),
        None => {
            let why = actions
                .iter()
                .find(|a| {
                    a.key.interview == changed.id && a.state == crate::core::ActionState::Cancelled
                })
                .map(|a| a.reason.to_string())
                .unwrap_or_else(|| "nothing more is due".to_string());
            format!("Nothing more goes out for it: {why}.")
        }
    }
}
