//! The style layer: colours added to a rendered [`Line`] for a terminal. Each name always gets
//! the same colour (a stable hash of the name into a palette of six), errors are red, notices
//! bold, tags dimmer than what people wrote ([`tones`], the table the terminal UI shares). Pure: whether to colour at all is decided once, by
//! [`use_colours`], from `--color`, whether stdout is a terminal and `NO_COLOR`; the chat log and
//! a pipe never get colours.

use std::fmt;
use std::str::FromStr;

use super::render::{Kind, Line};

/// `--color`: when to colour what is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    /// When stdout is a terminal and `NO_COLOR` is not set (to something other than empty).
    #[default]
    Auto,
    /// Always, even into a pipe and despite `NO_COLOR`: asked for by name.
    Always,
    /// Never.
    Never,
}

impl FromStr for ColorChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<ColorChoice, String> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            _ => Err(format!("bad --color '{s}': expected auto, always or never")),
        }
    }
}

impl fmt::Display for ColorChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColorChoice::Auto => "auto",
            ColorChoice::Always => "always",
            ColorChoice::Never => "never",
        })
    }
}

/// Whether to colour: `auto` colours a terminal unless `NO_COLOR` holds something
/// (<https://no-color.org>: an empty value does not count); `always` and `never` are obeyed.
pub(super) fn use_colours(choice: ColorChoice, stdout_is_terminal: bool, no_color: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_is_terminal && !no_color,
    }
}

/// How a part of a line is shown. One table for both front ends: [`paint`] turns a tone into an
/// SGR code for the line client, and the terminal UI (`tui/`) into a style of its own, so the two
/// agree on what an error or a name looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Red,
    Bold,
    Dim,
    Cyan,
    Green,
    BoldMagenta,
    BoldYellow,
    /// A name's colour: an index into [`NAME_COLOURS`] (see [`name_tone`]).
    Name(usize),
}

/// The names' colours, as SGR codes: green, yellow, blue, magenta, cyan, bright blue, all bold.
/// No red: red means an error.
pub(super) const NAME_COLOURS: [&str; 6] = ["1;32", "1;33", "1;34", "1;35", "1;36", "1;94"];

impl Tone {
    /// The SGR code that shows this tone on a terminal.
    pub(super) fn sgr(self) -> &'static str {
        match self {
            Tone::Red => "31",
            Tone::Bold => "1",
            Tone::Dim => "2",
            Tone::Cyan => "36",
            Tone::Green => "32",
            Tone::BoldMagenta => "1;35",
            Tone::BoldYellow => "1;33",
            Tone::Name(index) => NAME_COLOURS[index % NAME_COLOURS.len()],
        }
    }
}

/// The tones of a line's tag and of its text, by its kind (its name has [`name_tone`]): errors
/// red, notices bold, tags dimmer than what people wrote.
pub(super) fn tones(kind: Kind) -> (Option<Tone>, Option<Tone>) {
    match kind {
        Kind::Error => (Some(Tone::Red), Some(Tone::Red)),
        Kind::Notice => (Some(Tone::BoldYellow), Some(Tone::Bold)),
        Kind::Info => (Some(Tone::Cyan), None),
        Kind::Notification => (Some(Tone::Green), None),
        Kind::Private | Kind::SentPrivate => (Some(Tone::BoldMagenta), None),
        Kind::History => (Some(Tone::Dim), Some(Tone::Dim)),
        Kind::Presence => (None, Some(Tone::Dim)),
        Kind::Message | Kind::Own => (None, None),
    }
}

/// The tone of a name: the same every time and in every client, since it depends on the name
/// alone (FNV-1a, without case, as names are compared).
pub(super) fn name_tone(name: &str) -> Tone {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte.to_ascii_lowercase());
        hash = hash.wrapping_mul(0x0100_0193);
    }
    Tone::Name(hash as usize % NAME_COLOURS.len())
}

