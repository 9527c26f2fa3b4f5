//! The app's decisions, frames and keys in, effects and state out: no terminal, no socket.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::client::Config;
use crate::client::inbound::Closed;
use crate::client::tui::testing::{config, frame, joined, message, ten_thirty_seven};

/// An app started with `--name alice`, its name sent.
fn started() -> (App, Instant) {
    let now = Instant::now();
    let mut app = App::new(config(Some("alice")), now, ten_thirty_seven);
    assert_eq!(sent(&mut app), ["alice"]);
    (app, now)
}

/// The frames the app queued for the writer, as lines (a file as its header), forgetting the
/// other effects.
fn sent(app: &mut App) -> Vec<String> {
    app.take_effects()
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::Send(Outgoing::Frame(bytes)) => {
                Some(String::from_utf8(bytes).unwrap().trim_end().to_owned())
            }
            Effect::Send(Outgoing::File { bytes, .. }) => {
                let header = bytes.split(|b| *b == b'\n').next().unwrap().to_vec();
                Some(String::from_utf8(header).unwrap())
            }
            Effect::Log(_) => None,
        })
        .collect()
}

/// The lines the app sent to the chat log, forgetting the other effects.
fn logged(app: &mut App) -> Vec<String> {
    app.take_effects()
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::Log(line) => Some(line.plain()),
            Effect::Send(_) => None,
        })
        .collect()
}

/// The conversation as its lines read, times and all.
fn shown(app: &App) -> Vec<String> {
    app.conversation
        .visible()
        .map(|entry| format!("{} {}", entry.time, entry.line.plain()))
        .collect()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

/// Types `text` and Enter.
fn type_line(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)), Instant::now());
    }
    app.on_key(key(KeyCode::Enter), Instant::now());
}

#[test]
fn the_welcome_asks_for_files_and_hides_the_answer() {
    let (mut app, now) = started();
    app.on_inbound(Inbound::Frame(ServerFrame::Welcome("alice".into())), now);
    assert_eq!(sent(&mut app), ["/files on"]);
    assert!(matches!(app.phase(), Phase::Joining { .. }));
    frame(&mut app, ServerFrame::Info("files on: ...".into()));
    assert!(matches!(app.phase(), Phase::Joined));
    assert!(!shown(&app).iter().any(|line| line.contains("files on")));
    assert_eq!(app.name(), Some("alice"));
}

#[test]
fn an_error_answer_to_files_on_is_hidden_too() {
    let (mut app, now) = started();
    app.on_inbound(Inbound::Frame(ServerFrame::Welcome("alice".into())), now);
    frame(
        &mut app,
        ServerFrame::Error("unknown command /files".into()),
    );
    assert!(matches!(app.phase(), Phase::Joined));
    assert!(!shown(&app).iter().any(|line| line.contains("/files")));
}

#[test]
fn the_servers_shutdown_is_a_clean_end_once_a_key_is_pressed() {
    let mut app = joined();
    frame(
        &mut app,
        ServerFrame::Error("server is shutting down".into()),
    );
    assert_eq!(
        shown(&app).last().unwrap(),
        "10:37 [INFO] The server is shutting down."
    );
    app.on_inbound(Inbound::Closed(Closed::ByServer), Instant::now());
    assert!(matches!(
        app.phase(),
        Phase::Closed(Ok(Ended::ServerShutDown))
    ));
    app.on_key(key(KeyCode::Enter), Instant::now());
    assert!(matches!(app.outcome(), Some(Ok(Ended::ServerShutDown))));
}

#[test]
fn a_close_right_after_an_error_before_the_welcome_means_not_joined() {
    let (mut app, _) = started();
    frame(&mut app, ServerFrame::Error("server full".into()));
    app.on_inbound(Inbound::Closed(Closed::ByServer), Instant::now());
    assert!(matches!(
        app.phase(),
        Phase::Closed(Err(ClientError::NotJoined(why))) if why == "server full"
    ));
}

