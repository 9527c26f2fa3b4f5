//! Fuzzes the decoder a client runs on what the server sends: a client trusts no server.

#![no_main]

use chat::protocol::ServerFrameDecoder;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| chat_fuzz::check::<ServerFrameDecoder>(input));
