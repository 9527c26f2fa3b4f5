//! The real `chat-client` binary and the commands of chat/1, against a fake server
//! (`FakeServer` in `tests/common`): what the client sends for what the user types, and how it
//! shows private messages, history and notices, apart from live public messages.

mod common;

use common::binaries::{Chat, chat_log};

/// A client started with `--name alice` and more `args`, through the handshake.
fn join_as_alice(test: &str, args: &[&str]) -> Chat {
    Chat::join_as_alice(&format!("commands_{test}"), args)
}

/// Leaves, and returns the chat log.
fn leave_and_read_log(chat: &mut Chat) -> String {
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    chat_log(&chat.dir.join("chat_log.txt"))
}

#[test]
fn users_command_is_sent_as_typed_and_the_answer_shown() {
    let mut chat = join_as_alice("users", &[]);
    chat.client.type_line("/users");
    chat.peer.expect_line("/users");
    chat.peer.send_line("[USERS]:alice,bob");
    chat.client.expect("[INFO] Online: alice, bob\n");
}

#[test]
fn private_message_sent_is_shown_as_sent() {
    let mut chat = join_as_alice("msg_sent", &[]);
    chat.client.type_line("/msg bob hi");
    chat.peer.expect_line("/msg bob hi");
    chat.client.expect("-> bob: hi\n");
    let log = leave_and_read_log(&mut chat);
    assert!(log.ends_with("-> bob: hi\n"), "{log}");
}

#[test]
fn private_message_received_is_shown_apart() {
    let mut chat = join_as_alice("msg_received", &[]);
    chat.peer.send_line("[PM]:bob:hi");
    chat.peer.send_line("bob: hi all");
    chat.client.expect("[PM] bob: hi\nbob: hi all\n");
}

#[test]
fn history_is_shown_with_its_time_apart_from_live_messages() {
    let mut chat = join_as_alice("history", &[]);
    chat.peer
        .send_line("[HISTORY]:1796121420:bob:earlier\n[HISTORY]:1796121479:carol:later");
    chat.peer.send_line("bob: now");
    chat.client.expect(
        "[history 2026-12-01 10:37 UTC] bob: earlier\n\
         [history 2026-12-01 10:37 UTC] carol: later\n\
         bob: now\n",
    );
}

#[test]
fn notice_is_shown_apart() {
    let mut chat = join_as_alice("notice", &[]);
    chat.peer.send_line("[NOTICE]:restarting at noon");
    chat.client.expect("[NOTICE] restarting at noon\n");
}

#[test]
fn double_slash_is_sent_as_typed() {
    let mut chat = join_as_alice("double_slash", &[]);
    chat.client.type_line("//x");
    chat.peer.expect_line("//x");
    let log = leave_and_read_log(&mut chat);
    assert!(log.ends_with("Me: /x\n"), "{log}");
}

#[test]
fn unknown_command_is_sent_as_typed_and_the_server_answers() {
    let mut chat = join_as_alice("unknown", &[]);
    chat.client.type_line("/who is here");
    chat.peer.expect_line("/who is here");
    chat.peer
        .send_line("[ERROR]:unknown command /who (try /help)");
    chat.client
        .expect("[ERROR] unknown command /who (try /help)\n");
}

#[test]
fn help_shows_the_client_commands_then_asks_the_server() {
    let mut chat = join_as_alice("help", &[]);
    chat.client.type_line("/help");
    chat.client.expect(
        "[INFO] /file PATH: send a file to everyone\n\
         [INFO] /file PATH as NAME: send it under another name\n\
         [INFO] exit: leave the chat\n\
         [INFO] //text: send a message that starts with /\n",
    );
    chat.peer.expect_line("/help");
    chat.peer.send_line("[INFO]:/users: who is online");
    chat.client.expect("[INFO] /users: who is online\n");
}

#[test]
fn malformed_command_is_refused_and_nothing_is_sent() {
    let mut chat = join_as_alice("malformed", &[]);
    chat.client.type_line("/msg bob");
    chat.client
        .expect("[ERROR] usage: /msg NAME TEXT; nothing was sent\n");
    chat.client.type_line("/msg b@d hi");
    chat.client
        .expect("[ERROR] bad username after /msg: it contains '@'; nothing was sent\n");
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}
