//! `followup.yaml`: raw serde structs checked into a validated `Config`.
//!
//! Finding the file and the default directories depend on the environment; both take the
//! environment as a function (`Env`) so tests can pass their own.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{NaiveTime, TimeDelta};
use chrono_tz::Tz;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::core::{Cap, Owner, Policy, StepPolicy, Weekdays, Window};
use crate::input::diagnostic::{Diagnostic, Diagnostics};
pub use crate::input::secret::PasswordSource;
use crate::input::secret::{IMAP_CREDENTIAL, PasswordCommand, SMTP_CREDENTIAL};
use crate::input::yaml::{
    self, Address, Date, Delay, PathText, PersonName, Positions, Seg, Text, Zone,
};
use crate::net::{Protocol, Security};

/// What happens to a message when it is due.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum Mode {
    /// Written to the approval queue; sent once the user approves it.
    #[default]
    Approve,
    /// Sent over SMTP.
    Send,
    /// Shown, never sent; nothing changes.
    DryRun,
}

impl Mode {
    /// The name the config file uses.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the login proves itself: `auth:` in the `smtp` and `imap` sections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum Auth {
    /// The password as is (SMTP `AUTH PLAIN`/`LOGIN`, IMAP `LOGIN`).
    #[default]
    Password,
    /// The secret is an OAuth2 access token (SMTP `AUTH XOAUTH2`, IMAP `AUTHENTICATE XOAUTH2`):
    /// Microsoft's and Google's accounts that take no password.
    Xoauth2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: Option<String>,
    pub password: PasswordSource,
    pub auth: Auth,
    /// An extra root certificate (PEM) to trust: a home server's self-signed one.
    pub ca_file: Option<PathBuf>,
    /// How long one SMTP transaction may take; `None` is [`SMTP_TIMEOUT`].
    pub timeout: Option<std::time::Duration>,
    /// The name to greet the server with (EHLO), when the config gives one; see
    /// [`crate::delivery::smtp::hello_name`].
    pub hello_name: Option<String>,
}

impl SmtpConfig {
    /// How long one SMTP transaction may take: `timeout`, or the default.
    pub fn transaction_timeout(&self) -> std::time::Duration {
        self.timeout.unwrap_or(SMTP_TIMEOUT)
    }
}

/// The validated configuration; every path is absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub owner: Owner,
    pub timezone: Tz,
    pub mode: Mode,
    pub interviews: PathBuf,
    /// `None`: use the templates built into the binary.
    pub templates: Option<PathBuf>,
    pub state_dir: PathBuf,
    pub queue_dir: PathBuf,
    pub smtp: Option<SmtpConfig>,
    /// The mailbox to read replies from; `None`: replies are recorded by hand only.
    pub imap: Option<ImapConfig>,
    pub policy: Policy,
    /// How the user may approve by answering the digest.
    pub approval: ApprovalConfig,
    /// Where each key was in the file, so that the settings stage (`crate::settings`) places its
    /// problems at the right line without reading the file again.
    pub positions: Positions,
}

/// The `approval:` section: approving by replying to the digest (with an `imap:` section, in
/// approve mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalConfig {
    /// `by_reply` [default: true].
    pub by_reply: bool,
    /// How long after a digest a reply to it is still a command [default: 3 days].
    pub reply_within: chrono::TimeDelta,
    /// The `Authentication-Results` id of the user's own mail server; when set, a command needs
    /// its `dkim=pass` or `dmarc=pass`.
    pub authserv_id: Option<String>,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        Self {
            by_reply: true,
            reply_within: chrono::TimeDelta::days(3),
            authserv_id: None,
        }
    }
}

/// Whether a copy of each message sent goes into the mailbox's Sent folder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "lowercase")]
#[strum(serialize_all = "lowercase")]
pub enum SaveSent {
    /// Unless the provider files what it relays by SMTP itself (Gmail, Outlook, ...).
    #[default]
    Auto,
    Always,
    Never,
}

/// The `imap:` section: the mailbox where replies arrive and the user's sent mail is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: PasswordSource,
    pub auth: Auth,
    pub ca_file: Option<PathBuf>,
    /// Where replies arrive [default: INBOX].
    pub folders: Vec<String>,
    /// The Sent folder; `None`: the one with the `\Sent` special use, else `Sent`.
    pub sent: Option<String>,
    pub save_sent: SaveSent,
    /// How often to look when the server has no IDLE.
    pub poll: std::time::Duration,
    /// How long connecting and each command may take [default: 30 s to connect, 60 s a
    /// command]; one value sets both.
    pub timeout: Option<std::time::Duration>,
    /// The longest wait between attempts after failures that can heal by themselves.
    pub retry_max: std::time::Duration,
    /// The wait after a failure only the user can fix (a refused login, a missing folder).
    pub retry_lasting: std::time::Duration,
}

/// Why the config file cannot be found. Problems inside the file are [`Diagnostics`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("no config file at {} ({origin}): create it, or pass --config PATH", path.display())]
    NotFound { path: PathBuf, origin: &'static str },
    #[error(
        "cannot tell where the config file is: $HOME is not set; \
         pass --config PATH or set $FOLLOWUP_CONFIG"
    )]
    NoHome,
}

/// Reads an environment variable. `std::env::var_os` in production, a map in tests.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<OsString>;

fn process_env(key: &str) -> Option<OsString> {
    std::env::var_os(key)
}

/// A variable that is set and not empty (an empty XDG variable means unset, by the spec).
fn var(env: Env, key: &str) -> Option<PathBuf> {
    env(key).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// An XDG base directory: it must be absolute, else it is ignored (by the spec).
fn xdg(env: Env, key: &str) -> Option<PathBuf> {
    var(env, key).filter(|p| p.is_absolute())
}

/// Finds the config file: `--config PATH`, else `$FOLLOWUP_CONFIG`, else
/// `$XDG_CONFIG_HOME/followup/followup.yaml`, else `~/.config/followup/followup.yaml`.
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    locate_with(explicit, &process_env)
}