#[test]
fn leaving_after_a_refused_name_means_not_joined() {
    let (mut app, _) = started();
    frame(
        &mut app,
        ServerFrame::Error("username 'alice' is taken".into()),
    );
    app.on_key(ctrl('c'), Instant::now());
    assert_eq!(sent(&mut app), ["exit"]);
    assert!(matches!(
        app.outcome(),
        Some(Err(ClientError::NotJoined(why))) if why == "username 'alice' is taken"
    ));
}

#[test]
fn an_empty_line_keeps_the_idle_timeout_away() {
    let mut app = joined();
    let due = app.deadline().expect("a keepalive is due once joined");
    app.on_deadline(due - Duration::from_secs(1));
    assert!(sent(&mut app).is_empty(), "not before it is due");
    app.on_deadline(due);
    assert_eq!(sent(&mut app), [""]);
    assert!(
        app.deadline().unwrap() > due,
        "the next one counts from now"
    );
}

#[test]
fn no_keepalive_when_it_is_zero() {
    let now = Instant::now();
    let config = Config {
        keepalive: Duration::ZERO,
        ..config(Some("alice"))
    };
    let mut app = App::new(config, now, ten_thirty_seven);
    app.on_inbound(Inbound::Frame(ServerFrame::Welcome("alice".into())), now);
    frame(&mut app, ServerFrame::Info("files on".into()));
    assert!(matches!(app.phase(), Phase::Joined));
    assert_eq!(app.deadline(), None);
}

#[test]
fn without_a_name_the_input_line_asks_for_one() {
    let now = Instant::now();
    let mut app = App::new(config(None), now, ten_thirty_seven);
    assert!(app.take_effects().is_empty());
    frame(&mut app, ServerFrame::Info("Welcome".into()));
    assert!(matches!(app.phase(), Phase::AskName));
    assert!(app.asks_name());
    type_line(&mut app, "bob");
    assert_eq!(sent(&mut app), ["bob"]);
    assert!(matches!(app.phase(), Phase::AwaitReply { .. }));
}

#[test]
fn the_name_is_asked_for_when_no_greeting_comes() {
    let now = Instant::now();
    let mut app = App::new(config(None), now, ten_thirty_seven);
    let deadline = app.deadline().unwrap();
    app.on_deadline(deadline);
    assert!(matches!(app.phase(), Phase::AskName));
}

#[test]
fn a_refused_name_is_asked_again_and_a_bad_one_is_not_sent() {
    let (mut app, _) = started();
    frame(
        &mut app,
        ServerFrame::Error("username 'alice' is taken".into()),
    );
    assert!(matches!(app.phase(), Phase::AskName));
    type_line(&mut app, "not a name");
    assert!(sent(&mut app).is_empty());
    assert!(shown(&app).last().unwrap().contains("[ERROR] bad username"));
    assert!(matches!(app.phase(), Phase::AskName));
}

#[test]
fn a_server_that_does_not_answer_the_name_ends_the_session() {
    let (mut app, now) = started();
    app.on_deadline(now + Duration::from_secs(3600));
    assert!(matches!(
        app.phase(),
        Phase::Closed(Err(ClientError::NoReply))
    ));
}

#[test]
fn a_message_is_sent_shown_and_logged_as_the_line_client_logs_it() {
    let mut app = joined();
    type_line(&mut app, "hello bob");
    let effects = app.take_effects();
    assert!(matches!(&effects[0], Effect::Send(Outgoing::Frame(b)) if b == b"hello bob\n"));
    assert!(matches!(&effects[1], Effect::Log(line) if line.plain() == "Me: hello bob"));
    assert_eq!(shown(&app).last().unwrap(), "10:37 Me: hello bob");
    assert_eq!(app.input.text(), "");
}

