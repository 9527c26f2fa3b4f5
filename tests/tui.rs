//! The real `chat-client --tui` in a real terminal, against the real server: each test starts
//! the server on a free port, runs the client in a tmux session of its own (a pseudo-terminal
//! of a known size; a tmux server of its own too, on a socket in the test's folder, so no other
//! tmux is touched), types with `send-keys`,
//! pastes with `paste-buffer -p` (a bracketed paste), reads the screen with `capture-pane`, and
//! talks to it from a raw chat/1 client.
//!
//! Built and run only with the feature `tui` (`required-features` in Cargo.toml); the tests over
//! TLS and with accounts need the features `tls` and `accounts` too. `make test` runs them all
//! (its second run has every feature). It needs tmux (`.ci/run` installs it).
//!
//! A screen cannot be read when it changes, only looked at: [`Tui::wait_for`] looks every few
//! milliseconds until the text is there, bounded by `TIMEOUT`.

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use chat::server::Config;
use common::binaries::{CLIENT, FakeServer, TestDir};
use common::{TIMEOUT, TestClient, TestServer, sized_file, start_server};

/// The terminal's size: room for the side panel and the key hints.
const WIDTH: u16 = 100;
const HEIGHT: u16 = 30;

/// `chat-client --tui` in a tmux session of its own; the tmux server is killed when dropped.
struct Tui {
    /// The tmux server's socket, in the test's folder (so it goes with the folder).
    socket: PathBuf,
    dir: TestDir,
}

impl Tui {
    /// Starts the client with `args` in a fresh folder, on the server at `server`.
    fn start(test: &str, server: &TestServer, args: &[&str]) -> Tui {
        Tui::start_on(test, &server.addr.port().to_string(), args)
    }

    /// Starts the client with `args` in a fresh folder, on the server at 127.0.0.1:`port`.
    fn start_on(test: &str, port: &str, args: &[&str]) -> Tui {
        let dir = TestDir::new(&format!("tui_{test}"));
        let socket = dir.join("tmux.socket");
        // A shell runs the client, writes its exit status in a file (tmux 3.3 does not always
        // reap a pane's process in time to say), and stays, so the screen the client left can
        // be read (tmux's remain-on-exit would scroll it up a line for its own message).
        let mut command = vec![
            "sh",
            "-c",
            r#""$@"; echo $? > exit_status; exec sleep 600"#,
            "sh",
        ];
        command.extend([CLIENT, "--tui", "--port", port, "--downloads", "downloads"]);
        command.extend_from_slice(args);
        let tui = Tui { socket, dir };
        let mut tmux = tui.tmux(&["-f", "/dev/null"]);
        tmux.args(["new-session", "-d", "-s", "chat"]);
        tmux.args(["-x", &WIDTH.to_string(), "-y", &HEIGHT.to_string()]);
        tmux.arg("-c").arg(&tui.dir.0).args(&command);
        run(tmux);
        tui
    }

    fn tmux(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .env_remove("RUST_LOG")
            .env_remove("NO_COLOR")
            .env("TERM", "xterm-256color");
        command
    }

    /// The screen now, one line per row (tmux leaves out the spaces at the ends of rows).
    fn screen(&self) -> String {
        let output = run(self.tmux(&["capture-pane", "-p", "-t", "chat"]));
        String::from_utf8(output.stdout).expect("the screen is UTF-8")
    }

