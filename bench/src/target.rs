//! The server under test: a `chat-server` child the bench starts on port 0 (one per run, so each
//! run begins from a fresh process), or a server someone else started (`--host/--port`). Only a
//! server the bench started can be read (its CPU time, memory and threads: see readings.rs).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::conn::Endpoint;
use crate::readings;

/// How long a started server has to say where it hosts.
const STARTUP: Duration = Duration::from_secs(10);
/// Server warnings kept to explain a failed run.
const KEPT_WARNINGS: usize = 10;

/// Where the server under test runs.
#[derive(Clone, Debug)]
pub enum Target {
    /// Start this `chat-server` binary for each run.
    Spawn { server: PathBuf, max_clients: usize },
    /// Use a server that is already running; its memory and CPU cannot be read.
    Attach { addr: SocketAddr },
}

impl Target {
    /// Starts a server for one run (speaking only TLS when `tls`), or hands out the running
    /// one.
    pub fn start(&self, tls: bool) -> Result<Running, String> {
        match self {
            Target::Attach { addr } => Ok(Running {
                addr: Endpoint { addr: *addr, tls },
                child: None,
                warnings: Arc::default(),
            }),
            Target::Spawn {
                server,
                max_clients,
            } => spawn(server, *max_clients, tls),
        }
    }
}

/// A server a run talks to. A started one is killed when this is dropped.
pub struct Running {
    pub addr: Endpoint,
    child: Option<Child>,
    /// The last warnings the started server logged (it logs to stderr).
    warnings: Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// The server's process id, when the bench started it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// CPU time the server has used so far, in seconds, when the bench started it.
    pub fn cpu_seconds(&self) -> Option<f64> {
        self.pid().and_then(readings::process_cpu_seconds)
    }

    /// Kills a server the bench started (nothing for one it did not).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the server warned about, for an error message: empty when it said nothing.
    pub fn warnings(&self) -> String {
        let warnings = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
        if warnings.is_empty() {
            return String::new();
        }
        format!("; the server warned: {}", warnings.join(" | "))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts `server` on a free loopback port and reads the port from its "Hosting on ADDR" line.
/// With `tls`, the server speaks only TLS, with a certificate it makes at start.
fn spawn(server: &Path, max_clients: usize, tls: bool) -> Result<Running, String> {
    let mut child = Command::new(server)
        .args(["--host", "127.0.0.1", "--port", "0"])
        .args(["--max-clients", &max_clients.to_string()])
        .args(if tls { &["--tls-self-signed"][..] } else { &[] })
        // The server's own default log level, whatever this shell says.
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            let hint = "build it with `cargo build --release`, or give --server";
            format!("cannot start {}: {e} ({hint})", server.display())
        })?;
    let warnings = Arc::new(Mutex::new(Vec::new()));
    // Both pipes are read to the end by threads of their own, so the server never blocks on a
    // full pipe; the threads end when it exits.
    if let Some(stderr) = child.stderr.take() {
        let warnings = Arc::clone(&warnings);
        thread::spawn(move || keep_warnings(stderr, &warnings));
    }
    let (lines, hosting) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
    }
    let mut running = Running {
        addr: Endpoint {
            addr: ([127, 0, 0, 1], 0).into(),
            tls,
        },
        child: Some(child),
        warnings,
    };
    let line = hosting
        .recv_timeout(STARTUP)
        .map_err(|_| format!("{} did not say where it hosts", server.display()))?;
    // Over TLS the line goes on with the certificate's fingerprint.
    running.addr.addr = line
        .strip_prefix("Hosting on ")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?;
    Ok(running)
}

fn keep_warnings(stderr: impl std::io::Read, warnings: &Mutex<Vec<String>>) {
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if line.contains("WARN") || line.contains("ERROR") {
            let mut kept = warnings.lock().unwrap_or_else(|e| e.into_inner());
            if kept.len() < KEPT_WARNINGS {
                kept.push(line);
            }
        }
    }
}
