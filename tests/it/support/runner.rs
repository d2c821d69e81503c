//! The real `followup` binary, run as a user would: a clean environment (nothing of the caller's
//! `HOME`, `FOLLOWUP_CONFIG` or XDG variables leaks in), stdin closed, `RUST_LOG=info` unless a
//! test says otherwise. Every test that runs the binary builds its command here: in a user's
//! home, under a service manager, with stderr on a terminal, or in the background.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use serde_json::Value;

use super::service_manager::ServiceManager;
use super::wait::{PATIENCE, wait_for};

/// A `followup` command being built.
pub struct Followup {
    cmd: Command,
    shown: String,
}

/// `followup` with no `--config`.
pub fn followup() -> Followup {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_followup"));
    cmd.env_clear().env("RUST_LOG", "info").stdin(Stdio::null());
    Followup {
        cmd,
        shown: "followup".into(),
    }
}

impl Followup {
    pub fn config(self, path: &Path) -> Self {
        self.arg("--config").arg(path)
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        let arg = arg.as_ref();
        self.shown.push(' ');
        self.shown.push_str(&arg.to_string_lossy());
        self.cmd.arg(arg);
        self
    }

    pub fn args<S: AsRef<OsStr>>(self, args: impl IntoIterator<Item = S>) -> Self {
        args.into_iter().fold(self, Followup::arg)
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Unsets a variable the runner sets: without `RUST_LOG` the binary's own filter applies.
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    /// A user whose home is `home`: `$HOME`, and the XDG directories where they are by default.
    pub fn user_home(self, home: &Path) -> Self {
        self.env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_STATE_HOME", home.join(".local/state"))
    }

    /// `$PATH` with `dir` before the test's own: a stand-in there for a system command.
    pub fn path_first(self, dir: &Path) -> Self {
        let rest = std::env::var_os("PATH").unwrap_or_default();
        let path = std::env::join_paths(
            std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&rest)),
        )
        .expect("a PATH");
        self.env("PATH", path)
    }

    /// Started as systemd starts a `Type=notify` unit that `manager` stands in for:
    /// `$NOTIFY_SOCKET`, and `$WATCHDOG_USEC` when it asks for a watchdog.
    pub fn under(self, manager: &ServiceManager) -> Self {
        let started = self.env("NOTIFY_SOCKET", manager.socket());
        match manager.watchdog() {
            Some(every) => started.env("WATCHDOG_USEC", every.as_micros().to_string()),
            None => started,
        }
    }

    /// Runs it to its end.
    pub fn output(mut self) -> Output {
        let out = self
            .cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.shown));
        Output {
            command: self.shown,
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs it to its end; it must exit 0.
    #[track_caller]
    pub fn succeeds(self) -> Output {
        self.output().success()
    }

    /// Runs it to its end with stderr on a new pseudo-terminal, as a person at a shell would:
    /// `stderr` is what the terminal showed.
    pub fn on_a_terminal(self) -> Output {
        let Followup { mut cmd, shown } = self;
        let (terminal, far_end) = pseudo_terminal();
        cmd.stderr(far_end);
        let mut reader = File::from(terminal);
        let shown_on_terminal = std::thread::spawn(move || {
            let mut out = Vec::new();
            let mut buf = [0u8; 4096];
            // The terminal reports EIO once the child and `cmd`, its only other users, closed it.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            out
        });
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {shown}: {e}"));
        // The child has exited; `cmd` holds the last copy of the far end.
        drop(cmd);
        let stderr = shown_on_terminal.join().expect("the terminal's reader");
        Output {
            command: shown,
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            signal: out.status.signal(),
        }
    }

    /// Runs it as `followup ... | head -1` does: reads the first line of its output, closes the
    /// pipe, and waits for it to end. The output holds that line alone. The pipe holds one page,
    /// so a command that prints more than a few kilobytes is still writing when it closes.
    pub fn first_line(mut self) -> Output {
        use std::io::BufRead;
        use std::os::fd::{FromRawFd, OwnedFd};
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills `fds` with two new descriptors, which are owned below.
        assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
        // SAFETY: both are open descriptors that nothing else owns.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: fcntl on a descriptor we own; the kernel rounds up to one page.
        unsafe { libc::fcntl(fds[1], libc::F_SETPIPE_SZ, 4096) };
        let child = self
            .cmd
            .stdout(Stdio::from(write))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown));
        // The parent's copy of the writing end went to the child and was closed on spawn.
        let mut line = String::new();
        std::io::BufReader::new(File::from(read))
            .read_line(&mut line)
            .expect("read the first line");
        // The reader is dropped here: the pipe is closed while the command still writes.
        let out = child.wait_with_output().expect("wait for the command");
        Output {
            command: self.shown,
            code: out.status.code(),
            signal: out.status.signal(),
            stdout: line,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs it with a terminal (a pseudo-terminal) as stdin, typing `input` into it, as a person
    /// answering its questions would; waits at most [`PATIENCE`] for it to end.
    pub fn on_terminal(mut self, input: &str) -> Output {
        use std::io::Write;
        let (controller, terminal) = pseudo_terminal();
        let mut child = self
            .cmd
            .stdin(Stdio::from(terminal))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown));
        let mut typing = File::from(controller);
        typing
            .write_all(input.as_bytes())
            .expect("type the answers");
        let (done, finished) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("a piped stdout");
        let stderr = child.stderr.take().expect("a piped stderr");
        std::thread::spawn(move || {
            let read = |mut pipe: Box<dyn std::io::Read>| {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            };
            let (out, err) = (read(Box::new(stdout)), read(Box::new(stderr)));
            let _ = done.send((out, err));
        });
        let (stdout, stderr) = finished.recv_timeout(PATIENCE).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "`{}` still waits for an answer after {PATIENCE:?}",
                self.shown
            )
        });
        let status = child.wait().expect("wait for the command");
        drop(typing);
        Output {
            command: self.shown,
            code: status.code(),
            signal: status.signal(),
            stdout,
            stderr,
        }
    }

    /// Starts it in the background, stdout discarded, stderr appended to `log`.
    pub fn spawn(mut self, log: &Path) -> Running {
        let file = File::options()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", log.display()));
        let child = self
            .cmd
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.shown));
        Running {
            child,
            log: log.to_path_buf(),
            command: self.shown,
        }
    }
}