    /// Waits until the screen shows `text`, and returns it.
    fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} on the screen"), |screen| {
            screen.contains(text)
        })
    }

    /// Waits until `done` holds for the screen, and returns it.
    fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let screen = self.screen();
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `text` as it is (no key names).
    fn type_text(&self, text: &str) {
        run(self.tmux(&["send-keys", "-t", "chat", "-l", text]));
    }

    /// Presses keys by their tmux names: `Enter`, `Tab`, `C-c`, `PageUp`.
    fn press(&self, keys: &[&str]) {
        let mut command = self.tmux(&["send-keys", "-t", "chat"]);
        command.args(keys);
        run(command);
    }

    /// Pastes `text` as a terminal does: in one piece, between bracketed-paste marks.
    fn paste(&self, text: &str) {
        run(self.tmux(&["set-buffer", "--", text]));
        run(self.tmux(&["paste-buffer", "-p", "-t", "chat"]));
    }

    /// Waits for the client to end, and returns its exit status.
    fn exit_status(&self) -> i32 {
        let path = self.dir.join("exit_status");
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let written = fs::read_to_string(&path).unwrap_or_default();
            if let Some(status) = written.strip_suffix('\n') {
                return status.parse().expect("an exit status");
            }
            assert!(
                Instant::now() < deadline,
                "the client did not end; the screen:\n{}",
                self.screen()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The client's chat log.
    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("chat_log.txt")).unwrap_or_default()
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]).output();
    }
}

/// Runs a tmux command; panics unless it succeeds.
fn run(mut command: Command) -> Output {
    let output = command.output().expect("run tmux (is it installed?)");
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The server, and alice's terminal UI joined to it with bob (a raw client) online too.
fn alice_with_bob(test: &str) -> (TestServer, Tui, TestClient) {
    let server = start_server(Config::default());
    let tui = Tui::start(test, &server, &["--name", "alice"]);
    tui.wait_for("alice (you)");
    let bob = TestClient::join(server.addr, "bob");
    tui.wait_for("bob has joined the chat room.");
    (server, tui, bob)
}

/// Reads bob's lines until one is `expected`; panics on a timeout.
fn expect_eventually(client: &mut TestClient, expected: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if client.read_line() == expected {
            return;
        }
        assert!(Instant::now() < deadline, "no {expected:?}");
    }
}

#[test]
fn the_screen_is_split_into_conversation_online_input_and_status() {
    let (_server, tui, mut bob) = alice_with_bob("split");
    bob.send_line("hi alice");
    let screen = tui.wait_for("bob: hi alice");
    let rows: Vec<&str> = screen.lines().collect();
    assert_eq!(rows.len(), usize::from(HEIGHT), "{screen}");
    assert!(rows[0].starts_with("┌ chat ") && rows[0].contains("┌ online (2) "));
    assert!(
        rows.iter()
            .any(|row| row.ends_with("│bob                 │"))
    );
    assert!(rows[26].starts_with("┌ message "), "{screen}");
    let status = rows[29];
    assert!(
        status.contains("127.0.0.1:") && status.contains(" · alice · connected · plain TCP"),
        "{screen}"
    );
}

#[test]
fn what_is_typed_is_sent_and_what_arrives_does_not_break_into_it() {
    let (_server, tui, mut bob) = alice_with_bob("typing");
    tui.type_text("hello b");
    bob.send_line("are you there?");
    let screen = tui.wait_for("bob: are you there?");
    assert!(
        screen.contains("│hello b "),
        "the half-typed line is whole: {screen}"
    );
    tui.type_text("ob");
    tui.press(&["Enter"]);
    bob.expect_line("alice: hello bob");
    tui.wait_for("Me: hello bob");
}

#[test]
fn exit_leaves_cleanly_gives_the_terminal_back_and_logs_as_the_line_client() {
    let (server, tui, mut bob) = alice_with_bob("exit");
    bob.send_line("hi alice");
    tui.wait_for("bob: hi alice");
    tui.type_text("hello bob");
    tui.press(&["Enter"]);
    tui.type_text("exit");
    tui.press(&["Enter"]);
    expect_eventually(&mut bob, "[LEAVE]:alice");
    assert_eq!(tui.exit_status(), 0);
    let screen = tui.screen();
    assert!(!screen.contains("online ("), "the UI is gone: {screen}");
    let log = tui.log();
    // Each line after the date and time, as the line client writes it: `2026-12-01 10:37:46 `.
    let lines: Vec<&str> = log.lines().map(|line| &line[20..]).collect();
    let start = format!(
        "=== session start: server {}, name alice (times in UTC)",
        server.addr
    );
    let expected = [
        start.as_str(),
        "[INFO] Welcome to chat. Please enter your username (1-32 letters, digits, '_', '-' or '.').",
        "[INFO] Joined as alice. Type a message, /file PATH to send a file, /help for more, exit to leave.",
        "[INFO] Online: alice",
        "bob has joined the chat room.",
        "bob: hi alice",
        "Me: hello bob",
        "=== session end: left",
    ];
    assert_eq!(lines, expected, "{log}");
}