/// [`locate`] with the environment given.
pub fn locate_with(explicit: Option<&Path>, env: Env) -> Result<PathBuf, ConfigError> {
    let (path, origin) = match explicit {
        Some(p) => (p.to_path_buf(), "given with --config"),
        None => match var(env, "FOLLOWUP_CONFIG") {
            Some(p) => (p, "from $FOLLOWUP_CONFIG"),
            None => default_location(env)?,
        },
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(ConfigError::NotFound { path, origin })
    }
}

/// Where the config is when nothing says otherwise, and how that was decided; for `init`-like
/// commands that create it.
pub fn default_location(env: Env) -> Result<(PathBuf, &'static str), ConfigError> {
    let tail = Path::new("followup").join("followup.yaml");
    if let Some(dir) = xdg(env, "XDG_CONFIG_HOME") {
        return Ok((dir.join(tail), "the default under $XDG_CONFIG_HOME"));
    }
    let home = var(env, "HOME").ok_or(ConfigError::NoHome)?;
    Ok((
        home.join(".config").join(tail),
        "the default under ~/.config",
    ))
}

/// The state directory when the config names none: systemd's `$STATE_DIRECTORY` (the first, if
/// it lists several), else `$XDG_STATE_HOME/followup`, else `~/.local/state/followup`.
pub fn default_state_dir(env: Env) -> Option<PathBuf> {
    if let Some(dirs) = env("STATE_DIRECTORY").filter(|v| !v.is_empty()) {
        let first = dirs.to_string_lossy().split(':').next().map(PathBuf::from);
        if let Some(first) = first.filter(|p| !p.as_os_str().is_empty()) {
            return Some(first);
        }
    }
    if let Some(dir) = xdg(env, "XDG_STATE_HOME") {
        return Some(dir.join("followup"));
    }
    var(env, "HOME").map(|h| h.join(".local").join("state").join("followup"))
}

/// Reads and checks the config file. An unreadable file is a diagnostic too.
pub fn load_config(path: &Path) -> Result<Config, Diagnostics> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let text = yaml::read(&path).map_err(|d| Diagnostics(vec![d]))?;
    parse_config(&text, &path)
}

/// Checks a config's text. Relative paths in it are resolved against `path`'s directory.
/// Only the defaults of `state_dir` read the environment; see [`parse_config_with`].
pub fn parse_config(text: &str, path: &Path) -> Result<Config, Diagnostics> {
    parse_config_with(text, path, &process_env)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    me: RawMe,
    timezone: Zone,
    #[serde(default)]
    mode: Mode,
    interviews: Option<PathText>,
    templates: Option<PathText>,
    state_dir: Option<PathText>,
    queue_dir: Option<PathText>,
    smtp: Option<RawSmtp>,
    imap: Option<RawImap>,
    #[serde(default)]
    holidays: Vec<Date>,
    #[serde(default)]
    policy: RawPolicy,
    approval: Option<RawApproval>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApproval {
    by_reply: Option<bool>,
    reply_within: Option<Delay>,
    authserv_id: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMe {
    name: PersonName,
    email: Address,
    /// Other addresses the user writes from: their mail is never a reply.
    #[serde(default)]
    aliases: Vec<Address>,
    phone: Option<Text>,
    signature: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Text,
    port: Option<Port>,
    security: Option<Security>,
    username: Option<Text>,
    password_file: Option<PathText>,
    password_env: Option<EnvName>,
    password_command: Option<Vec<Text>>,
    #[serde(default)]
    auth: Auth,
    ca_file: Option<PathText>,
    timeout: Option<Delay>,
    hello_name: Option<HostName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImap {
    host: Text,
    port: Option<Port>,
    security: Option<Security>,
    username: Text,
    password_file: Option<PathText>,
    password_env: Option<EnvName>,
    password_command: Option<Vec<Text>>,
    #[serde(default)]
    auth: Auth,
    ca_file: Option<PathText>,
    folders: Option<Vec<Text>>,
    sent: Option<Text>,
    #[serde(default)]
    save_sent: SaveSent,
    poll: Option<Delay>,
    timeout: Option<Delay>,
    retry_max: Option<Delay>,
    retry_lasting: Option<Delay>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    thank_you: Option<RawThankYou>,
    status_check: Option<RawStatusCheck>,
    call_reminder: Option<RawStep>,
    final_check: Option<RawStep>,
    close: Option<RawStep>,
    after_rejection: Option<RawStep>,
    cap: Option<RawCap>,
    /// How long a send failing with temporary errors is retried.
    retry_for: Option<Delay>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThankYou {
    delay: Option<Delay>,
    target: Option<Delay>,
    limit: Option<Delay>,
    window: Option<Hours>,
    days: Option<Days>,
    capped: Option<bool>,
    /// Whether holidays hold the thank-you back too [default: false].
    holidays: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStatusCheck {
    delay: Option<Delay>,
    after_decision: Option<Delay>,
    window: Option<Hours>,
    days: Option<Days>,
    capped: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    delay: Option<Delay>,
    window: Option<Hours>,
    days: Option<Days>,
    capped: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCap {
    count: Option<Count>,
    period: Option<Delay>,
}

/// `09:00-17:00`; the days come from the sibling `days` key.
struct Hours(NaiveTime, NaiveTime);

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "hours like 09:00-17:00", |s| {
            Window::parse_hours(s, Weekdays::ALL).map(|w| Hours(w.start, w.end))
        })
    }
}

/// `mon-fri`, `every day`, or a list of day names.
struct Days(Weekdays);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Days;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("days like mon-fri, every day, or a list like [mon, wed, fri]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Days, E> {
                v.parse().map(Days).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Days, A::Error> {
                let mut days = Vec::new();
                while let Some(Day(d)) = seq.next_element()? {
                    days.push(d);
                }
                let set = Weekdays::from_days(
                    ALL_DAYS
                        .into_iter()
                        .filter(|d| days.iter().any(|w| w.contains(*d))),
                );
                if set.is_empty() {
                    return Err(de::Error::custom(
                        "the list of days is empty: name at least one day, like [mon, tue]",
                    ));
                }
                Ok(Days(set))
            }
        }
        d.deserialize_any(V)
    }
}

const ALL_DAYS: [chrono::Weekday; 7] = [
    chrono::Weekday::Mon,
    chrono::Weekday::Tue,
    chrono::Weekday::Wed,
    chrono::Weekday::Thu,
    chrono::Weekday::Fri,
    chrono::Weekday::Sat,
    chrono::Weekday::Sun,
];

/// One entry of a list of days (a range like `mon-fri` is accepted too).
struct Day(Weekdays);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "a day name like mon", |s| s.parse().map(Day))
    }
}

