//! The frames: what a client sends ([`ClientFrame`]), what the server sends ([`ServerFrame`]),
//! and the bytes each one is on the wire. This is the last step of the data flow on the way out:
//! the server's writer and the client send `encode`d frames. The decoders turn the bytes back.

use super::{COMMAND_PREFIX, Command, END_LINE, EXIT_COMMAND, FILE_TAG};

/// A frame a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// A line of text: the username during the handshake, a chat message after it. A line
    /// `//text` is the text `/text`.
    Text(String),
    /// A line starting with one `/`: a command (see [`Command`]).
    Command(Command),
    /// An empty line. It means nothing, but it shows the client is still there.
    Empty,
    /// `exit`: the client leaves.
    Exit,
    /// A whole file, sent in the sized or in the text form; always encoded in the sized form.
    File { name: String, data: Vec<u8> },
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame {
    /// `[INFO]:<text>`: information for people.
    Info(String),
    /// `[WELCOME]:<name>`: the name was accepted.
    Welcome(String),
    /// `[USERS]:<name>,<name>,...`: who is online, the new user included.
    Users(Vec<String>),
    /// `<from>: <text>`: a chat message.
    Message { from: String, text: String },
    /// `[PM]:<from>:<text>`: a private message from `<from>`, to this client alone.
    Private { from: String, text: String },
    /// `[HISTORY]:<at>:<from>:<text>`: a public message sent before this client joined, at `at`
    /// seconds since the Unix epoch (UTC).
    History { at: u64, from: String, text: String },
    /// `[NOTICE]:<text>`: a notice from the server's operator, which no user can send.
    Notice(String),
    /// `[JOIN]:<name>`: someone else joined.
    Join(String),
    /// `[LEAVE]:<name>`: someone else left.
    Leave(String),
    /// `[FILE]:<from>:<name>:<size>`, the bytes, `<END>`: a file from another user.
    File {
        from: String,
        name: String,
        data: Vec<u8>,
    },
    /// `[ERROR]:<text>`: the last frame was refused, or why the connection is being closed.
    Error(String),
    /// `[AUTH]:<text>`: the name is registered: the next line must be its password. The text,
    /// for people, says for which name (`password for alice`).
    Auth(String),
}

impl ClientFrame {
    /// The bytes of this frame on the wire. Files are always sent in the sized form.
    ///
    /// A `Text` starting with `/` is sent as `//...`, so that it is not read as a command. A
    /// `Text` must hold no LF, and not be `exit`, empty or a `[FILE]:` header, or it will be read
    /// back as another frame; the client refuses such lines before they get here.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ClientFrame::Text(text) if text.starts_with(COMMAND_PREFIX) => {
                line(&format!("{COMMAND_PREFIX}{text}"))
            }
            ClientFrame::Text(text) => line(text),
            ClientFrame::Command(command) => line(&command.to_string()),
            ClientFrame::Empty => b"\n".to_vec(),
            ClientFrame::Exit => line(EXIT_COMMAND),
            ClientFrame::File { name, data } => {
                file_frame(line(&format!("{FILE_TAG}{name}:{}", data.len())), data)
            }
        }
    }
}

impl ServerFrame {
    /// The bytes of this frame on the wire.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ServerFrame::Info(text) => line(&format!("[INFO]:{text}")),
            ServerFrame::Welcome(name) => line(&format!("[WELCOME]:{name}")),
            ServerFrame::Users(names) => line(&format!("[USERS]:{}", names.join(","))),
            ServerFrame::Message { from, text } => line(&format!("{from}: {text}")),
            ServerFrame::Private { from, text } => line(&format!("[PM]:{from}:{text}")),
            ServerFrame::History { at, from, text } => {
                line(&format!("[HISTORY]:{at}:{from}:{text}"))
            }
            ServerFrame::Notice(text) => line(&format!("[NOTICE]:{text}")),
            ServerFrame::Join(name) => line(&format!("[JOIN]:{name}")),
            ServerFrame::Leave(name) => line(&format!("[LEAVE]:{name}")),
            ServerFrame::File { from, name, data } => {
                file_frame(file_header(from, name, data.len()), data)
            }
            ServerFrame::Error(text) => line(&format!("[ERROR]:{text}")),
            ServerFrame::Auth(text) => line(&format!("[AUTH]:{text}")),
        }
    }
}

