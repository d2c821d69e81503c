use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};

use std::io::{BufRead, IsTerminal, Write};

use crate::core::EmailAddress;
use crate::input::config;
use crate::input::providers::{self, Provider, Secret};
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
    let (mut config_text, interview) = starter(Utc::now().date_naive());
    if std::io::stdin().is_terminal()
        && let Some(address) = ask_address()?
    {
        config_text = for_address(&config_text, &address);
    }
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

/// Asks for the user's address on the terminal; `None` when they press Enter. An answer that is
/// not an address is asked again, twice at most.
fn ask_address() -> Result<Option<EmailAddress>> {
    let stdin = std::io::stdin();
    for _ in 0..3 {
        eprint!("Your email address (Enter to fill it in later): ");
        std::io::stderr().flush()?;
        let mut line = String::new();
        if stdin.lock().read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim();
        if line.is_empty() {
            return Ok(None);
        }
        match EmailAddress::parse(line) {
            Ok(address) => return Ok(Some(address)),
            Err(e) => eprintln!("{e}"),
        }
    }
    Ok(None)
}

/// The starter config for `address`: the owner's address and login, and when the domain is a
/// known provider's ([`providers::for_address`]), its SMTP and IMAP settings.
fn for_address(starter: &str, address: &EmailAddress) -> String {
    let text = starter.replace("sam@example.org", address.as_str());
    let Some(provider) = providers::for_address(address.as_str()) else {
        return text;
    };
    let smtp_lines = "  host: smtp.example.org\n  security: starttls             \
                      # starttls (port 587) | tls (port 465) | plain (this machine only)\n";
    let smtp = format!(
        "  host: {}\n  port: {}\n  security: {}\n",
        provider.smtp.host,
        provider.smtp.port,
        provider.smtp.security.as_str()
    );
    let login = format!("  username: {address}\n");
    let mut smtp_login = login.clone();
    if provider.secret == Secret::Xoauth2 {
        smtp_login.push_str(&xoauth2_lines(provider));
    }
    let text = text
        .replacen(smtp_lines, &smtp, 1)
        .replacen(&login, &smtp_login, 1);
    let start = text.find("# imap:\n").unwrap_or(text.len());
    let end = text[start..]
        .find("\n\n")
        .map_or(text.len(), |i| start + i + 1);
    format!(
        "{}{}{}",
        &text[..start],
        imap_section(provider, address),
        &text[end..]
    )
}

/// `auth: xoauth2` and the token helper to set up, for a provider that takes only tokens.
fn xoauth2_lines(provider: &Provider) -> String {
    format!(
        "  auth: xoauth2                  # {} takes no password: an OAuth2 token instead\n  \
         # password_command: [pizauth, show, mail]   # CHANGE: your token helper; see \
         docs/configuration.md, \"OAuth2\"\n",
        provider.name
    )
}

fn imap_section(provider: &Provider, address: &EmailAddress) -> String {
    let login = match provider.imap_login_is_local_part {
        true => address.as_str().split('@').next().unwrap_or_default(),
        false => address.as_str(),
    };
    let mut section = format!(
        "imap:\n  host: {}\n  port: {}\n  security: {}\n  username: {login}\n",
        provider.imap.host,
        provider.imap.port,
        provider.imap.security.as_str()
    );
    match provider.secret {
        Secret::Xoauth2 => section.push_str(&xoauth2_lines(provider)),
        what => section.push_str(&format!(
            "  # The {}, as for smtp: the credential `imap-password` under systemd, or:\n  \
             # password_file: imap-password\n",
            match what {
                Secret::AppPassword => "app password",
                Secret::BridgePassword => "password Bridge shows",
                _ => "password",
            }
        )),
    }
    if provider.save_sent_never {
        section.push_str("  save_sent: never               # the provider files what you send\n");
    }
    section
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<config::Config, crate::input::diagnostic::Diagnostics> {
        config::parse_config(text, Path::new("/home/sam/.config/followup/followup.yaml"))
    }

    #[test]
    fn a_known_providers_address_fills_in_its_smtp_and_imap_settings() {
        let (starter, _) = starter(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        let address = EmailAddress::parse("sam.seeker@gmail.com").unwrap();
        let config = parsed(&for_address(&starter, &address)).unwrap();
        assert_eq!(config.owner.email.as_str(), "sam.seeker@gmail.com");
        let smtp = config.smtp.unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.gmail.com", 465));
        assert_eq!(smtp.username.as_deref(), Some("sam.seeker@gmail.com"));
        let imap = config.imap.unwrap();
        assert_eq!((imap.host.as_str(), imap.port), ("imap.gmail.com", 993));
        assert_eq!(imap.username, "sam.seeker@gmail.com");

        let icloud = EmailAddress::parse("sam@icloud.com").unwrap();
        let config = parsed(&for_address(&starter, &icloud)).unwrap();
        assert_eq!(config.imap.unwrap().username, "sam");
    }

    #[test]
    fn an_address_at_a_token_only_provider_gets_xoauth2_and_is_told_to_name_its_helper() {
        let (starter, _) = starter(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        let address = EmailAddress::parse("sam@outlook.com").unwrap();
        let text = for_address(&starter, &address);
        assert!(text.contains("host: smtp-mail.outlook.com"), "{text}");
        assert!(text.contains("host: outlook.office365.com"), "{text}");
        let problems = parsed(&text).unwrap_err();
        assert!(
            problems
                .0
                .iter()
                .all(|d| d.message.contains("password_command")),
            "{problems:?}"
        );
        let uncommented =
            text.replace("# password_command: [pizauth", "password_command: [pizauth");
        let config = parsed(&uncommented).unwrap();
        assert_eq!(config.imap.unwrap().auth, config::Auth::Xoauth2);
    }

    #[test]
    fn an_unknown_domain_keeps_the_example_servers_and_the_imap_section_commented_out() {
        let (starter, _) = starter(NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        let address = EmailAddress::parse("sam@example.net").unwrap();
        let text = for_address(&starter, &address);
        assert!(text.contains("# imap:"), "{text}");
        let config = parsed(&text).unwrap();
        assert!(config.imap.is_none());
        assert_eq!(config.smtp.unwrap().host, "smtp.example.org");
    }
}