/// A cap's count: at least one, or nothing could ever be sent.
struct Count(u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "a whole number of at least 1", |s| {
            match s.trim().parse() {
                Ok(0) => Err("a cap of 0 would stop every message: write at least 1".into()),
                Ok(n) => Ok(Count(n)),
                Err(_) => Err(format!(
                    "`{}` is not a whole number: write one like 1",
                    s.trim()
                )),
            }
        })
    }
}

struct Port(u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "a port number", |s| match s.trim().parse::<u16>() {
            Ok(n) if n > 0 => Ok(Port(n)),
            _ => Err(format!(
                "`{}` is not a port: write a number from 1 to 65535, or leave it out for \
                 the default of the `security` chosen",
                s.trim()
            )),
        })
    }
}

/// A fully qualified host name for EHLO, like `mail.example.org`.
struct HostName(String);

impl<'de> Deserialize<'de> for HostName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "a host name like mail.example.org", |s| {
            let name = s.trim().trim_end_matches('.');
            let label_ok = |l: &str| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            };
            if name.contains('.') && name.len() <= 253 && name.split('.').all(label_ok) {
                Ok(HostName(name.to_ascii_lowercase()))
            } else {
                Err(format!(
                    "`{}` is not a fully qualified host name: write one like mail.example.org \
                     (the name of this machine that the mail server may look up)",
                    s.trim().escape_debug()
                ))
            }
        })
    }
}

struct EnvName(String);

impl<'de> Deserialize<'de> for EnvName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        yaml::scalar(d, "an environment variable name", |s| {
            let ok = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if ok {
                Ok(EnvName(s.to_string()))
            } else {
                Err(format!(
                    "`{}` is not an environment variable name: write the variable's name, \
                     like SMTP_PASSWORD, not its value",
                    s.escape_debug()
                ))
            }
        })
    }
}

/// [`parse_config`] with the environment given, for the defaults of `state_dir` and `~/`.
pub fn parse_config_with(text: &str, path: &Path, env: Env) -> Result<Config, Diagnostics> {
    const WHAT: &str = "the configuration (at least `me:` and `timezone:`)";
    let raw: RawConfig = yaml::parse(text, path, WHAT).map_err(|d| Diagnostics(vec![d]))?;
    let mut errors = Vec::new();
    let at = |p: &[Seg], msg: String| yaml::at(path, text, p, msg);
    let base = path.parent().unwrap_or(Path::new(""));
    let home = var(env, "HOME");
    let resolve = |p: &Path| yaml::resolve(base, p, home.as_deref());

    let signature = match raw.me.signature {
        Some(s) if s.trim().is_empty() => {
            errors.push(at(
                &[Seg::Key("me"), Seg::Key("signature")],
                "the signature is empty: write it, or remove the key".into(),
            ));
            None
        }
        s => s.map(|s| s.trim_end().to_string()),
    };
    let owner = Owner {
        name: raw.me.name.0,
        email: raw.me.email.0,
        aliases: raw.me.aliases.into_iter().map(|Address(a)| a).collect(),
        phone: raw.me.phone.map(|Text(p)| p),
        signature,
        timezone: raw.timezone.0,
    };

    let state_dir = match raw.state_dir {
        Some(PathText(p)) => Some(resolve(&p)),
        None => default_state_dir(env),
    };
    let state_dir = state_dir.unwrap_or_else(|| {
        errors.push(Diagnostic::new(
            path,
            "cannot choose a state directory: none of $STATE_DIRECTORY, $XDG_STATE_HOME and \
             $HOME is set; add `state_dir:` to the config",
        ));
        PathBuf::new()
    });
    let queue_dir = match raw.queue_dir {
        Some(PathText(p)) => resolve(&p),
        None => state_dir.join("queue"),
    };

    let smtp = raw.smtp.map(|s| smtp(s, &at, &resolve, &mut errors));
    let imap = raw.imap.map(|i| imap(i, &at, &resolve, &mut errors));
    let mut policy = policy(raw.policy, &at, &mut errors);
    let approval = raw
        .approval
        .map(|a| approval(a, &at, &mut errors))
        .unwrap_or_default();
    policy.holidays = raw
        .holidays
        .into_iter()
        .map(|Date(d)| d)
        .collect::<BTreeSet<_>>();

    if !errors.is_empty() {
        return Err(Diagnostics(errors));
    }
    Ok(Config {
        path: path.to_path_buf(),
        owner,
        timezone: raw.timezone.0,
        mode: raw.mode,
        interviews: match raw.interviews {
            Some(PathText(p)) => resolve(&p),
            None => base.join("interviews"),
        },
        templates: raw.templates.map(|PathText(p)| resolve(&p)),
        state_dir,
        queue_dir,
        smtp,
        imap,
        policy,
        approval,
        positions: Positions::record(text),
    })
}

fn approval(raw: RawApproval, at: &At, errors: &mut Vec<Diagnostic>) -> ApprovalConfig {
    let default = ApprovalConfig::default();
    let key = |k: &'static str| [Seg::Key("approval"), Seg::Key(k)];
    let reply_within = raw.reply_within.map_or(default.reply_within, |Delay(d)| d);
    if reply_within <= chrono::TimeDelta::zero() {
        errors.push(at(
            &key("reply_within"),
            "`reply_within` must be longer than nothing: write how long a reply to a digest \
             still counts, like `3d`, or set `by_reply: false`"
                .into(),
        ));
    }
    let authserv_id = raw.authserv_id.map(|Text(t)| t.trim().to_string());
    if let Some(id) = &authserv_id
        && (id.is_empty() || id.contains(|c: char| c.is_whitespace() || c == ';'))
    {
        errors.push(at(
            &key("authserv_id"),
            format!(
                "`{}` is not an authserv-id: write the first word of the \
                 Authentication-Results header your own mail server adds, like mx.example.org",
                id.escape_debug()
            ),
        ));
    }
    ApprovalConfig {
        by_reply: raw.by_reply.unwrap_or(default.by_reply),
        reply_within,
        authserv_id,
    }
}

