//! An OAuth2 token-introspection endpoint (RFC 7662) on loopback, as Dovecot's `oauth2` passdb
//! asks it with `introspection_mode = post`: a `POST` of `token=<token>`, answered with
//! `{"active": true, "username": ...}` for a token in the active set, `{"active": false}` for
//! any other. `.ci/dovecot-setup.sh` points Dovecot at [`PORT`]; tests rotate and revoke tokens
//! while it runs, as a provider does.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The port `.ci/dovecot-setup.sh` configures (its `FOLLOWUP_INTEROP_OAUTH_PORT`).
pub fn port() -> u16 {
    std::env::var("FOLLOWUP_INTEROP_OAUTH_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(47143)
}

pub struct Introspection {
    active: Arc<Mutex<Vec<String>>>,
    asked: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    port: u16,
    serving: Option<std::thread::JoinHandle<()>>,
}

impl Introspection {
    /// Serves until dropped; the tokens in `active` are good for `username`.
    pub fn start(username: &str, active: &[&str]) -> Introspection {
        let listener = TcpListener::bind(("127.0.0.1", port()))
            .unwrap_or_else(|e| panic!("cannot listen on 127.0.0.1:{}: {e}", port()));
        let mut endpoint = Introspection {
            active: Arc::new(Mutex::new(active.iter().map(|t| t.to_string()).collect())),
            asked: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            port: port(),
            serving: None,
        };
        let (active, asked, stop) = (
            endpoint.active.clone(),
            endpoint.asked.clone(),
            endpoint.stop.clone(),
        );
        let username = username.to_owned();
        endpoint.serving = Some(std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                // One thread a connection: a client that opens a connection and waits never
                // holds up the next request.
                let (username, active, asked) = (username.clone(), active.clone(), asked.clone());
                std::thread::spawn(move || {
                    let _ = answer(stream, &username, &active, &asked);
                });
            }
        }));
        endpoint
    }

    /// Makes `new` the only good token: the old ones are revoked.
    pub fn rotate(&self, new: &str) {
        *self.active.lock().unwrap() = vec![new.to_owned()];
    }

    /// How many introspection requests were answered.
    pub fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl Drop for Introspection {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees `stop`, and waits until the port is free for
        // the next test.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
        if let Some(serving) = self.serving.take() {
            let _ = serving.join();
        }
    }
}

fn answer(
    stream: std::net::TcpStream,
    username: &str,
    active: &Mutex<Vec<String>>,
    asked: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut length = 0usize;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let body = String::from_utf8_lossy(&body);
    let token = body
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(percent_decode)
        .unwrap_or_default();
    let good = active.lock().unwrap().contains(&token);
    asked.fetch_add(1, Ordering::SeqCst);
    let json = match good {
        true => format!("{{\"active\":true,\"username\":\"{username}\"}}"),
        false => "{\"active\":false}".to_owned(),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{json}",
        json.len()
    )?;
    stream.flush()
}

/// `application/x-www-form-urlencoded` to text.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
