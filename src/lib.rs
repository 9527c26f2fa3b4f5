//! chat: a TCP chat server and client, thread-per-client, std only.
//!
//! The data flows one way: socket bytes -> [`protocol`] frames -> events on a channel -> the
//! broadcaster in [`server`] -> each client's outbound queue -> socket. [`client`] is the terminal
//! side: it turns stdin lines into frames and server frames into the lines a person reads. Both
//! read and write their sockets through [`transport`], which splits a connection into a read
//! half, a write half and a closer.

#![forbid(unsafe_code)]

/// Where the server listens and the client connects unless told otherwise.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// The chat port unless told otherwise.
pub const DEFAULT_PORT: u16 = 12345;

pub mod client;
pub mod protocol;
pub mod server;
pub mod transport;
