//! The Makefile's commands for a newcomer, read with `make -n` (which prints the commands a target
//! would run, without running them): `make run-client NAME=bob` gives bob a log and a downloads
//! folder of his own, `ARGS` reaches either binary, and the build is not hidden.

use std::path::Path;
use std::process::Command;

/// The commands `make -n <args>` prints, run in the project's folder.
fn make_n(args: &[&str]) -> String {
    let output = Command::new("make")
        .arg("-n")
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        // An outer `make test` must not pass its own flags down.
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .output()
        .expect("run make (the README's commands need it)");
    assert!(output.status.success(), "make -n {args:?} failed");
    String::from_utf8(output.stdout).expect("UTF-8 commands")
}

/// The line of `commands` that runs the binary `bin`, from its `--` on.
fn run_line<'a>(commands: &'a str, bin: &str) -> &'a str {
    let line = commands
        .lines()
        .find(|line| line.contains(&format!("run --quiet --release --bin {bin} --")))
        .unwrap_or_else(|| panic!("no line runs {bin} in:\n{commands}"));
    &line[line.find(" -- ").unwrap()..]
}

#[test]
fn run_client_with_name_gives_the_user_a_log_and_downloads_of_their_own() {
    let commands = make_n(&["run-client", "NAME=bob"]);
    assert_eq!(
        run_line(&commands, "chat-client").trim_end(),
        " -- --host 127.0.0.1 --port 12345 --name bob --log chat_log_bob.txt --downloads downloads/bob"
    );
}

#[test]
fn run_client_without_name_keeps_the_defaults() {
    let commands = make_n(&["run-client"]);
    assert_eq!(
        run_line(&commands, "chat-client").trim_end(),
        " -- --host 127.0.0.1 --port 12345"
    );
}

#[test]
fn args_pass_any_other_option_to_either_binary() {
    let commands = make_n(&["run-client", "NAME=bob", "ARGS=--timestamps --color never"]);
    assert!(
        run_line(&commands, "chat-client").ends_with(" --timestamps --color never"),
        "{commands}"
    );
    let commands = make_n(&["run-server", "ARGS=--history 50"]);
    assert_eq!(
        run_line(&commands, "chat-server"),
        " -- --host 127.0.0.1 --port 12345 --history 50"
    );
}

#[test]
fn args_may_choose_another_log_or_downloads_folder_for_a_named_user() {
    let commands = make_n(&["run-client", "NAME=bob", "ARGS=--no-log --downloads x"]);
    let line = run_line(&commands, "chat-client");
    assert!(line.contains("--name bob "), "{line}");
    assert!(!line.contains("chat_log_bob.txt"), "{line}");
    assert!(!line.contains("downloads/bob"), "{line}");
    assert!(line.ends_with(" --no-log --downloads x"), "{line}");
}

#[test]
fn run_targets_build_in_the_open_before_running() {
    for (target, bin) in [("run-server", "chat-server"), ("run-client", "chat-client")] {
        let commands = make_n(&[target]);
        let build = commands
            .lines()
            .position(|line| line.ends_with(&format!(" build --release --bin {bin}")))
            .unwrap_or_else(|| {
                panic!("{target} builds {bin} with cargo's own output:\n{commands}")
            });
        let run = commands
            .lines()
            .position(|line| line.contains(&format!("--bin {bin} --")))
            .unwrap();
        assert!(build < run, "{commands}");
        assert!(
            commands.lines().next().unwrap().contains("Building"),
            "{commands}"
        );
    }
}

#[test]
fn the_files_of_named_users_are_ignored_by_git() {
    let ignore = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".gitignore"))
        .expect("read .gitignore");
    for pattern in [
        "/chat_log.txt",
        "/chat_log_*.txt",
        "/downloads/",
        "/received_*",
    ] {
        assert!(
            ignore.lines().any(|line| line == pattern),
            "{pattern} in .gitignore"
        );
    }
}