#[test]
fn ctrl_c_leaves_cleanly_and_gives_the_terminal_back() {
    let (_server, tui, mut bob) = alice_with_bob("ctrl_c");
    tui.press(&["C-c"]);
    expect_eventually(&mut bob, "[LEAVE]:alice");
    assert_eq!(tui.exit_status(), 0);
    assert!(!tui.screen().contains("online ("));
}

#[test]
fn a_private_message_completes_the_name_on_tab() {
    let (_server, tui, mut bob) = alice_with_bob("msg");
    tui.type_text("/msg b");
    tui.press(&["Tab"]);
    tui.wait_for("│/msg bob ");
    tui.type_text("psst");
    tui.press(&["Enter"]);
    bob.expect_line("[PM]:alice:psst");
    tui.wait_for("-> bob: psst");
}

#[test]
fn a_file_path_completes_on_tab_and_the_file_is_sent() {
    let (_server, tui, mut bob) = alice_with_bob("send_file");
    bob.take_files();
    fs::write(tui.dir.join("report-2026.txt"), b"all good\n").unwrap();
    tui.type_text("/file rep");
    tui.press(&["Tab"]);
    tui.wait_for("│/file report-2026.txt ");
    tui.press(&["Enter"]);
    bob.expect_file("[FILE]:alice:report-2026.txt:9", b"all good\n");
    tui.wait_for("[Notification] File 'report-2026.txt' sent.");
}

#[test]
fn a_file_received_is_saved_and_its_line_says_where() {
    let (_server, tui, mut bob) = alice_with_bob("receive_file");
    bob.send(&sized_file("notes.txt", b"buy milk\n"));
    tui.wait_for("Received file: downloads/received_notes.txt (9 bytes,");
    let saved = fs::read(tui.dir.join("downloads/received_notes.txt")).unwrap();
    assert_eq!(saved, b"buy milk\n");
}

#[test]
fn a_long_paste_goes_in_whole_up_to_the_servers_limit() {
    let (_server, tui, mut bob) = alice_with_bob("paste");
    tui.paste(&"x".repeat(5000));
    tui.wait_for("4096/4096 bytes: the server's limit");
    tui.press(&["Enter"]);
    bob.expect_line(&format!("alice: {}", "x".repeat(4096)));
}

#[test]
fn who_is_online_follows_joins_and_leaves() {
    let (server, tui, _bob) = alice_with_bob("online");
    let carol = TestClient::join(server.addr, "carol");
    tui.wait_for("online (3)");
    drop(carol);
    let screen = tui.wait_for("carol has left the chat.");
    assert!(screen.contains("online (2)"), "{screen}");
    assert!(!screen.contains("│carol "), "{screen}");
}

#[test]
fn a_resized_terminal_is_drawn_at_its_new_size() {
    let (_server, tui, _bob) = alice_with_bob("resize");
    run(tui.tmux(&["resize-window", "-t", "chat", "-x", "50", "-y", "12"]));
    let screen = tui.wait_until("the screen drawn at 50 x 12", |screen| {
        let rows: Vec<&str> = screen.lines().collect();
        rows.len() == 12 && rows[11].contains("alice · connected")
    });
    assert!(
        !screen.contains("online ("),
        "no room for the side panel: {screen}"
    );
}

#[test]
fn without_a_name_the_input_line_asks_for_one() {
    let server = start_server(Config::default());
    let tui = Tui::start("ask_name", &server, &[]);
    tui.wait_for("your username");
    tui.type_text("carol");
    tui.press(&["Enter"]);
    tui.wait_for("Joined as carol.");
    tui.wait_for("carol (you)");
}

