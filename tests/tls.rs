//! TLS (feature `tls`): the real binaries over loopback, and the library's server for what
//! needs a hand-made peer. The certificates of the CA tests are made here with rcgen.
#![cfg(feature = "tls")]

mod common;

use std::fs;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat::server::{Config, FloodLimit, TlsIdentity};
use common::binaries::{ClientProcess, ServerProcess, TestDir};
use common::hostile::{SMALL_WINDOW, SocketOptions, connect_with};
use common::{TIMEOUT, start_server};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, date_time_ymd};

/// Where a test's client remembers the servers it trusted on first use.
const KNOWN: &str = "known_servers";

/// A server with `--tls-self-signed`.
fn tls_server() -> ServerProcess {
    ServerProcess::start(&["--tls-self-signed"])
}

/// The fingerprint in a TLS server's `Hosting on` line.
fn printed_fingerprint(server: &ServerProcess) -> String {
    let fingerprint = server
        .hosting
        .rsplit(' ')
        .next()
        .expect("a fingerprint at the end of the line");
    assert_eq!(fingerprint.len(), 95, "{}", server.hosting);
    fingerprint.to_owned()
}

/// Starts `chat-client --tls` joining as `name`, its files in `dir`, with `trust` options.
fn client(server: &ServerProcess, dir: &TestDir, name: &str, trust: &[&str]) -> ClientProcess {
    let port = server.addr.port().to_string();
    let mut args = vec![
        "--port",
        &port,
        "--name",
        name,
        "--downloads",
        "downloads",
        "--tls",
    ];
    args.extend_from_slice(trust);
    ClientProcess::start(dir, &args)
}

/// A client that trusts on first use, with its `known_servers` in `dir`; joined.
fn joined(server: &ServerProcess, dir: &TestDir, name: &str) -> ClientProcess {
    let mut client = client(server, dir, name, &["--known-servers", KNOWN]);
    client.expect(&format!("[INFO] Joined as {name}."));
    client
}

#[test]
fn two_users_chat_and_share_a_file_over_tls() {
    let server = tls_server();
    let (bob_dir, alice_dir) = (TestDir::new("tls_bob"), TestDir::new("tls_alice"));
    let mut bob = joined(&server, &bob_dir, "bob");
    let mut alice = joined(&server, &alice_dir, "alice");
    alice.expect("[INFO] Online: bob, alice\n");
    bob.expect("alice has joined the chat room.\n");

    alice.type_line("hi bob");
    bob.expect("alice: hi bob\n");
    bob.type_line("hi alice");
    alice.expect("bob: hi alice\n");

    // Bigger than a TLS record and than the writer's hold-back, with an <END> inside.
    let data: Vec<u8> = (0..=255u8)
        .cycle()
        .take(3 << 20)
        .chain(*b"<END>\n")
        .collect();
    fs::write(alice_dir.join("big.bin"), &data).unwrap();
    alice.type_line("/file big.bin");
    alice.expect("[Notification] File 'big.bin' sent.\n");
    bob.expect("[Notification] Received file: downloads/received_big.bin (3 MiB, from alice)\n");
    let received = fs::read(bob_dir.join("downloads/received_big.bin")).unwrap();
    assert!(
        received == data,
        "the file differs ({} bytes)",
        received.len()
    );

    alice.type_line("exit");
    let (status, _) = alice.finish();
    assert!(status.success(), "alice exits with {status}");
    bob.expect("alice has left the chat.\n");
}

