//! The broadcaster: one thread that owns the list of joined clients and decides who gets what.
//!
//! It takes events one at a time from the readers (and the console), in one global order, and
//! routes the frames each one makes into the current [`Turn`]. When no more events are waiting
//! (or the turn is full), every client gets its share of the turn as one item in its outbound
//! queue. It never touches a socket and never waits for a client: a client whose queue is full
//! is dropped.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::Receiver;

use super::ClientId;
use super::console::{ConsoleRequest, KickError, OnlineUser};
use super::event::{Event, JoinAnswer};
use super::history::History;
use super::queue::Outbound;
use super::transcript::Transcript;
use super::turn::{Audience, Encoded, Turn};
use crate::protocol::{self, ServerFrame};

/// Events the broadcaster routes in one turn at most: every event counts, those that route no
/// frame too (a refused name), so a stream of them cannot hold a turn open.
const MAX_TURN: usize = 256;
/// How long one turn may take at most, however many events are waiting: no frame waits in an
/// open turn for longer than this. Routing 256 events takes far less, so this only ends a turn
/// whose thread was not given the CPU for a while: ending it then does not get its frames out
/// much sooner, and it costs another wake of every writer, so it is not short.
const MAX_TURN_TIME: Duration = Duration::from_millis(50);
/// How long a turn that holds a join waits for more events before it ends. Every turn wakes
/// every writer, and joins come in storms (a class logging in at once): gathering them into
/// fewer turns is worth delaying a `[JOIN]` notice by a millisecond. A newcomer's own
/// `[WELCOME]` is not delayed.
const JOIN_GATHER: Duration = Duration::from_millis(1);
/// How long a turn waits for more events before it ends while a burst is on (the turn, or the
/// one before it, holds two events or more). Under a burst, bigger turns mean fewer wakes of
/// every writer; a lone message in a quiet chat does not wait at all.
const BURST_GATHER: Duration = Duration::from_micros(50);
/// How many times a gathering turn gives up the CPU, once its wait is over and no event is
/// waiting, before it ends. On a busy machine (a thousand writers on two cores) a reader with
/// an event ready may simply not have run yet: letting it run first makes the turn bigger, and
/// a turn fewer is a wake of every writer fewer. Without this, a burst to 1,000 clients ran in
/// turns of 4 to 16 events instead of 256, and 2.5 times slower.
const YIELDS_BEFORE_END: usize = 4;

/// When a turn ends: how it started, and how far it has come.
#[derive(Clone, Copy)]
struct TurnClock {
    started: Instant,
    /// Events handled so far.
    handled: usize,
    /// Until when the turn waits for more events (see `JOIN_GATHER` and `BURST_GATHER`).
    gather_until: Option<Instant>,
}

impl TurnClock {
    fn new() -> TurnClock {
        TurnClock {
            started: Instant::now(),
            handled: 0,
            gather_until: None,
        }
    }

    /// The turn takes `event`: it may now gather longer.
    fn count(&mut self, event: &Event, burst: bool) {
        let wait = match event {
            Event::Join { .. } => Some(JOIN_GATHER),
            _ if burst || self.handled > 0 => Some(BURST_GATHER),
            _ => None,
        };
        self.gather_until = self.gather_until.max(wait.map(|wait| self.started + wait));
        self.handled += 1;
    }

    /// The next event for the turn, if it goes on. A turn takes every event already waiting and
    /// waits for more until `gather_until` (then yields `YIELDS_BEFORE_END` times for the ones
    /// that are on their way); it ends after `MAX_TURN` events or `MAX_TURN_TIME`, even while
    /// more are waiting.
    fn next(&self, events: &Receiver<Event>) -> Option<Event> {
        let now = Instant::now();
        if self.handled >= MAX_TURN || now >= self.started + MAX_TURN_TIME {
            return None;
        }
        match self.gather_until {
            Some(until) if now < until => events.recv_deadline(until).ok(),
            Some(_) => events.try_recv().ok().or_else(|| {
                (0..YIELDS_BEFORE_END).find_map(|_| {
                    thread::yield_now();
                    events.try_recv().ok()
                })
            }),
            None => events.try_recv().ok(),
        }
    }
}

