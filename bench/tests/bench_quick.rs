//! `chat-bench --quick` against the real server binary: every case runs and passes its
//! correctness checks, so the bench never rots. Speed is never asserted here.
//!
//! The server is a binary of another package (`chat`), and cargo tells a test only where its
//! own package's binaries are (`CARGO_BIN_EXE_*`). So the test asks the cargo that built it to
//! build `chat-server` and to say where the executable is. Under `make test` (`cargo test
//! --workspace`) the library's own tests have built it already and this is a quick no-op; run
//! alone (`cargo test -p chat-bench` on a clean clone) it builds it. Cargo's answer holds
//! whatever target directory the environment or the cargo config chooses.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

const BENCH: &str = env!("CARGO_BIN_EXE_chat-bench");
/// The workspace's root manifest, whose package `chat` holds `chat-server`.
const ROOT_MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
/// The quick run takes a few seconds; its own waits are bounded well inside this.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs chat-bench with `args`; returns its exit code and stdout.
fn bench(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(BENCH)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chat-bench");
    let mut out = child.stdout.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chat-bench") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chat-bench did not finish within {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(50));
    };
    (status.code(), reader.join().unwrap())
}

/// The features `chat-server` is built with: TLS too when this bench has it. Every test here
/// gets the same binary (two builds with other features would replace each other's).
const SERVER_FEATURES: &[&str] = if cfg!(feature = "tls") {
    &["--features", "tls"]
} else {
    &[]
};

/// Builds `chat-server` once (debug: speed does not matter here) and returns its path.
fn server() -> String {
    static SERVER: OnceLock<String> = OnceLock::new();
    SERVER.get_or_init(build_server).clone()
}

fn build_server() -> String {
    let output = Command::new(env!("CARGO"))
        .args(["build", "--package", "chat", "--bin", "chat-server"])
        .args(SERVER_FEATURES)
        .args(["--manifest-path", ROOT_MANIFEST])
        // One JSON object a line on stdout; the compiler's messages stay on stderr as text.
        .arg("--message-format=json-render-diagnostics")
        .stdin(Stdio::null())
        .output()
        .expect("run cargo build");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "cargo build failed:\n{stderr}");
    // The line of the chat-server artifact has `"executable":"<path>"`.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let path = stdout
        .lines()
        .filter(|line| line.contains(r#""name":"chat-server""#))
        .find_map(|line| line.split(r#""executable":""#).nth(1)?.split('"').next())
        .unwrap_or_else(|| panic!("cargo did not say where chat-server is:\n{stdout}"));
    path.to_string()
}

#[test]
fn quick_bench_runs_every_case_and_its_checks_pass() {
    let server = server();
    let (code, stdout) = bench(&["--quick", "--server", &server]);
    assert_eq!(code, Some(0), "chat-bench failed:\n{stdout}");
    for case in ["fanout", "latency", "idle", "file"] {
        let passed = stdout
            .lines()
            .any(|line| line.starts_with(&format!("case={case} ")) && line.ends_with(" checks=ok"));
        assert!(passed, "no passing run of {case}:\n{stdout}");
    }
    assert!(!stdout.contains("checks=FAILED"), "{stdout}");
}

/// With the `tls` feature: the fanout and file cases over TLS next to plain TCP, and the cost.
#[cfg(feature = "tls")]
#[test]
fn quick_bench_over_tls_runs_fanout_and_file_both_ways_and_says_the_cost() {
    let server = server();
    let (code, stdout) = bench(&["--quick", "--tls", "--server", &server]);
    assert_eq!(code, Some(0), "chat-bench failed:\n{stdout}");
    for case in ["fanout", "file"] {
        for over in ["", " transport=tls"] {
            let passed = stdout.lines().any(|line| {
                line.starts_with(&format!("case={case} "))
                    && line.contains(&format!("{over} rep=1"))
                    && line.ends_with(" checks=ok")
            });
            assert!(passed, "no passing run of {case}{over}:\n{stdout}");
        }
    }
    assert!(stdout.contains("TLS's cost"), "{stdout}");
    assert!(!stdout.contains("checks=FAILED"), "{stdout}");
}

#[test]
fn bad_option_exits_with_2() {
    let (code, stdout) = bench(&["--reps", "none"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
}
