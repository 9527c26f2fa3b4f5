//! Accounts (feature `accounts`): registered names sign in with a password, other names join
//! as guests (or not at all with `--accounts-only`); wrong passwords wait longer and longer,
//! and five close the connection; the accounts file; no password in any log. The library's
//! server with raw clients for the wire, the real binaries for the files and the logs.
#![cfg(feature = "accounts")]

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chat::server::{self, AccountFile, Accounts, Config, ServerError, add_account};
use common::binaries::{SERVER, ServerProcess, TestDir};
use common::{TestClient, TestServer, start_server};

/// An accounts file in `dir` with `accounts` (name, password).
fn accounts_file(dir: &TestDir, accounts: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join("accounts");
    for (name, password) in accounts {
        add_account(&path, name, password).expect("add an account");
    }
    path
}

/// A plain-text server (the tests' raw clients speak no TLS) with alice's account, whose
/// password is `alice-password`, and `setup` applied to its settings.
fn server_with(test: &str, setup: impl FnOnce(&mut Accounts)) -> (TestServer, TestDir) {
    let dir = TestDir::new(test);
    let path = accounts_file(&dir, &[("alice", "alice-password")]);
    let mut accounts = Accounts::new(AccountFile::load(&path).unwrap());
    accounts.allow_plaintext_passwords = true;
    accounts.wrong_password_delay = Duration::from_millis(1);
    accounts.max_wrong_password_delay = Duration::from_millis(1);
    setup(&mut accounts);
    let config = Config {
        accounts: Some(accounts),
        ..Config::default()
    };
    (start_server(config), dir)
}

/// Connects, reads the greeting, and gives `name`.
fn give_name(server: &TestServer, name: &str) -> TestClient {
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    client.send_line(name);
    client
}

#[test]
fn a_registered_name_gives_its_password_and_joins() {
    let (server, _dir) = server_with("acc_right", |_| {});
    let mut alice = give_name(&server, "alice");
    alice.expect_line("[AUTH]:password for alice");
    alice.send_line("alice-password");
    alice.expect_line("[WELCOME]:alice");
    alice.expect_line("[USERS]:alice");
}

#[test]
fn a_registered_name_in_another_case_is_asked_and_joins_as_registered() {
    let (server, _dir) = server_with("acc_case", |_| {});
    let mut alice = give_name(&server, "ALICE");
    alice.expect_line("[AUTH]:password for alice");
    alice.send_line("alice-password");
    alice.expect_line("[WELCOME]:alice");
}

#[test]
fn a_registered_name_is_never_given_to_a_guest_in_any_case() {
    let (server, _dir) = server_with("acc_no_guest", |_| {});
    for name in ["alice", "Alice", "ALICE", "aLiCe"] {
        let mut guest = give_name(&server, name);
        guest.expect_line("[AUTH]:password for alice");
        guest.send_line("a guess");
        guest.expect_line("[ERROR]:wrong password");
    }
    // Nobody joined: the next user is alone.
    let mut bob = give_name(&server, "bob");
    bob.expect_line("[WELCOME]:bob");
    bob.expect_line("[USERS]:bob");
}

#[test]
fn an_unregistered_name_joins_as_a_guest() {
    let (server, _dir) = server_with("acc_guest", |_| {});
    let mut bob = give_name(&server, "bob");
    bob.expect_line("[WELCOME]:bob");
    bob.expect_line("[USERS]:bob");
}

#[test]
fn accounts_only_refuses_names_without_an_account() {
    let (server, _dir) = server_with("acc_only", |accounts| accounts.accounts_only = true);
    let mut client = give_name(&server, "bob");
    client.expect_line("[ERROR]:username 'bob' has no account here, and only accounts may join");
    client.send_line("alice");
    client.expect_line("[AUTH]:password for alice");
    client.send_line("alice-password");
    client.expect_line("[WELCOME]:alice");
}

#[test]
fn a_wrong_password_is_refused_and_the_name_can_be_tried_again() {
    let (server, _dir) = server_with("acc_wrong", |_| {});
    let mut alice = give_name(&server, "alice");
    alice.expect_line("[AUTH]:password for alice");
    alice.send_line("alice-passwor");
    alice.expect_line("[ERROR]:wrong password");
    alice.send_line("alice");
    alice.expect_line("[AUTH]:password for alice");
    alice.send_line("alice-password");
    alice.expect_line("[WELCOME]:alice");
}

#[test]
fn a_password_is_taken_as_it_is_even_exit_or_a_command() {
    let dir = TestDir::new("acc_verbatim");
    let path = accounts_file(&dir, &[("alice", "exit"), ("bob", "/users")]);
    let mut accounts = Accounts::new(AccountFile::load(&path).unwrap());
    accounts.allow_plaintext_passwords = true;
    let server = start_server(Config {
        accounts: Some(accounts),
        ..Config::default()
    });
    for (name, password) in [("alice", "exit"), ("bob", "/users")] {
        let mut client = give_name(&server, name);
        client.expect_line(&format!("[AUTH]:password for {name}"));
        client.send_line(password);
        client.expect_line(&format!("[WELCOME]:{name}"));
    }
}