/// A new pseudo-terminal: its controlling side, and the far end a child writes to. Both are
/// opened close-on-exec, so no other test's child, started meanwhile, keeps the terminal open.
fn pseudo_terminal() -> (OwnedFd, File) {
    // SAFETY: posix_openpt opens a new descriptor or returns -1; nothing else owns it.
    let terminal = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    assert!(
        terminal >= 0,
        "posix_openpt: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: a descriptor just opened, owned by nothing else.
    let terminal = unsafe { OwnedFd::from_raw_fd(terminal) };
    let fd = std::os::fd::AsRawFd::as_raw_fd(&terminal);
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: calls on a pty master we own; ptsname_r writes at most `name.len()` bytes.
    let named = unsafe {
        libc::grantpt(fd) == 0
            && libc::unlockpt(fd) == 0
            && libc::ptsname_r(fd, name.as_mut_ptr(), name.len()) == 0
    };
    assert!(
        named,
        "a pseudo-terminal: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: ptsname_r succeeded, so `name` holds a NUL-terminated path.
    let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    let far_end = File::options()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (terminal, far_end)
}

/// What a finished run printed and how it exited.
pub struct Output {
    command: String,
    pub code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// It exited 0 without a panic.
    #[track_caller]
    pub fn success(self) -> Self {
        self.exit(0)
    }

    /// It exited with `code` without a panic: every failure is a clear error.
    #[track_caller]
    pub fn exit(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "`{}` exited {:?}, not {code}:\n{}{}",
            self.command,
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "`{}` panicked:\n{}",
            self.command,
            self.stderr
        );
        self
    }

    /// Stdout, which must be JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!("`{}` printed no JSON ({e}):\n{}", self.command, self.stdout)
        })
    }
}

/// A `followup` process in the background; killed if the test ends before it does.
pub struct Running {
    child: Child,
    log: PathBuf,
    command: String,
}

impl Running {
    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// How it exited, if it has.
    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait for a child")
    }

    /// Waits until its log satisfies `seen`; the log.
    #[track_caller]
    pub fn wait_log(&self, what: &str, seen: impl Fn(&str) -> bool) -> String {
        wait_for(what, PATIENCE, || {
            let log = self.log();
            seen(&log).then_some(log)
        })
    }

    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) on our own child's pid, which it keeps until it is waited for.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// SIGKILL, then reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for it to exit, at most [`PATIENCE`]; its exit code (`None` if killed by a signal).
    #[track_caller]
    pub fn exit_code(&mut self) -> Option<i32> {
        let what = format!(
            "`{}` to exit; its log: {}",
            self.command,
            self.log.display()
        );
        wait_for(&what, PATIENCE, || self.try_exit()).code()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if self.running() {
            self.kill();
        }
    }
}
