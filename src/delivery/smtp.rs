//! SMTP submission over one reused connection, tracking each transaction stage by stage.
//!
//! lettre's `AsyncSmtpTransport::send` reports an error without saying whether the body had
//! already been handed over, which is the one fact the daemon needs to decide between "retry" and
//! "ask the user". So the transaction is driven command by command on lettre's lower-level
//! [`AsyncSmtpConnection`], and the moment the body and its final `.` are written is observed.
//!
//! The TCP connection is opened here, not by lettre, to set `TCP_NODELAY`: lettre writes the body
//! and the final `.` in two writes, and with Nagle's algorithm the second waits for the server's
//! delayed ACK of the first, about 40 ms a message.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
#[allow(deprecated)] // lettre's own TLS stream, used as it uses it, over our socket.
use lettre::transport::smtp::client::AsyncNetworkStream;
use lettre::transport::smtp::client::{
    AsyncSmtpConnection, AsyncTokioStream, Certificate, TlsParameters,
};
use lettre::transport::smtp::commands::{Auth as AuthCommand, Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{
    ClientId, Extension, MailBodyParameter, MailParameter, ServerInfo,
};
use lettre::transport::smtp::response::Response;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio::time::timeout;

use super::{BeforeBody, Delivered, DeliveryError, Envelope, Stage, Transport};
use crate::core::EmailAddress;
use crate::input::config::{Auth, SmtpConfig};
use crate::input::secret::{Secret, SecretSource};
use crate::net::{PlainNotLoopback, Protocol, Security, bare_host, is_loopback_address};

/// The mechanisms we speak, best first. Both send the password as is, hence TLS first.
const MECHANISMS: &[Mechanism] = &[Mechanism::Plain, Mechanism::Login];

/// A kept connection used this recently is used without a `NOOP` first: a batch of sends costs
/// no extra round trip each. Should the server have closed it all the same, the send opens a new
/// one before anything is committed (see [`SmtpSender::attempt`]).
const FRESH_FOR: Duration = Duration::from_secs(5);

/// The name followup greets the SMTP server with (EHLO): the configured `smtp.hello_name`, else
/// this machine's fully qualified name when it has one, else the domain of the sender's address.
/// Servers that filter mail score a bare host name (`EHLO vm`) as a sign of spam.
pub fn hello_name(configured: Option<&str>, sender: &EmailAddress) -> String {
    choose_hello_name(configured, machine_fqdn().as_deref(), sender)
}

/// [`hello_name`] with the machine's name given: the rule without the lookup.
fn choose_hello_name(
    configured: Option<&str>,
    machine: Option<&str>,
    sender: &EmailAddress,
) -> String {
    let qualified = |name: &&str| {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        name.contains('.')
            && !name.ends_with(".localdomain")
            && !name.starts_with("localhost")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
    };
    configured
        .or(machine.filter(qualified))
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .unwrap_or_else(|| sender.domain().to_ascii_lowercase())
}

/// This machine's name as the resolver knows it (`hostname --fqdn`): the host name when it is
/// qualified already, else the canonical name `getaddrinfo` gives it.
fn machine_fqdn() -> Option<String> {
    let host = hostname::get().ok()?.into_string().ok()?;
    if host.contains('.') {
        return Some(host);
    }
    let c_host = std::ffi::CString::new(host).ok()?;
    // SAFETY: getaddrinfo with a valid C string and zeroed hints; the result list is read
    // before freeaddrinfo and never after.
    unsafe {
        let mut hints: libc::addrinfo = std::mem::zeroed();
        hints.ai_flags = libc::AI_CANONNAME;
        hints.ai_family = libc::AF_UNSPEC;
        let mut found: *mut libc::addrinfo = std::ptr::null_mut();
        if libc::getaddrinfo(c_host.as_ptr(), std::ptr::null(), &hints, &mut found) != 0 {
            return None;
        }
        let name = (!found.is_null() && !(*found).ai_canonname.is_null()).then(|| {
            std::ffi::CStr::from_ptr((*found).ai_canonname)
                .to_string_lossy()
                .into_owned()
        });
        libc::freeaddrinfo(found);
        name
    }
}

/// Tunables that are not part of the user's configuration.
#[derive(Debug, Clone)]
pub struct SmtpOptions {
    /// The name sent in EHLO (followup's commands give [`hello_name`]); `None` is lettre's
    /// default, the bare host name, which only tests use.
    pub hello_name: Option<String>,
    /// Bounds the TCP connect, the greeting, TLS, EHLO and AUTH, and the liveness check of a
    /// reused connection.
    pub connect_timeout: Duration,
    /// Bounds one whole `send`, connecting included: lettre bounds only the TCP connect, and a
    /// server that stops answering must not hang the daemon.
    pub transaction_timeout: Duration,
    /// A PEM file of extra root certificates to trust besides the system's, for a server with a
    /// private CA or a self-signed certificate.
    pub extra_root_cert: Option<PathBuf>,
}

impl Default for SmtpOptions {
    fn default() -> Self {
        Self {
            hello_name: None,
            connect_timeout: Duration::from_secs(30),
            transaction_timeout: crate::input::config::SMTP_TIMEOUT,
            extra_root_cert: None,
        }
    }
}

/// Why a sender could not be built: configuration mistakes, caught before any connection.
#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error(transparent)]
    PlainNotLoopback(#[from] PlainNotLoopback),
    #[error("an SMTP username (`{0}`) is set but no password was found")]
    MissingPassword(String),
    #[error("cannot read the extra root certificate {path}: {cause}")]
    ReadRootCert {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("the extra root certificate {path} is not a usable PEM certificate: {detail}")]
    InvalidRootCert { path: PathBuf, detail: String },
    #[error("cannot set up TLS for {host}: {detail}")]
    Tls { host: String, detail: String },
}

/// Sends mail through the configured submission server, one connection kept open between sends.
///
/// The connection lives behind a mutex, so sends are serialized: one person's follow-ups do not
/// need parallelism, and a single connection keeps the server's rate limits happy.
pub struct SmtpSender {
    host: String,
    port: u16,
    protection: Protection,
    login: Option<Login>,
    hello: ClientId,
    connect_timeout: Duration,
    transaction_timeout: Duration,
    connection: Mutex<Option<Session>>,
}

/// Who logs in, how, and where the secret comes from at each connection.
struct Login {
    user: String,
    secret: SecretSource,
    auth: Auth,
}

/// The kept connection and when it last finished a command.
struct Session {
    conn: AsyncSmtpConnection,
    used_at: Instant,
}

impl std::fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSender")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.protection.security())
            .field("username", &self.login.as_ref().map(|l| &l.user))
            .finish_non_exhaustive()
    }
}

