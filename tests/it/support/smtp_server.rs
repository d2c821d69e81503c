//! A real SMTP server on a loopback port, in-process, for tests.
//!
//! It runs on a runtime of its own, as a separate server would: a test may block (run the binary,
//! wait for a file) while it serves, and needs no runtime to start it. It speaks enough ESMTP over real TCP for lettre (EHLO/HELO, STARTTLS or implicit TLS, AUTH
//! PLAIN/LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), records what it accepts,
//! and misbehaves on demand: tests flip [`Behaviour`] at any time, also between two sends.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::mail::Mail;

/// Where a failure is injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAt {
    Rcpt,
    /// After the whole body was read, as the answer to the final `.`.
    EndOfData,
}

/// Where the server goes silent (keeping the socket open).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StallAt {
    /// Accept the TCP connection, never send the greeting.
    Greeting,
    /// Never answer RCPT.
    Rcpt,
    /// Read the whole body, never answer the final `.`.
    AfterBody,
}

/// How the server treats what comes next. Read at each decision point, so a change applies to
/// sessions already open too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    #[default]
    Accept,
    /// 451.
    TempFail(FailAt),
    /// 550 at RCPT, 554 at the end of DATA.
    PermFail(FailAt),
    /// Read the whole body, then close the socket without answering (the message is lost).
    DropAfterBody,
    /// Read the whole body and keep the message (it counts as received), then close the socket
    /// without answering: the client cannot know it was delivered.
    DeliverThenDrop,
    /// Read the whole body and keep the message, then never answer the final `.`.
    DeliverThenStall,
    Stall(StallAt),
    /// Close every new connection at once, before the greeting.
    RefuseConnections,
}

#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// Offer STARTTLS with the test certificate.
    pub starttls: bool,
    /// Speak TLS from the first byte (port-465 style).
    pub implicit_tls: bool,
    /// Offer AUTH PLAIN/LOGIN and require it before MAIL, with this user and password. Offered
    /// in clear too when STARTTLS is not offered, so tests can check the client never uses it.
    pub auth: Option<(String, String)>,
    /// Offer AUTH XOAUTH2 too (with `auth`'s user), taking the token held here at the time of
    /// each AUTH: a test rotates it as an OAuth2 server would.
    pub xoauth2: Option<Arc<Mutex<String>>>,
    pub behaviour: Behaviour,
    /// Listen on the IPv6 loopback `[::1]` instead of `127.0.0.1`.
    pub ipv6: bool,
}

/// One message the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub from: String,
    pub rcpt: Vec<String>,
    /// The message as stored: dot-unstuffed, without the terminating `.` line.
    pub data: Vec<u8>,
    pub tls: bool,
    pub authenticated_as: Option<String>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    behaviour: Mutex<Behaviour>,
    /// Every command line's verb, upper-cased, in order (`EHLO`, `STARTTLS`, `AUTH`, ...).
    commands: Mutex<Vec<String>>,
    /// The argument of each EHLO and HELO.
    hello_names: Mutex<Vec<String>>,
    /// Behaviours for one recipient each, over `behaviour`.
    behaviour_for: Mutex<Vec<(String, Behaviour)>>,
    connections: AtomicUsize,
    /// Sessions being served right now.
    sessions: AtomicUsize,
    /// Times a session went silent on purpose ([`Behaviour::Stall`], `DeliverThenStall`).
    stalls: AtomicUsize,
    /// Sessions between an accepted MAIL and the end of that transaction (answer, RSET, or the
    /// session ending).
    open_transactions: AtomicUsize,
}

/// Counts one session's open transaction in [`Shared::open_transactions`]; ends it on drop.
struct Transaction<'a> {
    shared: &'a Shared,
    open: bool,
}

