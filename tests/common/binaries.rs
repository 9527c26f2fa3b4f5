//! The real binaries as child processes: `chat-server` on a free port, `chat-client` with piped
//! stdin and stdout, each in a folder of its own. Every wait is bounded by `TIMEOUT`.
//!
//! Also what tests need around them: a fake server that speaks chat/1 by hand to a real client,
//! signals (stop, continue), and what `/proc` tells about a child: its memory and its sockets.

use std::cell::RefCell;
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
    /// Its log (standard error), line by line, when started with [`logging`](Self::logging).
    pub log: Option<mpsc::Receiver<String>>,
    /// Every line of the log read so far, for [`stop_and_read_log`](Self::stop_and_read_log).
    read_log: RefCell<Vec<String>>,
}

impl ServerProcess {
    /// Starts the server on a free port with `args`, and waits for its `Hosting on` line. Its
    /// standard input is empty and not a terminal: the console ends at once, the server serves.
    pub fn start(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(args, &[], Stdio::null(), false)
    }

    /// As [`start`](Self::start), keeping its log (at the default level) in `log`.
    pub fn logging(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(args, &[], Stdio::null(), true)
    }

    /// As [`logging`](Self::logging), with environment variables set (such as `RUST_LOG`, for
    /// another level).
    pub fn logging_with_env(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn(args, env, Stdio::null(), true)
    }