/// The configured [`Security`], with what it needs to set TLS up.
enum Protection {
    Implicit(TlsParameters),
    Starttls(TlsParameters),
    Plain,
}

impl Protection {
    fn security(&self) -> Security {
        match self {
            Protection::Implicit(_) => Security::Tls,
            Protection::Starttls(_) => Security::Starttls,
            Protection::Plain => Security::Plain,
        }
    }
}

/// `smtp.example.org offers 8BITMIME, AUTH LOGIN, AUTH PLAIN`: the server and what followup
/// can use of what it offers, in a stable order (lettre's own `Display` prints a debug set).
fn offered(info: &ServerInfo) -> String {
    let mut features: Vec<String> = [
        Extension::EightBitMime,
        Extension::SmtpUtfEight,
        Extension::StartTls,
    ]
    .into_iter()
    .chain(
        [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2]
            .into_iter()
            .map(Extension::Authentication),
    )
    .filter(|e| info.supports_feature(*e))
    .map(|e| e.to_string())
    .collect();
    features.sort();
    match features.is_empty() {
        true => format!("{} offers nothing followup uses", info.name()),
        false => format!("{} offers {}", info.name(), features.join(", ")),
    }
}

/// The AUTH mechanisms a server lists, as words: `PLAIN, LOGIN`, or `none`.
fn auth_offered(info: &ServerInfo) -> String {
    let all = [Mechanism::Plain, Mechanism::Login, Mechanism::Xoauth2];
    let listed: Vec<String> = all
        .into_iter()
        .filter(|m| info.supports_auth_mechanism(*m))
        .map(|m| m.to_string())
        .collect();
    match listed.is_empty() {
        true => "no AUTH mechanism followup knows".into(),
        false => format!("AUTH {}", listed.join(", ")),
    }
}