impl Transaction<'_> {
    fn begin(&mut self) {
        if !self.open {
            self.open = true;
            self.shared.open_transactions.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn end(&mut self) {
        if self.open {
            self.open = false;
            self.shared.open_transactions.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        self.end();
    }
}

fn behaviour(shared: &Shared) -> Behaviour {
    *lock(&shared.behaviour)
}

/// How the server treats a transaction to `rcpt`: its own behaviour if a test set one, else the
/// server's.
fn behaviour_for(shared: &Shared, rcpt: Option<&str>) -> Behaviour {
    let own = rcpt.and_then(|r| {
        lock(&shared.behaviour_for)
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(r))
            .map(|(_, b)| *b)
    });
    own.unwrap_or_else(|| behaviour(shared))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct TestSmtpServer {
    pub port: u16,
    shared: Arc<Shared>,
    kill: watch::Sender<u64>,
    /// `None` once dropped.
    runtime: Option<Runtime>,
}

impl TestSmtpServer {
    /// Binds `127.0.0.1:0` (or `[::1]:0`) and serves until dropped.
    pub fn start(opts: ServerOptions) -> TestSmtpServer {
        let address = if opts.ipv6 { "[::1]:0" } else { "127.0.0.1:0" };
        let listener = std::net::TcpListener::bind(address).expect("bind test SMTP server");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let port = listener.local_addr().expect("local addr").port();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-smtp-server")
            .enable_all()
            .build()
            .expect("the test SMTP server's runtime");
        let shared = Arc::new(Shared::default());
        *lock(&shared.behaviour) = opts.behaviour;
        let tls = (opts.starttls || opts.implicit_tls).then(tls_acceptor);
        let (kill, kill_rx) = watch::channel(0u64);
        let config = Arc::new(SessionConfig {
            starttls: opts.starttls,
            implicit_tls: opts.implicit_tls,
            auth: opts.auth,
            xoauth2: opts.xoauth2,
            tls,
        });
        runtime.spawn(accept_loop(listener, shared.clone(), config, kill_rx));
        TestSmtpServer {
            port,
            shared,
            kill,
            runtime: Some(runtime),
        }
    }

    /// A server with default options but this behaviour.
    pub fn behaving(behaviour: Behaviour) -> TestSmtpServer {
        Self::start(ServerOptions {
            behaviour,
            ..ServerOptions::default()
        })
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Every message accepted so far, parsed.
    pub fn mails(&self) -> Vec<Mail> {
        self.received()
            .iter()
            .map(|r| Mail::parse(r.rcpt.clone(), &r.data))
            .collect()
    }

    /// The messages accepted so far for `rcpt`.
    pub fn mails_to(&self, rcpt: &str) -> Vec<Mail> {
        self.mails()
            .into_iter()
            .filter(|m| m.rcpt.iter().any(|r| r == rcpt))
            .collect()
    }

    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    /// How the server treats RCPT and DATA for `rcpt` from now on, whatever it does for others.
    pub fn set_behaviour_for(&self, rcpt: &str, behaviour: Behaviour) {
        let mut all = lock(&self.shared.behaviour_for);
        all.retain(|(a, _)| !a.eq_ignore_ascii_case(rcpt));
        all.push((rcpt.to_owned(), behaviour));
    }

    /// The name given with each EHLO or HELO, in order.
    pub fn hello_names(&self) -> Vec<String> {
        lock(&self.shared.hello_names).clone()
    }

    /// TCP connections accepted so far (refused ones included).
    pub fn connection_count(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Sessions being served right now.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// Times a session went silent on purpose, so far.
    pub fn stalls(&self) -> usize {
        self.shared.stalls.load(Ordering::SeqCst)
    }

    /// Sessions with a mail transaction under way right now (MAIL accepted, not yet answered).
    pub fn open_transactions(&self) -> usize {
        self.shared.open_transactions.load(Ordering::SeqCst)
    }

    /// The verbs of every command received, in order.
    pub fn commands(&self) -> Vec<String> {
        lock(&self.shared.commands).clone()
    }

    pub fn saw_command(&self, verb: &str) -> bool {
        self.commands().iter().any(|c| c.eq_ignore_ascii_case(verb))
    }

    /// Closes every open session without a word, as a server restart or idle timeout would.
    pub fn drop_connections(&self) {
        self.kill.send_modify(|g| *g += 1);
    }

    /// The PEM certificate the server presents, for the client's extra root.
    pub fn cert_path() -> PathBuf {
        fixtures().join("cert.pem")
    }
}

impl Drop for TestSmtpServer {
    fn drop(&mut self) {
        self.kill.send_modify(|g| *g += 1);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/tls")
}

fn tls_acceptor() -> TlsAcceptor {
    let dir = fixtures();
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .expect("read test cert")
        .collect::<Result<_, _>>()
        .expect("parse test cert");
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).expect("read test key");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test cert and key");
    TlsAcceptor::from(Arc::new(config))
}

struct SessionConfig {
    starttls: bool,
    implicit_tls: bool,
    auth: Option<(String, String)>,
    xoauth2: Option<Arc<Mutex<String>>>,
    tls: Option<TlsAcceptor>,
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    config: Arc<SessionConfig>,
    kill: watch::Receiver<u64>,
) {
    let listener = TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = socket.set_nodelay(true);
        let behaviour = *lock(&shared.behaviour);
        if behaviour == Behaviour::RefuseConnections {
            drop(socket);
            continue;
        }
        let shared = shared.clone();
        let config = config.clone();
        let mut kill = kill.clone();
        kill.mark_unchanged();
        tokio::spawn(async move {
            shared.sessions.fetch_add(1, Ordering::SeqCst);
            tokio::select! {
                _ = serve(socket, &shared, &config) => {}
                _ = kill.changed() => {}
            }
            shared.sessions.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}
type Io = BufReader<Box<dyn Stream>>;

/// What one session knows about its client.
#[derive(Default)]
struct State {
    tls: bool,
    greeted: bool,
    user: Option<String>,
    from: Option<String>,
    rcpt: Vec<String>,
}

async fn serve(socket: TcpStream, shared: &Shared, config: &SessionConfig) {
    let mut state = State::default();
    let mut txn = Transaction {
        shared,
        open: false,
    };
    let mut io: Io = if config.implicit_tls {
        let Some(acceptor) = &config.tls else { return };
        match acceptor.accept(socket).await {
            Ok(tls) => {
                state.tls = true;
                BufReader::new(Box::new(tls))
            }
            Err(_) => return,
        }
    } else {
        BufReader::new(Box::new(socket))
    };
    if behaviour(shared) == Behaviour::Stall(StallAt::Greeting) {
        stall::<()>(shared, &mut io).await;
    }
    if reply(&mut io, "220 localhost ESMTP followup-test")
        .await
        .is_err()
    {
        return;
    }
    loop {
        let Some(line) = read_line(&mut io).await else {
            return;
        };
        let line = String::from_utf8_lossy(&line);
        let line = line.trim_end_matches(['\r', '\n']);
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (line.to_ascii_uppercase(), ""),
        };
        lock(&shared.commands).push(verb.clone());
        if matches!(verb.as_str(), "EHLO" | "HELO") {
            lock(&shared.hello_names).push(arg.to_owned());
        }
        let answer = match verb.as_str() {
            "EHLO" => {
                state.greeted = true;
                reset(&mut state);
                txn.end();
                let mut lines = vec![
                    "localhost".to_owned(),
                    "8BITMIME".into(),
                    "PIPELINING".into(),
                ];
                if config.starttls && !state.tls {
                    lines.push("STARTTLS".into());
                }
                if config.auth.is_some() && (state.tls || !config.starttls) {
                    lines.push(match config.xoauth2 {
                        Some(_) => "AUTH PLAIN LOGIN XOAUTH2".into(),
                        None => "AUTH PLAIN LOGIN".into(),
                    });
                }
                lines.push("OK".into());
                multiline(&mut io, 250, &lines).await
            }
            "HELO" => {
                state.greeted = true;
                reset(&mut state);
                txn.end();
                reply(&mut io, "250 localhost").await
            }
            "STARTTLS" if config.starttls && !state.tls => {
                if reply(&mut io, "220 2.0.0 Ready to start TLS")
                    .await
                    .is_err()
                {
                    return;
                }
                let Some(acceptor) = &config.tls else { return };
                let inner = io.into_inner();
                match acceptor.accept(inner).await {
                    Ok(tls) => io = BufReader::new(Box::new(tls)),
                    Err(_) => return,
                }
                // RFC 3207: forget everything learnt before TLS.
                state = State {
                    tls: true,
                    ..State::default()
                };
                continue;
            }
            "AUTH" if config.auth.is_some() && state.user.is_none() => {
                match authenticate(&mut io, arg, config).await {
                    Some(Ok(user)) => {
                        state.user = Some(user);
                        reply(&mut io, "235 2.7.0 Authentication successful").await
                    }
                    Some(Err(())) => {
                        reply(&mut io, "535 5.7.8 Authentication credentials invalid").await
                    }
                    None => return,
                }
            }
            "MAIL" => {
                if !state.greeted {
                    reply(&mut io, "503 5.5.1 EHLO first").await
                } else if config.auth.is_some() && state.user.is_none() {
                    reply(&mut io, "530 5.7.0 Authentication required").await
                } else if let Some(addr) = path_arg(arg, "FROM:") {
                    reset(&mut state);
                    state.from = Some(addr);
                    txn.begin();
                    reply(&mut io, "250 2.1.0 Ok").await
                } else {
                    reply(&mut io, "501 5.5.4 Syntax: MAIL FROM:<address>").await
                }
            }
            "RCPT" => {
                if state.from.is_none() {
                    reply(&mut io, "503 5.5.1 MAIL first").await
                } else if let Some(addr) = path_arg(arg, "TO:") {
                    match behaviour_for(shared, Some(&addr)) {
                        Behaviour::TempFail(FailAt::Rcpt) => {
                            reply(&mut io, "451 4.3.0 Try again later").await
                        }
                        Behaviour::PermFail(FailAt::Rcpt) => {
                            reply(&mut io, "550 5.1.1 No such user").await
                        }
                        Behaviour::Stall(StallAt::Rcpt) => {
                            // A client that gives up closes a socket this session never reads.
                            txn.end();
                            stall(shared, &mut io).await
                        }
                        _ => {
                            state.rcpt.push(addr);
                            reply(&mut io, "250 2.1.5 Ok").await
                        }
                    }
                } else {
                    reply(&mut io, "501 5.5.4 Syntax: RCPT TO:<address>").await
                }
            }
            "DATA" => {
                if state.rcpt.is_empty() {
                    reply(&mut io, "554 5.5.1 No valid recipients").await
                } else {
                    if reply(&mut io, "354 End data with <CR><LF>.<CR><LF>")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let Some(data) = read_data(&mut io).await else {
                        return;
                    };
                    match behaviour_for(shared, state.rcpt.first().map(String::as_str)) {
                        Behaviour::TempFail(FailAt::EndOfData) => {
                            reset(&mut state);
                            txn.end();
                            reply(&mut io, "451 4.3.0 Local error in processing").await
                        }
                        Behaviour::PermFail(FailAt::EndOfData) => {
                            reset(&mut state);
                            txn.end();
                            reply(&mut io, "554 5.7.1 Message rejected").await
                        }
                        Behaviour::DropAfterBody => return,
                        Behaviour::Stall(StallAt::AfterBody) => {
                            txn.end();
                            stall(shared, &mut io).await
                        }
                        Behaviour::DeliverThenDrop => {
                            keep(shared, &mut state, data);
                            return;
                        }
                        Behaviour::DeliverThenStall => {
                            keep(shared, &mut state, data);
                            txn.end();
                            stall(shared, &mut io).await
                        }
                        _ => {
                            let n = keep(shared, &mut state, data);
                            txn.end();
                            reply(&mut io, &format!("250 2.0.0 Ok: queued as TEST{n}")).await
                        }
                    }
                }
            }
            "RSET" => {
                reset(&mut state);
                txn.end();
                reply(&mut io, "250 2.0.0 Ok").await
            }
            "NOOP" => reply(&mut io, "250 2.0.0 Ok").await,
            "QUIT" => {
                let _ = reply(&mut io, "221 2.0.0 Bye").await;
                let _ = io.get_mut().shutdown().await;
                return;
            }
            _ => reply(&mut io, "502 5.5.2 Command not recognized").await,
        };
        if answer.is_err() {
            return;
        }
    }
}

/// Goes silent for good, keeping the socket open. It still reads (never answering), so that
/// what a client sends to a server that stopped answering (a `NOOP`, a `QUIT`) is counted.
async fn stall<T>(shared: &Shared, io: &mut Io) -> T {
    shared.stalls.fetch_add(1, Ordering::SeqCst);
    while let Some(line) = read_line(io).await {
        let line = String::from_utf8_lossy(&line);
        let verb = line.split_whitespace().next().unwrap_or_default();
        lock(&shared.commands).push(verb.to_ascii_uppercase());
    }
    std::future::pending().await
}

/// Stores an accepted message; returns how many there are now.
fn keep(shared: &Shared, state: &mut State, data: Vec<u8>) -> usize {
    let mut received = lock(&shared.received);
    received.push(Received {
        from: state.from.take().unwrap_or_default(),
        rcpt: std::mem::take(&mut state.rcpt),
        data,
        tls: state.tls,
        authenticated_as: state.user.clone(),
    });
    received.len()
}

fn reset(state: &mut State) {
    state.from = None;
    state.rcpt.clear();
}

/// `FROM:<a@example.com> BODY=8BITMIME` → `a@example.com`.
fn path_arg(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some(rest[..end].to_owned())
}

/// `Some(Ok(user))` on success, `Some(Err(()))` on bad credentials, `None` if the client left.
async fn authenticate(
    io: &mut Io,
    arg: &str,
    config: &SessionConfig,
) -> Option<Result<String, ()>> {
    let (expected_user, expected_pass) = config.auth.as_ref()?;
    let (mechanism, initial) = match arg.split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.trim().to_owned())),
        None => (arg.to_ascii_uppercase(), None),
    };
    let (user, pass) = match mechanism.as_str() {
        "PLAIN" => {
            let encoded = match initial {
                Some(i) => i,
                None => {
                    reply(io, "334 ").await.ok()?;
                    challenge_answer(io).await?
                }
            };
            plain_credentials(&encoded)
        }
        "LOGIN" => {
            reply(io, "334 VXNlcm5hbWU6").await.ok()?; // "Username:"
            let user = base64(&challenge_answer(io).await?);
            reply(io, "334 UGFzc3dvcmQ6").await.ok()?; // "Password:"
            let pass = base64(&challenge_answer(io).await?);
            (lossy(&user), lossy(&pass))
        }
        "XOAUTH2" if config.xoauth2.is_some() => {
            let encoded = match initial {
                Some(i) => i,
                None => {
                    reply(io, "334 ").await.ok()?;
                    challenge_answer(io).await?
                }
            };
            let (user, token) = xoauth2_credentials(&encoded);
            let current = lock(config.xoauth2.as_ref()?).clone();
            if user == *expected_user && token == current {
                return Some(Ok(user));
            }
            // As Gmail does: the reason as a challenge, the refusal after the empty answer.
            reply(io, &format!("334 {XOAUTH2_ERROR}")).await.ok()?;
            challenge_answer(io).await?;
            return Some(Err(()));
        }
        _ => return Some(Err(())),
    };
    Some(if &user == expected_user && &pass == expected_pass {
        Ok(user)
    } else {
        Err(())
    })
}

/// `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}` in base64.
const XOAUTH2_ERROR: &str = "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczovL21haWwuZ29vZ2xlLmNvbS8ifQ==";

/// `AUTH XOAUTH2`'s answer: base64 of `user=<user>^Aauth=Bearer <token>^A^A`.
fn xoauth2_credentials(encoded: &str) -> (String, String) {
    let decoded = lossy(&base64(encoded));
    let mut user = String::new();
    let mut token = String::new();
    for part in decoded.split('\x01') {
        if let Some(u) = part.strip_prefix("user=") {
            user = u.to_owned();
        } else if let Some(t) = part.strip_prefix("auth=Bearer ") {
            token = t.to_owned();
        }
    }
    (user, token)
}

async fn challenge_answer(io: &mut Io) -> Option<String> {
    let line = read_line(io).await?;
    Some(lossy(&line).trim_end().to_owned())
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Reads DATA lines up to the lone `.`, undoing dot-stuffing. `None` if the client left.
async fn read_data(io: &mut Io) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    loop {
        let line = read_line(io).await?;
        if line == b".\r\n" || line == b".\n" {
            return Some(data);
        }
        let line = line.strip_prefix(b".").unwrap_or(&line);
        data.extend_from_slice(line);
    }
}

async fn read_line(io: &mut Io) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    match io.read_until(b'\n', &mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line),
    }
}