/// The first line of a file frame from the server, `[FILE]:<from>:<name>:<size>` LF. The frame
/// goes on with the `size` bytes and [`END_LINE`]. A server relaying a big file can send the
/// three parts as they are, rather than copy the bytes into one buffer with `encode`.
pub fn file_header(from: &str, name: &str, size: usize) -> Vec<u8> {
    line(&format!("{FILE_TAG}{from}:{name}:{size}"))
}

/// A whole file frame, in either direction: its `header` line (LF included), the bytes, and
/// [`END_LINE`].
fn file_frame(header: Vec<u8>, data: &[u8]) -> Vec<u8> {
    let mut out = header;
    out.reserve_exact(data.len() + END_LINE.len());
    out.extend_from_slice(data);
    out.extend_from_slice(END_LINE);
    out
}

/// `text` and an LF.
fn line(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 1);
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::testing::{
        client_frames, client_frames_bytewise, server_frames, server_frames_bytewise,
    };

    #[test]
    fn client_frames_round_trip() {
        let frames = vec![
            ClientFrame::Text("hello".into()),
            ClientFrame::Text("/not a command".into()),
            ClientFrame::Text("//two".into()),
            ClientFrame::Command(Command::Users),
            ClientFrame::Command(Command::Msg {
                to: "bob".into(),
                text: "hi".into(),
            }),
            ClientFrame::Command(Command::Unknown("/x y".into())),
            ClientFrame::Empty,
            ClientFrame::File {
                name: "f.bin".into(),
                data: b"\0\n<END>\n".to_vec(),
            },
            ClientFrame::Exit,
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(ClientFrame::encode).collect();
        assert!(bytes.starts_with(b"hello\n//not a command\n///two\n/users\n/msg bob hi\n"));
        let expected: Vec<_> = frames.into_iter().map(Ok).collect();
        assert_eq!(client_frames(&bytes), expected);
        assert_eq!(client_frames_bytewise(&bytes), expected);
    }

    #[test]
    fn server_frames_encode_as_the_protocol_says() {
        let cases = [
            (ServerFrame::Info("hi there".into()), "[INFO]:hi there\n"),
            (ServerFrame::Welcome("bob".into()), "[WELCOME]:bob\n"),
            (
                ServerFrame::Users(vec!["alice".into(), "bob".into()]),
                "[USERS]:alice,bob\n",
            ),
            (
                ServerFrame::Message {
                    from: "alice".into(),
                    text: "hi: you".into(),
                },
                "alice: hi: you\n",
            ),
            (
                ServerFrame::Private {
                    from: "alice".into(),
                    text: "psst: here".into(),
                },
                "[PM]:alice:psst: here\n",
            ),
            (
                ServerFrame::History {
                    at: 1_796_121_420,
                    from: "alice".into(),
                    text: "earlier: yes".into(),
                },
                "[HISTORY]:1796121420:alice:earlier: yes\n",
            ),
            (
                ServerFrame::Notice("back in 5 minutes".into()),
                "[NOTICE]:back in 5 minutes\n",
            ),
            (ServerFrame::Join("bob".into()), "[JOIN]:bob\n"),
            (
                ServerFrame::Auth("password for bob".into()),
                "[AUTH]:password for bob\n",
            ),
            (ServerFrame::Leave("bob".into()), "[LEAVE]:bob\n"),
            (
                ServerFrame::File {
                    from: "alice".into(),
                    name: "a.txt".into(),
                    data: b"xy".to_vec(),
                },
                "[FILE]:alice:a.txt:2\nxy<END>\n",
            ),
            (
                ServerFrame::Error("line too long".into()),
                "[ERROR]:line too long\n",
            ),
        ];
        for (frame, wire) in cases {
            assert_eq!(String::from_utf8(frame.encode()).unwrap(), wire);
            assert_eq!(server_frames(wire.as_bytes()), vec![Ok(frame.clone())]);
            assert_eq!(server_frames_bytewise(wire.as_bytes()), vec![Ok(frame)]);
        }
    }
}