/// The empty answer that ends a SASL exchange the server has failed.
struct EmptyLine;

impl std::fmt::Display for EmptyLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\r\n")
    }
}

/// How far the current attempt got; lives outside the timed future so a timeout can still read it.
#[derive(Debug)]
struct Progress {
    stage: Stage,
    /// The body and the terminating `.` were handed to the socket.
    body_sent: bool,
    /// The session was left mid-DATA on purpose and cannot be reused.
    abandoned: bool,
    /// MAIL FROM got no answer at all: the connection was dead before anything was committed.
    unanswered_mail: bool,
}

impl Progress {
    fn new() -> Self {
        Self {
            stage: Stage::Connect,
            body_sent: false,
            abandoned: false,
            unanswered_mail: false,
        }
    }
}

impl SmtpSender {
    /// Checks the configuration and prepares TLS; connects only on the first send.
    ///
    /// `password` is ignored when no username is configured (nothing to authenticate).
    pub fn new(
        config: &SmtpConfig,
        password: Option<Secret>,
        options: SmtpOptions,
    ) -> Result<Self, SmtpSetupError> {
        Self::with_secret(config, password.map(SecretSource::Fixed), options)
    }

    /// Like [`SmtpSender::new`], with the secret fetched anew at each connection when `secret`
    /// is a command: a token helper's token is never older than the connection that uses it.
    pub fn with_secret(
        config: &SmtpConfig,
        secret: Option<SecretSource>,
        options: SmtpOptions,
    ) -> Result<Self, SmtpSetupError> {
        config.security.check_host(Protocol::Smtp, &config.host)?;
        let login = match (&config.username, secret) {
            (Some(user), Some(secret)) => Some(Login {
                user: user.clone(),
                secret,
                auth: config.auth,
            }),
            (Some(user), None) => return Err(SmtpSetupError::MissingPassword(user.clone())),
            (None, _) => None,
        };
        let tls = || tls_parameters(&config.host, options.extra_root_cert.as_deref());
        let protection = match config.security {
            Security::Plain => Protection::Plain,
            Security::Tls => Protection::Implicit(tls()?),
            Security::Starttls => Protection::Starttls(tls()?),
        };
        let hello = match options.hello_name {
            Some(name) => ClientId::Domain(name),
            None => ClientId::default(),
        };
        Ok(Self {
            host: config.host.clone(),
            port: config.port,
            protection,
            login,
            hello,
            connect_timeout: options.connect_timeout,
            transaction_timeout: options.transaction_timeout,
            connection: Mutex::new(None),
        })
    }

    /// Sends one message to one recipient, reusing the open connection when it is still alive.
    pub async fn send(&self, envelope: &Envelope, raw: &[u8]) -> Result<Delivered, DeliveryError> {
        self.send_marked(envelope, raw, &super::nothing_to_record)
            .await
    }

    /// Like [`SmtpSender::send`], running `before_body` between the server's go-ahead for DATA
    /// and the first byte of the body.
    pub async fn send_marked(
        &self,
        envelope: &Envelope,
        raw: &[u8],
        before_body: &BeforeBody<'_>,
    ) -> Result<Delivered, DeliveryError> {
        let started = Instant::now();
        let mut slot = self.connection.lock().await;
        let mut progress = Progress::new();
        let outcome = timeout(
            self.transaction_timeout,
            self.attempt(&mut slot, envelope, raw, before_body, &mut progress),
        )
        .await;
        let result = match outcome {
            Ok(result) => result,
            Err(_) => {
                // The timed-out future may have left the connection mid-command: never reuse it.
                *slot = None;
                Err(timed_out(&progress, self.transaction_timeout))
            }
        };
        drop(slot);
        self.log_attempt(envelope, &progress, &result, started.elapsed());
        result
    }

