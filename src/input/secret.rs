//! The SMTP and IMAP passwords: read late, never printed.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The file systemd's `LoadCredential=` places the SMTP password in.
pub const SMTP_CREDENTIAL: &str = "smtp-password";

/// The same for the IMAP password.
pub const IMAP_CREDENTIAL: &str = "imap-password";

/// A secret string that cannot leak through `{:?}` or `{}`.
///
/// Logs, error chains and panics format values freely; wrapping the password makes the only way to
/// see it an explicit, greppable [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that must hand it over (AUTH).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Why the password could not be read. Names where it was looked for, never what it is.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the password file {path}: {cause}")]
    File {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the password file {0} is not valid UTF-8")]
    NotUtf8(PathBuf),
    #[error("the password file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("the environment variable {0} holding the password is not set")]
    EnvMissing(String),
    #[error("the environment variable {0} holding the password is not valid Unicode")]
    EnvNotUnicode(String),
    #[error("the environment variable {0} holding the password is empty")]
    EnvEmpty(String),
    #[error("the password command {0} failed: {1}")]
    Command(String, CommandFailure),
}

/// How long a `password_command` may run: a token helper that refreshes over the network
/// answers within seconds; one that waits for a human never will.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// The most a `password_command` may print: a token is a few kilobytes at most.
pub const COMMAND_OUTPUT_LIMIT: usize = 64 * 1024;

/// Why a `password_command` gave no secret. Says what the program did, never what it printed
/// on its standard output.
#[derive(Debug, thiserror::Error)]
pub enum CommandFailure {
    #[error("it cannot be started ({0}); check that it is installed, on $PATH and executable")]
    Spawn(std::io::Error),
    #[error("it exited with {status}{}", stderr_tail(.stderr))]
    Exit {
        status: String,
        /// The last non-empty line of its standard error, cleaned of control characters.
        stderr: Option<String>,
    },
    #[error("it did not finish within {}s and was stopped{}", .after.as_secs(), stderr_tail(.stderr))]
    Timeout {
        after: Duration,
        stderr: Option<String>,
    },
    #[error("it printed nothing on its first line of standard output{}", stderr_tail(.stderr))]
    Empty { stderr: Option<String> },
    #[error(
        "it printed more than {} KiB: it should print only the password or token, on one line",
        COMMAND_OUTPUT_LIMIT / 1024
    )]
    TooLong,
    #[error("its first line of standard output is not valid UTF-8")]
    NotUtf8,
}

fn stderr_tail(stderr: &Option<String>) -> String {
    match stderr {
        Some(line) => format!("; its last words on standard error: {line}"),
        None => String::new(),
    }
}

/// A program and its arguments that print the secret: run without a shell, with no standard
/// input, in the daemon's environment, at every login (a token helper hands out a fresh token
/// each time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordCommand(pub Vec<String>);

impl fmt::Display for PasswordCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.0.join(" "))
    }
}

impl PasswordCommand {
    /// Runs the command and returns the first line of its output, trailing whitespace removed.
    /// Blocks for up to [`COMMAND_TIMEOUT`]; async callers use [`SecretSource::fetch`].
    pub fn run(&self) -> Result<Secret, SecretError> {
        self.run_within(COMMAND_TIMEOUT)
    }

