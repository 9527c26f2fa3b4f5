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
#[derive(Debug)]
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

/// Frames for one client alone (a private message, the answer to a command), each with its
/// place among the shared frames: it goes right before the shared frame of that index.
#[derive(Debug, Default)]
pub(super) struct Private {
    frames: Vec<(usize, Encoded)>,
    tally: Tally,
}

/// The part of a turn one client gets: the shared frames of `range` meant for it, and its
/// private frames. It is what one queue item holds.
#[derive(Debug)]
pub(super) struct Share {
    pub(super) range: Range<usize>,
    private: Private,
    /// The frames of this share, and their queued bytes.
    pub(super) mine: Tally,
    /// What queueing this share keeps in memory: the whole shared part of the turn (frames for
    /// other clients and the client's own included, since they are shared), and its private
    /// frames. This is what its queue counts, so a client that never reads pins at most about
    /// its queue's limit, whoever sent what; and what others are told privately counts against
    /// nobody's queue but theirs.
    pub(super) kept_alive: usize,
}

impl Share {
    /// Calls `each` with the frames of this share, in order, for client `id`. (No list is made:
    /// a writer runs this once per turn, and a thousand writers run it at once.)
    pub(super) fn for_each_frame<'a>(
        &'a self,
        turn: &'a Turn,
        id: ClientId,
        mut each: impl FnMut(&'a Encoded),
    ) {
        let mut private = self.private.frames.iter().peekable();
        for (at, (audience, frame)) in turn.frames[self.range.clone()].iter().enumerate() {
            let at = self.range.start + at;
            while let Some((_, before)) = private.next_if(|(place, _)| *place <= at) {
                each(before);
            }
            if audience.includes(id) {
                each(frame);
            }
        }
        private.for_each(|(_, frame)| each(frame));
    }
}

/// Everything the broadcaster routed in one turn. While it is being built the broadcaster owns
/// it; then its shared frames are shared by every writer (the memory of its files is given back
/// when the last writer lets go), and each client's private frames go to that client's queue
/// alone.
#[derive(Default)]
pub(super) struct Turn {
    /// The frames for more than one client.
    frames: Vec<(Audience, Encoded)>,
    /// The memory of the files among `frames`.
    files: Vec<FileReservation>,
    /// Every shared frame of the turn, whoever it is for.
    total: Tally,
    /// The shared frames addressed to every client, or to every client but one.
    to_all: Tally,
    /// For each client, the shared frames addressed to everyone but it.
    left_out: HashMap<ClientId, Tally>,
    /// For each client, the shared frames addressed to a group it is in.
    addressed: HashMap<ClientId, Tally>,
    /// For each client, its private frames.
    private: HashMap<ClientId, Private>,
}

impl Turn {
    /// Adds a frame for `audience` at the end of the turn.
    pub(super) fn push(&mut self, audience: Audience, frame: Encoded) {
        let len = frame.queued_len();
        match &audience {
            Audience::Only(id) => {
                let private = self.private.entry(*id).or_default();
                private.tally.add(len);
                private.frames.push((self.frames.len(), frame));
                return;
            }
            Audience::Everyone => self.to_all.add(len),
            Audience::AllBut(id) => {
                self.to_all.add(len);
                self.left_out.entry(*id).or_default().add(len);
            }
            Audience::Group(members) => {
                for id in members.iter() {
                    self.addressed.entry(*id).or_default().add(len);
                }
            }
        }
        self.total.add(len);
        self.frames.push((audience, frame));
    }

    /// Keeps a file's memory reserved until the turn is dropped.
    pub(super) fn hold_file(&mut self, memory: FileReservation) {
        self.files.push(memory);
    }

    /// Where the next shared frame goes: a client joining or leaving now starts or ends its
    /// share here.
    pub(super) fn position(&self) -> usize {
        self.frames.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.private.is_empty()
    }

    /// Ends the building: the shared frames, for every writer to share, and each client's
    /// private frames apart.
    pub(super) fn finish(mut self) -> (Arc<Turn>, HashMap<ClientId, Private>) {
        let private = std::mem::take(&mut self.private);
        (Arc::new(self), private)
    }