#[test]
fn the_first_connection_remembers_the_fingerprint_the_server_printed() {
    let server = tls_server();
    let fingerprint = printed_fingerprint(&server);
    let dir = TestDir::new("tls_first_use");
    let mut first = client(&server, &dir, "alice", &["--known-servers", KNOWN]);
    first.expect(&format!("First TLS connection to {}", server.addr));
    first.expect(&format!(
        "fingerprint is {fingerprint}; remembered in {KNOWN}"
    ));
    first.expect("[INFO] Joined as alice.");
    let known = fs::read_to_string(dir.join(KNOWN)).unwrap();
    assert_eq!(known, format!("{} {fingerprint}\n", server.addr));

    // The second time, the certificate is known: nothing to say, nothing added.
    let mut again = client(&server, &dir, "bob", &["--known-servers", KNOWN]);
    again.expect("[INFO] Joined as bob.");
    assert!(
        !again.shown().contains("First TLS connection"),
        "{}",
        again.shown()
    );
    assert_eq!(fs::read_to_string(dir.join(KNOWN)).unwrap(), known);
}

#[test]
fn a_changed_certificate_is_refused_naming_the_line_to_remove() {
    let server = tls_server();
    let dir = TestDir::new("tls_changed");
    // What an earlier server on this address showed: another certificate's fingerprint.
    let other = TlsIdentity::self_signed("127.0.0.1").unwrap().fingerprint();
    let known = format!(
        "# servers\nexample.org:1 {other}\n{} {other}\n",
        server.addr
    );
    fs::write(dir.join(KNOWN), &known).unwrap();

    let mut client = client(&server, &dir, "alice", &["--known-servers", KNOWN]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    assert!(stderr.contains("HAS CHANGED"), "{stderr}");
    assert!(stderr.contains(&format!("remembered: {other}")), "{stderr}");
    assert!(
        stderr.contains(&format!("presented:  {}", printed_fingerprint(&server))),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("remove line 3 of {KNOWN}")),
        "{stderr}"
    );
    assert!(!client.shown().contains("Joined"), "{}", client.shown());
    assert_eq!(fs::read_to_string(dir.join(KNOWN)).unwrap(), known);
}

#[test]
fn tls_insecure_says_so_on_every_start_and_connects() {
    let server = tls_server();
    let dir = TestDir::new("tls_insecure");
    let mut client = client(&server, &dir, "alice", &["--tls-insecure"]);
    client.expect("[INFO] Joined as alice.");
    client.close_stdin();
    let (status, stderr) = client.finish();
    assert!(status.success(), "{status}");
    assert!(stderr.contains("WARNING: --tls-insecure"), "{stderr}");
    assert!(dir.tree().iter().all(|path| !path.contains(KNOWN)));
}

#[test]
fn a_plain_client_to_a_tls_server_is_told_and_closed() {
    let server = ServerProcess::logging(&["--tls-self-signed"]);
    let dir = TestDir::new("tls_plain_client");
    let port = server.addr.port().to_string();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "alice"]);
    client.expect("[ERROR] this server speaks TLS only: connect with TLS (chat-client --tls)\n");
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    // The server's last word was an [ERROR] before the welcome: the client never joined.
    assert_eq!(
        stderr,
        "[ERROR] not joined: this server speaks TLS only: connect with TLS (chat-client --tls)\n"
    );
    server.expect_log(&["not TLS (a plain-text client?)"]);
}

#[test]
fn a_tls_client_to_a_plain_server_fails_saying_so() {
    let server = ServerProcess::start(&[]);
    let dir = TestDir::new("tls_plain_server");
    let mut client = client(&server, &dir, "alice", &["--known-servers", KNOWN]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        format!(
            "[ERROR] {} does not speak TLS: it answered in plain text (a server without TLS? \
             then leave out --tls)\n",
            server.addr
        )
    );
    assert!(!dir.join(KNOWN).exists(), "nothing is remembered");
}

/// A test CA, and certificates it signs, written as PEM files into a test's folder.
struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    ca_der: Vec<u8>,
    dir: TestDir,
}