    fn run_within(&self, limit: Duration) -> Result<Secret, SecretError> {
        let fail = |why| SecretError::Command(self.to_string(), why);
        let (program, args) = self.0.split_first().ok_or_else(|| {
            fail(CommandFailure::Spawn(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the list is empty",
            )))
        })?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(CommandFailure::Spawn(e)))?;
        let mut stdout = child.stdout.take().expect("piped above");
        let mut stderr = child.stderr.take().expect("piped above");
        // Both pipes are drained by threads of their own, so a chatty program cannot block on a
        // full pipe; what is past the limit is read and dropped.
        let out = std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut buf = [0u8; 8192];
            let mut total = 0usize;
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                total += n;
                if kept.len() < COMMAND_OUTPUT_LIMIT + 1 {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
            (kept, total)
        });
        let err = std::thread::spawn(move || {
            let mut tail = Vec::new();
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 2 * COMMAND_OUTPUT_LIMIT {
                    tail.drain(..tail.len() - COMMAND_OUTPUT_LIMIT);
                }
            }
            last_line(&tail)
        });
        let deadline = Instant::now() + limit;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() >= deadline => {
                    let _ = child.kill();
                    let _ = child.wait();
                    // A grandchild may hold the pipe open: its stderr is not waited for.
                    let stderr = if err.is_finished() {
                        err.join().ok().flatten()
                    } else {
                        None
                    };
                    return Err(fail(CommandFailure::Timeout {
                        after: limit,
                        stderr,
                    }));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                Err(e) => return Err(fail(CommandFailure::Spawn(e))),
            }
        };
        let (kept, total) = out.join().unwrap_or_default();
        let stderr = err.join().ok().flatten();
        if !status.success() {
            return Err(fail(CommandFailure::Exit {
                status: describe(status),
                stderr,
            }));
        }
        if total > COMMAND_OUTPUT_LIMIT {
            return Err(fail(CommandFailure::TooLong));
        }
        let first = kept.split(|&b| b == b'\n').next().unwrap_or_default();
        let first = std::str::from_utf8(first).map_err(|_| fail(CommandFailure::NotUtf8))?;
        let secret = first.trim_end();
        if secret.is_empty() {
            return Err(fail(CommandFailure::Empty { stderr }));
        }
        Ok(Secret(secret.to_owned()))
    }
}

/// `status 1`, or `signal 9` for a program that was killed.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("status {code}"),
        None => "an unknown status".into(),
    }
}

/// The last non-empty line of `bytes`, control characters replaced, at most 300 characters.
fn last_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let clean: String = line
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(300)
        .collect();
    Some(clean)
}

/// Where a login's secret comes from each time a connection is made.
#[derive(Debug, Clone)]
pub enum SecretSource {
    /// Read once when the setup was checked: a file, a variable, a systemd credential.
    Fixed(Secret),
    /// Run at every login, never cached beyond one connection.
    Command(PasswordCommand),
}

impl From<Secret> for SecretSource {
    fn from(secret: Secret) -> Self {
        SecretSource::Fixed(secret)
    }
}

impl SecretSource {
    /// The secret for one login; runs the command, if that is the source, off the async threads.
    pub async fn fetch(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Fixed(secret) => Ok(secret.clone()),
            SecretSource::Command(command) => {
                let command = command.clone();
                let shown = command.to_string();
                tokio::task::spawn_blocking(move || command.run())
                    .await
                    .unwrap_or_else(|e| {
                        Err(SecretError::Command(
                            shown,
                            CommandFailure::Spawn(std::io::Error::other(e.to_string())),
                        ))
                    })
            }
        }
    }

    /// Whether a second try can bring a different secret (a refreshed token).
    pub fn can_refresh(&self) -> bool {
        matches!(self, SecretSource::Command(_))
    }
}

/// Where a password comes from. The password itself is read only when connecting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    File(PathBuf),
    Env(String),
    /// `$CREDENTIALS_DIRECTORY/<name>` under systemd (`smtp-password`, `imap-password`), else
    /// none.
    Credential(&'static str),
    /// `password_command`: run at every login.
    Command(PasswordCommand),
}