    /// The share of client `id`: the shared frames of `range` meant for it, and `private`.
    pub(super) fn share(&self, id: ClientId, range: Range<usize>, private: Private) -> Share {
        let shared = if range == (0..self.frames.len()) {
            // The common case, in constant time: the frames for all but those that leave `id`
            // out, and those addressed to a group `id` is in.
            let tally = |map: &HashMap<ClientId, Tally>| map.get(&id).copied().unwrap_or_default();
            self.to_all
                .minus(tally(&self.left_out))
                .plus(tally(&self.addressed))
        } else {
            // A client that joined or left during the turn: count its part.
            let mut shared = Tally::default();
            for (audience, frame) in &self.frames[range.clone()] {
                if audience.includes(id) {
                    shared.add(frame.queued_len());
                }
            }
            shared
        };
        Share {
            range,
            mine: shared.plus(private.tally),
            kept_alive: self.total.bytes + private.tally.bytes,
            private,
        }
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

    /// The turn finished, and client `id`'s share of `range` in it.
    fn share_of(turn: Turn, id: ClientId, range: Range<usize>) -> (Arc<Turn>, Share) {
        let (turn, mut private) = turn.finish();
        let share = turn.share(id, range, private.remove(&id).unwrap_or_default());
        (turn, share)
    }

    /// The lines client `id` gets of `range`.
    fn lines(turn: Turn, id: ClientId, range: Range<usize>) -> Vec<String> {
        let (turn, share) = share_of(turn, id, range);
        let mut lines = Vec::new();
        share.for_each_frame(&turn, id, |frame| {
            lines.push(match frame {
                Encoded::Line(line) => String::from_utf8_lossy(line).into_owned(),
                Encoded::File { header, .. } => String::from_utf8_lossy(header).into_owned(),
            });
        });
        lines
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
        assert_eq!(lines(three_messages(), 1, 0..3), ["b: two\n"]);
        assert_eq!(lines(three_messages(), 2, 0..3), ["a: one\n", "a: three\n"]);
        assert_eq!(
            lines(three_messages(), 3, 0..3),
            ["a: one\n", "b: two\n", "a: three\n"]
        );
    }

    #[test]
    fn a_share_counts_the_frames_and_bytes_meant_for_the_client() {
        let tally = |frames, bytes| Tally { frames, bytes };
        let mine = |id| share_of(three_messages(), id, 0..3).1.mine;
        assert_eq!(mine(1), tally(1, "b: two\n".len()));
        assert_eq!(mine(2), tally(2, 16));
        assert_eq!(mine(3), tally(3, 23));
    }

    #[test]
    fn a_share_of_part_of_a_turn_counts_only_that_part() {
        // Client 3 joined after the first frame; client 2 left after the second.
        assert_eq!(share_of(three_messages(), 3, 1..3).1.mine.frames, 2);
        assert_eq!(lines(three_messages(), 3, 1..3), ["b: two\n", "a: three\n"]);
        assert_eq!(share_of(three_messages(), 2, 0..2).1.mine.frames, 1);
        // Counted piece by piece or at once, a whole turn is the same share.
        let (turn, share) = share_of(three_messages(), 2, 0..3);
        let mut by_parts = 0;
        share.for_each_frame(&turn, 2, |frame| by_parts += frame.queued_len());
        assert_eq!(share.mine.bytes, by_parts);
    }

    /// Three messages, with a private one to client 2 between the second and the third, and
    /// one to client 3 at the end.
    fn with_private_frames() -> Turn {
        let mut turn = Turn::default();
        turn.push(Audience::AllBut(1), message("a", "one"));
        turn.push(Audience::AllBut(2), message("b", "two"));
        turn.push(Audience::Only(2), message("a", "psst"));
        turn.push(Audience::AllBut(1), message("a", "three"));
        turn.push(Audience::Only(3), message("b", "last"));
        turn
    }

    #[test]
    fn a_private_frame_goes_to_its_one_client_in_its_place_in_the_order() {
        assert_eq!(
            lines(with_private_frames(), 2, 0..3),
            ["a: one\n", "a: psst\n", "a: three\n"]
        );
        assert_eq!(
            lines(with_private_frames(), 3, 0..3),
            ["a: one\n", "b: two\n", "a: three\n", "b: last\n"]
        );
        assert_eq!(lines(with_private_frames(), 1, 0..3), ["b: two\n"]);
        assert_eq!(share_of(with_private_frames(), 2, 0..3).1.mine.frames, 3);
        assert_eq!(share_of(with_private_frames(), 3, 0..3).1.mine.frames, 4);
    }

    #[test]
    fn a_private_frame_counts_against_its_clients_queue_alone() {
        // The shared frames count for everyone who holds them; a private one only for its
        // client, since nobody else's queue keeps it.
        let shared = "a: one\n".len() + "b: two\n".len() + "a: three\n".len();
        let kept = |id| share_of(with_private_frames(), id, 0..3).1.kept_alive;
        assert_eq!(kept(1), shared);
        assert_eq!(kept(2), shared + "a: psst\n".len());
        assert_eq!(kept(3), shared + "b: last\n".len());
    }

    #[test]
    fn a_turn_of_private_frames_only_is_not_empty() {
        let mut turn = Turn::default();
        turn.push(Audience::Only(5), message("a", "psst"));
        assert!(!turn.is_empty());
        assert_eq!(turn.position(), 0);
        assert_eq!(lines(turn, 5, 0..0), ["a: psst\n"]);
    }

    #[test]
    fn a_frame_for_everyone_or_a_group_reaches_exactly_them() {
        let two_frames = || {
            let mut turn = Turn::default();
            turn.push(Audience::Everyone, message("server", "hello"));
            turn.push(
                Audience::Group(Arc::from([2, 4])),
                message("a", "for two and four"),
            );
            turn
        };
        for (id, frames) in [(1, 1), (2, 2), (3, 1), (4, 2)] {
            let (_, share) = share_of(two_frames(), id, 0..2);
            assert_eq!(share.mine.frames, frames, "client {id}");
            assert_eq!(lines(two_frames(), id, 0..2).len(), frames, "client {id}");
        }
        // Counted by parts, the same.
        assert_eq!(share_of(two_frames(), 4, 1..2).1.mine.frames, 1);
        assert_eq!(share_of(two_frames(), 3, 1..2).1.mine.frames, 0);
    }

    #[test]
    fn a_share_keeps_the_whole_shared_turn_alive_and_counts_it() {
        // Client 1 sent two of the three frames and gets only one, but its queue holds the
        // turn, so all three count against it.
        assert_eq!(share_of(three_messages(), 1, 0..3).1.kept_alive, 23);
        assert_eq!(share_of(three_messages(), 3, 1..3).1.kept_alive, 23);
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
        let (turn, mut private) = turn.finish();
        let mut share = |id| turn.share(id, 0..1, private.remove(&id).unwrap_or_default());
        assert_eq!(share(2).mine.bytes, header + 6);
        assert_eq!(share(1).mine, Tally::default());
    }
}