impl TestCa {
    fn new(test: &str) -> TestCa {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "chat test CA");
        let cert = params.self_signed(&key).unwrap();
        let dir = TestDir::new(test);
        fs::write(dir.join("ca.pem"), cert.pem()).unwrap();
        TestCa {
            issuer: Issuer::new(params, key),
            ca_der: cert.der().to_vec(),
            dir,
        }
    }

    /// A server certificate for `names`, valid from `from` to `until` (year, month, day), as
    /// `server.pem` and `server.key`; returns the server's options.
    fn server_options(&self, names: &[&str], from: (i32, u8), until: (i32, u8)) -> Vec<String> {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = date_time_ymd(from.0, from.1, 1);
        params.not_after = date_time_ymd(until.0, until.1, 1);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        fs::write(self.dir.join("server.pem"), cert.pem()).unwrap();
        fs::write(self.dir.join("server.key"), key.serialize_pem()).unwrap();
        let path = |name: &str| self.dir.join(name).display().to_string();
        vec![
            "--tls-cert".into(),
            path("server.pem"),
            "--tls-key".into(),
            path("server.key"),
        ]
    }

    /// The library server's identity: a certificate this CA signed for 127.0.0.1, in date.
    fn identity(&self) -> TlsIdentity {
        self.server_options(&["127.0.0.1"], (2020, 1), (2100, 1));
        TlsIdentity::from_pem_files(&self.dir.join("server.pem"), &self.dir.join("server.key"))
            .unwrap()
    }

    /// A rustls client session that trusts this CA and nothing else, for 127.0.0.1.
    fn session(&self) -> rustls::ClientConnection {
        let ca = rustls::pki_types::CertificateDer::from(self.ca_der.clone());
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = "127.0.0.1".try_into().unwrap();
        rustls::ClientConnection::new(Arc::new(config), name).unwrap()
    }

    /// A client that trusts this CA and nothing else; its result.
    fn client_of(&self, server: &ServerProcess) -> (Option<i32>, String, String) {
        let ca = self.dir.join("ca.pem").display().to_string();
        let mut client = client(server, &self.dir, "alice", &["--ca", &ca]);
        client.close_stdin();
        let (status, stderr) = client.finish();
        (status.code(), stderr, client.shown())
    }
}

fn args(options: &[String]) -> Vec<&str> {
    options.iter().map(String::as_str).collect()
}

#[test]
fn a_certificate_the_ca_signed_for_the_host_is_trusted() {
    let ca = TestCa::new("tls_ca_good");
    let options = ca.server_options(&["127.0.0.1"], (2020, 1), (2100, 1));
    let server = ServerProcess::start(&args(&options));
    let (status, stderr, shown) = ca.client_of(&server);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(shown.contains("[INFO] Joined as alice."), "{shown}");
}

#[test]
fn an_expired_certificate_is_refused() {
    let ca = TestCa::new("tls_ca_expired");
    let options = ca.server_options(&["127.0.0.1"], (2020, 1), (2021, 1));
    let server = ServerProcess::start(&args(&options));
    let (status, stderr, shown) = ca.client_of(&server);
    assert_eq!(status, Some(1));
    let refused = format!("[ERROR] cannot connect to {} over TLS:", server.addr);
    assert!(stderr.starts_with(&refused), "{stderr}");
    assert!(stderr.contains("certificate expired"), "{stderr}");
    assert!(!shown.contains("Joined"), "{shown}");
}

#[test]
fn a_certificate_for_another_host_is_refused() {
    let ca = TestCa::new("tls_ca_wrong_host");
    let options = ca.server_options(&["chat.example.org"], (2020, 1), (2100, 1));
    let server = ServerProcess::start(&args(&options));
    let (status, stderr, shown) = ca.client_of(&server);
    assert_eq!(status, Some(1));
    let refused = format!("[ERROR] cannot connect to {} over TLS:", server.addr);
    assert!(stderr.starts_with(&refused), "{stderr}");
    assert!(stderr.contains("not valid for name"), "{stderr}");
    assert!(!shown.contains("Joined"), "{shown}");
}

/// The library's server with a self-signed certificate and `handshake_timeout`.
fn tls_config(handshake_timeout: Duration) -> Config {
    Config {
        tls: Some(TlsIdentity::self_signed("127.0.0.1").unwrap()),
        handshake_timeout,
        ..Config::default()
    }
}

