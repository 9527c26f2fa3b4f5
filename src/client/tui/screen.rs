//! The terminal, taken over for the UI and given back as it was. [`Screen::enter`] switches to
//! raw mode (each key as it is pressed, Ctrl-C a key like any other), the alternate screen (the
//! shell's screen comes back untouched) and bracketed paste (a paste arrives whole, not as keys,
//! so it is not cut at a line end). Dropping the [`Screen`] undoes all three, and so does a
//! panic: a hook restores the terminal before the panic's message prints, which would otherwise
//! land on the alternate screen, never to be seen, and leave the shell in raw mode.

use std::io::{self, Stdout, stdout};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};

use super::app::App;
use super::view;

/// Whether the terminal is taken: the panic hook restores it only then.
static TAKEN: AtomicBool = AtomicBool::new(false);
static PANIC_HOOK: Once = Once::new();

/// The terminal while the UI has it.
pub(super) struct Screen {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Screen {
    /// Takes the terminal over.
    ///
    /// # Errors
    /// When the terminal refuses raw mode or the alternate screen; it is given back first.
    pub(super) fn enter() -> io::Result<Screen> {
        PANIC_HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
        });
        enable_raw_mode()?;
        TAKEN.store(true, Ordering::SeqCst);
        let entered = execute!(stdout(), EnterAlternateScreen, EnableBracketedPaste)
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match entered {
            Ok(terminal) => Ok(Screen { terminal }),
            Err(error) => {
                restore();
                Err(error)
            }
        }
    }

    /// Draws the app (at the terminal's size now: a resized terminal is drawn anew) and returns
    /// the conversation pane's height.
    pub(super) fn draw(&mut self, app: &App) -> io::Result<usize> {
        let mut rows = 0;
        self.terminal.draw(|frame| rows = view::draw(frame, app))?;
        Ok(rows)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore();
    }
}

/// Gives the terminal back, once, whoever asks first (the `Screen` going, or a panic).
fn restore() {
    if !TAKEN.swap(false, Ordering::SeqCst) {
        return;
    }
    // Each step on its own: one failing must not keep the others from trying.
    if let Err(error) = execute!(stdout(), DisableBracketedPaste, LeaveAlternateScreen, Show) {
        log::warn!("cannot give the screen back: {error}");
    }
    if let Err(error) = disable_raw_mode() {
        log::warn!("cannot leave raw mode: {error}");
    }
}
