//! The screen for a state: frames in, an app drawn into ratatui's `TestBackend`, the screen's
//! text (and a cell's style) read back. One element per test.

use std::time::Instant;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Position;

use super::*;
use crate::client::Config;
use crate::client::inbound::Closed;
use crate::client::tui::net::Inbound;
use crate::client::tui::testing::{frame, joined, message};
use crate::protocol::ServerFrame;

/// The app drawn on a `width` x `height` terminal.
fn drawn(app: &App, width: u16, height: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| {
            draw(frame, app);
        })
        .unwrap();
    terminal
}

/// The screen's rows as text.
fn rows(buffer: &Buffer) -> Vec<String> {
    let area = buffer.area;
    (0..area.height)
        .map(|y| (0..area.width).map(|x| buffer[(x, y)].symbol()).collect())
        .collect()
}

/// The app's screen at 80 x 24, as text.
fn screen(app: &App) -> Vec<String> {
    rows(drawn(app, 80, 24).backend().buffer())
}

/// The one row holding `text`; panics unless exactly one does.
fn row_with<'a>(screen: &'a [String], text: &str) -> &'a str {
    let found: Vec<&String> = screen.iter().filter(|row| row.contains(text)).collect();
    assert_eq!(found.len(), 1, "{text:?} in {screen:#?}");
    found[0]
}

/// Where `text` starts on the screen.
fn position_of(buffer: &Buffer, text: &str) -> Position {
    let screen = rows(buffer);
    let y = screen.iter().position(|row| row.contains(text)).unwrap();
    let byte = screen[y].find(text).unwrap();
    let x = screen[y][..byte].chars().count();
    Position::new(x as u16, y as u16)
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(
            KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            Instant::now(),
        );
    }
}

#[test]
fn the_conversation_shows_each_line_after_its_time() {
    let mut app = joined();
    frame(&mut app, message("bob", "hi alice"));
    frame(
        &mut app,
        ServerFrame::Private {
            from: "bob".into(),
            text: "psst".into(),
        },
    );
    let screen = screen(&app);
    assert!(row_with(&screen, "10:37 bob: hi alice").starts_with("│10:37 bob: hi alice "));
    row_with(&screen, "10:37 [PM] bob: psst");
    row_with(&screen, "10:37 [INFO] Online: bob, alice");
}

#[test]
fn a_long_line_wraps_within_the_pane() {
    let mut app = joined();
    let long = "word ".repeat(30);
    frame(&mut app, message("bob", long.trim_end()));
    let screen = screen(&app);
    let first = screen
        .iter()
        .position(|row| row.contains("bob: word"))
        .unwrap();
    assert!(screen[first + 1].starts_with("│word word"), "{screen:#?}");
    // Nothing spills into the side panel.
    assert!(screen.iter().all(|row| !row.contains("word│word")));
}

#[test]
fn the_newest_line_is_at_the_bottom_of_a_full_pane() {
    let mut app = joined();
    for n in 0..100 {
        frame(&mut app, message("bob", &format!("line {n}")));
    }
    let screen = screen(&app);
    // The pane's last row is above its bottom border, rows 1 to 18 on a 24-row screen.
    assert!(screen[18].contains("bob: line 99"), "{screen:#?}");
    assert!(screen[1].contains("bob: line 82"), "{screen:#?}");
}

#[test]
fn scrolled_back_the_pane_shows_older_lines_and_says_what_is_below() {
    let mut app = joined();
    for n in 0..100 {
        frame(&mut app, message("bob", &format!("line {n}")));
    }
    app.set_page(30);
    app.on_key(
        KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE),
        Instant::now(),
    );
    let screen = screen(&app);
    assert!(screen[18].contains("bob: line 69"), "{screen:#?}");
    row_with(&screen, "30 newer lines below: PageDown");
}

#[test]
fn the_side_panel_lists_who_is_online_and_marks_this_user() {
    let mut app = joined();
    frame(&mut app, ServerFrame::Join("carol".into()));
    frame(&mut app, ServerFrame::Leave("bob".into()));
    let screen = screen(&app);
    row_with(&screen, "┌ online (2) ");
    assert!(row_with(&screen, "alice (you)").ends_with("│alice (you)         │"));
    assert!(row_with(&screen, "│carol ").ends_with("│carol               │"));
    assert!(!screen.iter().any(|row| row.contains("│bob ")));
}

#[test]
fn a_narrow_terminal_leaves_the_side_panel_out_and_a_resize_redraws() {
    let app = joined();
    let mut terminal = drawn(&app, 100, 20);
    assert!(rows(terminal.backend().buffer())[0].contains("online (2)"));
    terminal.backend_mut().resize(40, 10);
    terminal
        .draw(|frame| {
            draw(frame, &app);
        })
        .unwrap();
    let screen = rows(terminal.backend().buffer());
    assert_eq!(screen.len(), 10);
    assert_eq!(screen[0].chars().count(), 40);
    assert!(
        !screen.iter().any(|row| row.contains("online")),
        "{screen:#?}"
    );
    assert!(screen[9].contains("127.0.0.1:12345"), "{screen:#?}");
}

