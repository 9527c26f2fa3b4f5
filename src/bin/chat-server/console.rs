//! The console on standard input: each line is a console command, carried out by the server's
//! [`Console`]; what it answers is printed on standard output.
//!
//! How the console ends decides what happens to the server. At a terminal, the end of input
//! (Ctrl-D) is the operator's clean stop, like `/shutdown`: std has no signal handling, so
//! Ctrl-C kills the server without a goodbye. When standard input is not a terminal
//! (`< /dev/null`, a service manager, `nohup`), its end only ends the console: the server keeps
//! serving until it is stopped some other way.

use std::io::{self, BufRead, IsTerminal, Write};
use std::thread;

use chat::server::Console;

/// Says, under the `Hosting on` line, how to use the console and how to stop the server.
pub fn announce() {
    if io::stdin().is_terminal() {
        println!("Console: type /help; /shutdown or Ctrl-D stops the server cleanly.");
    } else {
        println!(
            "Console: commands on standard input (/help); /shutdown stops the server cleanly \
             (the end of this input does not)."
        );
    }
}

/// Starts the console thread. It ends at `/shutdown` or at the end of standard input.
pub fn spawn(console: Console) -> io::Result<()> {
    let at_terminal = io::stdin().is_terminal();
    thread::Builder::new()
        .name("console".into())
        .spawn(move || run(&console, at_terminal))?;
    Ok(())
}

fn run(console: &Console, at_terminal: bool) {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = String::new();
    loop {
        line.clear();
        match input.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::InvalidData => {
                show(&["the line is not valid UTF-8".to_owned()]);
                continue;
            }
            Err(error) => {
                log::warn!("the console cannot read standard input: {error}");
                break;
            }
        }
        let reply = console.execute(&line);
        show(&reply.lines);
        if reply.stopping {
            return;
        }
    }
    if at_terminal {
        show(&["end of input: shutting down".to_owned()]);
        console.shutdown();
    } else {
        log::info!("the console's input ended; the server keeps serving");
    }
}

fn show(lines: &[String]) {
    let mut out = io::stdout().lock();
    for line in lines {
        // Nobody is left to tell when stdout itself is gone.
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}