    /// As [`start`](Self::start), with environment variables set for the server (such as
    /// `GLIBC_TUNABLES`).
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        ServerProcess::spawn(args, env, Stdio::null(), false)
    }

    /// As [`start`](Self::start), with its console's input kept open in `console`.
    pub fn with_console(args: &[&str]) -> ServerProcess {
        ServerProcess::spawn(args, &[], Stdio::piped(), false)
    }

    fn spawn(args: &[&str], env: &[(&str, &str)], stdin: Stdio, keep_log: bool) -> ServerProcess {
        let mut child = Command::new(SERVER)
            .args(["--port", "0"])
            .args(args)
            // The server's own default level (info), whatever this shell says, unless `env`
            // sets one.
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(if keep_log {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("start chat-server");
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
            read_log: RefCell::default(),
        }
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

    /// Reads the log until a line holding every one of `words` comes, at most `TIMEOUT`;
    /// returns it.
    pub fn expect_log(&self, words: &[&str]) -> String {
        self.log_until(words).pop().unwrap()
    }

    /// Reads the log until a line holding every one of `words` comes, at most `TIMEOUT`;
    /// returns every line read, that one last.
    pub fn log_until(&self, words: &[&str]) -> Vec<String> {
        let log = self.log.as_ref().expect("started logging");
        let deadline = Instant::now() + TIMEOUT;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no log line with {words:?} in {lines:#?}"));
            self.read_log.borrow_mut().push(line.clone());
            let found = words.iter().all(|word| line.contains(word));
            lines.push(line);
            if found {
                return lines;
            }
        }
    }

    /// Kills the server and returns all it logged, the lines read before included (started
    /// [`logging`](Self::logging)).
    pub fn stop_and_read_log(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log.as_ref().expect("started logging");
        let mut read = self.read_log.borrow_mut();
        // Its standard error is closed now: the channel ends once every line is read.
        while let Ok(line) = log.recv_timeout(TIMEOUT) {
            read.push(line);
        }
        read.join("\n")
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
        let mut command = Command::new(CLIENT);
        command.args(args);
        ClientProcess::spawn(dir, command, &[])
    }

    /// As [`start`](Self::start), with `env` set.
    pub fn start_with_env(dir: &TestDir, args: &[&str], env: &[(&str, &str)]) -> ClientProcess {
        let mut command = Command::new(CLIENT);
        command.args(args);
        ClientProcess::spawn(dir, command, env)
    }

    /// As [`start`](Self::start), with `env` set and the client's stdin, stdout and stderr on a
    /// pseudo-terminal: util-linux `script` runs it and copies the terminal's output to its own
    /// stdout (stderr included, line ends as CR LF). For what the client does only on a terminal.
    pub fn start_in_terminal(dir: &TestDir, args: &[&str], env: &[(&str, &str)]) -> ClientProcess {
        let quoted: Vec<String> = std::iter::once(CLIENT)
            .chain(args.iter().copied())
            .map(|arg| format!("'{}'", arg.replace('\'', "'\\''")))
            .collect();
        let mut command = Command::new("script");
        command.args([
            "--quiet",
            "--return",
            "--command",
            &quoted.join(" "),
            "/dev/null",
        ]);
        ClientProcess::spawn(dir, command, env)
    }

    fn spawn(dir: &TestDir, mut command: Command, env: &[(&str, &str)]) -> ClientProcess {
        let mut child = command
            .current_dir(&dir.0)
            .env_remove("RUST_LOG")
            // A test that wants it sets it; the tester's own must not change what is shown.
            .env_remove("NO_COLOR")
            .envs(env.iter().copied())
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

    /// Greets, reads the name the client sends, welcomes it, and answers the `/files on` it
    /// sends right after the welcome.
    pub fn welcome(&mut self, name: &str) {
        self.welcome_without_files(name);
        self.expect_line(FILES_ON);
        self.send_line(FILES_ON_ANSWER);
    }

    /// Greets, reads the name the client sends, and welcomes it; the client's `/files on` is
    /// left for the test to read.
    pub fn welcome_without_files(&mut self, name: &str) {
        self.send_line("[INFO]:Welcome to chat. Please enter your username.");
        self.expect_line(name);
        self.send_line(&format!("[WELCOME]:{name}\n[USERS]:{name}"));
    }

    /// Waits, at most `TIMEOUT`, for the client to close the connection; panics if it sent
    /// anything more first.
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        self.reader
            .read_to_end(&mut rest)
            .expect("the client closes the connection in time");
        assert!(
            rest.is_empty(),
            "the client sent {:?} before it closed",
            String::from_utf8_lossy(&rest)
        );
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

/// What `chat-client` sends right after `[WELCOME]`: it saves files, so it asks for them.
pub const FILES_ON: &str = "/files on";
/// The real server's answer to it (a fake server says the same).
pub const FILES_ON_ANSWER: &str =
    "[INFO]:files on: you will be sent the files others share (/files off to stop)";

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
        Chat::connect_with(test, args, ClientProcess::start)
    }

    /// As [`connect`](Self::connect), with `env` set for the client.
    pub fn connect_with_env(test: &str, args: &[&str], env: &[(&str, &str)]) -> Chat {
        Chat::connect_with(test, args, |dir, args| {
            ClientProcess::start_with_env(dir, args, env)
        })
    }

    /// As [`connect`](Self::connect), with the client on a pseudo-terminal and `env` set (see
    /// [`ClientProcess::start_in_terminal`]).
    pub fn connect_in_terminal(test: &str, args: &[&str], env: &[(&str, &str)]) -> Chat {
        Chat::connect_with(test, args, |dir, args| {
            ClientProcess::start_in_terminal(dir, args, env)
        })
    }

    fn connect_with(
        test: &str,
        args: &[&str],
        start: impl FnOnce(&TestDir, &[&str]) -> ClientProcess,
    ) -> Chat {
        let dir = TestDir::new(test);
        let server = FakeServer::start();
        let port = server.port();
        let mut all_args = vec!["--port", &port, "--downloads", DOWNLOADS];
        all_args.extend_from_slice(args);
        let client = start(&dir, &all_args);
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

/// Every line of a client's chat log, without the `YYYY-MM-DD HH:MM:SS ` (UTC) each starts
/// with, which is checked; session marks (`=== session start: ...`) included.
pub fn chat_log_lines(path: &Path) -> Vec<String> {
    let text = fs::read_to_string(path).expect("read the chat log");
    assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
    text.lines()
        .map(|line| {
            let (stamp, rest) = line.split_at_checked(20).expect("a time, then the line");
            let digits = stamp.bytes().filter(u8::is_ascii_digit).count();
            let shape: String = stamp
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect();
            assert_eq!(
                (shape.as_str(), digits),
                ("9999-99-99 99:99:99 ", 14),
                "{line:?}"
            );
            rest.to_owned()
        })
        .collect()
}

/// What a client's chat log says was shown and sent, as text: its lines without their times,
/// and without the session marks.
pub fn chat_log(path: &Path) -> String {
    chat_log_lines(path)
        .into_iter()
        .filter(|line| !line.starts_with("=== "))
        .map(|line| line + "\n")
        .collect()
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
