//! Text made safe to show: what a server or a user sent must not be able to move the cursor,
//! recolour the terminal, hide a character or reorder the text after it. Pure; [`Output`]
//! passes every line through [`safe`] before it reaches the terminal or the chat log.
//!
//! [`Output`]: super::output::Output

use super::render::Line;
use crate::protocol::{self, is_invisible};

/// U+202C POP DIRECTIONAL FORMATTING: ends an embedding or override.
const PDF: char = '\u{202C}';
/// U+2069 POP DIRECTIONAL ISOLATE: ends an isolate, and any embedding opened inside it.
const PDI: char = '\u{2069}';

/// A line as it may be shown: control characters replaced in each part ([`sanitize`]), and
/// every bidi embedding, override or isolate the whole line opened closed at the end of its text
/// ([`bidi_closers`]), so that nothing after the line (the next one, the prompt) is reordered.
pub(super) fn safe(line: &Line) -> Line {
    let mut safe = Line {
        kind: line.kind,
        tag: sanitize(&line.tag),
        name: sanitize(&line.name),
        text: sanitize(&line.text),
    };
    let closers = bidi_closers(&safe.plain());
    safe.text.push_str(&closers);
    safe
}

/// Replaces control characters but TAB with U+FFFD, so no text can move the cursor, recolour or
/// retitle the terminal. The decoder already refuses such lines; this is the second lock.
pub(super) fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if protocol::is_forbidden_control(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// What a direction opener starts.
#[derive(Clone, Copy)]
enum Opened {
    /// LRE, RLE, LRO or RLO (U+202A, U+202B, U+202D, U+202E): ended by PDF.
    Embedding,
    /// LRI, RLI or FSI (U+2066-U+2068): ended by PDI.
    Isolate,
}

/// The characters that close, in order, every embedding, override and isolate `line` leaves
/// open, so that a message cannot reverse the text shown after it (the next line, a name, the
/// prompt). Right-to-left writers keep their marks inside the line.
///
/// It follows the Unicode bidi algorithm's matching (UAX #9, X1-X8): a PDF closes the last
/// embedding unless an isolate was opened after it; a PDI closes the last isolate and the
/// embeddings inside it; a closer with nothing to close does nothing. Closing too much is
/// harmless for the same reason, so a paragraph separator inside the line (which ends
/// everything) is not tracked.
pub(super) fn bidi_closers(line: &str) -> String {
    let mut open = Vec::new();
    for c in line.chars() {
        match c {
            '\u{202A}' | '\u{202B}' | '\u{202D}' | '\u{202E}' => open.push(Opened::Embedding),
            '\u{2066}'..='\u{2068}' => open.push(Opened::Isolate),
            PDF => {
                if let Some(Opened::Embedding) = open.last() {
                    open.pop();
                }
            }
            PDI => {
                if let Some(at) = open.iter().rposition(|o| matches!(o, Opened::Isolate)) {
                    open.truncate(at);
                }
            }
            _ => {}
        }
    }
    open.iter()
        .rev()
        .map(|opened| match opened {
            Opened::Embedding => PDF,
            Opened::Isolate => PDI,
        })
        .collect()
}

/// A name or path to show in a message about it, with every control or invisible character
/// written as its number (`x\u{202e}txt.exe`), so the name shows as what it is, not as what it
/// pretends to be.
pub(super) fn escaped(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_control() || is_invisible(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_replaces_control_characters_but_tab() {
        assert_eq!(sanitize("a\tb"), "a\tb");
        assert_eq!(
            sanitize("\x1b[2J\x07\r\u{9b}x"),
            "\u{fffd}[2J\u{fffd}\u{fffd}\u{fffd}x"
        );
    }

    #[test]
    fn open_embeddings_and_isolates_are_closed_in_reverse_order() {
        let cases = [
            ("plain text", ""),
            ("\u{202e}reversed", "\u{202c}"),
            ("\u{202b}rtl \u{202d}ltr", "\u{202c}\u{202c}"),
            ("\u{2067}isolated", "\u{2069}"),
            ("\u{2066}a\u{202e}b", "\u{202c}\u{2069}"),
            ("\u{202e}a\u{2068}b", "\u{2069}\u{202c}"),
        ];
        for (line, closers) in cases {
            assert_eq!(bidi_closers(line), closers, "{line:?}");
        }
    }

    #[test]
    fn what_the_line_closed_itself_needs_no_closing() {
        let cases = [
            ("\u{202e}a\u{202c} b", ""),
            ("\u{2067}a\u{2069} b", ""),
            // A PDI closes the embeddings opened inside its isolate.
            ("\u{2066}\u{202e}\u{202b}a\u{2069}", ""),
            // A PDF does not close an embedding from outside an open isolate.
            ("\u{202e}\u{2066}a\u{202c}", "\u{2069}\u{202c}"),
            // Closers with nothing to close do nothing.
            ("\u{202c}\u{2069}a\u{202e}", "\u{202c}"),
        ];
        for (line, closers) in cases {
            assert_eq!(bidi_closers(line), closers, "{line:?}");
        }
    }

    #[test]
    fn safe_lines_are_sanitized_and_closed() {
        let line = Line::error("\u{202e}\x07gnp.exe");
        assert_eq!(
            safe(&line).plain(),
            "[ERROR] \u{202e}\u{fffd}gnp.exe\u{202c}"
        );
        assert_eq!(safe(&Line::own("hi")), Line::own("hi"));
    }

    #[test]
    fn escaped_names_show_invisible_and_control_characters_as_numbers() {
        assert_eq!(escaped("x\u{202e}txt.exe"), "x\\u{202e}txt.exe");
        assert_eq!(escaped("a\u{200b}b\tc\u{1b}"), "a\\u{200b}b\\u{9}c\\u{1b}");
        assert_eq!(escaped("résumé 日本.txt"), "résumé 日本.txt");
    }
}