#[test]
fn a_plain_text_client_gets_one_plain_line_then_a_clean_close() {
    let server = start_server(tls_config(Duration::from_secs(30)));
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(b"alice\n").unwrap();
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("a FIN, not a reset");
    assert_eq!(
        answer,
        "[ERROR]:this server speaks TLS only: connect with TLS (chat-client --tls)\n"
    );
    server.expect_open_connections(0);
}

#[test]
fn a_client_that_stops_mid_handshake_is_closed_at_the_handshake_timeout() {
    let timeout = Duration::from_secs(1);
    let server = start_server(tls_config(timeout));
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let started = Instant::now();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    // The start of a ClientHello record that says 512 bytes follow; 4 do.
    stream
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])
        .unwrap();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(read.is_ok(), "closed with a FIN: {read:?}");
    assert!(rest.is_empty(), "nothing said in the clear: {rest:?}");
    assert!(
        waited >= timeout,
        "closed after {waited:?}, before the timeout"
    );
    assert!(
        waited < timeout + Duration::from_secs(5),
        "closed after {waited:?}"
    );
    server.expect_open_connections(0);
}

#[test]
fn a_client_dripping_a_record_is_closed_at_the_handshake_timeout() {
    let ca = TestCa::new("tls_drip");
    let timeout = Duration::from_secs(1);
    let server = start_server(Config {
        tls: Some(ca.identity()),
        handshake_timeout: timeout,
        ..Config::default()
    });
    let mut session = ca.session();
    let mut stream = TcpStream::connect(server.addr).unwrap();
    let started = Instant::now();
    while session.is_handshaking() {
        session.complete_io(&mut stream).unwrap();
    }
    // A name line in one record, sent a byte every 100 ms: whole only after some 20 s.
    let mut name = vec![b'a'; 200];
    name.push(b'\n');
    session.writer().write_all(&name).unwrap();
    let mut record = Vec::new();
    session.write_tls(&mut record).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut closed = false;
    let mut sink = [0; 4096];
    for byte in &record[..record.len() - 1] {
        if stream.write_all(&[*byte]).is_err() {
            closed = true; // reset: closed too
            break;
        }
        match stream.read(&mut sink) {
            Ok(0) => {
                closed = true;
                break;
            }
            Ok(_) => {} // the session's own records: tickets, the [ERROR], close_notify
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    let waited = started.elapsed();
    assert!(
        closed,
        "still open after the whole record but a byte ({waited:?})"
    );
    assert!(
        waited < timeout + Duration::from_secs(3),
        "closed after {waited:?}"
    );
}

#[test]
fn a_tls_connection_turned_away_is_closed_with_nothing_said_in_the_clear() {
    let ca = TestCa::new("tls_full");
    let server = start_server(Config {
        tls: Some(ca.identity()),
        max_clients: 1,
        ..Config::default()
    });
    let _alice = TlsPeer::join(&ca, server.addr, "alice", SocketOptions::default());
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut hello = Vec::new();
    ca.session().write_tls(&mut hello).unwrap();
    stream.write_all(&hello).unwrap();
    // No handshake is done for it, so there is no session to say why in: an [ERROR] in plain
    // text would only be garbage to a TLS client. It gets a FIN and nothing else.
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(read.is_ok(), "closed with a FIN: {read:?}");
    assert!(rest.is_empty(), "nothing sent: {rest:?}");
}

// ---------------------------------------------------------------------------------------------
// The server's bounds hold over TLS as over plain TCP: the writer's progress rule (each write
// waits a slice, any byte accepted is progress) and flood control (the reader paces frames and
// says so once) work on the plaintext of a session whose records the reader and the writer
// share.

/// A hand-made chat/1 peer over TLS, trusting `TestCa`: lines in and out through a rustls
/// session, every read bounded.
struct TlsPeer {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    /// Bytes of a line begun but not ended when a read timed out.
    pending: Vec<u8>,
}

impl TlsPeer {
    /// Connects with `options` set on the socket, and joins as `name` (`[WELCOME]` and
    /// `[USERS]` read).
    fn join(ca: &TestCa, addr: SocketAddr, name: &str, options: SocketOptions) -> TlsPeer {
        let socket = connect_with(addr, options);
        let mut peer = TlsPeer {
            stream: rustls::StreamOwned::new(ca.session(), socket),
            pending: Vec::new(),
        };
        peer.send(format!("{name}\n").as_bytes());
        for tag in ["[INFO]:", &format!("[WELCOME]:{name}"), "[USERS]:"] {
            let line = peer.next_line(TIMEOUT).expect("a line of the handshake");
            assert!(line.starts_with(tag), "expected {tag}, got {line:?}");
        }
        peer
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
        self.stream.flush().expect("write to the server");
    }

    /// The next whole line within `wait`, or `None`.
    fn next_line(&mut self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        let mut byte = [0u8; 1];
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).take(end).collect();
                return Some(String::from_utf8(line).expect("the server sends UTF-8"));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream.sock.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut byte) {
                Ok(0) => panic!("the server closed the connection"),
                Ok(_) => self.pending.push(byte[0]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(e) => panic!("reading from the server: {e}"),
            }
        }
    }
}

