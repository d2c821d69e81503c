//! Where the log goes and how it looks.
//!
//! Under systemd, stderr is a stream to the journal (`$JOURNAL_STREAM` names it), and the log is
//! better sent to journald natively, with its fields (`KEY`, `INTERVIEW`, `STEP`, `RECIPIENT`)
//! searchable: `journalctl -u followup INTERVIEW=globex`. Anywhere else it is one line of text
//! per event on stderr, coloured only on a terminal (never with `$NO_COLOR`), or JSON with
//! `--log-format json`. Dependencies speak only of warnings unless `RUST_LOG` says otherwise.

use std::fmt;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// followup's own events at INFO; its dependencies' (the scheduler's "Uninited", "Job creator
/// created", ...) only from WARN. `RUST_LOG` replaces this whole filter.
pub const DEFAULT_FILTER: &str = "warn,followup=info";

/// The directive every filter of the program carries: async-imap writes every command it sends
/// to the `log` crate at `trace`, LOGIN with its password included, and tracing-subscriber
/// forwards `log` records. Whatever `RUST_LOG` asks for, the IMAP password never reaches the log.
pub const PROTOCOL_LOG_OFF: &str = "async_imap=off";

/// The program's filter for `spec` (`RUST_LOG`'s syntax), with [`PROTOCOL_LOG_OFF`] added.
pub fn filter_from(spec: &str) -> Result<EnvFilter, tracing_subscriber::filter::ParseError> {
    let off = PROTOCOL_LOG_OFF.parse().expect("a valid directive");
    Ok(EnvFilter::try_new(spec)?.add_directive(off))
}

/// The fields a send's log lines carry besides `key`, for searching the journal. On a line of
/// text they would only repeat the key, so they are left out there.
pub const SEND_FIELDS: [&str; 3] = ["interview", "step", "recipient"];

/// `--log-format`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// The journal when stderr is connected to it, else text.
    #[default]
    Auto,
    /// One line of text per event.
    Text,
    /// One JSON object per line.
    Json,
    /// journald's native protocol, with structured fields.
    Journal,
}

/// Sets up the global subscriber. Falls back to text (and says so) when the journal was asked
/// for but cannot be reached.
pub fn init(format: LogFormat) {
    let (filter, bad_filter) = filter();
    let registry = tracing_subscriber::registry().with(filter);
    let journal = match format {
        LogFormat::Journal => Some(journald()),
        LogFormat::Auto if stderr_is_journal() => Some(journald()),
        _ => None,
    };
    let mut fallback = None;
    match (format, journal) {
        (_, Some(Ok(layer))) => registry.with(layer).init(),
        (LogFormat::Json, _) => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(false)
                    .with_writer(std::io::stderr),
            )
            .init(),
        (_, journal) => {
            // On the journal's own stream, journald stamps each line with the time already.
            let on_journal = journal.is_some();
            if let Some(Err(e)) = journal {
                fallback = Some(e);
            }
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(use_colour())
                .fmt_fields(TextFields);
            if on_journal {
                registry.with(layer.without_time()).init()
            } else {
                registry.with(layer).init()
            }
        }
    }
    if let Some(e) = fallback {
        tracing::warn!("cannot reach the journal ({e}); logging text to stderr");
    }
    if let Some(problem) = bad_filter {
        tracing::warn!("{problem}");
    }
}

/// `RUST_LOG` when set, else [`DEFAULT_FILTER`]; a `RUST_LOG` that does not parse is reported
/// and the default used.
fn filter() -> (EnvFilter, Option<String>) {
    let default = || filter_from(DEFAULT_FILTER).expect("the default filter parses");
    match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match filter_from(&spec) {
            Ok(filter) => (filter, None),
            Err(e) => (
                default(),
                Some(format!(
                    "RUST_LOG={spec:?} is not a log filter ({e}); using `{DEFAULT_FILTER}`. \
                     Write e.g. RUST_LOG=debug or RUST_LOG=followup=debug"
                )),
            ),
        },
        _ => (default(), None),
    }
}

fn journald() -> std::io::Result<tracing_journald::Layer> {
    Ok(tracing_journald::layer()?
        .with_field_prefix(None)
        .with_syslog_identifier("followup".into()))
}

/// Colour only for a person at a terminal, and never when `$NO_COLOR` is set (no-color.org).
pub fn use_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

/// Whether stderr is the stream systemd connected to the journal: `$JOURNAL_STREAM` holds its
/// `device:inode`, which a redirected stderr (a child, a pipe to a file) no longer matches.
pub fn stderr_is_journal() -> bool {
    let Some(expected) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = expected.to_str().and_then(|s| s.split_once(':')) else {
        return false;
    };
    let (Ok(dev), Ok(ino)) = (dev.parse::<u64>(), ino.parse::<u64>()) else {
        return false;
    };
    stderr_identity().is_some_and(|found| found == (dev, ino))
}

/// The `(device, inode)` of stderr.
fn stderr_identity() -> Option<(u64, u64)> {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    let meta = std::fs::File::from(fd).metadata().ok()?;
    Some((meta.dev(), meta.ino()))
}

/// Fields as `name=value`, the message first; a send's [`SEND_FIELDS`] are left out beside its
/// `key`, which says the same.
struct TextFields;

impl<'w> FormatFields<'w> for TextFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut found = Collected::default();
        fields.record(&mut found);
        let has_key = found.fields.iter().any(|(name, _)| *name == "key");
        let mut parts = found.message.into_iter().chain(
            found
                .fields
                .into_iter()
                .filter(|(name, _)| !(has_key && SEND_FIELDS.contains(name)))
                .map(|(name, value)| format!("{name}={value}")),
        );
        if let Some(first) = parts.next() {
            writer.write_str(&first)?;
        }
        for part in parts {
            writer.write_char(' ')?;
            writer.write_str(&part)?;
        }
        Ok(())
    }
}

#[derive(Default)]
struct Collected {
    message: Option<String>,
    fields: Vec<(&'static str, String)>,
}

impl Visit for Collected {
    fn record_str(&mut self, field: &Field, value: &str) {
        if value.contains(char::is_whitespace) || value.is_empty() {
            self.record(field, format!("{value:?}"));
        } else {
            self.record(field, value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, format!("{value:?}"));
    }
}

impl Collected {
    fn record(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = Some(value),
            // Bridged `log` records carry where they came from; the text line does not need it.
            name if name.starts_with("log.") => {}
            name => self.fields.push((name, value)),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn text_lines_name_a_send_by_its_key_alone() {
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || Sink(sink.clone()))
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .fmt_fields(TextFields)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(
                key = "globex/thank_you/jane@globex.example.com",
                interview = "globex",
                step = "thank_you",
                recipient = "jane@globex.example.com",
                file = "a b.eml",
                "queued for approval"
            );
            tracing::info!(interview = "globex", "reloaded");
        });
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            " INFO queued for approval key=globex/thank_you/jane@globex.example.com \
             file=\"a b.eml\"\n INFO reloaded interview=globex\n"
        );
    }

    /// A log writer into memory, for tests that read what was logged.
    pub(crate) struct Sink(pub(crate) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