#[test]
fn the_servers_shutdown_is_said_and_a_key_leaves_with_status_0() {
    let (server, tui, _bob) = alice_with_bob("shutdown");
    drop(server);
    tui.wait_for("The server is shutting down.");
    tui.wait_for("the server shut down: press any key to leave");
    tui.press(&["Enter"]);
    assert_eq!(tui.exit_status(), 0);
    assert!(
        tui.log()
            .ends_with("=== session end: the server shut down\n"),
        "{}",
        tui.log()
    );
}

#[test]
fn a_lost_connection_is_said_and_a_key_leaves_with_status_1() {
    // A server that goes without a word: a fake one, which can.
    let fake = FakeServer::start();
    let tui = Tui::start_on("lost", &fake.port(), &["--name", "alice"]);
    let mut peer = fake.accept();
    peer.welcome("alice");
    tui.wait_for("alice (you)");
    peer.close();
    tui.wait_for("connection lost: press any key to leave");
    tui.press(&["Enter"]);
    assert_eq!(tui.exit_status(), 1);
    assert!(
        tui.screen().contains("[ERROR] connection lost"),
        "{}",
        tui.screen()
    );
}

// ---------------------------------------------------------------------------------------------
// The terminal UI connects as the line client does: over TLS with `--tls` (feature `tls`, the
// certificate trusted by the same rules), and with a password when the server asks for one
// (`[AUTH]`, a server with the feature `accounts`).

/// The fingerprint at the end of a TLS server's `Hosting on` line.
#[cfg(feature = "tls")]
fn printed_fingerprint(server: &common::binaries::ServerProcess) -> &str {
    server.hosting.rsplit(' ').next().expect("a fingerprint")
}

#[cfg(feature = "tls")]
#[test]
fn over_tls_the_chat_goes_both_ways_and_the_status_line_says_tls() {
    use common::binaries::{ClientProcess, ServerProcess};

    let server = ServerProcess::start(&["--tls-self-signed"]);
    let port = server.addr.port().to_string();
    let args = [
        "--name",
        "alice",
        "--tls",
        "--known-servers",
        "known_servers",
    ];
    let tui = Tui::start_on("tls", &port, &args);
    let screen = tui.wait_for(" · alice · connected · TLS ");
    // Trusted on first use, as by the line client: said on the screen, remembered in the file.
    assert!(
        screen.contains(&format!("First TLS connection to {}", server.addr)),
        "{screen}"
    );
    let known = fs::read_to_string(tui.dir.join("known_servers")).unwrap();
    let fingerprint = printed_fingerprint(&server);
    assert_eq!(known, format!("{} {fingerprint}\n", server.addr));

    let bob_dir = TestDir::new("tui_tls_bob");
    let bob_args = ["--port", &port, "--name", "bob", "--tls", "--tls-insecure"];
    let mut bob = ClientProcess::start(&bob_dir, &bob_args);
    bob.expect("[INFO] Joined as bob.");
    tui.wait_for("bob has joined the chat room.");
    bob.type_line("hi alice");
    tui.wait_for("bob: hi alice");
    tui.type_text("hello bob");
    tui.press(&["Enter"]);
    bob.expect("alice: hello bob\n");
}

#[cfg(feature = "tls")]
#[test]
fn over_tls_a_changed_certificate_is_refused_before_the_screen_is_taken() {
    use chat::server::TlsIdentity;
    use common::binaries::ServerProcess;

    let server = ServerProcess::start(&["--tls-self-signed"]);
    let port = server.addr.port().to_string();
    let dir = TestDir::new("tui_tls_changed_known");
    // What an earlier server on this address showed: another certificate's fingerprint.
    let other = TlsIdentity::self_signed("127.0.0.1").unwrap().fingerprint();
    let known = dir.join("known_servers");
    fs::write(&known, format!("{} {other}\n", server.addr)).unwrap();
    let known = known.display().to_string();
    let tui = Tui::start_on("tls_changed", &port, &["--tls", "--known-servers", &known]);
    assert_eq!(tui.exit_status(), 1);
    let screen = tui.screen();
    assert!(screen.contains("HAS CHANGED"), "{screen}");
    assert!(
        !screen.contains("online ("),
        "no screen was drawn: {screen}"
    );
}

