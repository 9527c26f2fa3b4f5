//! Accepting: the acceptor thread takes each new connection, asks admission whether it may
//! stay, and starts its two threads, a reader and a writer, which share the connection's guard.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::admission::ConnectionGuard;
use super::event::Event;
use super::flood::TokenBucket;
use super::queue::outbound_queue;
use super::reader::{Departure, READ_BUFFER, Reader};
use super::turned_away::TurnedAway;
use super::writer::{self, Writer};
use super::{ClientId, Shared};
use crate::protocol::{ClientFrameDecoder, ServerFrame};

/// Stack of each client thread; they keep their buffers on the heap.
const CLIENT_STACK: usize = 128 * 1024;

pub(super) fn accept_loop(listener: TcpListener, shared: Arc<Shared>, events: Sender<Event>) {
    let mut next_id: ClientId = 1;
    // Without it, a turned-away connection is closed at once (its [ERROR] may then be lost).
    let turned_away = TurnedAway::start()
        .map_err(|error| log::warn!("turned-away connections will not linger: {error}"))
        .ok();
    for stream in listener.incoming() {
        if shared.stopping.is_set() {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                // Usually out of file descriptors: wait a moment instead of spinning.
                log::warn!("accept failed: {error}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let id = next_id;
        next_id += 1;
        if let Err(error) = open_connection(id, stream, &shared, &events, turned_away.as_ref()) {
            log::warn!("connection {id} could not be set up: {error}");
        }
    }
}

/// Registers a new connection and starts its reader and writer threads, or turns it away when
/// the access rules or a connection limit refuse it (it lingers in `turned_away`).
fn open_connection(
    id: ClientId,
    stream: TcpStream,
    shared: &Arc<Shared>,
    events: &Sender<Event>,
    turned_away: Option<&TurnedAway>,
) -> io::Result<()> {
    let config = &shared.config;
    let transport = config.transport(stream)?;
    let socket = transport.socket();
    // Small frames must not wait for delayed ACKs.
    socket.set_nodelay(true)?;
    // A write waits at most this long, so the writer can judge progress (see `writer.rs`).
    socket.set_write_timeout(Some(writer::WRITE_SLICE.min(config.write_timeout)))?;
    let connected_at = Instant::now();
    let peer = socket.peer_addr()?;
    let ip = peer.ip();
    let limited = shared.limits_apply_to(ip);
    let (stream, mut sink, closer) = transport.split()?;
    if let Some(refusal) = shared.connections.admit(id, &closer, ip, limited, config) {
        if shared.log_budget.allow() {
            log::warn!("turned away {ip}: {}", refusal.for_the_log());
        }
        // The same goodbye as any other connection's: the [ERROR], FIN, then a linger for what
        // the client still sends, so that a reset does not destroy the [ERROR]. Over TLS the
        // write half sends nothing before a handshake, and a refused connection gets none: it
        // is closed without its [ERROR] (a FIN alone), with nothing to linger for.
        let told = sink.write_all(&ServerFrame::Error(refusal.to_string()).encode());
        let _ = sink.finish();
        if let (Ok(()), Some(turned_away)) = (told, turned_away) {
            turned_away.hand_over(stream.into_socket());
        }
        return Ok(());
    }
    log::debug!("connection {id} from {ip}");
    let guard = Arc::new(ConnectionGuard {
        id,
        ip,
        shared: Arc::clone(shared),
    });

    let (outbound, inbox) = outbound_queue(config.send_queue);
    // The reader holds `reader_alive` until it ends; the writer waits on it while lingering.
    let (reader_alive, reader_done) = crossbeam_channel::bounded::<()>(0);

    let writer = Writer {
        id,
        peer,
        stream: sink,
        closer,
        inbox,
        reader_done,
        guard: Arc::clone(&guard),
    };
    thread::Builder::new()
        .name(format!("client-{id}-writer"))
        .stack_size(CLIENT_STACK)
        .spawn(move || writer.run())?;

    let flood = match config.flood_limit {
        Some(limit) if limited => Some(TokenBucket::new(limit, Instant::now())),
        _ => None,
    };
    let reader = Box::new(Reader {
        id,
        stream,
        peer,
        connected_at,
        decoder: ClientFrameDecoder::new(config.max_line, config.max_file_size),
        outbound,
        events: events.clone(),
        shared: Arc::clone(shared),
        buffer: vec![0; READ_BUFFER],
        flood,
        told_paced: false,
        name: None,
        refusals: 0,
        file: None,
        read_timeout: None,
        departure: Departure {
            id,
            events: events.clone(),
            joined: false,
        },
        _alive: reader_alive,
        _guard: guard,
    });
    thread::Builder::new()
        .name(format!("client-{id}-reader"))
        .stack_size(CLIENT_STACK)
        .spawn(move || reader.run())?;
    Ok(())
}
