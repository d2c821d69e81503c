//! A real Dovecot on loopback, as `.ci/dovecot-setup.sh` builds it: the server from the
//! environment, delivering into its Maildir as an MDA does, reading what it holds, and stopping
//! and starting it for the fault tests. The tests share one mailbox, so they take turns
//! ([`Dovecot::take`]); each finds its own messages by what is unique to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::MutexGuard;

use super::api::{ImapClient, ImapSettings, MessageId, Secret, Security, Session, Timeouts};
use super::gate::Gate;

/// The Dovecot tests: they run where `FOLLOWUP_INTEROP_IMAP` is set, and must under
/// `FOLLOWUP_INTEROP=1`.
pub const DOVECOT: Gate = Gate {
    var: "FOLLOWUP_INTEROP",
    only_when_asked: false,
    how_to_run: "as root, `bash .ci/run` sets up Dovecot and runs the suite; or run \
     `bash .ci/dovecot-setup.sh` as root, then `FOLLOWUP_INTEROP_IMAP=127.0.0.1:143 \
     FOLLOWUP_INTEROP_IMAPS=127.0.0.1:993 FOLLOWUP_INTEROP_IMAP_USER=fuinterop \
     FOLLOWUP_INTEROP_IMAP_PASSWORD=followup-imap-test \
     FOLLOWUP_INTEROP_IMAP_MAILDIR=/home/fuinterop/Maildir cargo test --test it dovecot` as root",
};

/// One test at a time on the shared mailbox (and a fault test stops the server).
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long anything the server should do at once may take on a loaded machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct Dovecot {
    pub host: String,
    pub starttls_port: u16,
    pub tls_port: u16,
    pub user: String,
    pub password: String,
    pub maildir: PathBuf,
}

impl Dovecot {
    /// The server, and this test's turn on it; `None` when the test skips (it said why).
    /// The turn comes first: a test that stops the server (the chaos test, the restarts) holds
    /// it, and a server down for that test's turn is not a server missing for this one.
    pub async fn take() -> Option<(Dovecot, MutexGuard<'static, ()>)> {
        let turn = TURN.lock().await;
        let d = DOVECOT.check(dovecot)?;
        Some((d, turn))
    }
}

/// The server from the environment: `Ok(None)` to skip, `Err` when it must be there and is not.
fn dovecot() -> Result<Dovecot, String> {
    let imap = std::env::var("FOLLOWUP_INTEROP_IMAP")
        .map_err(|_| "FOLLOWUP_INTEROP_IMAP is not set".to_string())?;
    let var = |name: &str| std::env::var(name).map_err(|_| format!("{name} is not set"));
    let split = |v: &str| -> Result<(String, u16), String> {
        let (h, p) = v
            .rsplit_once(':')
            .ok_or(format!("`{v}` is not host:port"))?;
        Ok((
            h.to_string(),
            p.parse().map_err(|_| format!("`{v}`: bad port"))?,
        ))
    };
    let (host, starttls_port) = split(&imap)?;
    let (_, tls_port) = split(&var("FOLLOWUP_INTEROP_IMAPS")?)?;
    let d = Dovecot {
        host,
        starttls_port,
        tls_port,
        user: var("FOLLOWUP_INTEROP_IMAP_USER")?,
        password: var("FOLLOWUP_INTEROP_IMAP_PASSWORD")?,
        maildir: PathBuf::from(var("FOLLOWUP_INTEROP_IMAP_MAILDIR")?),
    };
    std::net::TcpStream::connect_timeout(
        &format!("{}:{}", d.host, d.starttls_port)
            .parse()
            .map_err(|e| format!("{imap}: {e}"))?,
        Duration::from_secs(5),
    )
    .map_err(|e| format!("nothing answers on {imap}: {e}"))?;
    Ok(d)
}

pub fn fixture_cert() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/tls/cert.pem")
}

/// Short timeouts, so a failure shows within the test's deadlines.
pub fn test_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_secs(10),
        command: Duration::from_secs(20),
        idle_silence: Duration::from_secs(150),
        idle_renew: Duration::from_secs(300),
        token_relogin: Duration::from_secs(45 * 60),
    }
}

impl Dovecot {
    pub fn settings(&self, security: Security) -> ImapSettings {
        ImapSettings {
            host: self.host.clone(),
            port: match security {
                Security::Tls => self.tls_port,
                Security::Starttls | Security::Plain => self.starttls_port,
            },
            security,
            username: self.user.clone(),
            password: Secret::new(self.password.clone()).into(),
            auth: Default::default(),
            ca_file: Some(fixture_cert()),
            timeouts: test_timeouts(),
            use_idle: true,
        }
    }

    pub fn client(&self, security: Security) -> ImapClient {
        ImapClient::new(self.settings(security)).expect("settings are valid")
    }

    pub async fn session(&self) -> Session {
        self.client(Security::Starttls)
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot log in to Dovecot: {e}"))
    }

