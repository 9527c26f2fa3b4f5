//! The real binaries as child processes: `chat-server` on a free port, `chat-client` with piped
//! stdin and stdout, each in a folder of its own. Every wait is bounded by `TIMEOUT`.
//!
//! Also what tests need around them: a fake server that speaks chat/1 by hand to a real client,
//! signals (stop, continue), and what `/proc` tells about a child: its memory and its sockets.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

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

    /// Every path under this test's folder (hidden ones too; links not followed), relative to
    /// it and sorted: what a client wrote, wherever it wrote it.
    pub fn tree(&self) -> Vec<String> {
        fn walk(root: &Path, folder: &Path, paths: &mut Vec<String>) {
            let Ok(entries) = fs::read_dir(folder) else {
                return;
            };
            for entry in entries.map(|entry| entry.unwrap()) {
                let path = entry.path();
                let relative = path.strip_prefix(root).unwrap();
                paths.push(relative.to_string_lossy().into_owned());
                if entry.file_type().unwrap().is_dir() {
                    walk(root, &path, paths);
                }
            }
        }
        let mut paths = Vec::new();
        walk(&self.0, &self.0, &mut paths);
        paths.sort();
        paths
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
    /// Its console's input, when started with [`with_console`](Self::with_console).
    pub console: Option<ChildStdin>,
    /// What it printed on standard output after the `Hosting on` line, line by line.
    pub output: mpsc::Receiver<String>,
    /// Its `Hosting on ADDR ...` line, whole (over TLS it carries the certificate's
    /// fingerprint).
    pub hosting: String,
    /// What it logged on standard error, line by line, when started with
    /// [`logged`](Self::logged).
    pub log: Option<mpsc::Receiver<String>>,
    /// The lines of its log read so far.
    pub logged: Vec<String>,
}

