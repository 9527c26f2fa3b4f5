//! What the tests of the app and of the view share: an app in a known state, at a known time.

use std::time::Instant;

use super::app::{App, Effect, Phase};
use super::net::Inbound;
use crate::client::Config;
use crate::protocol::ServerFrame;

/// 2026-12-01 10:37 UTC, the wall clock of every test app.
pub(super) fn ten_thirty_seven() -> u64 {
    1_796_121_420
}

pub(super) fn config(name: Option<&str>) -> Config {
    Config {
        name: name.map(str::to_owned),
        ..Config::default()
    }
}

/// An app joined as alice, with bob online too, its effects so far forgotten.
pub(super) fn joined() -> App {
    let now = Instant::now();
    let mut app = App::new(config(Some("alice")), now, ten_thirty_seven);
    for frame in [
        ServerFrame::Info("Welcome".into()),
        ServerFrame::Welcome("alice".into()),
        ServerFrame::Users(vec!["bob".into(), "alice".into()]),
        ServerFrame::Info("files on: you will be sent files".into()),
    ] {
        app.on_inbound(Inbound::Frame(frame), now);
    }
    assert!(matches!(app.phase(), Phase::Joined));
    let _: Vec<Effect> = app.take_effects();
    app
}

/// A frame from the server, as the receiver thread reports it.
pub(super) fn frame(app: &mut App, frame: ServerFrame) {
    app.on_inbound(Inbound::Frame(frame), Instant::now());
}

/// A chat message from `from`.
pub(super) fn message(from: &str, text: &str) -> ServerFrame {
    ServerFrame::Message {
        from: from.into(),
        text: text.into(),
    }
}