    /// Delivers a message into the INBOX as an MDA does (tmp/, then a rename into new/), owned
    /// by the mailbox's user. Returns the file's path.
    pub fn deliver(&self, message: &[u8]) -> PathBuf {
        self.deliver_to(None, message)
    }

    /// [`Dovecot::deliver`] into `folder` (`Sent`, ...), or the INBOX.
    pub fn deliver_to(&self, folder: Option<&str>, message: &[u8]) -> PathBuf {
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(&self.maildir).expect("the Maildir exists");
        let root = match folder {
            None => self.maildir.clone(),
            Some(f) => self.maildir.join(format!(".{f}")),
        };
        let name = format!(
            "{}.followup-test.{}",
            now_secs(),
            uuid::Uuid::new_v4().simple()
        );
        let tmp = root.join("tmp").join(&name);
        std::fs::write(&tmp, message).expect("write into Maildir/tmp");
        std::os::unix::fs::chown(&tmp, Some(owner.uid()), Some(owner.gid())).expect("chown");
        let new = root.join("new").join(&name);
        std::fs::rename(&tmp, &new).expect("rename into Maildir/new");
        new
    }

    /// Removes a delivered file, wherever Dovecot moved it (new/ or cur/ with flags).
    pub fn remove_delivered(&self, delivered: &Path) {
        let name = delivered
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for dir in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(dir)) {
                for e in entries.flatten() {
                    if e.file_name().to_string_lossy().starts_with(&name) {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
    }

    /// The flags Dovecot keeps in the file name (`...:2,S`) of every file of a folder holding
    /// this Message-ID.
    pub fn maildir_flags(&self, folder: Option<&str>, id: &MessageId) -> Vec<String> {
        let root = match folder {
            None => self.maildir.clone(),
            Some(f) => self.maildir.join(format!(".{f}")),
        };
        let needle = id.to_string();
        let mut flags = Vec::new();
        for dir in ["new", "cur"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            for e in entries.flatten() {
                let holds = std::fs::read(e.path())
                    .map(|b| String::from_utf8_lossy(&b).contains(&needle))
                    .unwrap_or(false);
                if holds {
                    let name = e.file_name().to_string_lossy().into_owned();
                    flags.push(
                        name.rsplit_once(":2,")
                            .map(|(_, f)| f.to_string())
                            .unwrap_or_default(),
                    );
                }
            }
        }
        flags
    }
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn unique_id(what: &str) -> MessageId {
    MessageId::from_header(&format!(
        "<{what}.{}@followup-test.example.org>",
        uuid::Uuid::new_v4().simple()
    ))
    .unwrap()
}

pub fn message(id: &MessageId, subject: &str) -> Vec<u8> {
    format!(
        "From: Jane Roe <jane.roe@globex.example>\r\nTo: Sam Rivera <sam@example.org>\r\n\
         Subject: {subject}\r\nDate: Thu, 5 Nov 2026 09:12:40 +0100\r\nMessage-ID: {id}\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Hi Sam,\r\n\r\nthanks for your note.\r\n"
    )
    .into_bytes()
}

/// Whether a Dovecot imap process of this user is in IDLE now (its title says so).
pub fn a_session_is_idling(user: &str) -> bool {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.flatten().any(|p| {
        std::fs::read(p.path().join("cmdline")).is_ok_and(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("imap [") && c.contains(user) && c.contains(" IDLE]")
        })
    })
}

/// Runs `.ci/dovecot-setup.sh ACTION` (stop/start), failing the test if it fails.
pub fn dovecot_ctl(action: &str) {
    if let Err(e) = try_dovecot_ctl(action) {
        panic!("{e}");
    }
}

/// Runs `.ci/dovecot-setup.sh ACTION`; `Err` says what it printed when it fails.
pub fn try_dovecot_ctl(action: &str) -> Result<(), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci/dovecot-setup.sh");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(action)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "`{} {action}` failed:\n{}{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

/// Starts Dovecot again when the fault test ends, however it ends. When the test already
/// failed, a failed start is printed rather than raised: a second panic would abort the run and
/// hide the first.
pub struct StartOnDrop;

impl Drop for StartOnDrop {
    fn drop(&mut self) {
        match try_dovecot_ctl("start") {
            Ok(()) => {}
            Err(e) if std::thread::panicking() => eprintln!("{e}"),
            Err(e) => panic!("{e}"),
        }
    }
}

/// The pids of this user's Dovecot imap processes that are in IDLE.
pub fn idling_pids(user: &str) -> Vec<i32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .flatten()
        .filter_map(|p| {
            let pid: i32 = p.file_name().to_str()?.parse().ok()?;
            let c = std::fs::read(p.path().join("cmdline")).ok()?;
            let c = String::from_utf8_lossy(&c);
            (c.contains("imap [") && c.contains(user) && c.contains(" IDLE]")).then_some(pid)
        })
        .collect()
}
