//! Lines the server refuses: too long, not UTF-8, or holding control characters. Each gets one
//! `[ERROR]`, is never relayed, and the connection carries on in step.

mod common;

use chat::server::Config;
use common::alice_and_bob;

#[test]
fn line_over_max_line_is_refused_and_discarded_up_to_its_lf() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config {
        max_line: 16,
        ..Config::default()
    });
    alice.send(b"0123456789abcdefTOO-LONG never relayed\nnext\n");
    alice.expect_line("[ERROR]:line too long (the limit is 16 bytes)");
    // Neither the line nor its tail was taken as a message.
    bob.expect_line("alice: next");
}

#[test]
fn line_too_long_with_crlf_counts_without_the_crlf() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config {
        max_line: 16,
        ..Config::default()
    });
    alice.send(b"0123456789abcdef\r\n0123456789abcdefg\r\nnext\r\n");
    bob.expect_line("alice: 0123456789abcdef");
    alice.expect_line("[ERROR]:line too long (the limit is 16 bytes)");
    bob.expect_line("alice: next");
}

#[test]
fn invalid_utf8_is_refused_and_the_connection_carries_on() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    alice.send(b"caf\xe9 \xff\nafter\n");
    alice.expect_line("[ERROR]:invalid UTF-8");
    bob.expect_line("alice: after");
}

#[test]
fn line_with_a_control_character_is_refused_and_never_relayed() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    let bad_lines: [&[u8]; 7] = [
        b"esc \x1b[31mred",
        b"bell \x07",
        b"nul \x00 inside",
        b"lone \rcr in the middle",
        b"del \x7f",
        b"c1 csi \xc2\x9b31m",
        b"\x1b]0;title\x07",
    ];
    for (i, bad) in bad_lines.iter().enumerate() {
        let mut bytes = bad.to_vec();
        bytes.extend_from_slice(format!("\nmarker {i}\n").as_bytes());
        alice.send(&bytes);
        let error = alice.expect_prefix("[ERROR]:");
        assert!(
            error.len() > "[ERROR]:".len(),
            "an empty reason for {bad:?}"
        );
        // Had the bad line been relayed, bob would get it before the marker.
        bob.expect_line(&format!("alice: marker {i}"));
    }
}