#[test]
fn a_message_starting_with_a_slash_is_sent_escaped() {
    let mut app = joined();
    type_line(&mut app, "//etc is a folder");
    assert_eq!(sent(&mut app), ["//etc is a folder"]);
    assert_eq!(shown(&app).last().unwrap(), "10:37 Me: /etc is a folder");
}

#[test]
fn empty_lines_are_not_sent() {
    let mut app = joined();
    type_line(&mut app, "");
    assert!(app.take_effects().is_empty());
}

#[test]
fn msg_is_sent_and_shown_as_sent() {
    let mut app = joined();
    type_line(&mut app, "/msg bob lunch?");
    let effects = app.take_effects();
    assert!(matches!(&effects[0], Effect::Send(Outgoing::Frame(b)) if b == b"/msg bob lunch?\n"));
    assert_eq!(shown(&app).last().unwrap(), "10:37 -> bob: lunch?");
}

#[test]
fn a_command_that_does_not_fit_its_form_is_refused_before_sending() {
    let mut app = joined();
    type_line(&mut app, "/msg bob");
    assert!(sent(&mut app).is_empty());
    assert_eq!(
        shown(&app).last().unwrap(),
        "10:37 [ERROR] usage: /msg NAME TEXT; nothing was sent"
    );
}

#[test]
fn help_shows_the_clients_commands_then_asks_the_server() {
    let mut app = joined();
    type_line(&mut app, "/help");
    let effects = app.take_effects();
    let first_line = effects.iter().find_map(|effect| match effect {
        Effect::Log(line) => Some(line.plain()),
        Effect::Send(_) => None,
    });
    assert_eq!(
        first_line.as_deref(),
        Some("[INFO] /file PATH: send a file to everyone")
    );
    let asked =
        |effect: &Effect| matches!(effect, Effect::Send(Outgoing::Frame(b)) if b == b"/help\n");
    assert!(effects.iter().any(asked));
}

#[test]
fn a_file_header_typed_is_not_sent() {
    let mut app = joined();
    type_line(&mut app, "[FILE]:x");
    assert!(sent(&mut app).is_empty());
    assert!(shown(&app).last().unwrap().contains("type /file PATH"));
}

