//! The connection to an IMAP server: TCP, then TLS, STARTTLS or (on loopback only) plain; the
//! greeting; the login (`LOGIN`, or `AUTHENTICATE XOAUTH2`); every step under a timeout. What a
//! server's `NO` or `BAD` says is read back from its tagged line ([`Refusal`]), and the client's
//! errors ([`ImapError`]) say whether trying again can help. A login gives a
//! [`Session`](super::Session).

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::Session;
use crate::input::config::Auth;
use crate::input::secret::{Secret, SecretSource};
use crate::net::{PlainNotLoopback, Protocol, Security, bare_host, is_loopback_address};
use crate::retry::Failure;

/// Where and how to connect. The password is read by the caller (see `crate::input::secret`).
#[derive(Debug, Clone)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    /// Fetched at every login: a command's token is never older than its connection.
    pub password: SecretSource,
    /// `LOGIN` with a password, or `AUTHENTICATE XOAUTH2` with an access token.
    pub auth: Auth,
    /// An extra root certificate (PEM) to trust: a home server's self-signed one.
    pub ca_file: Option<PathBuf>,
    pub timeouts: Timeouts,
    /// Use IDLE when the server offers it [default: true]; `false` polls, for the rare server
    /// whose IDLE is broken.
    pub use_idle: bool,
}

/// How long each step may take. IDLE has two: a server that says nothing for `idle_silence`
/// (each keep-alive renews it) is asked whether it is still there, and IDLE is re-issued every
/// `idle_renew` in any case, under the 29 minutes RFC 2177 allows and before the ~25 minutes
/// after which NAT boxes drop quiet connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub command: Duration,
    pub idle_silence: Duration,
    pub idle_renew: Duration,
    /// Under `auth: xoauth2`, a session is ended and logged in again with a fresh token after
    /// this long: access tokens last an hour, and Exchange ends a session whose token expired.
    pub token_relogin: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            command: Duration::from_secs(60),
            idle_silence: Duration::from_secs(5 * 60),
            idle_renew: Duration::from_secs(20 * 60),
            token_relogin: Duration::from_secs(45 * 60),
        }
    }
}

/// Why an IMAP step failed. [`ImapError::is_transient`] says whether trying again later can
/// help; [`ImapError::is_auth_failure`] singles out a refused login, which must not be retried
/// in a tight loop (servers lock accounts that do).
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error(transparent)]
    PlainNotLoopback(#[from] PlainNotLoopback),
    #[error("cannot read the IMAP ca_file {path}: {cause}")]
    CaFile { path: PathBuf, cause: io::Error },
    #[error("the IMAP ca_file {path} holds no usable PEM certificate: {detail}")]
    CaInvalid { path: PathBuf, detail: String },
    #[error("cannot connect to the IMAP server {host}:{port}: {cause}")]
    Connect {
        host: String,
        port: u16,
        cause: io::Error,
    },
    #[error("the IMAP server {host} did not {what} within {}s", after.as_secs())]
    Timeout {
        host: String,
        what: String,
        after: Duration,
    },
    #[error("TLS with the IMAP server {host} failed: {detail}")]
    Tls { host: String, detail: String },
    #[error(
        "the IMAP server {host} does not offer STARTTLS, and `starttls` never continues in \
         clear; use `tls` (port 993) if the server has it"
    )]
    NoStarttls { host: String },
    #[error(
        "the IMAP server {host} refused the login of {username}: {detail}; check `username` \
         and the password"
    )]
    AuthFailed {
        host: String,
        username: String,
        detail: String,
    },
    #[error(
        "the IMAP folder `{folder}` cannot be opened: {detail}; {}",
        folders_in_words(existing)
    )]
    NoFolder {
        folder: String,
        detail: String,
        /// The folders the server has, when it listed them.
        existing: Vec<String>,
    },
    #[error("the IMAP server {host} refused {command}: {detail}")]
    Refused {
        host: String,
        command: String,
        detail: String,
        /// `BAD`: the command itself was wrong, which trying again does not fix.
        bad: bool,
    },
    #[error("the IMAP server {host} did not report the UIDVALIDITY of `{folder}`")]
    NoUidValidity { host: String, folder: String },
    #[error("the IMAP connection to {host} was lost during {what}: {detail}")]
    Lost {
        host: String,
        what: String,
        detail: String,
    },
    #[error("the IMAP server {host} has no IDLE")]
    NoIdle { host: String },
    #[error("the IMAP connection to {host} is closed after an earlier failure")]
    Closed { host: String },
    #[error("no IMAP login to {host}: {detail}")]
    Password { host: String, detail: String },
    #[error(
        "the IMAP server {host} does not offer AUTHENTICATE {wanted}, which `auth: {}` needs; \
         it offers {offered}", wanted.to_ascii_lowercase()
    )]
    NoMechanism {
        host: String,
        wanted: String,
        offered: String,
    },
}