    /// Connects, secures and authenticates, then says goodbye: proves the configuration works.
    ///
    /// Returns a one-line summary of the server and the session for `followup check-smtp`.
    pub async fn check(&self) -> Result<String, DeliveryError> {
        let mut progress = Progress::new();
        let opened = timeout(self.transaction_timeout, self.open(&mut progress)).await;
        let mut conn = match opened {
            Ok(conn) => conn?,
            Err(_) => return Err(timed_out(&progress, self.transaction_timeout)),
        };
        let summary = format!(
            "{}:{} ({}, {}{}): {}",
            self.host,
            self.port,
            match self.protection {
                Protection::Implicit(_) => "implicit TLS",
                Protection::Starttls(_) => "STARTTLS",
                Protection::Plain => "no TLS, loopback",
            },
            if self.is_encrypted(&conn) {
                "encrypted"
            } else {
                "not encrypted"
            },
            match &self.login {
                Some(Login {
                    user,
                    auth: Auth::Xoauth2,
                    ..
                }) => format!(", authenticated as {user} with XOAUTH2"),
                Some(Login { user, .. }) => format!(", authenticated as {user}"),
                None => String::new(),
            },
            offered(conn.server_info())
        );
        let _ = timeout(self.connect_timeout, conn.quit()).await;
        tracing::info!(host = %self.host, port = self.port, "SMTP check passed");
        Ok(summary)
    }

    /// Closes the kept connection with QUIT, so the server logs a clean end.
    pub async fn shutdown(&self) {
        if let Some(mut session) = self.connection.lock().await.take() {
            let _ = timeout(self.connect_timeout, session.conn.quit()).await;
        }
    }