#[test]
fn five_wrong_passwords_close_the_connection() {
    let (server, _dir) = server_with("acc_lockout", |_| {});
    let mut client = give_name(&server, "alice");
    for attempt in 1..=5 {
        client.expect_line("[AUTH]:password for alice");
        client.send_line(&format!("guess {attempt}"));
        if attempt < 5 {
            client.expect_line("[ERROR]:wrong password");
            client.send_line("alice");
        }
    }
    client.expect_line("[ERROR]:wrong password; 5 wrong passwords, connect again to retry");
    client.expect_closed();
}

/// Sends a wrong password for alice and returns how long the answer took.
fn time_wrong_password(client: &mut TestClient) -> Duration {
    client.send_line("alice");
    client.expect_line("[AUTH]:password for alice");
    let sent = Instant::now();
    client.send_line("wrong");
    client.expect_line("[ERROR]:wrong password");
    sent.elapsed()
}

#[test]
fn the_answer_to_a_wrong_password_waits_longer_each_time_from_one_address() {
    let first = Duration::from_millis(100);
    let (server, _dir) = server_with("acc_backoff", |accounts| {
        accounts.wrong_password_delay = first;
        accounts.max_wrong_password_delay = Duration::from_secs(60);
    });
    let mut one = TestClient::connect(server.addr);
    one.expect_prefix("[INFO]:");
    let waits = [time_wrong_password(&mut one), time_wrong_password(&mut one)];
    assert!(waits[0] >= first, "{waits:?}");
    assert!(waits[1] >= first * 2, "{waits:?}");
    // Another connection from the same address carries on where the first left off.
    let mut other = TestClient::connect(server.addr);
    other.expect_prefix("[INFO]:");
    let third = time_wrong_password(&mut other);
    assert!(third >= first * 4, "{third:?}");
}

#[test]
fn a_right_password_starts_its_address_again_from_the_first_delay() {
    let first = Duration::from_millis(500);
    let (server, _dir) = server_with("acc_backoff_reset", |accounts| {
        accounts.wrong_password_delay = first;
        accounts.max_wrong_password_delay = Duration::from_secs(60);
    });
    let mut one = TestClient::connect(server.addr);
    one.expect_prefix("[INFO]:");
    time_wrong_password(&mut one);
    time_wrong_password(&mut one);
    one.send_line("alice");
    one.expect_line("[AUTH]:password for alice");
    one.send_line("alice-password");
    one.expect_line("[WELCOME]:alice");
    let mut other = TestClient::connect(server.addr);
    other.expect_prefix("[INFO]:");
    // Were the two wrong ones still counted, this would wait 4 x 500 ms.
    let wait = time_wrong_password(&mut other);
    assert!(wait >= first && wait < first * 4, "{wait:?}");
}

#[test]
fn accounts_without_tls_are_refused_unless_plain_text_passwords_are_allowed() {
    let dir = TestDir::new("acc_no_tls");
    let path = accounts_file(&dir, &[("alice", "pw")]);
    let accounts = Accounts::new(AccountFile::load(&path).unwrap());
    let config = Config {
        accounts: Some(accounts),
        ..Config::default()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = server::start(listener, config);
    assert!(matches!(refused, Err(ServerError::Config(_))));
}

/// Runs `chat-server` with `args` and `stdin`; its exit code, stdout and stderr.
fn run_server(args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    use std::io::Write;
    let mut child = Command::new(SERVER)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat-server");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (
        output.status.code(),
        text(output.stdout),
        text(output.stderr),
    )
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn add_account_writes_the_file_whole_and_changes_a_password() {
    let dir = TestDir::new("acc_add");
    let file = path_arg(&dir.join("accounts"));
    let add = |name: &str, password: &str| {
        let args = ["--add-account", name, "--accounts", &file];
        run_server(&args, &format!("{password}\n"))
    };
    let (code, out, _) = add("alice", "first one");
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("added alice in {file}\n"));
    assert_eq!(add("bob", "bobs").0, Some(0));
    let (code, out, _) = add("Alice", "second one");
    assert_eq!(code, Some(0));
    assert_eq!(out, format!("changed the password of Alice in {file}\n"));

    let text = fs::read_to_string(&file).unwrap();
    let names: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(names, ["Alice", "bob"]);
    assert!(text.lines().all(|l| l.contains(":$argon2id$")), "{text}");
    assert!(!text.contains("first one") && !text.contains("second one"));
    // Written beside and renamed: no temporary is left.
    assert_eq!(dir.entries("."), ["accounts"]);

    let mut accounts = Accounts::new(AccountFile::load(dir.join("accounts").as_path()).unwrap());
    accounts.allow_plaintext_passwords = true;
    let server = start_server(Config {
        accounts: Some(accounts),
        ..Config::default()
    });
    let mut alice = give_name(&server, "alice");
    alice.expect_line("[AUTH]:password for Alice");
    alice.send_line("second one");
    alice.expect_line("[WELCOME]:Alice");
}