/// A plain-text server (the raw clients of these tests speak no TLS) with alice's account,
/// whose password is `alice-password`, and wrong passwords answered at once.
#[cfg(feature = "accounts")]
fn server_with_alices_account(test: &str) -> (TestServer, TestDir) {
    use chat::server::{AccountFile, Accounts, add_account};

    let dir = TestDir::new(test);
    let path = dir.join("accounts");
    add_account(&path, "alice", "alice-password").unwrap();
    let mut accounts = Accounts::new(AccountFile::load(&path).unwrap());
    accounts.allow_plaintext_passwords = true;
    accounts.wrong_password_delay = Duration::from_millis(1);
    accounts.max_wrong_password_delay = Duration::from_millis(1);
    let config = Config {
        accounts: Some(accounts),
        ..Config::default()
    };
    (start_server(config), dir)
}

#[cfg(feature = "accounts")]
#[test]
fn a_registered_name_types_its_password_in_a_field_that_shows_nothing() {
    let (server, _accounts) = server_with_alices_account("tui_password_server");
    let tui = Tui::start("password", &server, &["--name", "alice"]);
    let screen = tui.wait_for("┌ password (not shown; Enter sends it) ");
    assert!(screen.contains("[AUTH] password for alice"), "{screen}");
    assert!(screen.contains("· type the password ·"), "{screen}");
    tui.type_text("alice-password");
    tui.press(&["Enter"]);
    let screen = tui.wait_for("alice (you)");
    assert!(screen.contains("Joined as alice."), "{screen}");
    assert!(!screen.contains("alice-password"), "{screen}");
    tui.press(&["C-c"]);
    assert_eq!(tui.exit_status(), 0);
    assert!(!tui.log().contains("alice-password"), "{}", tui.log());
}

#[cfg(feature = "accounts")]
#[test]
fn a_wrong_password_is_said_and_the_name_can_be_given_again() {
    let (server, _accounts) = server_with_alices_account("tui_wrong_password_server");
    let tui = Tui::start("wrong_password", &server, &["--name", "alice"]);
    tui.wait_for("┌ password ");
    tui.type_text("a guess");
    tui.press(&["Enter"]);
    tui.wait_for("[ERROR] wrong password");
    tui.wait_for("┌ your username ");
    tui.type_text("alice");
    tui.press(&["Enter"]);
    tui.wait_for("┌ password ");
    tui.type_text("alice-password");
    tui.press(&["Enter"]);
    tui.wait_for("alice (you)");
}

#[cfg(all(feature = "tls", feature = "accounts"))]
#[test]
fn over_tls_the_password_file_answers_the_servers_question() {
    use chat::server::add_account;
    use common::binaries::ServerProcess;

    let accounts = TestDir::new("tui_secure_accounts");
    let path = accounts.join("accounts");
    add_account(&path, "alice", "alice-password").unwrap();
    let path = path.display().to_string();
    let server = ServerProcess::start(&["--tls-self-signed", "--accounts", &path]);
    let port = server.addr.port().to_string();
    let password = accounts.join("password");
    fs::write(&password, "alice-password\n").unwrap();
    let password = password.display().to_string();
    let args = [
        "--name",
        "alice",
        "--tls",
        "--tls-insecure",
        "--password-file",
        &password,
    ];
    let tui = Tui::start_on("secure", &port, &args);
    let screen = tui.wait_for(" · alice · connected · TLS ");
    assert!(screen.contains("[AUTH] password for alice"), "{screen}");
    assert!(screen.contains("(--tls-insecure)"), "{screen}");
}