impl ImapError {
    /// Whether the same step may succeed later without a change of configuration.
    pub fn is_transient(&self) -> bool {
        match self {
            ImapError::Connect { .. }
            | ImapError::Timeout { .. }
            | ImapError::Lost { .. }
            | ImapError::Closed { .. }
            | ImapError::Password { .. } => true,
            ImapError::Refused { bad, .. } => !bad,
            ImapError::PlainNotLoopback { .. }
            | ImapError::CaFile { .. }
            | ImapError::CaInvalid { .. }
            | ImapError::Tls { .. }
            | ImapError::NoStarttls { .. }
            | ImapError::AuthFailed { .. }
            | ImapError::NoFolder { .. }
            | ImapError::NoUidValidity { .. }
            | ImapError::NoIdle { .. }
            | ImapError::NoMechanism { .. } => false,
        }
    }

    /// Which kind of failure this is, in a word that stays the same however the server words
    /// it (its text may carry timings): what a log of lasting problems compares.
    pub fn kind(&self) -> &'static str {
        match self {
            ImapError::PlainNotLoopback { .. } => "plain-not-loopback",
            ImapError::CaFile { .. } => "ca-file",
            ImapError::CaInvalid { .. } => "ca-invalid",
            ImapError::Connect { .. } => "connect",
            ImapError::Timeout { .. } => "timeout",
            ImapError::Tls { .. } => "tls",
            ImapError::NoStarttls { .. } => "no-starttls",
            ImapError::AuthFailed { .. } => "auth-failed",
            ImapError::NoFolder { .. } => "no-folder",
            ImapError::Refused { .. } => "refused",
            ImapError::NoUidValidity { .. } => "no-uidvalidity",
            ImapError::Lost { .. } => "lost",
            ImapError::NoIdle { .. } => "no-idle",
            ImapError::Closed { .. } => "closed",
            ImapError::Password { .. } => "password-command",
            ImapError::NoMechanism { .. } => "no-mechanism",
        }
    }

    /// A wrong username or password (or an account the server will not let in).
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, ImapError::AuthFailed { .. })
    }
}

impl Failure for ImapError {
    fn heals_by_itself(&self) -> bool {
        self.is_transient()
    }
}

/// The byte stream under the protocol: plain TCP (loopback only) or TLS, keeping the last
/// bytes the server sent. async-imap hands a `NO` or `BAD` on only as its own Debug text; the
/// tagged line itself, read back from here, gives the server's response code and words.
#[derive(Debug)]
pub(super) struct Transport {
    stream: Stream,
    heard: Heard,
}

#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Transport {
    fn plain(tcp: TcpStream) -> Self {
        Self {
            stream: Stream::Plain(tcp),
            heard: Heard::default(),
        }
    }

    fn tls(tls: TlsStream<TcpStream>) -> Self {
        Self {
            stream: Stream::Tls(Box::new(tls)),
            heard: Heard::default(),
        }
    }

    /// The refusal the server sent last, if the last line it sent is one.
    pub(super) fn refusal(&self) -> Option<Refusal> {
        Refusal::parse(self.heard.last_line()?)
    }
}

/// The tail of what the server sent: enough for its last line.
#[derive(Default)]
struct Heard(Vec<u8>);

impl fmt::Debug for Heard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Heard({} bytes)", self.0.len())
    }
}

impl Heard {
    const KEEP: usize = 4096;

    fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= Self::KEEP {
            self.0.clear();
            self.0.extend_from_slice(&bytes[bytes.len() - Self::KEEP..]);
            return;
        }
        let over = (self.0.len() + bytes.len()).saturating_sub(Self::KEEP);
        self.0.drain(..over);
        self.0.extend_from_slice(bytes);
    }

    /// The last complete line, without its CRLF.
    fn last_line(&self) -> Option<&[u8]> {
        let body = self.0.strip_suffix(b"\r\n")?;
        let start = body
            .windows(2)
            .rposition(|w| w == b"\r\n")
            .map_or(0, |i| i + 2);
        Some(&body[start..])
    }
}

/// A server's `NO` or `BAD` to a command, in its own words: the response code (RFC 5530:
/// `NONEXISTENT`, `AUTHENTICATIONFAILED`, `UNAVAILABLE`, ...) and the human-readable text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `BAD` (the command was wrong) rather than `NO`.
    pub bad: bool,
    /// The response code's name, upper case, without its arguments.
    pub code: Option<String>,
    pub text: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.code, self.text.is_empty()) {
            (Some(code), false) => write!(f, "[{code}] {}", self.text),
            (Some(code), true) => write!(f, "[{code}]"),
            (None, false) => f.write_str(&self.text),
            (None, true) => f.write_str(if self.bad { "BAD" } else { "NO" }),
        }
    }
}

