//! A turn: the frames the broadcaster routed in one go, and which of them each client gets.
//!
//! The broadcaster routes every event already waiting into one [`Turn`], then gives every
//! client its [`Share`] of it as one queue item, so under load each writer wakes once per turn
//! rather than once per frame. The turn is shared (an `Arc`), never copied: each frame is
//! encoded once, with its [`Audience`], and each writer picks out the frames meant for it.
//!
//! Everything here is pure bookkeeping (no threads, no sockets), tested below.

use std::collections::HashMap;
use std::io::IoSlice;
use std::ops::Range;
use std::sync::Arc;

use super::ClientId;
use super::file_memory::FileReservation;
use crate::protocol::{self, ServerFrame};

/// An encoded line frame, shared by every queue it is pushed into.
pub(super) type Bytes = Arc<[u8]>;

/// Who a frame of a turn is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Audience {
    /// Every joined client (a notice from the server's console).
    Everyone,
    /// Every joined client but one: a message, a file, a join or a leave is not sent back to
    /// the client it comes from.
    AllBut(ClientId),
    /// One client alone: a private message, an answer to a command.
    Only(ClientId),
    /// The clients listed, in increasing order (those who take files, say).
    Group(Arc<[ClientId]>),
}

impl Audience {
    pub(super) fn includes(&self, id: ClientId) -> bool {
        match self {
            Audience::Everyone => true,
            Audience::AllBut(left_out) => id != *left_out,
            Audience::Only(only) => id == *only,
            Audience::Group(members) => members.binary_search(&id).is_ok(),
        }
    }
}

/// One encoded frame.
pub(super) enum Encoded {
    /// A line frame, LF included.
    Line(Bytes),
    /// A file frame: its header line and its bytes (then `<END>`), kept apart so that the
    /// bytes, which may be megabytes, are never copied.
    File { header: Bytes, data: Vec<u8> },
}

impl Encoded {
    pub(super) fn new(frame: ServerFrame) -> Encoded {
        match frame {
            ServerFrame::File { from, name, data } => Encoded::File {
                header: protocol::file_header(&from, &name, data.len()).into(),
                data,
            },
            frame => Encoded::Line(frame.encode().into()),
        }
    }

    /// What it counts for in an outbound queue: a line its length; a file only its header and
    /// `<END>`, since the bytes of files are bounded by `max_file_memory` instead, and a client
    /// on a slow link must not be dropped just because it receives a big file.
    pub(super) fn queued_len(&self) -> usize {
        match self {
            Encoded::Line(line) => line.len(),
            Encoded::File { header, .. } => header.len() + protocol::END_LINE.len(),
        }
    }

    /// Adds its parts to `slices`, to be written in that order.
    pub(super) fn add_to<'a>(&'a self, slices: &mut Vec<IoSlice<'a>>) {
        match self {
            Encoded::Line(line) => slices.push(IoSlice::new(line)),
            Encoded::File { header, data } => slices.extend([
                IoSlice::new(header),
                IoSlice::new(data),
                IoSlice::new(protocol::END_LINE),
            ]),
        }
    }
}

/// How many frames, and how many queued bytes (see [`Encoded::queued_len`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Tally {
    pub(super) frames: usize,
    pub(super) bytes: usize,
}

impl Tally {
    fn add(&mut self, bytes: usize) {
        self.frames += 1;
        self.bytes += bytes;
    }

    fn minus(self, other: Tally) -> Tally {
        Tally {
            frames: self.frames - other.frames,
            bytes: self.bytes - other.bytes,
        }
    }