/// A joined client, as the broadcaster knows it.
struct Client {
    name: String,
    outbound: Outbound,
    /// Where this client's share of the turn being built starts (it may join mid-turn).
    since: usize,
    peer: SocketAddr,
    connected_at: Instant,
    /// Whether it said `/files on`: only then is it sent `[FILE]` frames, which carry any bytes
    /// at all; the others are told of a shared file in one `[INFO]` line.
    takes_files: bool,
}

/// A client that left during the turn being built: it still gets what was routed to it before,
/// then `last_words`, if any, as the frame that closes its connection.
struct Departed {
    id: ClientId,
    outbound: Outbound,
    share_start: usize,
    share_end: usize,
    last_words: Option<ServerFrame>,
}

pub(super) struct Broadcaster {
    /// Joined clients by id; ids grow, so this is the order in which they connected.
    clients: BTreeMap<ClientId, Client>,
    /// The joined clients by lower-cased name: names are unique regardless of case.
    names: HashMap<String, ClientId>,
    history: History,
    transcript: Transcript,
    turn: Turn,
    departed: Vec<Departed>,
}

impl Broadcaster {
    pub(super) fn new(transcript: Transcript, history: usize) -> Broadcaster {
        Broadcaster {
            clients: BTreeMap::new(),
            names: HashMap::new(),
            history: History::new(history),
            transcript,
            turn: Turn::default(),
            departed: Vec::new(),
        }
    }