impl Refusal {
    /// `tag SP ("NO" / "BAD") SP ["[" code "]" SP] text` (RFC 3501 `response-tagged`).
    fn parse(line: &[u8]) -> Option<Refusal> {
        let line = String::from_utf8_lossy(line);
        let (tag, rest) = line.split_once(' ')?;
        if tag.is_empty() || tag == "*" || tag == "+" {
            return None;
        }
        let (status, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        let bad = if status.eq_ignore_ascii_case("NO") {
            false
        } else if status.eq_ignore_ascii_case("BAD") {
            true
        } else {
            return None;
        };
        let (code, text) = match rest.strip_prefix('[').and_then(|r| r.split_once(']')) {
            Some((code, text)) => {
                let name = code.split(' ').next().unwrap_or_default();
                (Some(name.to_ascii_uppercase()), text)
            }
            None => (None, rest),
        };
        Some(Refusal {
            bad,
            code: code.filter(|c| !c.is_empty()),
            text: text.trim().to_string(),
        })
    }

    /// A refusal that says the server, not the request, is the problem now (RFC 5530
    /// `UNAVAILABLE`, `INUSE`, `SERVERBUG`, `LIMIT`), or says in words to try again.
    pub fn is_temporary(&self) -> bool {
        let by_code = self
            .code
            .as_deref()
            .is_some_and(|c| matches!(c, "UNAVAILABLE" | "INUSE" | "SERVERBUG" | "LIMIT"));
        let text = self.text.to_ascii_lowercase();
        by_code || text.contains("temporar") || text.contains("try again")
    }

    /// RFC 5530 `NONEXISTENT`, or RFC 3501 `TRYCREATE`: the folder is not there.
    pub fn is_no_such_folder(&self) -> bool {
        matches!(self.code.as_deref(), Some("NONEXISTENT" | "TRYCREATE"))
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = match &mut this.stream {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        if let Poll::Ready(Ok(())) = polled {
            this.heard.push(&buf.filled()[before..]);
        }
        polled
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().stream {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

pub(super) type Inner = async_imap::Session<Transport>;

/// Connects and logs in; holds the checked settings and the TLS roots.
#[derive(Clone)]
pub struct ImapClient {
    settings: ImapSettings,
    tls: TlsConnector,
}

impl fmt::Debug for ImapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl ImapClient {
    /// Checks the settings (plain only to loopback, a readable `ca_file`) and loads the roots.
    pub fn new(settings: ImapSettings) -> Result<Self, ImapError> {
        settings
            .security
            .check_host(Protocol::Imap, &settings.host)?;
        let mut roots = RootCertStore::empty();
        // The system's roots, as lettre uses for SMTP; unreadable ones are skipped.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|cause| ImapError::CaFile {
                path: path.clone(),
                cause,
            })?;
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| ImapError::CaInvalid {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                roots.add(cert).map_err(|e| ImapError::CaInvalid {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                added += 1;
            }
            if added == 0 {
                return Err(ImapError::CaInvalid {
                    path: path.clone(),
                    detail: "no BEGIN CERTIFICATE block".into(),
                });
            }
        }
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| ImapError::Tls {
                    host: settings.host.clone(),
                    detail: e.to_string(),
                })?
                .with_root_certificates(roots)
                .with_no_client_auth();
        Ok(Self {
            settings,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    pub fn settings(&self) -> &ImapSettings {
        &self.settings
    }

    /// Connects, secures the connection as configured, and logs in.
    pub async fn connect(&self) -> Result<Session, ImapError> {
        let s = &self.settings;
        let t = s.timeouts;
        let tcp = timeout(t.connect, TcpStream::connect((bare_host(&s.host), s.port)))
            .await
            .map_err(|_| self.timed_out("accept a connection", t.connect))?
            .map_err(|cause| ImapError::Connect {
                host: s.host.clone(),
                port: s.port,
                cause,
            })?;
        if s.security == Security::Plain {
            // Checked in `new` by name; checked again here by the address actually reached.
            let peer = tcp.peer_addr().map_err(|cause| ImapError::Connect {
                host: s.host.clone(),
                port: s.port,
                cause,
            })?;
            if !is_loopback_address(peer.ip()) {
                return Err(ImapError::PlainNotLoopback(PlainNotLoopback {
                    protocol: Protocol::Imap,
                    host: format!("{} ({})", s.host, peer.ip()),
                }));
            }
        }
        // What the greeting lists; after STARTTLS, what was said in clear is not trusted.
        let mut offered = None;
        let client = match s.security {
            Security::Tls => {
                let tls = self.handshake(tcp).await?;
                let mut client = async_imap::Client::new(Transport::tls(tls));
                offered = self.greeting(&mut client).await?;
                client
            }
            Security::Plain => {
                let mut client = async_imap::Client::new(Transport::plain(tcp));
                offered = self.greeting(&mut client).await?;
                client
            }
            Security::Starttls => {
                let mut client = async_imap::Client::new(tcp);
                let caps = self.greeting(&mut client).await?;
                // A greeting that lists capabilities without STARTTLS needs no question.
                if caps.is_some_and(|caps| !caps.iter().any(|c| c == "STARTTLS")) {
                    return Err(ImapError::NoStarttls {
                        host: s.host.clone(),
                    });
                }
                let answer = timeout(t.command, client.run_command_and_check_ok("STARTTLS", None))
                    .await
                    .map_err(|_| self.timed_out("answer STARTTLS", t.command))?;
                match answer {
                    Ok(()) => {}
                    Err(async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)) => {
                        return Err(ImapError::NoStarttls {
                            host: s.host.clone(),
                        });
                    }
                    Err(e) => return Err(self.lost("STARTTLS", e)),
                }
                // Whatever the server sent after its OK is dropped with the old stream: nothing
                // read in clear may be taken as said under TLS.
                let tls = self.handshake(client.into_inner()).await?;
                async_imap::Client::new(Transport::tls(tls))
            }
        };
        if let (Auth::Xoauth2, Some(caps)) = (s.auth, &offered)
            && !caps.iter().any(|c| c == "AUTH=XOAUTH2")
        {
            let listed: Vec<&str> = caps
                .iter()
                .filter_map(|c| c.strip_prefix("AUTH="))
                .collect();
            return Err(ImapError::NoMechanism {
                host: s.host.clone(),
                wanted: "XOAUTH2".into(),
                offered: match listed.is_empty() {
                    true => "no AUTHENTICATE mechanism".into(),
                    false => listed.join(", "),
                },
            });
        }
        let secret = self.secret().await?;
        let mut inner = match self.login(client, &secret).await {
            Ok(session) => session,
            // A token may have expired since the helper printed it: one fresh one, one retry.
            Err((e, Some(client))) if e.is_auth_failure() && s.password.can_refresh() => {
                tracing::info!(
                    host = %s.host,
                    "the IMAP server refused the login; running the password command once more"
                );
                let secret = self.secret().await?;
                self.login(client, &secret).await.map_err(|(e, _)| e)?
            }
            Err((e, _)) => return Err(e),
        };
        let caps = timeout(t.command, inner.capabilities())
            .await
            .map_err(|_| self.timed_out("answer CAPABILITY", t.command))?
            .map_err(|e| self.lost("CAPABILITY", e))?;
        Ok(Session {
            host: s.host.clone(),
            timeouts: t,
            idle: s.use_idle && caps.has_str("IDLE"),
            special_use: caps.has_str("SPECIAL-USE"),
            inner: Some(inner),
            selected: None,
            relogin_at: (s.auth == Auth::Xoauth2).then(|| Instant::now() + t.token_relogin),
        })
    }

    /// The secret for one login, from where the settings say.
    async fn secret(&self) -> Result<Secret, ImapError> {
        self.settings
            .password
            .fetch()
            .await
            .map_err(|e| ImapError::Password {
                host: self.settings.host.clone(),
                detail: e.to_string(),
            })
    }

    /// `LOGIN`, or `AUTHENTICATE XOAUTH2`; a refusal gives the client back for one more try
    /// (none after a timeout, which leaves the stream unknown). A `NO` or `BAD` is read from
    /// the server's own tagged line.
    async fn login(
        &self,
        client: async_imap::Client<Transport>,
        secret: &Secret,
    ) -> Result<Inner, (ImapError, Option<async_imap::Client<Transport>>)> {
        let s = &self.settings;
        let t = s.timeouts;
        let (command, answer) = match s.auth {
            Auth::Password => (
                "LOGIN",
                timeout(t.command, client.login(&s.username, secret.expose())).await,
            ),
            Auth::Xoauth2 => {
                let authenticator = Xoauth2 {
                    user: s.username.clone(),
                    token: secret.clone(),
                    sent: false,
                };
                (
                    "AUTHENTICATE XOAUTH2",
                    timeout(t.command, client.authenticate("XOAUTH2", authenticator)).await,
                )
            }
        };
        let answer = answer.map_err(|_| {
            (
                self.timed_out(&format!("answer {command}"), t.command),
                None,
            )
        })?;
        match answer {
            Ok(session) => Ok(session),
            Err((
                e @ (async_imap::error::Error::No(_) | async_imap::error::Error::Bad(_)),
                client,
            )) => {
                let refusal = client.get_ref().refusal().unwrap_or_else(|| Refusal {
                    bad: matches!(e, async_imap::error::Error::Bad(_)),
                    code: None,
                    text: String::new(),
                });
                let error = if refusal.is_temporary() {
                    ImapError::Refused {
                        host: s.host.clone(),
                        command: command.into(),
                        detail: refusal.to_string(),
                        bad: false,
                    }
                } else {
                    ImapError::AuthFailed {
                        host: s.host.clone(),
                        username: s.username.clone(),
                        detail: refusal.to_string(),
                    }
                };
                Err((error, Some(client)))
            }
            Err((e, _)) => Err((self.lost(command, e), None)),
        }
    }

    async fn handshake(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, ImapError> {
        let s = &self.settings;
        let name =
            ServerName::try_from(bare_host(&s.host).to_string()).map_err(|e| ImapError::Tls {
                host: s.host.clone(),
                detail: format!("`{}` is not a host name: {e}", s.host),
            })?;
        timeout(s.timeouts.connect, self.tls.connect(name, tcp))
            .await
            .map_err(|_| self.timed_out("finish the TLS handshake", s.timeouts.connect))?
            .map_err(|e| ImapError::Tls {
                host: s.host.clone(),
                detail: e.to_string(),
            })
    }

    /// Reads the server's greeting; returns the capabilities it lists, if it lists them.
    async fn greeting<T>(
        &self,
        client: &mut async_imap::Client<T>,
    ) -> Result<Option<Vec<String>>, ImapError>
    where
        T: AsyncRead + AsyncWrite + Unpin + fmt::Debug + Send,
    {
        use async_imap::imap_proto::{Capability, Response, ResponseCode, Status};
        let t = self.settings.timeouts.command;
        let line = timeout(t, client.read_response())
            .await
            .map_err(|_| self.timed_out("greet", t))?
            .map_err(|e| self.lost("the greeting", e.into()))?;
        let Some(line) = line else {
            return Err(self.lost("the greeting", async_imap::error::Error::ConnectionLost));
        };
        match line.parsed() {
            Response::Data {
                status: Status::Ok,
                outcome,
            } => Ok(match &outcome.code {
                Some(ResponseCode::Capabilities(caps)) => Some(
                    caps.iter()
                        .map(|c| match c {
                            Capability::Imap4rev1 => "IMAP4REV1".to_string(),
                            Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
                            Capability::Atom(a) => a.to_ascii_uppercase(),
                        })
                        .collect(),
                ),
                _ => None,
            }),
            // `* BYE` (too many connections, shutting down) or `* PREAUTH`, which would skip
            // STARTTLS and LOGIN: neither is a server to talk to.
            other => Err(ImapError::Lost {
                host: self.settings.host.clone(),
                what: "the greeting".into(),
                detail: match other {
                    Response::Data {
                        status: Status::Bye,
                        outcome,
                    } => format!(
                        "the server said BYE: {}",
                        outcome.information.as_deref().unwrap_or("no reason given")
                    ),
                    Response::Data {
                        status: Status::PreAuth,
                        ..
                    } => "the server greeted with PREAUTH, which would skip STARTTLS and the \
                          login"
                        .into(),
                    _ => "the server's first line is not a greeting".into(),
                },
            }),
        }
    }

    fn timed_out(&self, what: &str, after: Duration) -> ImapError {
        ImapError::Timeout {
            host: self.settings.host.clone(),
            what: what.into(),
            after,
        }
    }

    fn lost(&self, what: &str, e: async_imap::error::Error) -> ImapError {
        lost(&self.settings.host, what, e)
    }
}

pub(super) fn lost(host: &str, what: &str, e: async_imap::error::Error) -> ImapError {
    ImapError::Lost {
        host: host.into(),
        what: what.into(),
        detail: in_words(&e),
    }
}

/// SASL XOAUTH2 (Google's and Microsoft's): `user=<account>^Aauth=Bearer <token>^A^A`. A refused
/// token draws a challenge holding the reason, which is answered with an empty response so
/// that the server ends the exchange with `NO`.
struct Xoauth2 {
    user: String,
    token: Secret,
    sent: bool,
}

impl async_imap::Authenticator for Xoauth2 {
    type Response = String;

    fn process(&mut self, _challenge: &[u8]) -> String {
        if std::mem::replace(&mut self.sent, true) {
            return String::new();
        }
        format!(
            "user={}\x01auth=Bearer {}\x01\x01",
            self.user,
            self.token.expose()
        )
    }
}

/// async-imap's error, said by its kind (its own text for some kinds is Debug output).
fn in_words(e: &async_imap::error::Error) -> String {
    use async_imap::error::Error as E;
    match e {
        E::Io(io) => io.to_string(),
        E::ConnectionLost => "the server closed the connection".into(),
        E::Parse(_) => "the server sent a response that is not IMAP".into(),
        E::Validate(v) => format!("the character {:?} cannot be sent in a command", v.0),
        E::Append => "the server did not take the message".into(),
        E::No(_) => "the server answered NO".into(),
        E::Bad(_) => "the server answered BAD".into(),
        _ => "an unexpected failure of the IMAP library".into(),
    }
}

/// `the server has: INBOX, Sent, Trash`, or where to find that out.
fn folders_in_words(existing: &[String]) -> String {
    if existing.is_empty() {
        "`followup check-imap` lists the folders".into()
    } else {
        format!("the folders are: {}", existing.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(host: &str, security: Security) -> ImapSettings {
        ImapSettings {
            host: host.into(),
            port: 143,
            security,
            username: "sam@example.org".into(),
            password: Secret::new("hunter2-imap").into(),
            auth: Default::default(),
            ca_file: None,
            timeouts: Timeouts::default(),
            use_idle: true,
        }
    }

    #[test]
    fn plain_is_refused_to_a_host_that_is_not_loopback() {
        let err = ImapClient::new(settings("imap.example.org", Security::Plain)).unwrap_err();
        assert!(matches!(err, ImapError::PlainNotLoopback { .. }), "{err}");
        assert!(!err.is_transient());
        for ok in ["localhost", "127.0.0.1", "[::1]"] {
            assert!(
                ImapClient::new(settings(ok, Security::Plain)).is_ok(),
                "{ok}"
            );
        }
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let client = ImapClient::new(settings("imap.example.org", Security::Tls)).unwrap();
        let text = format!("{client:?} {:?}", client.settings());
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("[redacted]"), "{text}");
    }

    #[test]
    fn a_ca_file_without_a_certificate_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let mut s = settings("imap.example.org", Security::Tls);
        s.ca_file = Some(path.clone());
        let err = ImapClient::new(s).unwrap_err();
        assert!(matches!(err, ImapError::CaInvalid { .. }), "{err}");
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );

        let mut s = settings("imap.example.org", Security::Tls);
        s.ca_file = Some(dir.path().join("missing.pem"));
        assert!(matches!(
            ImapClient::new(s).unwrap_err(),
            ImapError::CaFile { .. }
        ));
    }

    #[test]
    fn errors_say_whether_trying_again_can_help() {
        let auth = ImapError::AuthFailed {
            host: "imap.example.org".into(),
            username: "sam".into(),
            detail: "[AUTHENTICATIONFAILED] Authentication failed.".into(),
        };
        assert!(auth.is_auth_failure() && !auth.is_transient());
        let lost = ImapError::Lost {
            host: "h".into(),
            what: "IDLE".into(),
            detail: "x".into(),
        };
        assert!(lost.is_transient() && !lost.is_auth_failure());
        assert!(
            ImapError::NoStarttls { host: "h".into() }
                .to_string()
                .contains("never continues in clear")
        );
    }

    #[test]
    fn a_refusal_is_read_from_the_servers_tagged_line() {
        let mut heard = Heard::default();
        heard.push(b"* LIST () \".\" Sent\r\nA0004 NO [NONEXISTENT] Mailbox doesn't exist: Sent Items (0.001 + 0.000 secs).\r\n");
        let r = Refusal::parse(heard.last_line().unwrap()).unwrap();
        assert!(!r.bad && r.is_no_such_folder() && !r.is_temporary());
        assert_eq!(r.code.as_deref(), Some("NONEXISTENT"));
        assert!(r.text.starts_with("Mailbox doesn't exist: Sent Items"));
        assert!(!r.to_string().contains("Some("), "{r}");

        let r = Refusal::parse(b"a1 NO [UNAVAILABLE] Temporary authentication failure.").unwrap();
        assert!(r.is_temporary());
        let r = Refusal::parse(b"A2 BAD Error in IMAP command: Unknown command.").unwrap();
        assert!(r.bad && r.code.is_none());
        assert_eq!(r.to_string(), "Error in IMAP command: Unknown command.");
        assert_eq!(Refusal::parse(b"* NO [ALERT] quota"), None, "untagged");
        assert_eq!(Refusal::parse(b"A3 OK done"), None);

        let mut heard = Heard::default();
        heard.push(b"A5 NO partial");
        assert_eq!(heard.last_line(), None, "no complete line yet");
        heard.push(&[b'x'; 5000]);
        heard.push(b"\r\nA6 NO [TRYCREATE] no such mailbox\r\n");
        assert!(heard.0.len() <= Heard::KEEP);
        let r = Refusal::parse(heard.last_line().unwrap()).unwrap();
        assert!(r.is_no_such_folder());
    }

    #[test]
    fn a_library_error_is_said_in_words_never_as_debug_text() {
        use async_imap::error::Error as E;
        for e in [
            E::ConnectionLost,
            E::Append,
            E::No("code: None, info: Some(\"x\")".into()),
            E::Io(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "reset by peer",
            )),
        ] {
            let words = in_words(&e);
            assert!(
                !words.contains("Some(") && !words.contains("code:"),
                "{words}"
            );
        }
    }
}
