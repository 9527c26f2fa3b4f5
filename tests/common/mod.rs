//! Helpers shared by the integration tests: a real server on 127.0.0.1 port 0, and a raw test
//! client whose every read is bounded by a timeout (a test waits for the real event, never sleeps).
#![allow(dead_code)] // each test file uses its own part of these helpers

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use chat::server::{self, Config, ServerHandle};

pub mod binaries;
pub mod capture;
pub mod hostile;

/// How long a test waits for something that should happen.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// This process's soft limit on open files, where the platform tells it (Linux's
/// `/proc/self/limits`); a test that opens many connections sizes itself to it.
pub fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// A server running in this process; stopped when dropped.
pub struct TestServer {
    pub addr: SocketAddr,
    handle: Option<ServerHandle>,
}

impl TestServer {
    /// Stops the server; true when every client thread ended in time.
    pub fn shutdown(mut self) -> bool {
        self.handle.take().is_some_and(ServerHandle::shutdown)
    }

    /// Waits, at most `TIMEOUT`, until at most `n` connections are open (a connection counts
    /// until both of its threads have ended); panics if that does not happen.
    pub fn expect_open_connections(&self, n: usize) {
        let handle = self.handle.as_ref().expect("the server is running");
        assert!(
            handle.wait_for_open_connections(n, TIMEOUT),
            "{} connections still open, expected {n}",
            handle.open_connections()
        );
    }
}

impl TestServer {
    /// The server's operator console.
    pub fn console(&self) -> chat::server::Console {
        self.handle
            .as_ref()
            .expect("the server is running")
            .console()
    }

    /// Bytes of files the server holds in memory now.
    pub fn file_memory_in_use(&self) -> u64 {
        let handle = self.handle.as_ref().expect("the server is running");
        handle.file_memory_in_use()
    }

    /// Waits, at most `TIMEOUT`, until the server holds exactly `bytes` of files in memory.
    pub fn expect_file_memory_in_use(&self, bytes: u64) {
        let deadline = std::time::Instant::now() + TIMEOUT;
        while self.file_memory_in_use() != bytes {
            assert!(
                std::time::Instant::now() < deadline,
                "{} bytes of files in memory, expected {bytes}",
                self.file_memory_in_use()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown();
        }
    }
}

/// Starts a real server on a free loopback port.
pub fn start_server(config: Config) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    start_server_on(listener, config)
}

/// Starts a real server on `listener` (such as one on `[::1]`).
pub fn start_server_on(listener: TcpListener, config: Config) -> TestServer {
    let handle = server::start(listener, config).expect("start the server");
    TestServer {
        addr: handle.local_addr(),
        handle: Some(handle),
    }
}

/// A client that speaks raw chat/1, as netcat would.
pub struct TestClient {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl TestClient {
    /// Connects; the greeting is left unread.
    pub fn connect(addr: SocketAddr) -> TestClient {
        let stream = TcpStream::connect(addr).expect("connect to the server");
        TestClient::from_stream(stream)
    }

    /// Connects from the local address `source` (such as 127.0.0.2: Linux routes all of
    /// 127.0.0.0/8 to loopback); the greeting is left unread. std cannot bind a socket before
    /// it connects, socket2 can.
    pub fn connect_from(source: IpAddr, addr: SocketAddr) -> std::io::Result<TestClient> {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
        socket.bind(&SocketAddr::new(source, 0).into())?;
        socket.connect(&addr.into())?;
        Ok(TestClient::from_stream(socket.into()))
    }

    /// A test client on an already connected stream; the greeting is left unread.
    pub fn from_stream(stream: TcpStream) -> TestClient {
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        TestClient { stream, reader }
    }

    /// Joins as `name` like [`join`](Self::join), but sends the name before reading the
    /// greeting: the name is already waiting when the server starts the handshake, so even a
    /// short `handshake_timeout` cannot run out on a busy machine.
    pub fn join_at_once(addr: SocketAddr, name: &str) -> TestClient {
        let mut client = TestClient::connect(addr);
        client.send_line(name);
        client.expect_prefix("[INFO]:");
        client.expect_line(&format!("[WELCOME]:{name}"));
        client.expect_prefix("[USERS]:");
        client
    }

    /// Connects, reads the greeting, and joins as `name`; `[WELCOME]` and `[USERS]` are read.
    pub fn join(addr: SocketAddr, name: &str) -> TestClient {
        let mut client = TestClient::connect(addr);
        client.expect_prefix("[INFO]:");
        client.send_line(name);
        client.expect_line(&format!("[WELCOME]:{name}"));
        client.expect_prefix("[USERS]:");
        client
    }

