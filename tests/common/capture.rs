//! Loopback captures with `dumpcap`, read back with `tshark` and the chat/1 dissector
//! (`contrib/wireshark/chat.lua`): for `tests/wireshark.rs`.
//!
//! Both tools come with Wireshark (`apt-get install tshark`), and capturing needs root or the
//! capture capabilities. Where either is missing, [`wireshark_or_skip`] says why in one line and
//! the tests pass without checking anything; under CI (the `CI` variable set) that is a failure
//! instead: CI must never skip them.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use super::TIMEOUT;
use super::binaries::{signal, wait_until};

/// The dissector under test.
pub const DISSECTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/contrib/wireshark/chat.lua");

/// True when tshark and dumpcap are here and may capture on `lo`. Otherwise prints, once per test
/// binary, one line saying the tests were skipped and why, and returns false; or panics under CI.
pub fn wireshark_or_skip() -> bool {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    static SAID: OnceLock<()> = OnceLock::new();
    match CHECKED.get_or_init(check_tools) {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI must run the dissector tests, but {why}")
        }
        Err(why) => {
            SAID.get_or_init(|| {
                // Straight to stderr: the test harness hides what `eprintln!` prints in a test
                // that passes, and this line is for whoever runs `make test`.
                let _ = writeln!(
                    std::io::stderr(),
                    "tests/wireshark.rs: the dissector and lab guide tests were skipped: {why} \
                     (apt-get install tshark; with CI set this is an error)"
                );
            });
            false
        }
    }
}

/// True when netcat is OpenBSD's (`-q`, `-s`, as the lab guide uses it), besides
/// [`wireshark_or_skip`]. Otherwise says so in one line, or panics under CI.
pub fn netcat_or_skip() -> bool {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| match Command::new("nc").arg("-h").output() {
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("OpenBSD netcat") => Ok(()),
        Ok(_) => Err("nc is not OpenBSD's netcat".to_owned()),
        Err(e) => Err(format!("nc cannot be run ({e})")),
    });
    match checked {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("CI must run the lab guide test, but {why}")
        }
        Err(why) => {
            let _ = writeln!(
                std::io::stderr(),
                "tests/wireshark.rs: the lab guide test was skipped: {why} \
                 (apt-get install netcat-openbsd; with CI set this is an error)"
            );
            false
        }
    }
}

fn check_tools() -> Result<(), String> {
    for tool in ["tshark", "dumpcap"] {
        match Command::new(tool).arg("--version").output() {
            Ok(out) if out.status.success() => {}
            Ok(_) => return Err(format!("`{tool} --version` failed")),
            Err(e) => return Err(format!("{tool} cannot be run ({e})")),
        }
    }
    // Listing the link types of `lo` opens it as a capture would: this fails without the right.
    let out = Command::new("dumpcap")
        .args(["-L", "-i", "lo"])
        .output()
        .map_err(|e| format!("dumpcap cannot be run ({e})"))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!("dumpcap may not capture on lo: {}", why.trim()));
    }
    Ok(())
}

/// A capture of the TCP traffic of some ports on `lo`, written to a pcapng file.
///
/// dumpcap hands packets over in blocks (every quarter of a second or so) and, stopped, drops
/// a block it has not read yet: so the capture is started and stopped with a marker, a UDP
/// datagram sent to ourselves, and waits until dumpcap has written it out. dumpcap writes to a
/// pipe (`-w -`), which it flushes after each block; a thread copies it to the file and hands
/// each piece over, to be searched for the marker.
pub struct Capture {
    child: Child,
    pieces: Receiver<Vec<u8>>,
    copier: Option<thread::JoinHandle<()>>,
    stderr: Receiver<String>,
    marker: UdpSocket,
    /// The last bytes written, for a marker cut in two pieces.
    tail: Vec<u8>,
    pub path: PathBuf,
}