impl ServerProcess {
    /// Starts the server on a free port with `args`, and waits for its `Hosting on` line. Its
    /// standard input is empty and not a terminal: the console ends at once, the server serves.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(args, &[], Stdio::null())
    }

    /// As [`start`](Self::start), keeping what the server logs on standard error in `log`.
    pub fn logged(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn_with(args, &[], Stdio::null(), true)
    }

    /// As [`logged`](Self::logged), with environment variables set (such as `RUST_LOG`).
    pub fn logged_with_env(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn_with(args, env, Stdio::null(), true)
    }

    /// As [`start`](Self::start), with environment variables set for the server (such as
    /// `GLIBC_TUNABLES`).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn(args, env, Stdio::null())
    }

    /// As [`start`](Self::start), with its console's input kept open in `console`.
    pub fn with_console(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(args, &[], Stdio::piped())
    }

    fn spawn(args: &[&str], env: &[(&str, &str)], stdin: Stdio) -> ServerProcess {
        ServerProcess::spawn_with(args, env, stdin, false)
    }

    fn spawn_with(
        args: &[&str],
        env: &[(&str, &str)],
        stdin: Stdio,
        logged: bool,
    ) -> ServerProcess {
        let mut command = Command::new(SERVER);
        command
            .args(["--port", "0"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if logged {
            command.stderr(Stdio::piped());
            if !env.iter().any(|(name, _)| *name == "RUST_LOG") {
                // The server's own default level (info), whatever this shell says.
                command.env_remove("RUST_LOG");
            }
        }
        let mut child = command.spawn().expect("start chat-server");
        let log = child.stderr.take().map(|stderr| {
            let (tx, log) = mpsc::channel();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
            log
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = output
            .recv_timeout(TIMEOUT)
            .expect("the server says where it hosts");
        let addr = line
            .split("Hosting on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no 'Hosting on' in {line:?}"))
            .parse()
            .expect("a socket address");
        let console = child.stdin.take();
        ServerProcess {
            child,
            addr,
            console,
            output,
            hosting: line,
            log,
            logged: Vec::new(),
        }
    }

    /// Waits, at most `TIMEOUT`, for a line of the server's log that contains `text`, and
    /// returns it. Needs a server started with [`logged`](Self::logged).
    pub fn expect_log(&mut self, text: &str) -> String {
        if let Some(line) = self.logged.iter().find(|line| line.contains(text)) {
            return line.clone();
        }
        let log = self.log.as_ref().expect("started logged");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match log.recv_timeout(left) {
                Ok(line) => {
                    self.logged.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("the server never logged {text:?}"),
            }
        }
    }

    /// Kills the server and returns all it logged (started [`logged`](Self::logged)).
    pub fn stop_and_read_log(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log.as_ref().expect("started logged");
        // Its standard error is closed now: the channel ends once every line is read.
        while let Ok(line) = log.recv_timeout(TIMEOUT) {
            self.logged.push(line);
        }
        self.logged.join("\n")
    }

    /// Types a line at the server's console.
    pub fn type_line(&mut self, line: &str) {
        let console = self.console.as_mut().expect("started with_console");
        writeln!(console, "{line}").expect("type at the console");
    }

    /// The next line the server prints, waiting at most `TIMEOUT`.
    pub fn next_output(&self) -> String {
        self.output
            .recv_timeout(TIMEOUT)
            .expect("the server printed a line")
    }

    /// Waits, at most `TIMEOUT`, for the server to exit; returns its exit code.
    pub fn wait_for_exit(&mut self) -> Option<i32> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for chat-server") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            thread::sleep(Duration::from_millis(20));
        }
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
        let mut from = self.matched;
        loop {
            let rest = &self.seen[from..];
            if let Some(at) = rest.windows(text.len()).position(|w| w == text.as_bytes()) {
                self.matched = from + at + text.len();
                return;
            }
            // Only the last bytes can still begin a match: megabytes of output are searched
            // once, not again at every read.
            let tail = text.len().saturating_sub(1);
            from = from.max(self.seen.len().saturating_sub(tail));
            match self
                .stdout
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(bytes) => self.seen.extend(bytes),
                Err(_) => panic!("stdout never showed {text:?}; it showed:\n{}", self.shown()),
            }
        }
    }

    /// The client's process id, for `/proc` and signals.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything it printed so far, as bytes.
    pub fn shown_bytes(&self) -> &[u8] {
        &self.seen
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

/// A fake server for a real `chat-client`: a listener on a free loopback port; the test decides
/// every byte the client sees.
pub struct FakeServer {
    listener: TcpListener,
}

impl FakeServer {
    pub fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        FakeServer { listener }
    }

    pub fn port(&self) -> String {
        self.listener.local_addr().unwrap().port().to_string()
    }

    /// Waits, at most `TIMEOUT`, for the client to connect.
    pub fn accept(&self) -> FakePeer {
        let listener = self.listener.try_clone().unwrap();
        let (sender, accepted) = mpsc::channel();
        thread::spawn(move || sender.send(listener.accept()));
        let (stream, _) = accepted
            .recv_timeout(TIMEOUT)
            .expect("the client connects in time")
            .expect("accept the client");
        FakePeer::new(stream)
    }
}

/// The fake server's end of one connection; reads time out after `TIMEOUT`.
pub struct FakePeer {
    reader: BufReader<TcpStream>,
    pub writer: TcpStream,
}

impl FakePeer {
    fn new(stream: TcpStream) -> FakePeer {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        FakePeer {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("send to the client");
    }

    pub fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\n").as_bytes());
    }

    /// The next line the client sent, without its LF. Panics on timeout or end of stream.
    pub fn read_line(&mut self) -> String {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("a line from the client in time");
        assert_eq!(line.pop(), Some(b'\n'), "the client closed the connection");
        String::from_utf8(line).expect("a UTF-8 line")
    }

    pub fn expect_line(&mut self, expected: &str) {
        assert_eq!(self.read_line(), expected);
    }

