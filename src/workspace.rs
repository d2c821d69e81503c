//! Everything the user wrote, loaded and checked together: config, records and templates. Above
//! both `input` (which reads them) and `mail` (whose templates it loads), so neither imports the other.

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::core::Interview;
use crate::core::calendar::resolve_lenient;
use crate::input::config::{Config, load_config};
use crate::input::diagnostic::{Diagnostic, Diagnostics};
use crate::input::records::{load_interviews, load_interviews_and_warnings};
use crate::mail::render::Templates;

/// A consistent set of the user's files: nothing in it failed to validate.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub config: Config,
    pub interviews: Vec<Interview>,
    pub templates: Templates,
    /// What is worth knowing but not wrong (a note no record has yet, a primary interviewer
    /// without an address): `validate` shows them.
    pub warnings: Vec<Diagnostic>,
}

impl Workspace {
    /// Loads the config, every record and the templates, and test-renders every template
    /// against every record; returns every problem found, not just the first.
    pub fn load(config_path: &Path) -> Result<Self, Diagnostics> {
        let config = load_config(config_path)?;
        let (interviews, mut problems, mut warnings) =
            load_interviews_and_warnings(&config.interviews, config.timezone);
        let templates = match Templates::load(config.templates.as_deref()) {
            Ok(templates) => Some(templates),
            Err(Diagnostics(found)) => {
                problems.extend(found);
                None
            }
        };
        if let Some(templates) = &templates {
            problems.extend(templates.check(&interviews, &config.owner));
            let (errors, notes) = templates.check_names(&interviews, &config.owner);
            problems.extend(errors);
            warnings.extend(notes);
        }
        match templates {
            Some(templates) if problems.is_empty() => Ok(Self {
                config,
                interviews,
                templates,
                warnings,
            }),
            _ => Err(Diagnostics(problems)),
        }
    }

    /// Loads what can be loaded, for commands that must work while a record is broken
    /// (`status`, `queue`, `state`): a broken config is still an error, but broken records and
    /// templates are returned as warnings and left out.
    pub fn load_lenient(config_path: &Path) -> Result<(Self, Vec<Diagnostic>), Diagnostics> {
        let config = load_config(config_path)?;
        let (interviews, mut problems) = load_interviews(&config.interviews, config.timezone);
        let templates = Templates::load(config.templates.as_deref()).unwrap_or_else(|d| {
            problems.extend(d.0);
            Templates::builtin()
        });
        Ok((
            Self {
                config,
                interviews,
                templates,
                warnings: Vec::new(),
            },
            problems,
        ))
    }

    pub fn interview(&self, id: &str) -> Option<&Interview> {
        self.interviews.iter().find(|iv| iv.id == id)
    }
}

/// Reads an instant given on the command line: RFC 3339, or `YYYY-MM-DD[ HH:MM]` in `tz`.
pub fn parse_instant(text: &str, tz: chrono_tz::Tz) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(t) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(t, format) {
            return Ok(resolve_lenient(local, tz));
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Ok(resolve_lenient(date.and_time(chrono::NaiveTime::MIN), tz));
    }
    Err(format!(
        "`{text}` is not a time; write RFC 3339 (2026-11-03T09:00:00Z) or `2026-11-03 09:00` (in {tz})"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_parse_as_rfc3339_or_local_dates() {
        let ny = chrono_tz::America::New_York;
        let want = Utc.with_ymd_and_hms(2026, 11, 3, 14, 0, 0).unwrap();
        assert_eq!(parse_instant("2026-11-03T14:00:00Z", ny).unwrap(), want);
        assert_eq!(parse_instant("2026-11-03 09:00", ny).unwrap(), want);
        assert_eq!(
            parse_instant("2026-11-03", ny).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 3, 5, 0, 0).unwrap()
        );
        assert!(parse_instant("next tuesday", ny).is_err());
    }
}