type At<'a> = dyn Fn(&[Seg], String) -> Diagnostic + 'a;

fn smtp(
    raw: RawSmtp,
    at: &At,
    resolve: &dyn Fn(&Path) -> PathBuf,
    errors: &mut Vec<Diagnostic>,
) -> SmtpConfig {
    let security = raw.security.unwrap_or(Security::Starttls);
    let host = raw.host.0;
    let given = Given {
        file: raw.password_file,
        env: raw.password_env,
        command: raw.password_command,
    };
    let login = Login {
        security,
        host: &host,
        auth: raw.auth,
        has_username: raw.username.is_some(),
    };
    let password = SMTP_SECTION.check_login(login, given, at, resolve, errors);
    SmtpConfig {
        host,
        port: raw.port.map_or(security.smtp_port(), |Port(p)| p),
        security,
        username: raw.username.map(|Text(u)| u),
        password,
        auth: raw.auth,
        ca_file: raw.ca_file.map(|PathText(p)| resolve(&p)),
        timeout: raw.timeout.map(|Delay(d)| d.to_std().unwrap_or_default()),
        hello_name: raw.hello_name.map(|HostName(h)| h),
    }
}

fn imap(
    raw: RawImap,
    at: &At,
    resolve: &dyn Fn(&Path) -> PathBuf,
    errors: &mut Vec<Diagnostic>,
) -> ImapConfig {
    let security = raw.security.unwrap_or(Security::Tls);
    let host = raw.host.0;
    let given = Given {
        file: raw.password_file,
        env: raw.password_env,
        command: raw.password_command,
    };
    let login = Login {
        security,
        host: &host,
        auth: raw.auth,
        has_username: true,
    };
    let password = IMAP_SECTION.check_login(login, given, at, resolve, errors);
    let folders: Vec<String> = match raw.folders {
        Some(list) => list.into_iter().map(|Text(f)| f).collect(),
        None => vec!["INBOX".into()],
    };
    if folders.is_empty() {
        errors.push(at(
            &[Seg::Key("imap"), Seg::Key("folders")],
            "`folders` is empty: name the folders where replies arrive, like [INBOX]".into(),
        ));
    }
    ImapConfig {
        host,
        port: raw.port.map_or(security.imap_port(), |Port(p)| p),
        security,
        username: raw.username.0,
        password,
        auth: raw.auth,
        ca_file: raw.ca_file.map(|PathText(p)| resolve(&p)),
        folders,
        sent: raw.sent.map(|Text(s)| s),
        save_sent: raw.save_sent,
        poll: raw
            .poll
            .map_or(DEFAULT_POLL, |Delay(d)| d.to_std().unwrap_or(DEFAULT_POLL)),
        timeout: raw.timeout.map(|Delay(d)| d.to_std().unwrap_or_default()),
        retry_max: raw.retry_max.map_or(DEFAULT_RETRY.max, |Delay(d)| {
            d.to_std().unwrap_or(DEFAULT_RETRY.max)
        }),
        retry_lasting: raw.retry_lasting.map_or(DEFAULT_RETRY.lasting, |Delay(d)| {
            d.to_std().unwrap_or(DEFAULT_RETRY.lasting)
        }),
    }
}

/// The retry policy's defaults (`crate::retry`).
const DEFAULT_RETRY: crate::retry::Backoff = crate::retry::Backoff::DEFAULT;

/// How often an IMAP server without IDLE is asked for news when `imap.poll` does not say.
pub const DEFAULT_POLL: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// How long one SMTP transaction may take when `smtp.timeout` does not say.
pub const SMTP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// What the `smtp` and `imap` sections share: the clear-text rule and where the password is.
struct Section {
    name: &'static str,
    protocol: Protocol,
    credential: &'static str,
}

const SMTP_SECTION: Section = Section {
    name: "smtp",
    protocol: Protocol::Smtp,
    credential: SMTP_CREDENTIAL,
};

const IMAP_SECTION: Section = Section {
    name: "imap",
    protocol: Protocol::Imap,
    credential: IMAP_CREDENTIAL,
};

/// How a section says it logs in to its server.
struct Login<'a> {
    security: Security,
    host: &'a str,
    auth: Auth,
    has_username: bool,
}

impl Section {
    /// What the SMTP and IMAP sections check alike: clear text only to this machine, where the
    /// password comes from, and what `auth` needs. Returns where the password comes from.
    fn check_login(
        &self,
        login: Login,
        given: Given,
        at: &At,
        resolve: &dyn Fn(&Path) -> PathBuf,
        errors: &mut Vec<Diagnostic>,
    ) -> PasswordSource {
        self.check_plain(login.security, login.host, at, errors);
        let password = self.password(given, at, resolve, errors);
        self.check_auth(login.auth, login.has_username, &password, at, errors);
        password
    }

    /// `security: plain` only to this machine (the rule is [`Security::check_host`]).
    fn check_plain(&self, security: Security, host: &str, at: &At, errors: &mut Vec<Diagnostic>) {
        if let Err(refused) = security.check_host(self.protocol, host) {
            errors.push(at(
                &[Seg::Key(self.name), Seg::Key("security")],
                refused.to_string(),
            ));
        }
    }

    /// `password_file`, `password_env`, `password_command`, or none: the systemd credential.
    fn password(
        &self,
        given: Given,
        at: &At,
        resolve: &dyn Fn(&Path) -> PathBuf,
        errors: &mut Vec<Diagnostic>,
    ) -> PasswordSource {
        let key = |k| [Seg::Key(self.name), Seg::Key(k)];
        match (given.file, given.env, given.command) {
            (Some(PathText(p)), None, None) => PasswordSource::File(resolve(&p)),
            (None, Some(EnvName(v)), None) => PasswordSource::Env(v),
            (None, None, Some(list)) => {
                let argv: Vec<String> = list.into_iter().map(|Text(a)| a).collect();
                if argv.is_empty() {
                    errors.push(at(
                        &key("password_command"),
                        "`password_command` is empty: give the program and its arguments as a \
                         list, like [pass, show, mail/example]"
                            .into(),
                    ));
                }
                PasswordSource::Command(PasswordCommand(argv))
            }
            (None, None, None) => PasswordSource::Credential(self.credential),
            (_, _, command) => {
                let (last, message) = match command {
                    None => (
                        "password_env",
                        "both `password_file` and `password_env` are set",
                    ),
                    Some(_) => (
                        "password_command",
                        "`password_command` and another of `password_file` and `password_env` \
                         are set",
                    ),
                };
                errors.push(at(
                    &key(last),
                    format!("{message}: keep only the one that holds the password"),
                ));
                PasswordSource::Credential(self.credential)
            }
        }
    }