    fn plus(self, other: Tally) -> Tally {
        Tally {
            frames: self.frames + other.frames,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// The part of a turn one client gets: the frames of `range` meant for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Share {
    pub(super) range: Range<usize>,
    /// The frames of `range` meant for this client, and their queued bytes.
    pub(super) mine: Tally,
    /// What queueing this share keeps in memory: the whole turn, since it is shared, frames
    /// for other clients and the client's own included. This is what its queue counts, so a
    /// client that never reads pins at most about its queue's limit, whoever sent what.
    pub(super) kept_alive: usize,
}

/// Everything the broadcaster routed in one turn. While it is being built the broadcaster owns
/// it; then it is shared by every writer, and the memory of its files is given back when the
/// last writer lets go.
#[derive(Default)]
pub(super) struct Turn {
    frames: Vec<(Audience, Encoded)>,
    /// The memory of the files among `frames`.
    files: Vec<FileReservation>,
    /// Every frame of the turn, whoever it is for.
    total: Tally,
    /// The frames addressed to every client, or to every client but one.
    to_all: Tally,
    /// For each client, the frames addressed to everyone but it.
    left_out: HashMap<ClientId, Tally>,
    /// For each client, the frames addressed to it by name (alone or in a group).
    addressed: HashMap<ClientId, Tally>,
}

impl Turn {
    /// Adds a frame for `audience` at the end of the turn.
    pub(super) fn push(&mut self, audience: Audience, frame: Encoded) {
        let len = frame.queued_len();
        self.total.add(len);
        match &audience {
            Audience::Everyone => self.to_all.add(len),
            Audience::AllBut(id) => {
                self.to_all.add(len);
                self.left_out.entry(*id).or_default().add(len);
            }
            Audience::Only(id) => self.addressed.entry(*id).or_default().add(len),
            Audience::Group(members) => {
                for id in members.iter() {
                    self.addressed.entry(*id).or_default().add(len);
                }
            }
        }
        self.frames.push((audience, frame));
    }

    /// Keeps a file's memory reserved until the turn is dropped.
    pub(super) fn hold_file(&mut self, memory: FileReservation) {
        self.files.push(memory);
    }

    pub(super) fn len(&self) -> usize {
        self.frames.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The share of client `id` in the frames of `range`.
    pub(super) fn share(&self, id: ClientId, range: Range<usize>) -> Share {
        let mine = if range == (0..self.frames.len()) {
            // The common case, in constant time: the frames for all but those that leave `id`
            // out, and those addressed to `id`.
            let tally = |map: &HashMap<ClientId, Tally>| map.get(&id).copied().unwrap_or_default();
            self.to_all
                .minus(tally(&self.left_out))
                .plus(tally(&self.addressed))
        } else {
            // A client that joined or left during the turn: count its part.
            let mut mine = Tally::default();
            for (audience, frame) in &self.frames[range.clone()] {
                if audience.includes(id) {
                    mine.add(frame.queued_len());
                }
            }
            mine
        };
        Share {
            range,
            mine,
            kept_alive: self.total.bytes,
        }
    }

    /// The frames of `range` meant for client `id`, in order.
    pub(super) fn frames_for(
        &self,
        id: ClientId,
        range: Range<usize>,
    ) -> impl Iterator<Item = &Encoded> {
        self.frames[range]
            .iter()
            .filter(move |(audience, _)| audience.includes(id))
            .map(|(_, frame)| frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(from: &str, text: &str) -> Encoded {
        Encoded::new(ServerFrame::Message {
            from: from.into(),
            text: text.into(),
        })
    }

    fn lines(turn: &Turn, id: ClientId, range: Range<usize>) -> Vec<String> {
        turn.frames_for(id, range)
            .map(|frame| match frame {
                Encoded::Line(line) => String::from_utf8_lossy(line).into_owned(),
                Encoded::File { header, .. } => String::from_utf8_lossy(header).into_owned(),
            })
            .collect()
    }

    /// A turn of three messages: from client 1, from client 2, from client 1.
    fn three_messages() -> Turn {
        let mut turn = Turn::default();
        turn.push(Audience::AllBut(1), message("a", "one"));
        turn.push(Audience::AllBut(2), message("b", "two"));
        turn.push(Audience::AllBut(1), message("a", "three"));
        turn
    }

    #[test]
    fn a_message_goes_to_everyone_but_its_sender() {
        let turn = three_messages();
        assert_eq!(lines(&turn, 1, 0..3), ["b: two\n"]);
        assert_eq!(lines(&turn, 2, 0..3), ["a: one\n", "a: three\n"]);
        assert_eq!(
            lines(&turn, 3, 0..3),
            ["a: one\n", "b: two\n", "a: three\n"]
        );
    }

    #[test]
    fn a_share_counts_the_frames_and_bytes_meant_for_the_client() {
        let turn = three_messages();
        let tally = |frames, bytes| Tally { frames, bytes };
        assert_eq!(turn.share(1, 0..3).mine, tally(1, "b: two\n".len()));
        assert_eq!(turn.share(2, 0..3).mine, tally(2, 16));
        assert_eq!(turn.share(3, 0..3).mine, tally(3, 23));
    }

    #[test]
    fn a_share_of_part_of_a_turn_counts_only_that_part() {
        // Client 3 joined after the first frame; client 2 left after the second.
        let turn = three_messages();
        assert_eq!(turn.share(3, 1..3).mine.frames, 2);
        assert_eq!(lines(&turn, 3, 1..3), ["b: two\n", "a: three\n"]);
        assert_eq!(turn.share(2, 0..2).mine.frames, 1);
        // Counted piece by piece or at once, a whole turn is the same share.
        let whole = turn.share(2, 0..3).mine;
        let by_parts: usize = turn.frames_for(2, 0..3).map(Encoded::queued_len).sum();
        assert_eq!(whole.bytes, by_parts);
    }

    #[test]
    fn a_private_frame_goes_to_its_one_client_in_its_place_in_the_order() {
        let mut turn = three_messages();
        turn.push(Audience::Only(2), message("a", "psst"));
        turn.push(Audience::AllBut(1), message("a", "four"));
        assert_eq!(
            lines(&turn, 2, 0..5),
            ["a: one\n", "a: three\n", "a: psst\n", "a: four\n"]
        );
        assert_eq!(
            lines(&turn, 3, 0..5),
            ["a: one\n", "b: two\n", "a: three\n", "a: four\n"]
        );
        assert_eq!(turn.share(2, 0..5).mine.frames, 4);
        assert_eq!(turn.share(3, 0..5).mine.frames, 4);
        assert_eq!(turn.share(1, 0..5).mine.frames, 1);
    }

    #[test]
    fn a_frame_for_everyone_or_a_group_reaches_exactly_them() {
        let mut turn = Turn::default();
        turn.push(Audience::Everyone, message("server", "hello"));
        turn.push(
            Audience::Group(Arc::from([2, 4])),
            message("a", "for two and four"),
        );
        for (id, frames) in [(1, 1), (2, 2), (3, 1), (4, 2)] {
            let share = turn.share(id, 0..2);
            assert_eq!(share.mine.frames, frames, "client {id}");
            assert_eq!(lines(&turn, id, 0..2).len(), frames, "client {id}");
        }
        // Counted by parts, the same.
        assert_eq!(turn.share(4, 1..2).mine.frames, 1);
        assert_eq!(turn.share(3, 1..2).mine.frames, 0);
    }

    #[test]
    fn a_share_keeps_the_whole_turn_alive_and_counts_it() {
        // Client 1 sent two of the three frames and gets only one, but its queue holds the
        // turn, so all three count against it.
        let turn = three_messages();
        assert_eq!(turn.share(1, 0..3).kept_alive, 23);
        assert_eq!(turn.share(3, 1..3).kept_alive, 23);
    }

    #[test]
    fn a_file_counts_its_header_and_end_only() {
        let mut turn = Turn::default();
        let file = Encoded::new(ServerFrame::File {
            from: "a".into(),
            name: "x.bin".into(),
            data: vec![0; 10_000],
        });
        let header = "[FILE]:a:x.bin:10000\n".len();
        assert_eq!(file.queued_len(), header + "<END>\n".len());
        turn.push(Audience::AllBut(1), file);
        assert_eq!(turn.share(2, 0..1).mine.bytes, header + 6);
        assert_eq!(turn.share(1, 0..1).mine, Tally::default());
    }
}
