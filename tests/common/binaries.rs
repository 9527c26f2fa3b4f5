//! The real binaries as child processes: `chat-server` on a free port, `chat-client` with piped
//! stdin and stdout, each in a folder of its own. Every wait is bounded by `TIMEOUT`.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use super::TIMEOUT;

pub const SERVER: &str = env!("CARGO_BIN_EXE_chat-server");
pub const CLIENT: &str = env!("CARGO_BIN_EXE_chat-client");

/// A fresh folder for one test, removed when dropped; the client runs inside it.
pub struct TestDir(pub PathBuf);

impl TestDir {
    pub fn new(test: &str) -> TestDir {
        let path =
            std::env::temp_dir().join(format!("chat-client-test-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create the test folder");
        TestDir(path)
    }

    pub fn join(&self, path: &str) -> PathBuf {
        self.0.join(path)
    }

    /// The names in a folder of this test, sorted; none when the folder does not exist.
    pub fn entries(&self, folder: &str) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.join(folder)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// The server binary running on a free port; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    pub fn start(args: &[&str]) -> ServerProcess {
        let mut child = Command::new(SERVER)
            .args(["--port", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chat-server");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx
            .recv_timeout(TIMEOUT)
            .expect("the server says where it hosts");
        let addr = line
            .split("Hosting on ")
            .nth(1)
            .unwrap_or_else(|| panic!("no 'Hosting on' in {line:?}"))
            .parse()
            .expect("a socket address");
        ServerProcess { child, addr }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `chat-client`, its stdin and its stdout; killed when dropped.
pub struct ClientProcess {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Receiver<Vec<u8>>,
    stderr: Option<JoinHandle<String>>,
    /// Everything it printed so far.
    seen: Vec<u8>,
    /// Where the last `expect` matched: the next one looks after it.
    matched: usize,
}

impl ClientProcess {
    pub fn start(dir: &TestDir, args: &[&str]) -> ClientProcess {
        let mut child = Command::new(CLIENT)
            .args(args)
            .current_dir(&dir.0)
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat-client");
        let mut out = child.stdout.take().unwrap();
        let (sender, stdout) = mpsc::channel();
        thread::spawn(move || {
            let mut buf = [0; 4096];
            // Ends at the client's exit: its stdout closes, and the channel disconnects.
            while let Ok(n @ 1..) = out.read(&mut buf) {
                if sender.send(buf[..n].to_vec()).is_err() {
                    return;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        ClientProcess {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr: Some(stderr),
            seen: Vec::new(),
            matched: 0,
        }
    }

    /// Waits until stdout shows `text`, after what the previous `expect` matched.
    pub fn expect(&mut self, text: &str) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let rest = &self.seen[self.matched..];
            if let Some(at) = rest.windows(text.len()).position(|w| w == text.as_bytes()) {
                self.matched += at + text.len();
                return;
            }
            match self
                .stdout
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(bytes) => self.seen.extend(bytes),
                Err(_) => panic!("stdout never showed {text:?}; it showed:\n{}", self.shown()),
            }
        }
    }

    pub fn shown(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .expect("write to the client's stdin");
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits, at most `TIMEOUT`, for the client to exit; returns its status and its stderr.
    pub fn finish(&mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            match self
                .stdout
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(bytes) => self.seen.extend(bytes),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("the client did not exit; it showed:\n{}", self.shown())
                }
            }
        }
        // Its stdout is closed, so it has exited or is about to: neither wait is long.
        let status = self.child.wait().expect("wait for the client");
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, stderr)
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The resident memory of process `pid` in KiB (the `VmRSS:` line of `/proc/<pid>/status`);
/// `None` when it cannot be read (no such process, or no `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

/// The highest resident memory process `pid` has had so far in KiB (its `VmHWM:` line): a
/// buffer that grew and was freed again still shows here.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// A `<field> <n> kB` line of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|line| line.strip_prefix(field))?;
    line.trim().strip_suffix("kB")?.trim().parse().ok()
}