    /// `auth: xoauth2` needs an account to name and a token that is fresh at each login.
    fn check_auth(
        &self,
        auth: Auth,
        has_username: bool,
        password: &PasswordSource,
        at: &At,
        errors: &mut Vec<Diagnostic>,
    ) {
        if auth != Auth::Xoauth2 {
            return;
        }
        let key = [Seg::Key(self.name), Seg::Key("auth")];
        if !has_username {
            errors.push(at(
                &key,
                "`auth: xoauth2` needs `username:`, the account the token is for (your address)"
                    .into(),
            ));
        }
        if !matches!(password, PasswordSource::Command(_)) {
            errors.push(at(
                &key,
                "`auth: xoauth2` needs `password_command:`, a token helper that prints a fresh \
                 access token (like [pizauth, show, outlook]): a token in a file or a variable \
                 expires within the hour"
                    .into(),
            ));
        }
    }
}

/// The password keys a section was given.
struct Given {
    file: Option<PathText>,
    env: Option<EnvName>,
    command: Option<Vec<Text>>,
}

/// A step's timing: each key given replaces the default's.
fn step(
    default: &StepPolicy,
    delay: Option<Delay>,
    hours: Option<Hours>,
    days: Option<Days>,
    capped: Option<bool>,
) -> StepPolicy {
    let w = &default.window;
    let (start, end) = hours.map_or((w.start, w.end), |Hours(s, e)| (s, e));
    StepPolicy {
        delay: delay.map_or(default.delay, |Delay(d)| d),
        window: Window::new(start, end, days.map_or(w.days, |Days(d)| d)),
        capped: capped.unwrap_or(default.capped),
    }
}