    /// Says `/files on`, so that the server sends this client the files others share, and
    /// reads the answer.
    pub fn take_files(&mut self) {
        self.send_line("/files on");
        self.expect_prefix("[INFO]:files on");
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send to the server");
    }

    pub fn send_line(&mut self, line: &str) {
        self.send(format!("{line}\n").as_bytes());
    }

    /// The next line, without its LF. Panics on timeout or end of stream.
    pub fn read_line(&mut self) -> String {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(0) => panic!("connection closed while waiting for a line"),
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                String::from_utf8(line).expect("the server sends UTF-8 lines")
            }
            Ok(_) => panic!("connection closed in the middle of a line: {line:?}"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("timed out waiting for a line (got {line:?} so far)")
            }
            Err(e) => panic!("read failed: {e}"),
        }
    }

    pub fn expect_line(&mut self, expected: &str) {
        assert_eq!(self.read_line(), expected);
    }

    /// Reads a line that must start with `prefix`, and returns it.
    pub fn expect_prefix(&mut self, prefix: &str) -> String {
        let line = self.read_line();
        assert!(
            line.starts_with(prefix),
            "expected {prefix:?}..., got {line:?}"
        );
        line
    }

    /// Exactly `n` raw bytes.
    pub fn read_bytes(&mut self, n: usize) -> Vec<u8> {
        let mut bytes = vec![0; n];
        self.reader.read_exact(&mut bytes).expect("read raw bytes");
        bytes
    }

    /// Reads a whole file frame: returns its header line and its bytes; checks the `<END>`.
    pub fn read_file(&mut self) -> (String, Vec<u8>) {
        let header = self.expect_prefix("[FILE]:");
        let size: usize = header.rsplit(':').next().unwrap().parse().unwrap();
        let data = self.read_bytes(size);
        self.expect_line("<END>");
        (header, data)
    }

    /// Reads a whole file frame and asserts its header and its bytes (the bytes are not
    /// printed when they differ: they may be megabytes).
    pub fn expect_file(&mut self, header: &str, data: &[u8]) {
        let (got_header, got_data) = self.read_file();
        assert_eq!(got_header, header);
        assert!(
            got_data == data,
            "the bytes of {header:?} differ ({} bytes received)",
            got_data.len()
        );
    }

    /// Asserts that nothing arrives for a moment (300 ms): for what must not be sent at all.
    /// Prefer a later frame that must come first, where there is one.
    pub fn expect_nothing(&mut self) {
        self.stream
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let mut probe = [0u8; 1];
        let got = self.stream.peek(&mut probe);
        self.stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        match got {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            other => panic!("expected nothing, got {other:?}: {:?}", self.read_line()),
        }
    }

    /// Asserts that the server closes the connection with nothing more to say.
    pub fn expect_closed(&mut self) {
        let mut rest = Vec::new();
        match self.reader.read_to_end(&mut rest) {
            Ok(_) => assert!(
                rest.is_empty(),
                "expected the connection to close, got {:?}",
                String::from_utf8_lossy(&rest)
            ),
            // A reset also closes it; a timeout does not.
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("timed out waiting for the connection to close")
            }
            Err(_) => {}
        }
    }
}

/// The bytes of a sized file frame as a client sends it: `[FILE]:<name>:<size>`, the bytes,
/// `<END>`.
pub fn sized_file(name: &str, data: &[u8]) -> Vec<u8> {
    let mut frame = format!("[FILE]:{name}:{}\n", data.len()).into_bytes();
    frame.extend_from_slice(data);
    frame.extend_from_slice(b"<END>\n");
    frame
}

/// A server, with alice and then bob joined to it (alice's `[JOIN]:bob` read): the cast of most
/// tests.
pub fn alice_and_bob(config: Config) -> (TestServer, TestClient, TestClient) {
    let server = start_server(config);
    let mut alice = TestClient::join(server.addr, "alice");
    let bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    (server, alice, bob)
}

/// A server with alice, bob and carol joined, every `[JOIN]` read.
pub fn alice_bob_and_carol(config: Config) -> (TestServer, [TestClient; 3]) {
    let (server, mut alice, mut bob) = alice_and_bob(config);
    let carol = TestClient::join(server.addr, "carol");
    alice.expect_line("[JOIN]:carol");
    bob.expect_line("[JOIN]:carol");
    (server, [alice, bob, carol])
}