    /// Exactly `n` raw bytes from the client.
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        self.reader
            .read_exact(&mut bytes)
            .expect("the bytes from the client in time");
        bytes
    }

    /// Greets, reads the name the client sends, and welcomes it.
    pub fn welcome(&mut self, name: &str) {
        self.send_line("[INFO]:Welcome to chat. Please enter your username.");
        self.expect_line(name);
        self.send_line(&format!("[WELCOME]:{name}\n[USERS]:{name}"));
    }

    /// Closes the connection in order (FIN), as a server that exits does.
    pub fn close(&mut self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }

    /// Waits, at most `TIMEOUT`, until the client has sent bytes this end has not read, then
    /// closes without reading them: the kernel answers with a reset (RST), as it does for a
    /// killed server that had unread input.
    pub fn reset(self) {
        let mut byte = [0; 1];
        let peeked = self
            .writer
            .peek(&mut byte)
            .expect("unread bytes from the client");
        assert_eq!(peeked, 1, "the client closed the connection");
        assert!(
            self.reader.buffer().is_empty(),
            "those bytes were read already"
        );
        // Dropping both handles closes the socket with the bytes unread.
    }
}

/// Where the client's downloads go in the tests with a fake server: deep enough that
/// `../../../x` from it is still inside the test's folder.
pub const DOWNLOADS: &str = "a/b/downloads";

/// A real `chat-client` connected to a fake server. Fields drop in order: the client first.
pub struct Chat {
    pub client: ClientProcess,
    pub peer: FakePeer,
    pub server: FakeServer,
    pub dir: TestDir,
}

impl Chat {
    /// Starts a client in a folder of its own with `--downloads DOWNLOADS` and `args`, and
    /// accepts its connection; nothing is said to it yet.
    pub fn connect(test: &str, args: &[&str]) -> Chat {
        let dir = TestDir::new(test);
        let server = FakeServer::start();
        let port = server.port();
        let mut all_args = vec!["--port", &port, "--downloads", DOWNLOADS];
        all_args.extend_from_slice(args);
        let client = ClientProcess::start(&dir, &all_args);
        let peer = server.accept();
        Chat {
            client,
            peer,
            server,
            dir,
        }
    }

    /// Starts a client with `--name alice` and `args`, and walks it through the handshake.
    pub fn join_as_alice(test: &str, args: &[&str]) -> Chat {
        let mut all_args = vec!["--name", "alice"];
        all_args.extend_from_slice(args);
        let mut chat = Chat::connect(test, &all_args);
        chat.peer.welcome("alice");
        chat.client.expect("[INFO] Online: alice\n");
        chat
    }
}

/// Sends `signal` (`STOP`, `CONT`, ...) to a process with kill(1): the tests need no libc.
pub fn signal(pid: u32, signal: &str) {
    let status = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -s {signal} {pid} failed");
}

/// Polls `condition` every few milliseconds until it holds; panics after `TIMEOUT`.
///
/// Only for what no read can wait on: the state of another process, seen through `/proc`.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// A `<field>: <n> kB` line of `/proc/<pid>/status`; `None` once the process is gone.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    line[field.len()..]
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A process's resident memory now (`VmRSS`), in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// The most resident memory a process has had since it started (`VmHWM`), in KiB: the kernel's
/// own high-water mark, so no peak between two samples is missed.
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmHWM")
}

/// The queues of a process's TCP sockets, from `/proc/net/tcp`: bytes written but not yet
/// acknowledged by the peer (`tx_queue`), and bytes received but not yet read (`rx_queue`),
/// summed over its sockets. Unlike a write's return, these move while a large write is blocked.
pub fn tcp_queues(pid: u32) -> (u64, u64) {
    let inodes: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| {
            entries
                .filter_map(|entry| fs::read_link(entry.ok()?.path()).ok())
                .filter_map(|target| {
                    let target = target.to_string_lossy().into_owned();
                    let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
                    Some(inode.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let (mut tx, mut rx) = (0, 0);
    for table in ["tcp", "tcp6"] {
        let Ok(text) = fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...
        for fields in text
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
        {
            if fields.len() > 9
                && inodes.iter().any(|inode| inode == fields[9])
                && let Some((t, r)) = fields[4].split_once(':')
            {
                tx += u64::from_str_radix(t, 16).unwrap_or(0);
                rx += u64::from_str_radix(r, 16).unwrap_or(0);
            }
        }
    }
    (tx, rx)
}