#[test]
fn a_file_is_queued_with_a_bar_and_announced_once_out() {
    let dir = std::env::temp_dir().join(format!("chat-tui-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("notes.txt");
    std::fs::write(&path, b"hello").unwrap();
    let mut app = joined();
    type_line(&mut app, &format!("/file {}", path.display()));
    assert_eq!(sent(&mut app), ["[FILE]:notes.txt:5"]);
    assert_eq!(app.transfers.list()[0].label, "sending notes.txt");
    app.on_written(Written::FileSent { id: 1 }, Instant::now());
    assert!(app.transfers.list().is_empty());
    let expected = format!("10:37 [Notification] File '{}' sent.", path.display());
    assert_eq!(shown(&app).last().unwrap(), &expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_is_sent_under_another_name_with_as() {
    let dir = std::env::temp_dir().join(format!("chat-tui-app-as-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("draft v2.txt");
    std::fs::write(&path, b"hello").unwrap();
    let mut app = joined();
    type_line(
        &mut app,
        &format!("/file '{}' as notes.txt", path.display()),
    );
    assert_eq!(sent(&mut app), ["[FILE]:notes.txt:5"]);
    app.on_written(Written::FileSent { id: 1 }, Instant::now());
    let expected = format!(
        "10:37 [Notification] File '{}' sent as 'notes.txt'.",
        path.display()
    );
    assert_eq!(shown(&app).last().unwrap(), &expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_that_cannot_be_read_is_not_sent() {
    let mut app = joined();
    type_line(&mut app, "/file /no/such/file");
    assert!(sent(&mut app).is_empty());
    assert!(
        shown(&app)
            .last()
            .unwrap()
            .contains("[ERROR] cannot send '/no/such/file'")
    );
}

#[test]
fn who_is_online_follows_users_join_and_leave() {
    let mut app = joined();
    assert_eq!(app.roster.names(), ["bob", "alice"]);
    frame(&mut app, ServerFrame::Join("carol".into()));
    frame(&mut app, ServerFrame::Leave("bob".into()));
    assert_eq!(app.roster.names(), ["alice", "carol"]);
    frame(&mut app, ServerFrame::Users(vec!["alice".into()]));
    assert_eq!(app.roster.names(), ["alice"]);
    let lines = shown(&app);
    assert_eq!(
        lines[lines.len() - 3..],
        [
            "10:37 carol has joined the chat room.",
            "10:37 bob has left the chat.",
            "10:37 [INFO] Online: alice",
        ]
    );
}

#[test]
fn a_received_file_shows_a_bar_then_where_it_was_saved() {
    let mut app = joined();
    let now = Instant::now();
    let receiving = Inbound::Receiving {
        from: "bob".into(),
        name: "big.iso".into(),
        received: 1000,
        size: 4000,
    };
    app.on_inbound(receiving, now);
    assert_eq!(app.transfers.list()[0].label, "receiving big.iso from bob");
    assert_eq!(app.transfers.list()[0].ratio(), 0.25);
    let saved = Inbound::Saved {
        from: "bob".into(),
        saved: "received_big.iso".into(),
        size: 4000,
    };
    app.on_inbound(saved, now);
    assert!(app.transfers.list().is_empty());
    assert_eq!(
        shown(&app).last().unwrap(),
        "10:37 [Notification] Received file: received_big.iso (3.9 KiB, from bob)"
    );
}

#[test]
fn a_big_file_is_announced_before_it_is_there() {
    let mut app = joined();
    let receiving = Inbound::Receiving {
        from: "bob".into(),
        name: "big.iso".into(),
        received: 0,
        size: 2 * 1024 * 1024,
    };
    app.on_inbound(receiving, Instant::now());
    assert_eq!(
        shown(&app).last().unwrap(),
        "10:37 [Notification] bob is sending big.iso (2 MiB)..."
    );
}

#[test]
fn the_saved_line_names_the_downloads_folder() {
    let mut app = App::new(
        Config {
            downloads: "downloads/alice".into(),
            ..config(Some("alice"))
        },
        Instant::now(),
        ten_thirty_seven,
    );
    let saved = Inbound::Saved {
        from: "bob".into(),
        saved: "received_a.txt".into(),
        size: 1,
    };
    app.on_inbound(saved, Instant::now());
    assert!(
        shown(&app)
            .last()
            .unwrap()
            .ends_with("downloads/alice/received_a.txt (1 byte, from bob)")
    );
}

#[test]
fn nothing_a_peer_sends_reaches_the_screen_unsanitised() {
    let mut app = joined();
    // The decoder refuses such a frame; the app makes it safe all the same.
    let text = "\x1b]0;owned\x07\x1b[2J\u{202e}gnp.exe";
    frame(&mut app, message("bob", text));
    let entry = app.conversation.visible().next_back().unwrap();
    assert_eq!(
        entry.line.plain(),
        "bob: \u{fffd}]0;owned\u{fffd}\u{fffd}[2J\u{202e}gnp.exe\u{202c}"
    );
}

#[test]
fn exit_sends_exit_and_the_close_ends_the_session() {
    let mut app = joined();
    type_line(&mut app, "exit");
    assert_eq!(sent(&mut app), ["exit"]);
    assert!(matches!(app.phase(), Phase::Leaving { .. }));
    app.on_inbound(Inbound::Closed(Closed::ByServer), Instant::now());
    assert!(matches!(app.outcome(), Some(Ok(Ended::Left))));
}

#[test]
fn ctrl_c_leaves_like_exit_and_twice_does_not_wait() {
    let mut app = joined();
    app.on_key(ctrl('c'), Instant::now());
    assert_eq!(sent(&mut app), ["exit"]);
    assert!(app.outcome().is_none());
    app.on_key(ctrl('c'), Instant::now());
    assert!(matches!(app.outcome(), Some(Ok(Ended::Left))));
}

#[test]
fn ctrl_d_leaves_on_an_empty_line_only() {
    let mut app = joined();
    app.on_key(key(KeyCode::Char('x')), Instant::now());
    app.on_key(ctrl('d'), Instant::now());
    assert!(sent(&mut app).is_empty());
    app.on_key(key(KeyCode::Backspace), Instant::now());
    app.on_key(ctrl('d'), Instant::now());
    assert_eq!(sent(&mut app), ["exit"]);
}

#[test]
fn a_server_that_does_not_close_after_exit_is_left_anyway() {
    let mut app = joined();
    let now = Instant::now();
    type_line(&mut app, "exit");
    app.on_deadline(now + Duration::from_secs(3600));
    assert!(matches!(app.outcome(), Some(Ok(Ended::Left))));
}

#[test]
fn a_lost_connection_stays_on_screen_until_a_key() {
    let mut app = joined();
    app.on_inbound(Inbound::Closed(Closed::ByServer), Instant::now());
    assert!(matches!(
        app.phase(),
        Phase::Closed(Err(ClientError::ConnectionLost))
    ));
    assert!(app.outcome().is_none());
    app.on_key(key(KeyCode::Char('x')), Instant::now());
    assert!(matches!(
        app.outcome(),
        Some(Err(ClientError::ConnectionLost))
    ));
}

#[test]
fn a_failed_write_is_a_lost_connection() {
    let mut app = joined();
    app.on_written(Written::Failed, Instant::now());
    assert!(matches!(
        app.phase(),
        Phase::Closed(Err(ClientError::ConnectionLost))
    ));
}

#[test]
fn keys_edit_the_input_line() {
    let mut app = joined();
    for c in "hello wrld".chars() {
        app.on_key(key(KeyCode::Char(c)), Instant::now());
    }
    for code in [KeyCode::Left, KeyCode::Left, KeyCode::Left] {
        app.on_key(key(code), Instant::now());
    }
    app.on_key(key(KeyCode::Char('o')), Instant::now());
    assert_eq!(app.input.text(), "hello world");
    app.on_key(key(KeyCode::End), Instant::now());
    app.on_key(ctrl('w'), Instant::now());
    assert_eq!(app.input.text(), "hello ");
    app.on_key(ctrl('u'), Instant::now());
    assert_eq!(app.input.text(), "");
}

#[test]
fn up_brings_back_the_last_line_sent() {
    let mut app = joined();
    type_line(&mut app, "one");
    app.on_key(key(KeyCode::Up), Instant::now());
    assert_eq!(app.input.text(), "one");
}

#[test]
fn tab_completes_a_name_after_msg() {
    let mut app = joined();
    for c in "/msg b".chars() {
        app.on_key(key(KeyCode::Char(c)), Instant::now());
    }
    app.on_key(key(KeyCode::Tab), Instant::now());
    assert_eq!(app.input.text(), "/msg bob ");
}

#[test]
fn a_paste_goes_in_whole_as_one_line() {
    let mut app = joined();
    app.on_paste("line one\nline two");
    assert_eq!(app.input.text(), "line one line two");
}

#[test]
fn page_up_scrolls_back_by_the_panes_height() {
    let mut app = joined();
    for n in 0..50 {
        frame(&mut app, message("bob", &n.to_string()));
    }
    app.set_page(20);
    app.on_key(key(KeyCode::PageUp), Instant::now());
    assert_eq!(app.conversation.scrolled(), 20);
    app.on_key(key(KeyCode::PageDown), Instant::now());
    assert_eq!(app.conversation.scrolled(), 0);
}

#[test]
fn every_line_shown_is_logged_once() {
    let mut app = joined();
    frame(
        &mut app,
        ServerFrame::Private {
            from: "bob".into(),
            text: "psst".into(),
        },
    );
    frame(&mut app, ServerFrame::Notice("back in 5".into()));
    assert_eq!(logged(&mut app), ["[PM] bob: psst", "[NOTICE] back in 5"]);
}

// The password a registered name must give ([AUTH]).

/// An app started with `--name alice` that the server asked for alice's password.
fn asked_password() -> (App, Instant) {
    let (mut app, now) = started();
    frame(&mut app, ServerFrame::Auth("password for alice".into()));
    (app, now)
}

#[test]
fn auth_turns_the_input_line_into_a_password_field() {
    let (app, _) = asked_password();
    assert!(matches!(app.phase(), Phase::AskPassword));
    assert!(app.asks_password());
    assert_eq!(
        shown(&app).last().unwrap(),
        "10:37 [AUTH] password for alice"
    );
}

#[test]
fn the_password_typed_is_sent_as_it_is_and_never_shown_logged_or_remembered() {
    let (mut app, _) = asked_password();
    let _ = app.take_effects();
    type_line(&mut app, "/exit is my password");
    let effects = app.take_effects();
    assert_eq!(effects.len(), 1, "one effect, no log line: {effects:?}");
    assert!(matches!(
        &effects[0],
        Effect::Send(Outgoing::Frame(bytes)) if bytes == b"/exit is my password\n"
    ));
    assert!(matches!(app.phase(), Phase::AwaitReply { .. }));
    assert!(!shown(&app).iter().any(|line| line.contains("my password")));
    app.on_key(key(KeyCode::Up), Instant::now());
    assert_eq!(app.input.text(), "", "not in the history");
}

#[test]
fn enter_on_an_empty_password_field_sends_nothing() {
    let (mut app, _) = asked_password();
    let _ = app.take_effects();
    app.on_key(key(KeyCode::Enter), Instant::now());
    assert!(sent(&mut app).is_empty());
    assert!(matches!(app.phase(), Phase::AskPassword));
}

#[test]
fn what_was_typed_ahead_does_not_become_part_of_the_password() {
    let (mut app, now) = started();
    for c in "hello".chars() {
        app.on_key(key(KeyCode::Char(c)), now);
    }
    frame(&mut app, ServerFrame::Auth("password for alice".into()));
    assert_eq!(app.input.text(), "");
}

#[test]
fn up_in_the_password_field_does_not_bring_back_an_older_line() {
    let (mut app, now) = asked_password();
    app.input.apply(Edit::Paste("an old message".into()));
    app.input.take(true);
    app.on_key(key(KeyCode::Up), now);
    assert_eq!(app.input.text(), "");
}

#[test]
fn a_wrong_password_asks_for_the_name_again() {
    let (mut app, _) = asked_password();
    type_line(&mut app, "guess");
    frame(&mut app, ServerFrame::Error("wrong password".into()));
    assert!(matches!(app.phase(), Phase::AskName));
    assert_eq!(shown(&app).last().unwrap(), "10:37 [ERROR] wrong password");
}

#[test]
fn the_password_file_answers_auth_without_asking() {
    let dir = std::env::temp_dir().join(format!("chat-tui-password-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("password");
    std::fs::write(&path, "from the file\nsecond line\n").unwrap();
    let now = Instant::now();
    let config = Config {
        password_file: Some(path),
        ..config(Some("alice"))
    };
    let mut app = App::new(config, now, ten_thirty_seven);
    frame(&mut app, ServerFrame::Auth("password for alice".into()));
    assert_eq!(sent(&mut app), ["alice", "from the file"]);
    assert!(matches!(app.phase(), Phase::AwaitReply { .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn leaving_at_the_password_field_sends_no_exit_that_would_count_as_a_wrong_password() {
    let (mut app, _) = asked_password();
    let _ = app.take_effects();
    app.on_key(ctrl('c'), Instant::now());
    assert!(sent(&mut app).is_empty());
    assert!(matches!(app.outcome(), Some(Ok(Ended::Left))));
}