#[test]
fn a_tls_client_that_reads_nothing_is_dropped_within_the_write_timeout_and_a_second() {
    let ca = TestCa::new("tls_stuck");
    let write_timeout = Duration::from_secs(2);
    let server = start_server(Config {
        tls: Some(ca.identity()),
        write_timeout,
        // Far more than the flood: the drop can only come from the write timeout.
        send_queue: 64 << 20,
        ..Config::default()
    });
    let _stuck = TlsPeer::join(&ca, server.addr, "stuck", SMALL_WINDOW);
    let mut alice = TlsPeer::join(&ca, server.addr, "alice", SocketOptions::default());

    // More than the kernel's buffers for `stuck` can take, so the writer's sends stall within
    // a fraction of a second of the flood, and stay stalled: `stuck` never reads.
    let line = format!("{}\n", "w".repeat(999));
    let flood = line.repeat((8 << 20) / line.len());
    let started = Instant::now();
    alice.send(flood.as_bytes());

    // alice is sent nothing of her own flood: the next line she gets is about `stuck`.
    let bound = write_timeout + Duration::from_secs(1) + Duration::from_secs(3);
    let left = bound.saturating_sub(started.elapsed());
    let next = alice.next_line(left);
    let elapsed = started.elapsed();
    assert_eq!(
        next.as_deref(),
        Some("[LEAVE]:stuck"),
        "after {elapsed:?} (write timeout {write_timeout:?})"
    );
    assert!(
        elapsed >= write_timeout - Duration::from_millis(100),
        "dropped after {elapsed:?}, before its write timeout"
    );
}

#[test]
fn flood_control_slows_a_tls_client_and_says_so_once() {
    let ca = TestCa::new("tls_flood");
    let server = start_server(Config {
        tls: Some(ca.identity()),
        flood_limit: Some(FloodLimit {
            burst: 2,
            per_second: 20.0,
        }),
        limit_loopback: true,
        ..Config::default()
    });
    let mut bob = TlsPeer::join(&ca, server.addr, "bob", SocketOptions::default());
    let mut alice = TlsPeer::join(&ca, server.addr, "alice", SocketOptions::default());
    assert_eq!(bob.next_line(TIMEOUT).as_deref(), Some("[JOIN]:alice"));

    let lines: Vec<String> = (1..=8).map(|n| format!("m{n}")).collect();
    alice.send(format!("{}\n", lines.join("\n")).as_bytes());
    let notice = alice.next_line(TIMEOUT).expect("a notice");
    assert!(
        notice.starts_with("[INFO]:you are sending faster than this server allows (2 lines"),
        "{notice}"
    );
    for line in &lines {
        assert_eq!(bob.next_line(TIMEOUT), Some(format!("alice: {line}")));
    }
    assert_eq!(
        alice.next_line(Duration::from_millis(300)),
        None,
        "told once, not once a line"
    );
}