    /// The loop at the heart of the server. It takes events one at a time, in one global order,
    /// routing each frame into the current turn; when no more events are waiting, the turn's
    /// deadline has passed or it holds `MAX_TURN` events, every client gets its share of the
    /// turn in one queue item.
    pub(super) fn run(mut self, events: Receiver<Event>) {
        // Whether the last turn held more than one event: a burst is on.
        let mut burst = false;
        'events: while let Ok(event) = events.recv() {
            // A turn with a join, or during a burst, waits a moment for more events (see
            // `JOIN_GATHER` and `BURST_GATHER`); a lone message in a quiet chat goes out at once.
            let mut clock = TurnClock::new();
            let mut next = Some(event);
            while let Some(event) = next {
                clock.count(&event, burst);
                if !self.handle(event) {
                    break 'events;
                }
                next = clock.next(&events);
            }
            burst = clock.handled > 1;
            self.end_turn();
        }
        self.end_turn();
        // Each writer sends what is queued, then the goodbye, then closes its connection.
        let goodbye = ServerFrame::Error(protocol::SHUTTING_DOWN.into());
        for client in self.clients.values() {
            client.outbound.close_with(&goodbye);
        }
    }

    /// Routes one event. False for `Shutdown`.
    fn handle(&mut self, event: Event) -> bool {
        match event {
            Event::Join {
                id,
                name,
                peer,
                connected_at,
                outbound,
                reply,
            } => {
                let client = Client {
                    name,
                    outbound,
                    since: 0,
                    peer,
                    connected_at,
                    takes_files: false,
                };
                let answer = self.join(id, client);
                let _ = reply.send(answer);
            }
            Event::Message { id, text } => {
                if let Some(from) = self.name_of(id) {
                    self.transcript.record(&format!("{from}: {text}"));
                    self.history.record(SystemTime::now(), &from, &text);
                    self.route(Audience::AllBut(id), ServerFrame::Message { from, text });
                }
            }
            Event::Answer { id, frame } => {
                if self.clients.contains_key(&id) {
                    self.route(Audience::Only(id), frame);
                }
            }
            Event::Users { id } => {
                if self.clients.contains_key(&id) {
                    let users = self.clients.values().map(|c| c.name.clone()).collect();
                    self.route(Audience::Only(id), ServerFrame::Users(users));
                }
            }
            Event::Private { id, to, text } => self.private(id, &to, text),
            Event::Files { id, on } => {
                if let Some(client) = self.clients.get_mut(&id) {
                    client.takes_files = on;
                    let answer = if on {
                        "files on: you will be sent the files others share (/files off to stop)"
                    } else {
                        "files off: you will only be told of the files others share \
                         (/files on to receive them)"
                    };
                    self.route(Audience::Only(id), ServerFrame::Info(answer.into()));
                }
            }
            Event::File {
                id,
                name,
                data,
                memory,
            } => {
                if let Some(from) = self.name_of(id) {
                    let size = data.len();
                    let line = format!("[Notification] File '{name}' ({size} bytes) from {from}.");
                    log::info!("{line}");
                    self.transcript.record(&line);
                    self.share_file(id, from, name, data);
                    self.turn.hold_file(memory);
                }
            }
            Event::Leave { id, last_words } => self.remove(id, last_words),
            Event::Console(request) => self.console(request),
            Event::Shutdown => return false,
        }
        true
    }

    fn name_of(&self, id: ClientId) -> Option<String> {
        // None when the client was dropped while its frame was on the way.
        self.clients.get(&id).map(|client| client.name.clone())
    }

    /// The joined client called `name`, compared without case.
    fn find(&self, name: &str) -> Option<ClientId> {
        self.names.get(&name.to_ascii_lowercase()).copied()
    }

    /// Adds a client under its name unless the name is taken in any case.
    fn join(&mut self, id: ClientId, mut client: Client) -> JoinAnswer {
        let key = client.name.to_ascii_lowercase();
        if self.names.contains_key(&key) {
            return JoinAnswer::NameTaken;
        }
        let name = client.name.clone();
        let mut users: Vec<&str> = self.clients.values().map(|c| c.name.as_str()).collect();
        // In connection order, the new user too: who connected earlier may join later.
        users.insert(self.clients.range(..id).count(), &name);
        let users = users.into_iter().map(String::from).collect();
        // The newcomer's first frames go straight to its queue: it has no share of this turn
        // yet, so nothing routed before can come after them.
        let outbound = &client.outbound;
        let welcome = outbound
            .push_frame(&ServerFrame::Welcome(name.clone()))
            .and_then(|()| outbound.push_frame(&ServerFrame::Users(users)))
            .and_then(|()| {
                self.history
                    .frames()
                    .try_for_each(|past| outbound.push_frame(&past))
            });
        if welcome.is_err() {
            return JoinAnswer::QueueFull;
        }
        self.names.insert(key, id);
        client.since = self.turn.position();
        self.clients.insert(id, client);
        log::info!("[+] {name} is connected.");
        self.transcript
            .record(&format!("{name} has joined the chat room."));
        self.route(Audience::AllBut(id), ServerFrame::Join(name));
        JoinAnswer::Welcome
    }

    /// A file from `id`: its bytes to the clients that take files, one line about it to the
    /// others. Nobody gets a client's bytes it did not ask for (a terminal would show them).
    fn share_file(&mut self, id: ClientId, from: String, name: String, data: Vec<u8>) {
        // In id order, as a group's members must be.
        let (mut takers, mut others) = (Vec::new(), Vec::new());
        for (&other, client) in &self.clients {
            match (other == id, client.takes_files) {
                (true, _) => {}
                (false, true) => takers.push(other),
                (false, false) => others.push(other),
            }
        }
        if !others.is_empty() {
            let size = data.len();
            let notice =
                format!("{from} shared {name} ({size} bytes); type /files on to receive files");
            self.route(Audience::Group(others.into()), ServerFrame::Info(notice));
        }
        if !takers.is_empty() {
            let file = ServerFrame::File { from, name, data };
            self.route(Audience::Group(takers.into()), file);
        }
    }

    /// A private message from `id` to the client called `to`, in its place in the one order.
    fn private(&mut self, id: ClientId, to: &str, text: String) {
        let Some(from) = self.name_of(id) else { return };
        let answer = match self.find(to) {
            Some(to_id) if to_id == id => {
                ServerFrame::Error("you cannot send a private message to yourself".into())
            }
            Some(to_id) => {
                // Logged without its text, and not in the public transcript.
                log::debug!("[PM] {from} -> {to}");
                self.route(Audience::Only(to_id), ServerFrame::Private { from, text });
                return;
            }
            None => ServerFrame::Error(format!("no such user: {to}")),
        };
        self.route(Audience::Only(id), answer);
    }

    /// Removes a client, if it is still here, and tells the others. It still gets what was
    /// routed to it earlier in this turn, then `last_words` if any.
    fn remove(&mut self, id: ClientId, last_words: Option<ServerFrame>) {
        if let Some(client) = self.forget(id) {
            self.departed.push(Departed {
                id,
                outbound: client.outbound,
                share_start: client.since,
                share_end: self.turn.position(),
                last_words,
            });
            self.route(Audience::AllBut(id), ServerFrame::Leave(client.name));
        }
    }

    fn forget(&mut self, id: ClientId) -> Option<Client> {
        let client = self.clients.remove(&id)?;
        self.names.remove(&client.name.to_ascii_lowercase());
        log::info!("[-] {} is disconnected.", client.name);
        self.transcript
            .record(&format!("{} has left the chat.", client.name));
        Some(client)
    }

    /// Carries out what the operator asked at the server's console.
    fn console(&mut self, request: ConsoleRequest) {
        match request {
            ConsoleRequest::Users { reply } => {
                let now = Instant::now();
                let users = self
                    .clients
                    .values()
                    .map(|client| OnlineUser {
                        name: client.name.clone(),
                        address: client.peer,
                        connected_for: now.saturating_duration_since(client.connected_at),
                    })
                    .collect();
                let _ = reply.send(users);
            }
            ConsoleRequest::Kick {
                name,
                reason,
                reply,
            } => {
                let answer = match self.find(&name) {
                    Some(id) => {
                        let name = self.clients[&id].name.clone();
                        let why = match &reason {
                            Some(reason) => format!("removed by the server: {reason}"),
                            None => "removed by the server".to_owned(),
                        };
                        log::info!("[-] {name} was removed at the console ({why})");
                        self.transcript.record(&format!("{name} was {why}."));
                        self.remove(id, Some(ServerFrame::Error(why)));
                        Ok(name)
                    }
                    None => Err(KickError::NoSuchUser(name)),
                };
                let _ = reply.send(answer);
            }
            ConsoleRequest::Say { text } => {
                self.transcript.record(&format!("[NOTICE] {text}"));
                self.route(Audience::Everyone, ServerFrame::Notice(text));
            }
        }
    }

    /// Adds `frame` to this turn for `audience`. Encoded once, shared by every queue.
    fn route(&mut self, audience: Audience, frame: ServerFrame) {
        self.turn.push(audience, Encoded::new(frame));
    }

    /// Gives every client its share of the turn in one queue item. A client whose queue would
    /// overflow is dropped, and the others are told with `[LEAVE]` in a new turn (which may in
    /// turn overflow someone else).
    fn end_turn(&mut self) {
        while !self.turn.is_empty() {
            let (turn, mut private) = std::mem::take(&mut self.turn).finish();
            let len = turn.position();
            let mut overflowed = Vec::new();
            for (&id, client) in &mut self.clients {
                let own = private.remove(&id).unwrap_or_default();
                let share = turn.share(id, client.since..len, own);
                client.since = 0;
                if share.mine.frames > 0 && client.outbound.push_share(&turn, share).is_err() {
                    overflowed.push(id);
                }
            }
            for departed in std::mem::take(&mut self.departed) {
                let own = private.remove(&departed.id).unwrap_or_default();
                let range = departed.share_start..departed.share_end;
                let share = turn.share(departed.id, range, own);
                if share.mine.frames > 0 {
                    let _ = departed.outbound.push_share(&turn, share);
                }
                if let Some(last_words) = &departed.last_words {
                    departed.outbound.close_with(last_words);
                }
            }
            for id in overflowed {
                if let Some(client) = self.clients.get(&id) {
                    let (name, peer) = (&client.name, client.peer);
                    log::warn!("dropping {name} ({peer}): send queue exceeded");
                }
                if let Some(client) = self.forget(id) {
                    self.route(Audience::AllBut(id), ServerFrame::Leave(client.name));
                }
            }
        }
    }
}
