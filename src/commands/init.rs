use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::input::config;
use crate::mail::render::BUILTIN;
use crate::outln;

/// The shipped example config, which doubles as the commented starter.
const STARTER_CONFIG: &str = include_str!("../../config/followup.yaml");
const STARTER_INTERVIEW: &str = include_str!("../../config/interviews/globex-panel.yaml");

/// Writes a starter set of files, or nothing at all when any of them already exists.
pub fn run(dir: Option<PathBuf>) -> Result<()> {
    let dir = match dir {
        Some(dir) => dir,
        None => {
            let env = |name: &str| std::env::var_os(name);
            let (path, _) = config::default_location(&env)?;
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        }
    };
    let config = STARTER_CONFIG.replace("# templates: templates", "templates: templates");
    let mut files: Vec<(PathBuf, String)> = vec![
        (dir.join("followup.yaml"), config),
        (
            dir.join("interviews/example.yaml"),
            STARTER_INTERVIEW.to_string(),
        ),
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
    outln!(
        "\nNext: edit {} (your name, address, time zone), then `followup --config {} validate`.",
        files[0].0.display(),
        files[0].0.display()
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