    /// One transaction on the kept connection, or a new one. A connection used within
    /// [`FRESH_FOR`] is not tested with `NOOP`; if it turns out dead (MAIL FROM gets no answer,
    /// so nothing was committed), the transaction runs once more on a new connection.
    async fn attempt(
        &self,
        slot: &mut Option<Session>,
        envelope: &Envelope,
        raw: &[u8],
        before_body: &BeforeBody<'_>,
        progress: &mut Progress,
    ) -> Result<Delivered, DeliveryError> {
        let (kept, untested) = match slot.take() {
            Some(s) if !s.conn.has_broken() && s.used_at.elapsed() < FRESH_FOR => {
                (Some(s.conn), true)
            }
            Some(s) => (self.still_alive(s.conn).await, false),
            None => (None, false),
        };
        let (mut conn, untested) = match kept {
            Some(conn) => (conn, untested),
            None => (self.open(progress).await?, false),
        };
        let mut result = self
            .transaction(&mut conn, envelope, raw, before_body, progress)
            .await;
        if untested && progress.unanswered_mail {
            tracing::debug!(host = %self.host, "the kept SMTP connection was closed; reconnecting");
            *progress = Progress::new();
            conn = self.open(progress).await?;
            result = self
                .transaction(&mut conn, envelope, raw, before_body, progress)
                .await;
        }
        let keep = |conn| {
            Some(Session {
                conn,
                used_at: Instant::now(),
            })
        };
        match &result {
            Ok(_) => *slot = keep(conn),
            // A definite refusal leaves the session usable once reset; anything else may have
            // left it in an unknown state.
            Err(DeliveryError::Transient { .. } | DeliveryError::Permanent { .. })
                if progress.stage >= Stage::MailFrom
                    && !progress.abandoned
                    && !conn.has_broken() =>
            {
                if let Ok(Ok(_)) = timeout(self.connect_timeout, conn.command(Rset)).await {
                    *slot = keep(conn);
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Opens a new session: TCP, TLS (implicit or STARTTLS), EHLO and AUTH.
    async fn open(&self, progress: &mut Progress) -> Result<AsyncSmtpConnection, DeliveryError> {
        progress.stage = Stage::Connect;
        let addrs = self.resolve().await?;
        let greeted = async {
            let tcp = self.connect_tcp(&addrs).await?;
            let stream: Box<dyn AsyncTokioStream> = match &self.protection {
                Protection::Implicit(tls) => {
                    progress.stage = Stage::Tls;
                    #[allow(deprecated)]
                    let mut stream = AsyncNetworkStream::use_existing_tokio1(Box::new(tcp));
                    stream
                        .upgrade_tls(tls.clone())
                        .await
                        .map_err(|e| classify(&e, Stage::Tls))?;
                    progress.stage = Stage::Connect;
                    Box::new(ImplicitTls(stream))
                }
                Protection::Starttls(_) | Protection::Plain => Box::new(tcp),
            };
            AsyncSmtpConnection::connect_with_transport(stream, &self.hello)
                .await
                .map_err(|e| classify(&e, progress.stage))
        };
        let mut conn = match timeout(self.connect_timeout, greeted).await {
            Ok(result) => result?,
            Err(_) => {
                return Err(DeliveryError::Transient {
                    stage: Stage::Connect,
                    detail: format!(
                        "no greeting from the server within {:?}",
                        self.connect_timeout
                    ),
                });
            }
        };

        if let Protection::Starttls(tls) = &self.protection {
            progress.stage = Stage::Tls;
            if !conn.can_starttls() {
                // Never fall back to plain text: the password and the mail would travel in clear.
                let _ = timeout(self.connect_timeout, conn.quit()).await;
                return Err(refused(
                    Stage::Tls,
                    &format!(
                        "{} does not offer STARTTLS, which the configuration requires; \
                         nothing was sent",
                        self.host
                    ),
                ));
            }
            self.bounded(Stage::Tls, conn.starttls(tls.clone(), &self.hello))
                .await?;
        }

        if let Some(login) = &self.login {
            progress.stage = Stage::Auth;
            if !self.is_encrypted(&conn) && !matches!(self.protection, Protection::Plain) {
                return Err(refused(
                    Stage::Auth,
                    "refusing to send the password over an unencrypted connection",
                ));
            }
            self.authenticate(&mut conn, login).await?;
        }
        Ok(conn)
    }

    /// AUTH with the login's mechanism. A secret from a command that the server refuses is
    /// fetched once more and tried once more: a token may expire between two connections.
    async fn authenticate(
        &self,
        conn: &mut AsyncSmtpConnection,
        login: &Login,
    ) -> Result<(), DeliveryError> {
        let mechanisms: &[Mechanism] = match login.auth {
            Auth::Password => MECHANISMS,
            Auth::Xoauth2 => &[Mechanism::Xoauth2],
        };
        if conn.server_info().get_auth_mechanism(mechanisms).is_none() {
            let offers = auth_offered(conn.server_info());
            let _ = timeout(self.connect_timeout, conn.quit()).await;
            let wanted = match login.auth {
                Auth::Password => "neither AUTH PLAIN nor AUTH LOGIN",
                Auth::Xoauth2 => "no AUTH XOAUTH2, which `auth: xoauth2` needs",
            };
            return Err(refused(
                Stage::Auth,
                &format!("{} offers {wanted}; it offers {offers}", self.host),
            ));
        }
        let fetch = || async {
            login
                .secret
                .fetch()
                .await
                .map_err(|e| DeliveryError::Transient {
                    stage: Stage::Auth,
                    detail: e.to_string(),
                })
        };
        let secret = fetch().await?;
        let first = self.auth_once(conn, login, &secret).await;
        match first {
            Err(DeliveryError::Permanent { .. }) if login.secret.can_refresh() => {
                tracing::info!(
                    host = %self.host,
                    "the SMTP server refused the login; running the password command once more"
                );
                let secret = fetch().await?;
                self.auth_once(conn, login, &secret).await
            }
            other => other,
        }
    }

    /// One AUTH exchange. XOAUTH2 is driven here: a refused token draws a `334` with the reason,
    /// which the client must answer with an empty line to get the final `535`.
    async fn auth_once(
        &self,
        conn: &mut AsyncSmtpConnection,
        login: &Login,
        secret: &Secret,
    ) -> Result<(), DeliveryError> {
        let credentials = Credentials::new(login.user.clone(), secret.expose().to_owned());
        match login.auth {
            Auth::Password => self
                .bounded(Stage::Auth, conn.auth(MECHANISMS, &credentials))
                .await
                .map(drop),
            Auth::Xoauth2 => {
                let command = AuthCommand::new(Mechanism::Xoauth2, credentials, None)
                    .map_err(|e| classify(&e, Stage::Auth))?;
                let answer = self.bounded(Stage::Auth, conn.command(command)).await?;
                if answer.has_code(334) {
                    self.bounded(Stage::Auth, conn.command(EmptyLine)).await?;
                    return Err(refused(
                        Stage::Auth,
                        &format!("{} answered AUTH XOAUTH2 with an error", self.host),
                    ));
                }
                Ok(())
            }
        }
    }

    /// A TCP connection to the first address that answers, with `TCP_NODELAY`: every write is a
    /// command, the body or its end, each followed by a wait for the server, so there is never
    /// anything for Nagle's algorithm to gather, only an ACK to wait for.
    async fn connect_tcp(&self, addrs: &[SocketAddr]) -> Result<TcpStream, DeliveryError> {
        let mut last = None;
        for addr in addrs {
            match timeout(self.connect_timeout, TcpStream::connect(addr)).await {
                Ok(Ok(tcp)) => {
                    tcp.set_nodelay(true)
                        .map_err(|e| connect_failed(&self.host, *addr, &e))?;
                    return Ok(tcp);
                }
                Ok(Err(e)) => last = Some(connect_failed(&self.host, *addr, &e)),
                Err(_) => {
                    last = Some(DeliveryError::Transient {
                        stage: Stage::Connect,
                        detail: format!(
                            "cannot connect to {} ({addr}): no answer within {:?}",
                            self.host, self.connect_timeout
                        ),
                    })
                }
            }
        }
        Err(last.unwrap_or_else(|| DeliveryError::Transient {
            stage: Stage::Connect,
            detail: format!("{} resolves to no usable address", self.host),
        }))
    }

    /// Whether the session is encrypted. lettre sees implicit TLS set up here as a plain stream.
    fn is_encrypted(&self, conn: &AsyncSmtpConnection) -> bool {
        matches!(self.protection, Protection::Implicit(_)) || conn.is_encrypted()
    }

    /// The addresses to connect to; for `plain`, only loopback ones, so a poisoned hosts file
    /// cannot send the session in clear across the network.
    async fn resolve(&self) -> Result<Vec<SocketAddr>, DeliveryError> {
        let found = tokio::net::lookup_host((bare_host(&self.host), self.port))
            .await
            .map_err(|e| DeliveryError::Transient {
                stage: Stage::Connect,
                detail: format!("cannot resolve {}: {e}", self.host),
            })?;
        let addrs: Vec<SocketAddr> = found
            .filter(|a| {
                !matches!(self.protection, Protection::Plain) || is_loopback_address(a.ip())
            })
            .collect();
        if addrs.is_empty() {
            return Err(DeliveryError::Transient {
                stage: Stage::Connect,
                detail: format!("{} resolves to no usable address", self.host),
            });
        }
        Ok(addrs)
    }

    /// Runs one session step under the connect timeout.
    async fn bounded<T>(
        &self,
        stage: Stage,
        step: impl Future<Output = Result<T, lettre::transport::smtp::Error>>,
    ) -> Result<T, DeliveryError> {
        match timeout(self.connect_timeout, step).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(classify(&e, stage)),
            Err(_) => Err(DeliveryError::Transient {
                stage,
                detail: format!("no answer within {:?}", self.connect_timeout),
            }),
        }
    }

    /// MAIL, RCPT, DATA and the body on an open session.
    async fn transaction(
        &self,
        conn: &mut AsyncSmtpConnection,
        envelope: &Envelope,
        raw: &[u8],
        before_body: &BeforeBody<'_>,
        progress: &mut Progress,
    ) -> Result<Delivered, DeliveryError> {
        progress.stage = Stage::MailFrom;
        let from = to_lettre(&envelope.from, Stage::MailFrom)?;
        let to = to_lettre(&envelope.to, Stage::RcptTo)?;
        let mut parameters = Vec::new();
        if !envelope.from.as_str().is_ascii() || !envelope.to.as_str().is_ascii() {
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                return Err(refused(
                    Stage::MailFrom,
                    "the addresses are not ASCII and the server does not support SMTPUTF8",
                ));
            }
            parameters.push(MailParameter::SmtpUtfEight);
        }
        if !raw.is_ascii() {
            if !conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(refused(
                    Stage::MailFrom,
                    "the message is not ASCII and the server does not support 8BITMIME",
                ));
            }
            parameters.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        conn.command(Mail::new(Some(from), parameters))
            .await
            .map_err(|e| {
                progress.unanswered_mail = e.status().is_none();
                classify(&e, Stage::MailFrom)
            })?;

        progress.stage = Stage::RcptTo;
        step(conn.command(Rcpt::new(to, vec![])), Stage::RcptTo).await?;

        progress.stage = Stage::Data;
        step(conn.command(Data), Stage::Data).await?;

        if let Err(why) = before_body() {
            // The server waits for a body it will never get: drop the session, send nothing.
            progress.abandoned = true;
            return Err(DeliveryError::Transient {
                stage: Stage::Data,
                detail: format!("stopped before the body: {why}"),
            });
        }

        progress.stage = Stage::Body;
        // lettre always appends CRLF "." CRLF; drop the message's own final CRLF so the server
        // stores exactly the bytes given.
        let body = raw.strip_suffix(b"\r\n").unwrap_or(raw);
        let body_sent = &mut progress.body_sent;
        // `message_iter` writes (and flushes) every chunk before asking for the next one, then
        // writes the terminator: when it asks past the body, the body is at the server, and the
        // terminator follows. From then on a lost answer means the outcome is unknown.
        let chunks = std::iter::once(body).chain(std::iter::from_fn(move || {
            *body_sent = true;
            None
        }));
        match conn.message_iter(chunks).await {
            Ok(response) => Ok(Delivered {
                response: response_text(&response),
            }),
            Err(e) if progress.body_sent && e.status().is_none() => Err(DeliveryError::Uncertain {
                detail: format!("the connection failed after the message was sent: {e}"),
            }),
            Err(e) => Err(classify(&e, Stage::Body)),
        }
    }

    /// Tests a kept connection with NOOP; a dead or slow one is dropped.
    async fn still_alive(&self, mut conn: AsyncSmtpConnection) -> Option<AsyncSmtpConnection> {
        if conn.has_broken() {
            return None;
        }
        match timeout(self.connect_timeout, conn.test_connected()).await {
            Ok(true) => Some(conn),
            _ => None,
        }
    }

    fn log_attempt(
        &self,
        envelope: &Envelope,
        progress: &Progress,
        result: &Result<Delivered, DeliveryError>,
        elapsed: Duration,
    ) {
        let ms = elapsed.as_millis() as u64;
        match result {
            Ok(delivered) => tracing::info!(
                host = %self.host, to = %envelope.to, stage = %progress.stage, code = 250, ms,
                response = %delivered.response, "SMTP delivery accepted"
            ),
            Err(e @ DeliveryError::Permanent { code, .. }) => tracing::warn!(
                host = %self.host, to = %envelope.to, stage = %progress.stage, code, ms,
                "SMTP delivery refused: {e}"
            ),
            Err(e) => tracing::warn!(
                host = %self.host, to = %envelope.to, stage = %progress.stage, ms,
                "SMTP delivery failed: {e}"
            ),
        }
    }
}

impl Transport for SmtpSender {
    fn send(
        &self,
        envelope: &Envelope,
        raw: &[u8],
        before_body: &BeforeBody<'_>,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send {
        SmtpSender::send_marked(self, envelope, raw, before_body)
    }

    fn shutdown(&self) -> impl Future<Output = ()> + Send {
        SmtpSender::shutdown(self)
    }
}

async fn step(
    command: impl Future<Output = Result<Response, lettre::transport::smtp::Error>>,
    stage: Stage,
) -> Result<Response, DeliveryError> {
    command.await.map_err(|e| classify(&e, stage))
}

/// Maps a lettre error before the body was sent: a reply code decides, anything else (network,
/// TLS, unparsable reply) left nothing at the server.
fn classify(e: &lettre::transport::smtp::Error, stage: Stage) -> DeliveryError {
    let detail = e.to_string();
    match e.status() {
        Some(code) if e.is_permanent() => DeliveryError::Permanent {
            stage,
            code: code.into(),
            detail,
        },
        _ => DeliveryError::Transient { stage, detail },
    }
}

fn connect_failed(host: &str, addr: SocketAddr, e: &std::io::Error) -> DeliveryError {
    DeliveryError::Transient {
        stage: Stage::Connect,
        detail: format!("cannot connect to {host} ({addr}): {e}"),
    }
}

/// lettre's TLS stream (set up by lettre, over our socket) as the tokio stream lettre's
/// connection takes: lettre cannot be handed an already encrypted socket otherwise.
#[allow(deprecated)]
#[derive(Debug)]
struct ImplicitTls(AsyncNetworkStream);

#[allow(deprecated)]
impl AsyncTokioStream for ImplicitTls {
    fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.0.peer_addr()
    }
}

impl AsyncRead for ImplicitTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let unfilled = buf.initialize_unfilled();
        match futures_util::io::AsyncRead::poll_read(Pin::new(&mut self.0), cx, unfilled) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for ImplicitTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        futures_util::io::AsyncWrite::poll_write(Pin::new(&mut self.0), cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        futures_util::io::AsyncWrite::poll_flush(Pin::new(&mut self.0), cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        futures_util::io::AsyncWrite::poll_close(Pin::new(&mut self.0), cx)
    }
}

fn refused(stage: Stage, detail: &str) -> DeliveryError {
    DeliveryError::Permanent {
        stage,
        code: 0,
        detail: detail.to_owned(),
    }
}

fn timed_out(progress: &Progress, limit: Duration) -> DeliveryError {
    if progress.body_sent {
        DeliveryError::Uncertain {
            detail: format!("no answer within {limit:?} after the message was sent"),
        }
    } else {
        DeliveryError::Transient {
            stage: progress.stage,
            detail: format!("the transaction did not finish within {limit:?}"),
        }
    }
}

fn to_lettre(address: &crate::core::EmailAddress, stage: Stage) -> Result<Address, DeliveryError> {
    address
        .as_str()
        .parse()
        .map_err(|e| DeliveryError::Permanent {
            stage,
            code: 0,
            detail: format!("`{address}` is not an SMTP address: {e}"),
        })
}

fn response_text(response: &Response) -> String {
    let text = response.message().collect::<Vec<_>>().join(" ");
    format!("{} {}", response.code(), text)
        .trim_end()
        .to_owned()
}

fn tls_parameters(
    host: &str,
    extra_root: Option<&std::path::Path>,
) -> Result<TlsParameters, SmtpSetupError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = extra_root {
        let pem = std::fs::read(path).map_err(|source| SmtpSetupError::ReadRootCert {
            path: path.to_path_buf(),
            cause: source,
        })?;
        let cert = Certificate::from_pem(&pem).map_err(|e| SmtpSetupError::InvalidRootCert {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| SmtpSetupError::Tls {
        host: host.to_owned(),
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::config::PasswordSource;

    fn plain_to(host: &str) -> SmtpConfig {
        SmtpConfig {
            host: host.into(),
            port: 25,
            security: Security::Plain,
            username: None,
            password: PasswordSource::Credential("smtp-password"),
            auth: Default::default(),
            ca_file: None,
            timeout: None,
            hello_name: None,
        }
    }

    #[test]
    fn hello_name_is_the_configured_one_else_a_qualified_machine_name_else_the_sender_domain() {
        let me = EmailAddress::parse("sam@Example.org").unwrap();
        let pick = |configured, machine| choose_hello_name(configured, machine, &me);
        assert_eq!(
            pick(Some("mx.example.net"), Some("vm.lan.example")),
            "mx.example.net"
        );
        assert_eq!(pick(None, Some("vm.lan.example.")), "vm.lan.example");
        for unqualified in [
            None,
            Some("vm"),
            Some("localhost.localdomain"),
            Some("vm.localdomain"),
        ] {
            assert_eq!(pick(None, unqualified), "example.org", "{unqualified:?}");
        }
    }

    #[test]
    fn plain_smtp_is_allowed_to_loopback_however_spelt_and_nowhere_else() {
        for host in ["localhost", "localhost.", "127.0.0.1", "::1", "[::1]"] {
            let sender = SmtpSender::new(&plain_to(host), None, SmtpOptions::default());
            assert!(sender.is_ok(), "{host}: {:?}", sender.err());
        }
        let far = SmtpSender::new(&plain_to("mail.example.com"), None, SmtpOptions::default());
        assert!(matches!(far, Err(SmtpSetupError::PlainNotLoopback(_))));
    }
}
