//! What the screen shows for an [`App`]: pure drawing, state in, cells out, so tests draw into
//! ratatui's `TestBackend` and read the screen back.
//!
//! ```text
//! ┌ chat ─────────────────────────────────────────┐┌ online (2) ────┐
//! │10:31 [history 2026-12-01 10:31 UTC] bob: hey  ││alice (you)     │
//! │10:32 bob: hi alice                            ││bob             │
//! └───────────────────────────────────────────────┘└────────────────┘
//!  receiving big.iso from bob: 19% · 12.6 of 64.0 MB at 5.1 MB/s ███░░░░░░░░░░░░░░░
//!  (a bar for each file on its way)
//! ┌ message ───────────────────────────────────────────────────────────┐
//! │hello bob█                                                          │
//! └────────────────────────────────────────────────────────────────────┘
//!  127.0.0.1:12345 · alice · connected · plain TCP      PgUp/PgDn · Tab · Ctrl-C leaves
//! ```
//!
//! Every line was made safe by the app before it got here ([`safe`](super::super::safe_text::safe));
//! styles come from the line client's table ([`tones`]), so a kind of line looks the same in
//! both, and a name has the same colour everywhere.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line as Row, Span};
use ratatui::widgets::{Block, LineGauge, Paragraph, Wrap};

use super::super::render::Line;
use super::super::style::{NAME_COLOURS, Tone, name_tone, tones};
use super::app::{App, Phase};
use super::conversation::Entry;

/// The side panel's width, borders included; it is left out on a terminal narrower than
/// [`PANEL_NEEDS`].
const PANEL_WIDTH: u16 = 22;
const PANEL_NEEDS: u16 = 60;
/// The names' colours, in the order of the line client's [`NAME_COLOURS`], all bold.
const NAME_PALETTE: [Color; NAME_COLOURS.len()] = [
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::LightBlue,
];
/// The byte count shows once a line is this far to the limit (in percent).
const SHOW_COUNT_FROM: usize = 75;