#[test]
fn add_account_refuses_an_empty_password_and_leaves_the_file_alone() {
    let dir = TestDir::new("acc_add_empty");
    let file = path_arg(&dir.join("accounts"));
    let (code, _, err) = run_server(&["--add-account", "alice", "--accounts", &file], "\n");
    assert_eq!(code, Some(1));
    assert!(err.contains("bad password"), "{err}");
    assert!(dir.entries(".").is_empty());
}

#[test]
fn a_malformed_accounts_file_stops_the_server_naming_the_line() {
    let dir = TestDir::new("acc_malformed");
    let path = accounts_file(&dir, &[("alice", "pw")]);
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("# a comment\nbob:hunter2\n");
    fs::write(&path, text).unwrap();
    let file = path_arg(&path);
    let args = ["--accounts", &file, "--allow-plaintext-passwords"];
    let (code, out, err) = run_server(&args, "");
    assert_eq!(code, Some(2));
    assert!(out.is_empty(), "{out}");
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("chat-server: accounts file {file}: line 3: ")),
        "{err}"
    );
}

#[test]
fn accounts_without_tls_need_allow_plaintext_passwords_and_then_say_so() {
    let dir = TestDir::new("acc_plain_bin");
    let file = path_arg(&accounts_file(&dir, &[("alice", "pw")]));
    let (code, _, err) = run_server(&["--port", "0", "--accounts", &file], "");
    assert_eq!(code, Some(2));
    assert!(err.contains("--allow-plaintext-passwords"), "{err}");

    let server = ServerProcess::logging(&["--accounts", &file, "--allow-plaintext-passwords"]);
    server.expect_log(&["WARNING: accounts without TLS"]);
}

#[cfg(feature = "tls")]
#[test]
fn a_tls_chat_with_accounts_has_the_passwords_in_no_log() {
    use common::binaries::ClientProcess;

    const RIGHT: &str = "Correct-Horse-7";
    const WRONG: &str = "Wrong-Battery-9";
    let dir = TestDir::new("acc_no_log");
    let accounts = path_arg(&accounts_file(&dir, &[("alice", RIGHT)]));
    let transcript = path_arg(&dir.join("transcript.txt"));
    let mut server = ServerProcess::logging_with_env(
        &[
            "--tls-self-signed",
            "--accounts",
            &accounts,
            "--log",
            &transcript,
        ],
        &[("RUST_LOG", "debug")],
    );
    let port = server.addr.port().to_string();
    let client = |folder: &TestDir, name: &str, password: Option<&str>| {
        let mut args = vec![
            "--port",
            &port,
            "--name",
            name,
            "--tls",
            "--known-servers",
            "known",
        ];
        if let Some(password) = password {
            fs::write(folder.join("password"), format!("{password}\n")).unwrap();
            args.extend(["--password-file", "password"]);
        }
        ClientProcess::start(folder, &args)
    };

    let (bob_dir, alice_dir, eve_dir) = (
        TestDir::new("acc_no_log_bob"),
        TestDir::new("acc_no_log_alice"),
        TestDir::new("acc_no_log_eve"),
    );
    let mut eve = client(&eve_dir, "alice", Some(WRONG));
    eve.expect("[AUTH] password for alice\n");
    eve.expect("[ERROR] wrong password\n");
    eve.close_stdin();
    eve.finish();
    server.expect_log(&["wrong password for alice"]);

    let mut bob = client(&bob_dir, "bob", None);
    bob.expect("[INFO] Joined as bob.");
    let mut alice = client(&alice_dir, "alice", Some(RIGHT));
    alice.expect("[AUTH] password for alice\n");
    alice.expect("[INFO] Joined as alice.");
    alice.type_line("hello over TLS");
    bob.expect("alice: hello over TLS\n");
    alice.type_line("exit");
    alice.finish();
    bob.expect("alice has left the chat.\n");
    bob.close_stdin();
    bob.finish();
    let server_log = server.stop_and_read_log();

    let mut logs = vec![
        ("transcript", fs::read_to_string(&transcript).unwrap()),
        ("alice's screen", alice.shown()),
        ("eve's screen", eve.shown()),
    ];
    for (who, folder) in [("alice", &alice_dir), ("bob", &bob_dir), ("eve", &eve_dir)] {
        let log = fs::read_to_string(folder.join("chat_log.txt")).unwrap_or_default();
        logs.push((who, log));
    }
    assert!(
        logs[0].1.contains("hello over TLS"),
        "the transcript has the chat"
    );
    assert!(
        logs[3].1.contains("hello over TLS"),
        "alice's log has the chat"
    );
    assert!(server_log.contains("signed in as alice"), "{server_log}");
    logs.push(("the server's log", server_log));
    for (what, text) in logs {
        for password in [RIGHT, WRONG] {
            assert!(!text.contains(password), "{password} in {what}:\n{text}");
        }
    }
}
