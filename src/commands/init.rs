use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};

use crate::input::config;
use crate::mail::render::BUILTIN;
use crate::outln;

/// The starter config: right where it is written (state in the XDG directory, the password as a
/// systemd credential or a file only the user reads), with comments that say what to change.
const STARTER_CONFIG: &str = include_str!("starter/followup.yaml");
/// An example record, dated next week so that `plan` shows a timeline with nothing due yet.
const STARTER_INTERVIEW: &str = include_str!("starter/interview.yaml");

/// Writes a starter set of files, or nothing at all when any of them already exists: into
/// `dir`, else beside the config `--config` or `$FOLLOWUP_CONFIG` names, else the XDG default.
pub fn run(dir: Option<PathBuf>, config: Option<&Path>) -> Result<()> {
    let env = |name: &str| std::env::var_os(name);
    let config_file = match (dir, config) {
        (Some(_), Some(_)) => bail!("give either a directory or --config, not both"),
        (Some(dir), None) => dir.join("followup.yaml"),
        (None, Some(path)) => path.to_path_buf(),
        (None, None) => match env("FOLLOWUP_CONFIG").filter(|v| !v.is_empty()) {
            Some(path) => PathBuf::from(path),
            None => config::default_location(&env)?.0,
        },
    };
    let dir = config_file
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let (config_text, interview) = starter(Utc::now().date_naive());
    let mut files: Vec<(PathBuf, String)> = vec![
        (config_file, config_text),
        (dir.join("interviews/example.yaml"), interview),
    ];
    for (step, text) in BUILTIN {
        files.push((dir.join(format!("templates/{step}.hbs")), text.to_string()));
    }
    let existing: Vec<_> = files
        .iter()
        .filter(|(path, _)| path.exists())
        .map(|(path, _)| path.display().to_string())
        .collect();
    if !existing.is_empty() {
        bail!(
            "refusing to overwrite existing files (move them away or pick another directory):\n  {}",
            existing.join("\n  ")
        );
    }
    for (path, text) in &files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        write_new(path, text).with_context(|| format!("cannot write {}", path.display()))?;
        outln!("wrote {}", path.display())?;
    }
    create_state_dirs(&files[0].0)?;
    let config = files[0].0.display();
    // Where every command looks by default, the command needs no --config.
    let found = config::locate_with(None, &env).is_ok_and(|p| p == files[0].0);
    let check = if found {
        "followup validate".to_string()
    } else {
        format!("followup --config {config} validate")
    };
    outln!(
        "\nNext: edit {config}: your name and address, your time zone, your mail server and \
         where its password is (the lines marked CHANGE); then check it all with\n  {check}"
    )?;
    Ok(())
}

/// The starter config and example record as of `today`: the example interview next Tuesday
/// afternoon, the holidays the next Christmas and New Year's Day.
fn starter(today: NaiveDate) -> (String, String) {
    let mut start = today + Days::new(7);
    while start.weekday() != Weekday::Tue {
        start = start + Days::new(1);
    }
    let christmas = NaiveDate::from_ymd_opt(today.year(), 12, 25)
        .filter(|d| *d >= today)
        .or_else(|| NaiveDate::from_ymd_opt(today.year() + 1, 12, 25))
        .unwrap_or(today);
    let new_year = NaiveDate::from_ymd_opt(christmas.year() + 1, 1, 1).unwrap_or(today);
    let config = STARTER_CONFIG
        .replace("CHRISTMAS", &christmas.to_string())
        .replace("NEW_YEAR", &new_year.to_string());
    let interview = STARTER_INTERVIEW
        .replace("START", &format!("{start} 14:00"))
        .replace("DECISION", &(start + Days::new(10)).to_string());
    (config, interview)
}

/// The state directory and the approval queue's folders the new config names, private to the
/// user, so that the queue is there to look at (and share) before the daemon first runs.
fn create_state_dirs(config_path: &Path) -> Result<()> {
    let Ok(config) = config::load_config(config_path) else {
        return Ok(()); // `validate` will say what is wrong with it.
    };
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&config.state_dir)
        .with_context(|| format!("cannot create {}", config.state_dir.display()))?;
    crate::delivery::queue::QueueDir::open(&config.queue_dir)?;
    outln!(
        "created {} and {}",
        config.state_dir.display(),
        config.queue_dir.display()
    )?;
    Ok(())
}

/// Creates `path`, failing if it appeared in the meantime.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(text.as_bytes())
}
