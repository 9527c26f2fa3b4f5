//! What a killed client leaves in its downloads folder. A client saves a file under a
//! hidden temporary name, `.received_<name>.<pid>-<n>.part`, and links it in when complete; a
//! kill in between leaves the temporary. Killing a client at the right moment of a 64 MiB save is
//! a race, so the test plants what such a kill leaves and runs the client again: its next run
//! removes the temporaries whose process is gone, and only those: another client may be
//! saving into the same folder.

use std::fs;
use std::process::Command;

use crate::common::binaries::{ClientProcess, DOWNLOADS, FakeServer, TestDir};

/// The id of a process that has exited: a child that did nothing.
fn a_dead_process_id() -> u32 {
    let mut child = Command::new("true").spawn().expect("run true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

#[test]
fn the_client_removes_stale_partial_files_on_its_next_run() {
    let dir = TestDir::new("attacks_stale_part");
    let downloads = dir.join(DOWNLOADS);
    fs::create_dir_all(&downloads).unwrap();
    // What a client killed while saving leaves behind...
    let stale = format!(".received_video.mp4.{}-0.part", a_dead_process_id());
    fs::write(downloads.join(&stale), vec![0u8; 1024 * 1024]).unwrap();
    // ... and the temporary of a client still running, maybe still saving: not to be touched.
    // That client waits for a server that never greets it.
    let silent = FakeServer::start();
    let other_port = silent.port();
    let running = ClientProcess::start(&dir, &["--port", &other_port, "--no-log"]);
    let live = format!(".received_notes.txt.{}-0.part", running.id());
    fs::write(downloads.join(&live), b"half a file").unwrap();

    let server = FakeServer::start();
    let port = server.port();
    let mut client = ClientProcess::start(
        &dir,
        &["--port", &port, "--downloads", DOWNLOADS, "--name", "alice"],
    );
    let mut peer = server.accept();
    peer.welcome("alice");
    client.expect("[INFO] Online: alice\n");
    peer.send(b"[FILE]:bob:hello.txt:5\nhello<END>\n");
    client.expect(
        "[Notification] Received file: a/b/downloads/received_hello.txt (5 bytes, from bob)",
    );
    client.type_line("exit");
    peer.expect_line("exit");
    peer.close();
    let (status, stderr) = client.finish();
    assert!(status.success(), "{stderr}");

    let left = dir.entries(DOWNLOADS);
    assert!(
        !left.contains(&stale),
        "the stale temporary of a killed client is still there: {left:?}"
    );
    assert!(
        left.contains(&live),
        "a running client's temporary was removed: {left:?}"
    );
    assert!(left.contains(&"received_hello.txt".to_owned()), "{left:?}");
    drop(running);
}
