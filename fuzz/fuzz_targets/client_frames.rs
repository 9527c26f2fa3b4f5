//! Fuzzes the decoder the server runs on what clients send: the hostile side of a chat server.

#![no_main]

use chat::protocol::ClientFrameDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| chat_fuzz::check::<ClientFrameDecoder>(input));
