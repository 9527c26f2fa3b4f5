//! Files: the sized and the text form, relayed byte-exact in the sized form; refused ones skipped
//! whole with the stream kept in step; the two errors after which the stream cannot be in step
//! close the connection.

mod common;

use chat::server::Config;
use common::{TestClient, alice_and_bob, sized_file, start_server};

/// Bytes no line-based reading would survive: every byte value, and `<END>` lines inside.
fn binary_payload() -> Vec<u8> {
    let mut data: Vec<u8> = (0..=255).collect();
    data.extend_from_slice(b"\x00\xff<END>\n<END>\r\n[FILE]:x:1\nexit\n");
    data
}

#[test]
fn sized_file_is_relayed_byte_exact_with_the_sender_in_its_header() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    let data = binary_payload();
    alice.send(&sized_file("a.bin", &data));
    bob.expect_file(&format!("[FILE]:alice:a.bin:{}", data.len()), &data);
    // In step after the file.
    alice.send_line("after");
    bob.expect_line("alice: after");
}

#[test]
fn sized_file_goes_to_every_other_joined_client_but_not_back() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    let mut carol = TestClient::join(server.addr, "carol");
    carol.take_files();
    alice.expect_line("[JOIN]:carol");
    bob.expect_line("[JOIN]:carol");
    alice.send(&sized_file("hi.txt", b"hi\n"));
    bob.expect_file("[FILE]:alice:hi.txt:3", b"hi\n");
    carol.expect_file("[FILE]:alice:hi.txt:3", b"hi\n");
    // Had the file come back to alice, it would arrive before bob's message.
    bob.send_line("marker");
    alice.expect_line("bob: marker");
}

#[test]
fn sized_file_end_may_have_crlf() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    alice.send(b"[FILE]:x.txt:2\nab<END>\r\nafter\n");
    bob.expect_file("[FILE]:alice:x.txt:2", b"ab");
    bob.expect_line("alice: after");
}

#[test]
fn text_form_file_is_relayed_in_the_sized_form() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    // Empty lines and `exit` are content; a CRLF line end becomes LF.
    alice.send(b"[FILE]:notes.txt\nline one\n\nexit\r\n<END>\n");
    bob.expect_file("[FILE]:alice:notes.txt:15", b"line one\n\nexit\n");
    alice.send_line("after");
    bob.expect_line("alice: after");
}

#[test]
fn refused_file_name_keeps_stream_in_step() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    // `x:y` makes the header `[FILE]:x:y:6`; the empty name makes it `[FILE]::6`.
    for name in ["../x", "a/b", "a\\b", "..", ".", "x:y", ""] {
        // Its bytes are an `<END>` line: only a frame skipped by its size stays in step.
        alice.send(&sized_file(name, b"<END>\n"));
        alice.send_line(&format!("after {name}"));
        alice.expect_prefix("[ERROR]:");
        bob.expect_line(&format!("alice: after {name}"));
    }
}

#[test]
fn refused_text_file_name_skips_its_lines_up_to_end() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    // `exit` among the skipped lines must not end the connection.
    alice.send(b"[FILE]:../etc/passwd\nroot\n\nexit\n<END>\nafter\n");
    alice.expect_prefix("[ERROR]:");
    bob.expect_line("alice: after");
    // One error only: a second would reach alice before bob's reply.
    bob.send_line("reply");
    alice.expect_line("bob: reply");
}

#[test]
fn file_over_max_file_size_is_refused_and_skipped_in_step() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config {
        max_file_size: 16,
        ..Config::default()
    });
    bob.take_files();
    let mut data = b"<END>\n".repeat(2);
    data.extend_from_slice(b"exit\n");
    assert!(data.len() > 16);
    alice.send(&sized_file("big.bin", &data));
    alice.send(&sized_file("small.bin", &data[..16]));
    alice.send_line("after");
    alice.expect_prefix("[ERROR]:");
    bob.expect_file("[FILE]:alice:small.bin:16", &data[..16]);
    bob.expect_line("alice: after");
}

#[test]
fn text_file_over_max_file_size_is_refused_once_and_skipped() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config {
        max_file_size: 16,
        ..Config::default()
    });
    alice.send(b"[FILE]:big.txt\n0123456789\n0123456789\n0123456789\n<END>\nafter\n");
    alice.expect_prefix("[ERROR]:");
    bob.expect_line("alice: after");
    bob.send_line("reply");
    alice.expect_line("bob: reply");
}

#[test]
fn file_size_that_is_not_a_number_closes_the_connection() {
    let server = start_server(Config::default());
    let mut bob = TestClient::join(server.addr, "bob");
    for header in ["[FILE]:x:abc", "[FILE]:x:", "[FILE]:x:-1", "[FILE]:x:+5"] {
        let mut alice = TestClient::join(server.addr, "alice");
        bob.expect_line("[JOIN]:alice");
        alice.send(format!("{header}\nabc<END>\nnever relayed\n").as_bytes());
        alice.expect_prefix("[ERROR]:");
        alice.expect_closed();
        bob.expect_line("[LEAVE]:alice");
    }
}

#[test]
fn sized_file_not_followed_by_end_closes_the_connection() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    alice.send(b"[FILE]:x.txt:3\nabcXEND>\nnever relayed\n");
    alice.expect_prefix("[ERROR]:");
    alice.expect_closed();
    // Nothing of the file was relayed.
    bob.expect_line("[LEAVE]:alice");
}