#[test]
fn the_status_line_says_server_name_state_and_transport() {
    let app = joined();
    let screen = screen(&app);
    assert!(
        screen[23].starts_with(" 127.0.0.1:12345 · alice · connected · plain TCP"),
        "{screen:#?}"
    );
}

#[test]
fn the_status_line_says_tls_when_the_chat_goes_over_it() {
    let mut app = joined();
    app.transport = "TLS";
    let screen = screen(&app);
    assert!(
        screen[23].starts_with(" 127.0.0.1:12345 · alice · connected · TLS "),
        "{screen:#?}"
    );
}

#[test]
fn a_lost_connection_is_said_on_the_status_line() {
    let mut app = joined();
    app.on_inbound(Inbound::Closed(Closed::ByServer), Instant::now());
    let screen = screen(&app);
    assert!(
        screen[23].contains("connection lost: press any key to leave"),
        "{screen:#?}"
    );
}

#[test]
fn the_servers_shutdown_is_said_on_the_status_line() {
    let mut app = joined();
    frame(
        &mut app,
        ServerFrame::Error("server is shutting down".into()),
    );
    app.on_inbound(Inbound::Closed(Closed::ByServer), Instant::now());
    let screen = screen(&app);
    assert!(
        screen[23].contains("the server shut down: press any key to leave"),
        "{screen:#?}"
    );
}

#[test]
fn the_input_line_shows_what_is_typed_with_the_cursor_after_it() {
    let mut app = joined();
    typed(&mut app, "hello bob");
    let mut terminal = drawn(&app, 80, 24);
    let screen = rows(terminal.backend().buffer());
    row_with(&screen, "┌ message ");
    assert!(screen[21].starts_with("│hello bob "), "{screen:#?}");
    terminal.backend_mut().assert_cursor_position((10, 21));
}

#[test]
fn the_input_line_asks_for_a_username_before_joining() {
    let now = Instant::now();
    let app = App::new(
        Config::default(),
        now,
        crate::client::tui::testing::ten_thirty_seven,
    );
    let screen = screen(&app);
    row_with(&screen, "┌ your username ");
    assert!(
        screen[23].contains("(no name yet) · connecting"),
        "{screen:#?}"
    );
}

#[test]
fn the_password_field_shows_nothing_of_what_is_typed() {
    let now = Instant::now();
    let mut app = App::new(
        crate::client::tui::testing::config(Some("alice")),
        now,
        crate::client::tui::testing::ten_thirty_seven,
    );
    frame(&mut app, ServerFrame::Auth("password for alice".into()));
    typed(&mut app, "hunter2");
    // Past the line limit, where a message would say how many bytes it holds.
    app.on_paste(&"hunter2".repeat(600));
    let mut terminal = drawn(&app, 80, 24);
    let screen = rows(terminal.backend().buffer());
    row_with(&screen, "┌ password (not shown; Enter sends it) ");
    assert!(
        !screen.iter().any(|row| row.contains("hunter2")),
        "{screen:#?}"
    );
    assert!(
        !screen.iter().any(|row| row.contains("bytes")),
        "not even its length: {screen:#?}"
    );
    assert_eq!(screen[21].trim_matches(['│', ' ']), "", "{screen:#?}");
    terminal.backend_mut().assert_cursor_position((1, 21));
    assert!(screen[23].contains("· type the password ·"), "{screen:#?}");
}

#[test]
fn a_long_input_scrolls_sideways_to_keep_the_cursor_in_view() {
    let mut app = joined();
    typed(&mut app, &format!("start {}end", "x".repeat(100)));
    let mut terminal = drawn(&app, 80, 24);
    let screen = rows(terminal.backend().buffer());
    assert!(screen[21].ends_with("xxend │"), "{screen:#?}");
    assert!(!screen[21].contains("start"));
    terminal.backend_mut().assert_cursor_position((78, 21));
}

#[test]
fn the_servers_line_limit_is_shown_when_reached() {
    let mut app = joined();
    app.on_paste(&"x".repeat(5000));
    let screen = screen(&app);
    row_with(&screen, "4096/4096 bytes: the server's limit");
}

#[test]
fn the_byte_count_shows_near_the_limit_only() {
    let mut app = joined();
    app.on_paste(&"x".repeat(100));
    assert!(!screen(&app).iter().any(|row| row.contains("/4096 bytes")));
    app.on_paste(&"x".repeat(3100));
    row_with(&screen(&app), " 3200/4096 bytes ");
}

#[test]
fn tab_lists_the_candidates_under_the_input_line() {
    let mut app = joined();
    frame(&mut app, ServerFrame::Join("bea".into()));
    typed(&mut app, "/msg b");
    app.on_key(
        KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
        Instant::now(),
    );
    let screen = screen(&app);
    assert!(screen[22].starts_with("└ Tab: bob  bea "), "{screen:#?}");
}