impl Capture {
    /// Starts dumpcap and waits until it captures: until a first marker comes out.
    pub fn start(path: &Path, ports: &[u16]) -> Capture {
        let marker = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP socket for the markers");
        let mut filter: Vec<String> = ports.iter().map(|p| format!("tcp port {p}")).collect();
        filter.push(format!("udp port {}", marker.local_addr().unwrap().port()));
        // -B 64: a 64 MiB kernel buffer, so megabytes of a file sent over loopback at once are
        // not dropped before dumpcap reads them. The default snap length keeps whole packets.
        let mut child = Command::new("dumpcap")
            .args([
                "-i",
                "lo",
                "-f",
                &filter.join(" or "),
                "-B",
                "64",
                "-w",
                "-",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dumpcap");

        let mut out = child.stdout.take().unwrap();
        let mut file = fs::File::create(path).expect("create the capture file");
        let (sender, pieces) = mpsc::channel();
        let copier = thread::spawn(move || {
            let mut buf = vec![0; 1 << 16];
            while let Ok(n @ 1..) = out.read(&mut buf) {
                file.write_all(&buf[..n]).expect("write the capture file");
                let _ = sender.send(buf[..n].to_vec());
            }
        });
        let err = child.stderr.take().unwrap();
        let (sender, stderr) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });

        let mut capture = Capture {
            child,
            pieces,
            copier: Some(copier),
            stderr,
            marker,
            tail: Vec::new(),
            path: path.to_owned(),
        };
        // Until dumpcap has opened lo and set its filter, a marker is lost: send one until one
        // comes out.
        let deadline = Instant::now() + TIMEOUT;
        while !capture.mark(b"chat-capture-start", Duration::from_millis(500)) {
            let exited = capture.child.try_wait().ok().flatten();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "dumpcap does not capture ({exited:?}): {:?}",
                capture.stderr.try_iter().collect::<Vec<_>>()
            );
        }
        capture
    }

    /// Sends a marker and waits, at most `wait`, until dumpcap has written out a marker.
    fn mark(&mut self, marker: &[u8], wait: Duration) -> bool {
        let to = self.marker.local_addr().unwrap();
        self.marker.send_to(marker, to).expect("send a marker");
        let deadline = Instant::now() + wait;
        while let Ok(piece) = self
            .pieces
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.tail.extend_from_slice(&piece);
            let found = self.tail.windows(marker.len()).any(|w| w == marker);
            let keep = self.tail.len().saturating_sub(marker.len());
            self.tail.drain(..keep);
            if found {
                return true;
            }
        }
        false
    }

    /// Waits until dumpcap has written out every packet sent so far, stops it as Ctrl-C does,
    /// and checks that the kernel dropped none. Returns the file.
    pub fn stop(mut self) -> PathBuf {
        assert!(
            self.mark(b"chat-capture-end", TIMEOUT),
            "dumpcap did not write out the end marker"
        );
        signal(self.child.id(), "INT");
        self.copier
            .take()
            .unwrap()
            .join()
            .expect("copy the capture");
        wait_until("dumpcap exits", || {
            self.child.try_wait().ok().flatten().is_some()
        });
        // It has exited: its stderr is closed, and the thread reading it ends.
        let report = self.stderr.iter().collect::<Vec<_>>().join("\n");
        // "Packets received/dropped on interface 'Loopback: lo': 348/0 (pcap:0/dumpcap:0/...)"
        let dropped = report
            .split("Packets received/dropped on interface")
            .nth(1)
            .and_then(|rest| rest.split("': ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|counts| counts.split_once('/'))
            .map(|(_, dropped)| dropped)
            .unwrap_or_else(|| panic!("no packet counts in dumpcap's report: {report}"));
        assert_eq!(dropped, "0", "the capture dropped packets: {report}");
        self.path.clone()
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs tshark with the dissector on a capture, with `args` after `-r FILE`; returns its
/// standard output. Panics when tshark fails or the dissector does not load.
pub fn tshark(capture: &Path, args: &[&str]) -> String {
    let out = Command::new("tshark")
        .arg("-X")
        .arg(format!("lua_script:{DISSECTOR}"))
        // Loopback captures may hold a segment out of order (a retransmission, or two CPUs);
        // Wireshark 4.0 does not reassemble past one unless asked to.
        .args(["-o", "tcp.reassemble_out_of_order:TRUE"])
        .arg("-r")
        .arg(capture)
        .args(args)
        .output()
        .expect("run tshark");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "tshark {args:?} failed: {stderr}");
    // A script that does not load is only a message on stderr: tshark goes on without it.
    assert!(
        !stderr.contains("Lua"),
        "the dissector did not load: {stderr}"
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