/// One write per reply: a reply split over two writes waits out the client's delayed ACK.
async fn reply(io: &mut Io, line: &str) -> std::io::Result<()> {
    let stream = io.get_mut();
    stream.write_all(format!("{line}\r\n").as_bytes()).await?;
    stream.flush().await
}

async fn multiline(io: &mut Io, code: u16, lines: &[String]) -> std::io::Result<()> {
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let sep = if i + 1 == lines.len() { ' ' } else { '-' };
        out.push_str(&format!("{code}{sep}{line}\r\n"));
    }
    let stream = io.get_mut();
    stream.write_all(out.as_bytes()).await?;
    stream.flush().await
}

/// `AUTH PLAIN`'s answer: base64 of `authzid NUL user NUL password`.
fn plain_credentials(encoded: &str) -> (String, String) {
    let decoded = base64(encoded);
    let mut parts = decoded.split(|&b| b == 0);
    let _authzid = parts.next();
    let user = parts.next().unwrap_or_default();
    let pass = parts.next().unwrap_or_default();
    (lossy(user), lossy(pass))
}

/// Base64 as a client sends it in AUTH; nothing for what does not decode.
fn base64(text: &str) -> Vec<u8> {
    mail_parser::decoders::base64::base64_decode(text.trim().as_bytes()).unwrap_or_default()
}

#[test]
fn auth_plain_credentials_decode() {
    assert_eq!(
        plain_credentials("AHVzZXIAcGFzcw=="),
        ("user".to_owned(), "pass".to_owned())
    );
}