/// Draws the whole screen; returns how many rows the conversation pane shows, which is how far
/// PageUp and PageDown move.
pub(super) fn draw(frame: &mut Frame, app: &App) -> usize {
    let transfers = app.transfers.list().len() as u16;
    let [main, bars, input, status] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(transfers),
        Constraint::Length(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    let (chat, panel) = if main.width >= PANEL_NEEDS {
        let [chat, panel] =
            Layout::horizontal([Constraint::Min(1), Constraint::Length(PANEL_WIDTH)]).areas(main);
        (chat, Some(panel))
    } else {
        (main, None)
    };
    let rows = draw_conversation(frame, app, chat);
    if let Some(panel) = panel {
        draw_online(frame, app, panel);
    }
    draw_transfers(frame, app, bars);
    draw_input(frame, app, input);
    draw_status(frame, app, status);
    if !app.colours {
        // `--color never` or NO_COLOR: bold, dim and reversed stay, colours go.
        for cell in &mut frame.buffer_mut().content {
            cell.fg = Color::Reset;
            cell.bg = Color::Reset;
        }
    }
    rows
}

/// The conversation: as many of the newest lines as fit, wrapped, the newest at the bottom.
fn draw_conversation(frame: &mut Frame, app: &App, area: Rect) -> usize {
    let conversation = &app.conversation;
    let mut block = Block::bordered().title(" chat ");
    if conversation.scrolled() > 0 {
        let below = format!(" {} newer lines below: PageDown ", conversation.scrolled());
        block = block.title_bottom(Row::from(below).right_aligned().style(bold()));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let (width, height) = (inner.width, usize::from(inner.height));
    // From the newest back, only as many lines as can be seen.
    let mut rows = Vec::new();
    let mut taken = 0;
    for entry in conversation.visible().rev() {
        if taken >= height {
            break;
        }
        let row = entry_row(entry);
        taken += wrapped(vec![row.clone()]).line_count(width).max(1);
        rows.push(row);
    }
    rows.reverse();
    // Scrolled so that the newest row is at the bottom, however the oldest one wrapped.
    let skip = taken.saturating_sub(height);
    let skip = u16::try_from(skip).unwrap_or(u16::MAX);
    frame.render_widget(wrapped(rows).scroll((skip, 0)), inner);
    height
}

/// Rows wrapped at the pane's width, spaces kept as they are.
fn wrapped(rows: Vec<Row<'static>>) -> Paragraph<'static> {
    Paragraph::new(rows).wrap(Wrap { trim: false })
}

/// One line of the conversation, styled: the time, then its tag, name and text.
fn entry_row(entry: &Entry) -> Row<'static> {
    let mut row = Row::from(Span::styled(format!("{} ", entry.time), dim()));
    row.spans.extend(line_spans(&entry.line));
    row
}

/// A line's parts, each in the tone the line client gives it.
fn line_spans(line: &Line) -> Vec<Span<'static>> {
    let (tag, text) = tones(line.kind);
    let part = |text: &str, tone: Option<Tone>| {
        // The terminal would show a tab as nothing: it becomes a space.
        Span::styled(text.replace('\t', " "), tone.map_or_else(Style::new, style))
    };
    [
        part(&line.tag, tag),
        part(&line.name, Some(name_tone(&line.name))),
        part(&line.text, text),
    ]
    .into_iter()
    .filter(|span| !span.content.is_empty())
    .collect()
}

/// Who is online, each name in its colour, this user's marked.
fn draw_online(frame: &mut Frame, app: &App, area: Rect) {
    let names = app.roster.names();
    let rows: Vec<Row> = names
        .iter()
        .map(|name| {
            let mut row = Row::from(Span::styled(name.clone(), style(name_tone(name))));
            if Some(name.as_str()) == app.name() {
                row.spans.push(Span::styled(" (you)", dim()));
            }
            row
        })
        .collect();
    let block = Block::bordered().title(format!(" online ({}) ", names.len()));
    frame.render_widget(Paragraph::new(rows).block(block), area);
}

/// A bar for each file on its way: what and how far in words, then the bar (full blocks done,
/// light shade to go: it reads without colours too).
fn draw_transfers(frame: &mut Frame, app: &App, area: Rect) {
    for (at, progress) in app.transfers.list().iter().enumerate() {
        let row = Rect {
            y: area.y + at as u16,
            height: 1,
            ..area
        };
        let label = format!(" {}: {} ", progress.label, progress.numbers());
        let gauge = LineGauge::default()
            .ratio(progress.ratio())
            .label(label)
            .filled_symbol("█")
            .unfilled_symbol("░")
            .filled_style(Style::new().fg(Color::Green))
            .unfilled_style(Style::new().fg(Color::DarkGray));
        frame.render_widget(gauge, row);
    }
}

/// The input line, scrolled sideways to keep the cursor in view, and what it needs to say: the
/// bytes used near the server's limit, what Tab found. A password shows nothing at all, not
/// even its length: the field stays empty, the cursor at its start.
fn draw_input(frame: &mut Frame, app: &App, area: Rect) {
    if app.asks_password() {
        let block = Block::bordered().title(" password (not shown; Enter sends it) ");
        let inner = block.inner(area);
        frame.render_widget(block, area);
        frame.set_cursor_position((inner.x, inner.y));
        return;
    }
    let input = &app.input;
    let title = if app.asks_name() {
        " your username "
    } else {
        " message "
    };
    let mut block = Block::bordered().title(title);
    let used = input.text().len();
    if input.at_limit() {
        let full = format!(" {used}/{} bytes: the server's limit ", input.limit());
        block = block.title(Row::from(full).right_aligned().style(error()));
    } else if used * 100 >= input.limit() * SHOW_COUNT_FROM {
        let count = format!(" {used}/{} bytes ", input.limit());
        block = block.title(Row::from(count).right_aligned());
    }
    if !app.candidates.is_empty() {
        let list = format!(" Tab: {} ", app.candidates.join("  "));
        block = block.title_bottom(list);
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let column = Span::raw(input.before_cursor()).width();
    let width = usize::from(inner.width.max(1));
    // Scrolled so that the cursor is on the last column at most.
    let offset = (column + 1).saturating_sub(width);
    let offset = u16::try_from(offset).unwrap_or(u16::MAX);
    frame.render_widget(Paragraph::new(input.text()).scroll((0, offset)), inner);
    if !matches!(app.phase(), Phase::Closed(_) | Phase::Done) {
        let x = u16::try_from(column)
            .unwrap_or(u16::MAX)
            .saturating_sub(offset);
        frame.set_cursor_position((inner.x + x, inner.y));
    }
}

/// The status line: the server, the name, the connection's state and how it is carried; the
/// keys on the right.
fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let name = app.name().unwrap_or("(no name yet)");
    let (state, state_style) = match app.phase() {
        Phase::Greeting { .. } => ("connecting".to_owned(), Style::new()),
        Phase::AskName => ("type a username".to_owned(), bold()),
        Phase::AskPassword => ("type the password".to_owned(), bold()),
        Phase::AwaitReply { .. } | Phase::Joining { .. } => ("joining".to_owned(), Style::new()),
        Phase::Joined => ("connected".to_owned(), Style::new().fg(Color::Green)),
        Phase::Leaving { .. } => ("leaving".to_owned(), Style::new()),
        Phase::Closed(Ok(ended)) => (format!("{ended}: press any key to leave"), bold()),
        Phase::Closed(Err(error)) => (format!("{error}: press any key to leave"), error_bold()),
        Phase::Done => ("left".to_owned(), Style::new()),
    };
    let left = Row::from(vec![
        Span::raw(format!(" {} · {name} · ", app.server())),
        Span::styled(state, state_style),
        Span::raw(format!(" · {}", app.transport)),
    ]);
    let keys = Row::from("PgUp/PgDn scroll · Tab completes · Ctrl-C leaves ");
    let keys_width = u16::try_from(keys.width()).unwrap_or(u16::MAX);
    // The keys only where they leave room for the rest.
    let fits = left.width() + usize::from(keys_width) < usize::from(area.width);
    frame.render_widget(Paragraph::new(left).style(reversed()), area);
    if fits {
        let right = Rect {
            x: area.x + area.width - keys_width,
            width: keys_width,
            ..area
        };
        frame.render_widget(Paragraph::new(keys).style(reversed()), right);
    }
}

/// The ratatui style of one of the line client's tones.
fn style(tone: Tone) -> Style {
    match tone {
        Tone::Red => error(),
        Tone::Bold => bold(),
        Tone::Dim => dim(),
        Tone::Cyan => Style::new().fg(Color::Cyan),
        Tone::Green => Style::new().fg(Color::Green),
        Tone::BoldMagenta => bold().fg(Color::Magenta),
        Tone::BoldYellow => bold().fg(Color::Yellow),
        Tone::Name(index) => bold().fg(NAME_PALETTE[index % NAME_PALETTE.len()]),
    }
}

fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

fn dim() -> Style {
    Style::new().add_modifier(Modifier::DIM)
}

fn reversed() -> Style {
    Style::new().add_modifier(Modifier::REVERSED)
}

fn error() -> Style {
    Style::new().fg(Color::Red)
}

fn error_bold() -> Style {
    error().add_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests;