/// Reads the password from where the configuration says it lives.
///
/// `env` looks up environment variables (`|name| std::env::var_os(name)` in production), so tests
/// need not mutate the process environment. `Ok(None)` means "no password configured": only
/// [`PasswordSource::Credential`] outside systemd, or without that credential, gives it.
pub fn read_password<F>(source: &PasswordSource, env: F) -> Result<Option<Secret>, SecretError>
where
    F: Fn(&str) -> Option<std::ffi::OsString>,
{
    match source {
        PasswordSource::File(path) => read_file(path).map(Some),
        PasswordSource::Env(name) => {
            let value = env(name).ok_or_else(|| SecretError::EnvMissing(name.clone()))?;
            let value = value
                .into_string()
                .map_err(|_| SecretError::EnvNotUnicode(name.clone()))?;
            if value.is_empty() {
                return Err(SecretError::EnvEmpty(name.clone()));
            }
            Ok(Some(Secret(value)))
        }
        PasswordSource::Command(command) => command.run().map(Some),
        PasswordSource::Credential(name) => {
            let Some(dir) = env("CREDENTIALS_DIRECTORY") else {
                return Ok(None);
            };
            let path = Path::new(&dir).join(name);
            if !path.exists() {
                return Ok(None);
            }
            read_file(&path).map(Some)
        }
    }
}

fn read_file(path: &Path) -> Result<Secret, SecretError> {
    let bytes = std::fs::read(path).map_err(|source| SecretError::File {
        path: path.to_path_buf(),
        cause: source,
    })?;
    warn_if_shared(path);
    let mut text =
        String::from_utf8(bytes).map_err(|_| SecretError::NotUtf8(path.to_path_buf()))?;
    // Editors and `echo` add one newline; anything else is part of the password.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    if text.is_empty() {
        return Err(SecretError::EmptyFile(path.to_path_buf()));
    }
    Ok(Secret(text))
}

