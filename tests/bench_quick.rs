//! `chat-bench --quick` against the real server binary: every case runs and passes its
//! correctness checks, so the bench never rots. Speed is never asserted here.

use std::io::Read;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const BENCH: &str = env!("CARGO_BIN_EXE_chat-bench");
const SERVER: &str = env!("CARGO_BIN_EXE_chat-server");
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

#[test]
fn quick_bench_runs_every_case_and_its_checks_pass() {
    let (code, stdout) = bench(&["--quick", "--server", SERVER]);
    assert_eq!(code, Some(0), "chat-bench failed:\n{stdout}");
    for case in ["fanout", "latency", "idle", "file"] {
        let passed = stdout
            .lines()
            .any(|line| line.starts_with(&format!("case={case} ")) && line.ends_with(" checks=ok"));
        assert!(passed, "no passing run of {case}:\n{stdout}");
    }
    assert!(!stdout.contains("checks=FAILED"), "{stdout}");
}

#[test]
fn bad_option_exits_with_2() {
    let (code, stdout) = bench(&["--reps", "none"]);
    assert_eq!(code, Some(2));
    assert!(stdout.is_empty(), "{stdout}");
}
