//! A stand-in for systemd's side of a `Type=notify` unit: a datagram socket that
//! `$NOTIFY_SOCKET` names (see [`Followup::under`](super::runner::Followup::under)), and
//! everything the daemon reports there (`READY=1`, `STATUS=...`, `WATCHDOG=1`), with when it came.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::wait::{PATIENCE, wait_for};

/// What a datagram says and when it came.
pub type Heard = (Instant, String);

/// The manager's socket, listened on until it is dropped.
pub struct ServiceManager {
    socket: PathBuf,
    watchdog: Option<Duration>,
    heard: Arc<Mutex<Vec<Heard>>>,
    stop: Arc<AtomicBool>,
}

impl ServiceManager {
    /// Listens on `notify.sock` in `dir`, as a manager of a unit with `WatchdogSec=watchdog`
    /// (none: no watchdog).
    pub fn listen(dir: &Path, watchdog: Option<Duration>) -> ServiceManager {
        let socket = dir.join("notify.sock");
        let listener = UnixDatagram::bind(&socket)
            .unwrap_or_else(|e| panic!("bind {}: {e}", socket.display()));
        // Each read is bounded, so the thread sees `stop` soon after the manager is dropped.
        listener
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");
        let heard = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (heard.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok(n) = listener.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    sink.lock().unwrap().push((Instant::now(), text));
                }
            }
        });
        ServiceManager {
            socket,
            watchdog,
            heard,
            stop,
        }
    }

    /// The socket's path, for `$NOTIFY_SOCKET`.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The watchdog interval it asks for, for `$WATCHDOG_USEC`.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog
    }

    /// Every datagram so far, in order.
    pub fn datagrams(&self) -> Vec<Heard> {
        self.heard.lock().unwrap().clone()
    }

    /// Every `NAME=value` line so far, in order.
    pub fn lines(&self) -> Vec<Heard> {
        self.datagrams()
            .into_iter()
            .flat_map(|(at, d)| d.lines().map(|l| (at, l.to_string())).collect::<Vec<_>>())
            .collect()
    }

    /// Waits until `done` holds of the lines heard.
    #[track_caller]
    pub fn wait_until(&self, what: &str, done: impl Fn(&[Heard]) -> bool) {
        wait_for(what, PATIENCE, || done(&self.lines()));
    }

    /// Every datagram the daemon sent before now, once the listener has read it: a marker sent
    /// now arrives after all of it (a datagram socket keeps the order).
    #[track_caller]
    pub fn heard_so_far(&self) -> Vec<String> {
        const MARKER: &str = "TEST_MARKER=1";
        let probe = UnixDatagram::unbound().expect("a datagram socket");
        probe
            .send_to(MARKER.as_bytes(), &self.socket)
            .expect("send the marker");
        self.wait_until("the marker", |l| l.iter().any(|(_, l)| l == MARKER));
        self.datagrams()
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| d.trim() != MARKER)
            .collect()
    }
}

impl Drop for ServiceManager {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