/// The colour of a name, as an SGR code.
pub(super) fn name_colour(name: &str) -> &'static str {
    name_tone(name).sgr()
}

/// The line with colours: each part wrapped in its SGR code and a reset. The parts must already
/// be safe to show.
pub(super) fn paint(line: &Line) -> String {
    let (tag, text) = tones(line.kind);
    let mut out = String::with_capacity(line.tag.len() + line.name.len() + line.text.len() + 32);
    styled(&mut out, &line.tag, tag.map(Tone::sgr));
    styled(&mut out, &line.name, Some(name_colour(&line.name)));
    styled(&mut out, &line.text, text.map(Tone::sgr));
    out
}

/// Adds `text` to `out`, in `code` if there is one.
fn styled(out: &mut String, text: &str, code: Option<&str>) {
    match code {
        _ if text.is_empty() => {}
        Some(code) => out.push_str(&format!("\x1b[{code}m{text}\x1b[0m")),
        None => out.push_str(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ServerFrame;

    #[test]
    fn colours_follow_the_choice_the_terminal_and_no_color() {
        let cases = [
            (ColorChoice::Auto, true, false, true),
            (ColorChoice::Auto, false, false, false),
            (ColorChoice::Auto, true, true, false),
            (ColorChoice::Always, false, true, true),
            (ColorChoice::Never, true, false, false),
        ];
        for (choice, terminal, no_color, colours) in cases {
            assert_eq!(
                use_colours(choice, terminal, no_color),
                colours,
                "{choice} terminal={terminal} NO_COLOR={no_color}"
            );
        }
    }

    #[test]
    fn color_choices_parse_and_print_alike() {
        for choice in [ColorChoice::Auto, ColorChoice::Always, ColorChoice::Never] {
            assert_eq!(choice.to_string().parse(), Ok(choice));
        }
        assert!("sometimes".parse::<ColorChoice>().is_err());
    }

    #[test]
    fn a_name_has_one_colour_whatever_its_case() {
        assert_eq!(name_colour("alice"), name_colour("alice"));
        assert_eq!(name_colour("alice"), name_colour("ALICE"));
        assert!(NAME_COLOURS.contains(&name_colour("bob")));
    }

    #[test]
    fn names_spread_over_the_palette() {
        let names = [
            "alice", "bob", "carol", "dave", "eve", "frank", "grace", "heidi",
        ];
        let mut used: Vec<&str> = names.iter().map(|name| name_colour(name)).collect();
        used.sort_unstable();
        used.dedup();
        assert!(used.len() >= 4, "{used:?}");
    }

    #[test]
    fn painted_lines_colour_the_name_and_style_by_kind() {
        let message = Line {
            kind: Kind::Message,
            tag: String::new(),
            name: "alice".into(),
            text: ": hi".into(),
        };
        let colour = name_colour("alice");
        assert_eq!(paint(&message), format!("\x1b[{colour}malice\x1b[0m: hi"));
        let error = Line::error("no such user: bob");
        assert_eq!(
            paint(&error),
            "\x1b[31m[ERROR] \x1b[0m\x1b[31mno such user: bob\x1b[0m"
        );
        let private = super::super::render::render(&ServerFrame::Private {
            from: "alice".into(),
            text: "hi".into(),
        })
        .unwrap();
        assert_eq!(
            paint(&private),
            format!("\x1b[1;35m[PM] \x1b[0m\x1b[{colour}malice\x1b[0m: hi")
        );
    }

    #[test]
    fn painted_text_without_its_codes_is_the_plain_line() {
        let line = Line::sent_private("bob", "hi");
        let painted = paint(&line);
        let mut plain = String::new();
        let mut rest = painted.as_str();
        while let Some(at) = rest.find('\x1b') {
            plain.push_str(&rest[..at]);
            let end = rest[at..].find('m').unwrap();
            rest = &rest[at + end + 1..];
        }
        plain.push_str(rest);
        assert_eq!(plain, line.plain());
    }
}