fn policy(raw: RawPolicy, at: &At, errors: &mut Vec<Diagnostic>) -> Policy {
    let mut p = Policy::default();
    let key =
        |step: &'static str, k: &'static str| [Seg::Key("policy"), Seg::Key(step), Seg::Key(k)];
    if let Some(t) = raw.thank_you {
        let (has_target, has_limit) = (t.target.is_some(), t.limit.is_some());
        p.thank_you = step(&p.thank_you, t.delay, t.window, t.days, t.capped);
        p.thank_you_target = t.target.map_or(p.thank_you_target, |Delay(d)| d);
        p.thank_you_limit = t.limit.map_or(p.thank_you_limit, |Delay(d)| d);
        p.thank_you_holidays = t.holidays.unwrap_or(p.thank_you_holidays);
        // Each pair must keep its order: delay <= target <= limit. The error points at the
        // later key when the user wrote it, else at the earlier one.
        let fmt = crate::core::policy::format_delay;
        let pairs = [
            (
                ("delay", p.thank_you.delay, true),
                ("target", p.thank_you_target, has_target),
            ),
            (
                ("target", p.thank_you_target, has_target),
                ("limit", p.thank_you_limit, has_limit),
            ),
        ];
        for ((first, early, _), (second, late, written)) in pairs {
            if late < early {
                errors.push(at(
                    &key("thank_you", if written { second } else { first }),
                    format!(
                        "the thank-you {second} ({}) is before its {first} ({}): the {second} \
                         must be at least the {first}",
                        fmt(late),
                        fmt(early)
                    ),
                ));
            }
        }
    }
    if let Some(s) = raw.status_check {
        p.status_check = step(&p.status_check, s.delay, s.window, s.days, s.capped);
        p.after_decision = s.after_decision.map_or(p.after_decision, |Delay(d)| d);
    }
    for (raw, target) in [
        (raw.call_reminder, &mut p.call_reminder),
        (raw.final_check, &mut p.final_check),
        (raw.close, &mut p.close),
        (raw.after_rejection, &mut p.after_rejection),
    ] {
        if let Some(r) = raw {
            *target = step(target, r.delay, r.window, r.days, r.capped);
        }
    }
    if let Some(Delay(d)) = raw.retry_for {
        p.retry_lifetime = d;
    }
    if let Some(c) = raw.cap {
        let period = c.period.map_or(p.cap.period, |Delay(d)| d);
        if period <= TimeDelta::zero() {
            errors.push(at(
                &key("cap", "period"),
                "the cap's period is zero, which would cap nothing: write one like 7d".into(),
            ));
        }
        p.cap = Cap {
            count: c.count.map_or(p.cap.count, |Count(n)| n),
            period,
        };
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::diagnostic::assert_at;
    use crate::input::secret::PasswordCommand;
    use std::collections::HashMap;

    const MINIMAL: &str =
        "me:\n  name: Alex Doe\n  email: alex@example.org\ntimezone: Europe/Berlin\n";

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn parse(text: &str) -> Result<Config, Diagnostics> {
        let env = env_of(&[("HOME", "/home/alex")]);
        parse_config_with(text, Path::new("/etc/followup/followup.yaml"), &env)
    }

    /// The only diagnostic of a failed parse.
    fn one_error(text: &str) -> Diagnostic {
        parse(text).expect_err("expected an error").only()
    }

    #[test]
    fn minimal_config_gets_the_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.owner.name, "Alex Doe");
        assert_eq!(c.owner.email.as_str(), "alex@example.org");
        assert_eq!(c.owner.timezone, chrono_tz::Europe::Berlin);
        assert_eq!(c.mode, Mode::Approve);
        assert_eq!(c.interviews, Path::new("/etc/followup/interviews"));
        assert_eq!(c.templates, None);
        assert_eq!(c.state_dir, Path::new("/home/alex/.local/state/followup"));
        assert_eq!(
            c.queue_dir,
            Path::new("/home/alex/.local/state/followup/queue")
        );
        assert_eq!(c.smtp, None);
        assert_eq!(c.policy, Policy::default());
    }

    #[test]
    fn the_config_keeps_where_each_key_was_for_the_settings_stage() {
        let text = format!(
            "{MINIMAL}mode: send\nsmtp:\n  host: mail.example.com\n  security: starttls\n  \
             username: alex\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.positions.get(&["mode"]), Some((5, 7)));
        assert_eq!(c.positions.get(&["smtp", "host"]), Some((7, 9)));
        assert_eq!(c.positions.get(&["smtp", "username"]), Some((9, 13)));
        assert_eq!(c.positions.get(&["me", "email"]), Some((3, 10)));
        assert_eq!(c.positions.get(&["smtp", "password_file"]), None);
        let d = c.positions.at(&c.path, &["smtp", "security"], "why");
        assert_eq!((d.line, d.column), (Some(8), Some(13)));
        // The same place as the file read again would give.
        let again = yaml::at(
            &c.path,
            &text,
            &[Seg::Key("smtp"), Seg::Key("security")],
            "why",
        );
        assert_eq!(d, again);
        let absent = c.positions.at(&c.path, &["imap", "host"], "why");
        assert_eq!((absent.line, absent.column), (None, None));
    }

    #[test]
    fn approval_by_reply_is_on_by_default_for_three_days() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.approval, ApprovalConfig::default());
        assert!(c.approval.by_reply);
        assert_eq!(c.approval.reply_within, chrono::TimeDelta::days(3));
        let set = format!(
            "{MINIMAL}approval:\n  by_reply: false\n  reply_within: 12h\n  authserv_id: mx.example.org\n"
        );
        let c = parse(&set).unwrap();
        assert!(!c.approval.by_reply);
        assert_eq!(c.approval.reply_within, chrono::TimeDelta::hours(12));
        assert_eq!(c.approval.authserv_id.as_deref(), Some("mx.example.org"));
    }

    #[test]
    fn approval_keys_are_checked_where_they_are() {
        let d = one_error(&format!("{MINIMAL}approval:\n  reply_within: 0d\n"));
        assert_at(&d, 6, "`reply_within` must be longer than nothing");
        let d = one_error(&format!(
            "{MINIMAL}approval:\n  authserv_id: \"mx.example.org; dkim=pass\"\n"
        ));
        assert_at(&d, 6, "is not an authserv-id");
        let d = one_error(&format!("{MINIMAL}approval:\n  by_replies: true\n"));
        assert!(d.message.contains("by_replies"), "{d}");
    }

    #[test]
    fn state_dir_defaults_follow_systemd_then_xdg_then_home() {
        let all = env_of(&[
            ("STATE_DIRECTORY", "/var/lib/followup:/var/lib/other"),
            ("XDG_STATE_HOME", "/x/state"),
            ("HOME", "/home/alex"),
        ]);
        assert_eq!(default_state_dir(&all), Some("/var/lib/followup".into()));
        let xdg = env_of(&[("XDG_STATE_HOME", "/x/state"), ("HOME", "/home/alex")]);
        assert_eq!(default_state_dir(&xdg), Some("/x/state/followup".into()));
        let relative_xdg = env_of(&[("XDG_STATE_HOME", "state"), ("HOME", "/home/alex")]);
        assert_eq!(
            default_state_dir(&relative_xdg),
            Some("/home/alex/.local/state/followup".into())
        );
        assert_eq!(default_state_dir(&env_of(&[])), None);
    }

    #[test]
    fn no_state_dir_anywhere_is_an_error() {
        let ds = parse_config_with(MINIMAL, Path::new("/c/followup.yaml"), &env_of(&[]));
        assert!(ds.unwrap_err().0[0].message.contains("add `state_dir:`"));
    }

    #[test]
    fn relative_paths_resolve_against_the_config_file() {
        let text = format!(
            "{MINIMAL}interviews: records\ntemplates: ../tpl\nstate_dir: state\n\
             queue_dir: /srv/queue\nsmtp:\n  host: mail.example.com\n  password_file: secret\n"
        );
        let c = parse(&text).unwrap();
        assert_eq!(c.interviews, Path::new("/etc/followup/records"));
        assert_eq!(
            c.templates.as_deref(),
            Some(Path::new("/etc/followup/../tpl"))
        );
        assert_eq!(c.state_dir, Path::new("/etc/followup/state"));
        assert_eq!(c.queue_dir, Path::new("/srv/queue"));
        let smtp = c.smtp.unwrap();
        assert_eq!(
            smtp.password,
            PasswordSource::File("/etc/followup/secret".into())
        );
    }

    #[test]
    fn tilde_paths_are_under_home() {
        let c = parse(&format!("{MINIMAL}interviews: ~/interviews\n")).unwrap();
        assert_eq!(c.interviews, Path::new("/home/alex/interviews"));
    }

    #[test]
    fn policy_overrides_every_number() {
        let text = format!(
            "{MINIMAL}holidays: [2026-12-25, 2026-12-26]\npolicy:\n\
             \x20 thank_you: {{ delay: 1h, target: 12h, limit: 36h, window: \"07:00-21:00\", days: [mon, tue] }}\n\
             \x20 status_check: {{ delay: 5d, after_decision: 1d, window: \"10:00-16:00\", days: mon-thu }}\n\
             \x20 call_reminder: {{ delay: 6d }}\n\
             \x20 final_check: {{ delay: 8d, days: every day }}\n\
             \x20 close: {{ delay: 9d, window: \"09:30-12:00\" }}\n\
             \x20 after_rejection: {{ delay: 2d }}\n\
             \x20 cap: {{ count: 2, period: 14d }}\n\
             \x20 retry_for: 1d\n"
        );
        let p = parse(&text).unwrap().policy;
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert_eq!(p.thank_you.delay, TimeDelta::hours(1));
        assert_eq!(p.thank_you_target, TimeDelta::hours(12));
        assert_eq!(p.thank_you_limit, TimeDelta::hours(36));
        let mon_tue = Weekdays::from_days([chrono::Weekday::Mon, chrono::Weekday::Tue]);
        assert_eq!(
            p.thank_you.window,
            Window::new(hm(7, 0), hm(21, 0), mon_tue)
        );
        assert_eq!(p.status_check.delay, TimeDelta::days(5));
        assert_eq!(p.after_decision, TimeDelta::days(1));
        assert_eq!(
            p.status_check.window,
            Window::new(hm(10, 0), hm(16, 0), "mon-thu".parse().unwrap())
        );
        assert_eq!(p.call_reminder.delay, TimeDelta::days(6));
        assert_eq!(p.call_reminder.window, Window::working_hours());
        assert_eq!(p.final_check.window.days, Weekdays::ALL);
        assert_eq!(
            p.close.window,
            Window::new(hm(9, 30), hm(12, 0), Weekdays::MON_FRI)
        );
        assert_eq!(p.after_rejection.delay, TimeDelta::days(2));
        assert_eq!((p.cap.count, p.cap.period), (2, TimeDelta::days(14)));
        assert_eq!(p.retry_lifetime, TimeDelta::days(1));
        assert_eq!(p.holidays.len(), 2);
        assert!(!p.thank_you_holidays);
        let held = parse(&format!(
            "{MINIMAL}policy:\n  thank_you: {{ holidays: true }}\n"
        ));
        assert!(held.unwrap().policy.thank_you_holidays);
    }

    #[test]
    fn capped_is_set_per_step_and_only_after_rejection_is_uncapped_by_default() {
        let p = parse(MINIMAL).unwrap().policy;
        assert!(!p.after_rejection.capped);
        assert!(p.thank_you.capped && p.status_check.capped && p.final_check.capped);
        let text = format!(
            "{MINIMAL}policy:\n  after_rejection: {{ capped: true }}\n  \
             status_check: {{ capped: false }}\n  thank_you: {{ capped: false }}\n"
        );
        let p = parse(&text).unwrap().policy;
        assert!(p.after_rejection.capped);
        assert!(!p.status_check.capped && !p.thank_you.capped);
        assert!(p.final_check.capped);
        let d = one_error(&format!(
            "{MINIMAL}policy:\n  close:\n    capped: sometimes\n"
        ));
        assert_eq!(d.line, Some(7), "{d}");
    }

    #[test]
    fn thank_you_limit_before_target_is_an_error() {
        let d = one_error(&format!("{MINIMAL}policy:\n  thank_you:\n    limit: 12h\n"));
        assert_at(&d, 7, "the thank-you limit (12h) is before its target (1d)");
    }

    #[test]
    fn thank_you_target_before_delay_is_an_error() {
        let d = one_error(&format!("{MINIMAL}policy:\n  thank_you:\n    delay: 2d\n"));
        assert_at(&d, 7, "the thank-you target (1d) is before its delay (2d)");
    }

    #[test]
    fn cap_of_zero_is_an_error() {
        let d = one_error(&format!("{MINIMAL}policy:\n  cap:\n    count: 0\n"));
        assert_at(&d, 7, "a cap of 0 would stop every message");
        let d = one_error(&format!("{MINIMAL}policy:\n  cap:\n    period: 0m\n"));
        assert_at(&d, 7, "the cap's period is zero");
    }

    #[test]
    fn bad_window_and_days_are_errors_at_their_line() {
        let d = one_error(&format!(
            "{MINIMAL}policy:\n  close:\n    window: \"17:00-09:00\"\n"
        ));
        assert_at(&d, 7, "ends before it starts");
        let d = one_error(&format!(
            "{MINIMAL}policy:\n  close:\n    days: [mon, funday]\n"
        ));
        assert_at(&d, 7, "`funday` is not a weekday");
    }

    #[test]
    fn password_command_is_a_list_run_without_a_shell() {
        let c = parse(&format!(
            "{MINIMAL}smtp:\n  host: smtp.example.com\n  username: alex\n  \
             password_command: [pizauth, show, outlook]\n  auth: xoauth2\n"
        ))
        .unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!(
            smtp.password,
            PasswordSource::Command(PasswordCommand(vec![
                "pizauth".into(),
                "show".into(),
                "outlook".into()
            ]))
        );
        assert_eq!(smtp.auth, Auth::Xoauth2);
        let d = one_error(&format!(
            "{MINIMAL}imap:\n  host: imap.example.com\n  username: alex\n  password_command: []\n"
        ));
        assert!(d.message.contains("`password_command` is empty"), "{d:?}");
    }

    #[test]
    fn password_command_with_another_source_is_an_error() {
        let d = one_error(&format!(
            "{MINIMAL}smtp:\n  host: smtp.example.com\n  username: alex\n  password_file: pw\n  \
             password_command: [pass, show, mail]\n"
        ));
        assert!(d.message.contains("keep only the one"), "{d:?}");
    }

    #[test]
    fn xoauth2_needs_a_username_and_a_password_command() {
        let d = one_error(&format!(
            "{MINIMAL}smtp:\n  host: smtp.example.com\n  auth: xoauth2\n  \
             password_command: [pizauth, show, outlook]\n"
        ));
        assert!(d.message.contains("needs `username:`"), "{d:?}");
        let d = one_error(&format!(
            "{MINIMAL}imap:\n  host: imap.example.com\n  username: alex@example.org\n  \
             auth: xoauth2\n  password_file: token\n"
        ));
        assert!(d.message.contains("needs `password_command:`"), "{d:?}");
        let d = one_error(&format!(
            "{MINIMAL}smtp:\n  host: smtp.example.com\n  auth: oauth\n"
        ));
        assert!(d.message.contains("xoauth2"), "{d:?}");
    }

    #[test]
    fn smtp_port_defaults_by_security() {
        for (security, port) in [("tls", 465), ("starttls", 587)] {
            let text =
                format!("{MINIMAL}smtp:\n  host: mail.example.com\n  security: {security}\n");
            assert_eq!(parse(&text).unwrap().smtp.unwrap().port, port);
        }
        let c = parse(&format!(
            "{MINIMAL}smtp:\n  host: mail.example.com\n  username: alex\n"
        ))
        .unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.security, smtp.port), (Security::Starttls, 587));
        assert_eq!(smtp.username.as_deref(), Some("alex"));
        assert_eq!(smtp.password, PasswordSource::Credential(SMTP_CREDENTIAL));
        let c = parse(&format!(
            "{MINIMAL}smtp:\n  host: localhost\n  security: plain\n"
        ))
        .unwrap();
        assert_eq!(c.smtp.unwrap().port, 25);
    }

    #[test]
    fn smtp_hello_name_must_be_fully_qualified() {
        let with = |name: &str| {
            format!("{MINIMAL}smtp:\n  host: mail.example.com\n  hello_name: {name}\n")
        };
        let smtp = parse(&with("Home.Example.org.")).unwrap().smtp.unwrap();
        assert_eq!(smtp.hello_name.as_deref(), Some("home.example.org"));
        assert_eq!(
            parse(&format!("{MINIMAL}smtp:\n  host: h.example\n"))
                .unwrap()
                .smtp
                .unwrap()
                .hello_name,
            None
        );
        for bad in ["vm", "-x.example.org", "a..b", "\"my host.example\""] {
            assert_at(&one_error(&with(bad)), 7, "not a fully qualified host name");
        }
    }

    #[test]
    fn plain_smtp_to_a_remote_host_is_refused() {
        let d = one_error(&format!(
            "{MINIMAL}smtp:\n  host: mail.example.com\n  security: plain\n"
        ));
        assert_at(&d, 7, "in clear text");
        for host in ["localhost", "127.0.0.2", "::1", "\"[::1]\""] {
            let text = format!("{MINIMAL}smtp:\n  host: {host}\n  security: plain\n  port: 2525\n");
            assert!(parse(&text).is_ok(), "{host}");
        }
    }

    #[test]
    fn password_file_and_env_together_are_an_error() {
        let text = format!(
            "{MINIMAL}smtp:\n  host: mail.example.com\n  password_file: pw\n  password_env: SMTP_PASSWORD\n"
        );
        assert_at(
            &one_error(&text),
            8,
            "both `password_file` and `password_env`",
        );
        let text =
            format!("{MINIMAL}smtp:\n  host: mail.example.com\n  password_env: SMTP_PASSWORD\n");
        let smtp = parse(&text).unwrap().smtp.unwrap();
        assert_eq!(smtp.password, PasswordSource::Env("SMTP_PASSWORD".into()));
    }

    #[test]
    fn password_env_holding_a_value_is_an_error() {
        let text = format!("{MINIMAL}smtp:\n  host: mail.example.com\n  password_env: hunter2!\n");
        assert_at(&one_error(&text), 7, "not an environment variable name");
    }

    #[test]
    fn bad_port_is_an_error_at_its_line() {
        let text = format!("{MINIMAL}smtp:\n  host: mail.example.com\n  port: 70000\n");
        assert_at(&one_error(&text), 7, "`70000` is not a port");
    }

    #[test]
    fn unknown_mode_suggests_the_closest() {
        let d = one_error(&format!("{MINIMAL}mode: dryrun\n"));
        assert_at(&d, 5, "unknown value `dryrun`: did you mean `dry-run`?");
        let c = parse(&format!("{MINIMAL}mode: dry-run\n")).unwrap();
        assert_eq!(c.mode, Mode::DryRun);
    }

    #[test]
    fn unknown_field_is_an_error_naming_the_field() {
        let d = one_error(&format!("{MINIMAL}interview: records\n"));
        assert_at(
            &d,
            5,
            "unknown field `interview`: did you mean `interviews`?",
        );
        let d = one_error(&format!("{MINIMAL}policy:\n  thank_you:\n    dealy: 1h\n"));
        assert_at(&d, 7, "did you mean `delay`?");
    }

    #[test]
    fn unknown_time_zone_is_an_error_at_its_line() {
        let d = one_error(&MINIMAL.replace("Europe/Berlin", "Europe/Berln"));
        assert_at(
            &d,
            4,
            "unknown time zone `Europe/Berln`: did you mean Europe/Berlin?",
        );
    }

    #[test]
    fn invalid_owner_address_is_an_error_at_its_line() {
        let d = one_error(&MINIMAL.replace("alex@example.org", "alex.example.org"));
        assert_at(&d, 3, "`alex.example.org` is not a valid e-mail address");
    }

    #[test]
    fn missing_timezone_is_an_error() {
        let d = one_error("me:\n  name: Alex\n  email: alex@example.org\n");
        assert!(d.message.contains("missing field `timezone`"), "{d}");
    }

    #[test]
    fn config_discovery_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = |rel: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, MINIMAL).unwrap();
            p
        };
        let explicit = file("explicit.yaml");
        let from_env = file("env.yaml");
        let xdg = file("xdg/followup/followup.yaml");
        let home = file("home/.config/followup/followup.yaml");
        let d = dir.path().to_str().unwrap();
        let (env_s, xdg_s, home_s) = (
            from_env.to_str().unwrap().to_string(),
            format!("{d}/xdg"),
            format!("{d}/home"),
        );
        let full = env_of(&[
            ("FOLLOWUP_CONFIG", &env_s),
            ("XDG_CONFIG_HOME", &xdg_s),
            ("HOME", &home_s),
        ]);
        assert_eq!(locate_with(Some(&explicit), &full), Ok(explicit.clone()));
        assert_eq!(locate_with(None, &full), Ok(from_env));
        let no_var = env_of(&[("XDG_CONFIG_HOME", &xdg_s), ("HOME", &home_s)]);
        assert_eq!(locate_with(None, &no_var), Ok(xdg));
        let only_home = env_of(&[("XDG_CONFIG_HOME", ""), ("HOME", &home_s)]);
        assert_eq!(locate_with(None, &only_home), Ok(home));
        assert_eq!(locate_with(None, &env_of(&[])), Err(ConfigError::NoHome));
    }

    #[test]
    fn missing_config_file_says_where_it_looked() {
        let err = locate_with(Some(Path::new("/nonexistent/f.yaml")), &env_of(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no config file at /nonexistent/f.yaml (given with --config): create it, or pass \
             --config PATH"
        );
    }

    #[test]
    fn load_config_reads_the_file_and_reports_an_unreadable_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("followup.yaml");
        let ds = load_config(&path).unwrap_err();
        assert!(ds.0[0].message.contains("cannot read the file"), "{ds}");
        std::fs::write(&path, format!("{MINIMAL}state_dir: state\n")).unwrap();
        let c = load_config(&path).unwrap();
        assert_eq!(c.path, path);
        assert_eq!(c.interviews, dir.path().join("interviews"));
        assert_eq!(c.state_dir, dir.path().join("state"));
    }
}