#[test]
fn a_file_on_its_way_has_a_bar_with_its_size_and_rate() {
    let mut app = joined();
    let receiving = |received| Inbound::Receiving {
        from: "bob".into(),
        name: "big.iso".into(),
        received,
        size: 64_000_000,
    };
    let start = Instant::now();
    app.on_inbound(receiving(0), start);
    app.on_inbound(
        receiving(16_000_000),
        start + std::time::Duration::from_secs(2),
    );
    let terminal = drawn(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    let screen = rows(buffer);
    // One row for the bar, between the conversation and the input line.
    let label = " receiving big.iso from bob: 25% · 16.0 of 64.0 MB at 8.0 MB/s ";
    let bar = row_with(&screen, label);
    assert_eq!(bar, screen[19]);
    assert!(screen[18].starts_with('└') && screen[20].starts_with("┌ message"));
    // Then a quarter of the rest is filled.
    let line = bar.split_once(label).unwrap().1.trim_start();
    let filled = line.chars().filter(|c| *c == '█').count();
    let to_go = line.chars().filter(|c| *c == '░').count();
    assert_eq!(filled + to_go, line.chars().count(), "{bar:?}");
    assert_eq!(filled, (filled + to_go) / 4, "{bar:?}");
}

#[test]
fn a_name_has_its_colour_and_an_error_is_red() {
    let mut app = joined();
    frame(&mut app, message("bob", "hi"));
    frame(&mut app, ServerFrame::Error("no such user: carol".into()));
    let terminal = drawn(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    let Tone::Name(index) = name_tone("bob") else {
        panic!("a name's tone is a name colour");
    };
    let bob = position_of(buffer, "bob: hi");
    assert_eq!(buffer[bob].fg, NAME_PALETTE[index]);
    assert!(buffer[bob].modifier.contains(Modifier::BOLD));
    let error = position_of(buffer, "[ERROR] no such user");
    assert_eq!(buffer[error].fg, Color::Red);
    // The same colour in the side panel.
    let panel = position_of(buffer, "bob   ");
    assert_eq!(buffer[panel].fg, NAME_PALETTE[index]);
}

#[test]
fn the_palette_follows_the_line_clients() {
    assert_eq!(NAME_PALETTE.len(), NAME_COLOURS.len());
    // Green first, as the line client's 1;32.
    assert_eq!((NAME_PALETTE[0], NAME_COLOURS[0]), (Color::Green, "1;32"));
}

#[test]
fn no_escape_sequence_reaches_a_cell() {
    let mut app = joined();
    frame(&mut app, message("bob", "\x1b[2J\x1b]0;x\x07end"));
    let terminal = drawn(&app, 80, 24);
    let screen = rows(terminal.backend().buffer()).concat();
    assert!(!screen.contains('\x1b') && !screen.contains('\x07'));
    assert!(screen.contains("bob: \u{fffd}[2J\u{fffd}]0;x\u{fffd}end"));
}

#[test]
fn a_tab_in_a_message_shows_as_a_space() {
    let mut app = joined();
    frame(&mut app, message("bob", "a\tb"));
    row_with(&screen(&app), "bob: a b");
}

#[test]
fn without_colours_no_cell_has_one_but_bold_stays() {
    let mut app = joined();
    app.colours = false;
    frame(&mut app, message("bob", "hi"));
    frame(&mut app, ServerFrame::Error("x".into()));
    let terminal = drawn(&app, 80, 24);
    let buffer = terminal.backend().buffer();
    assert!(
        buffer
            .content
            .iter()
            .all(|cell| cell.fg == Color::Reset && cell.bg == Color::Reset)
    );
    assert!(
        buffer[position_of(buffer, "bob: hi")]
            .modifier
            .contains(Modifier::BOLD)
    );
}

#[test]
fn a_tiny_terminal_is_drawn_without_a_panic() {
    let mut app = joined();
    frame(&mut app, message("bob", "hello there"));
    app.on_paste("typed");
    for (width, height) in [(1, 1), (5, 3), (10, 4), (20, 6), (0, 0)] {
        let screen = rows(drawn(&app, width, height).backend().buffer());
        assert_eq!(screen.len(), usize::from(height));
    }
}

#[test]
fn sending_a_line_goes_back_to_the_newest_lines() {
    let mut app = joined();
    for n in 0..100 {
        frame(&mut app, message("bob", &format!("line {n}")));
    }
    app.on_key(
        KeyEvent::new(KeyCode::PageUp, KeyModifiers::NONE),
        Instant::now(),
    );
    typed(&mut app, "back");
    app.on_key(
        KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
        Instant::now(),
    );
    let screen = screen(&app);
    assert!(screen[18].contains("Me: back"), "{screen:#?}");
}