/// A password others can read is still usable, but the user should know.
#[cfg(unix)]
fn warn_if_shared(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                file = %path.display(),
                mode = format_args!("{:o}", mode & 0o777),
                "the password file is readable by group or others; run `chmod 600 {}`",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_path: &Path) {}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::logging::tests::Sink;

    fn no_env(_: &str) -> Option<OsString> {
        None
    }

    /// Writes a file only its owner can read, so the permission warning stays out of tests that
    /// are not about it.
    fn write_private(path: &Path, content: &str) {
        std::fs::write(path, content).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[test]
    fn secret_formats_as_redacted() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_loses_exactly_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        write_private(&path, "s3cret \n\n");
        let got = read_password(&PasswordSource::File(path.clone()), no_env).unwrap();
        assert_eq!(got.unwrap().expose(), "s3cret \n");

        write_private(&path, "s3cret\r\n");
        let got = read_password(&PasswordSource::File(path), no_env).unwrap();
        assert_eq!(got.unwrap().expose(), "s3cret");
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_works_but_draws_a_chmod_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "shared\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .finish();
        let got = tracing::subscriber::with_default(subscriber, || {
            read_password(&PasswordSource::File(path.clone()), no_env)
        });

        assert_eq!(got.unwrap().unwrap().expose(), "shared");
        let text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
        assert!(text.contains("chmod 600"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(
            !text.contains("shared\n") && !text.contains("\"shared\""),
            "{text}"
        );
    }

    #[test]
    fn missing_file_error_names_the_file() {
        let err = read_password(
            &PasswordSource::File("/nonexistent/followup-pw".into()),
            no_env,
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/followup-pw"));
    }

    #[test]
    fn env_source_reads_the_named_variable() {
        let env = |name: &str| (name == "SMTP_PW").then(|| OsString::from("from-env"));
        let got = read_password(&PasswordSource::Env("SMTP_PW".into()), env).unwrap();
        assert_eq!(got.unwrap().expose(), "from-env");
        let err = read_password(&PasswordSource::Env("OTHER".into()), env).unwrap_err();
        assert!(matches!(err, SecretError::EnvMissing(ref n) if n == "OTHER"));
    }

    #[test]
    fn credentials_outside_systemd_is_none() {
        assert!(
            read_password(&PasswordSource::Credential(SMTP_CREDENTIAL), no_env)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn credentials_directory_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let env = |name: &str| {
            (name == "CREDENTIALS_DIRECTORY").then(|| dir.path().as_os_str().to_owned())
        };
        assert!(
            read_password(&PasswordSource::Credential(SMTP_CREDENTIAL), env)
                .unwrap()
                .is_none()
        );
        write_private(&dir.path().join(SMTP_CREDENTIAL), "cred\n");
        let got = read_password(&PasswordSource::Credential(SMTP_CREDENTIAL), env).unwrap();
        assert_eq!(got.unwrap().expose(), "cred");
    }

    fn sh(script: &str) -> PasswordCommand {
        PasswordCommand(vec!["sh".into(), "-c".into(), script.into()])
    }

    #[test]
    fn a_password_command_gives_its_first_line_without_trailing_whitespace() {
        let got = sh("printf 'tok en \\t\\nsecond line\\n'").run().unwrap();
        assert_eq!(got.expose(), "tok en");
        let source = PasswordSource::Command(sh("echo from-command"));
        let got = read_password(&source, no_env).unwrap().unwrap();
        assert_eq!(got.expose(), "from-command");
    }

    #[test]
    fn a_password_command_that_does_not_exist_is_named() {
        let command = PasswordCommand(vec!["/nonexistent/token-helper".into(), "show".into()]);
        let err = command.run().unwrap_err();
        assert!(
            matches!(err, SecretError::Command(_, CommandFailure::Spawn(_))),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(text.contains("`/nonexistent/token-helper show`"), "{text}");
        assert!(text.contains("cannot be started"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_password_command_that_is_not_executable_cannot_be_started() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("helper");
        std::fs::write(&path, "#!/bin/sh\necho x\n").unwrap();
        let err = PasswordCommand(vec![path.display().to_string()])
            .run()
            .unwrap_err();
        assert!(
            matches!(err, SecretError::Command(_, CommandFailure::Spawn(_))),
            "{err:?}"
        );
    }

    #[test]
    fn a_failing_password_command_gives_its_status_and_last_error_line() {
        let err = sh(
            "echo lea''ked-secret; echo first >&2; echo 'token expired: sign in again' >&2; exit 3",
        )
        .run()
        .unwrap_err();
        let SecretError::Command(_, CommandFailure::Exit { status, stderr }) = &err else {
            panic!("{err:?}");
        };
        assert_eq!(status, "status 3");
        assert_eq!(stderr.as_deref(), Some("token expired: sign in again"));
        let text = err.to_string();
        assert!(
            text.contains("status 3") && text.contains("sign in again"),
            "{text}"
        );
        assert!(!text.contains("leaked-secret"), "{text}");
    }

    #[test]
    fn a_password_command_that_hangs_is_stopped_at_the_timeout() {
        let started = Instant::now();
        let err = sh("sleep 30")
            .run_within(Duration::from_millis(300))
            .unwrap_err();
        assert!(
            matches!(err, SecretError::Command(_, CommandFailure::Timeout { .. })),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(20));
    }

    #[test]
    fn a_password_command_that_prints_nothing_is_an_error() {
        for script in ["true", "echo", "printf '  \\nsecond\\n'"] {
            let err = sh(script).run().unwrap_err();
            assert!(
                matches!(err, SecretError::Command(_, CommandFailure::Empty { .. })),
                "{script}: {err:?}"
            );
        }
    }

    #[test]
    fn a_password_command_that_prints_a_thousand_lines_gives_the_first() {
        let got = sh("echo first; seq 1 1000").run().unwrap();
        assert_eq!(got.expose(), "first");
        let err = sh("echo first; seq 1 100000").run().unwrap_err();
        assert!(
            matches!(err, SecretError::Command(_, CommandFailure::TooLong)),
            "{err:?}"
        );
    }

    #[test]
    fn a_password_command_has_no_standard_input() {
        // `cat` of an empty stdin prints nothing instead of waiting for a terminal.
        let err = PasswordCommand(vec!["cat".into()]).run().unwrap_err();
        assert!(
            matches!(err, SecretError::Command(_, CommandFailure::Empty { .. })),
            "{err:?}"
        );
    }
}
