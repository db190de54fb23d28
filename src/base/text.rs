//! Text that reaches a terminal or a shell: escaping of control and bidi characters, and POSIX sh quoting.

use std::borrow::Cow;
use std::fmt::Write as _;

/// How many characters of a refused input an error message echoes.
pub const ECHO: usize = 200;

/// Escapes control, bidi and invisible format characters so user text cannot move the cursor, fake lines or reorder what is shown.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`escape`], for bytes that may not be UTF-8 (invalid bytes become `\xNN`).
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

/// [`escape`]d, and cut to at most `max` characters with `...` when longer (for echoing refused input).
///
/// Only the first `max` characters are looked at, so a huge input costs no more than a short one.
pub fn escape_truncated(text: &str, max: usize) -> String {
    let (head, cut) = match text.char_indices().nth(max) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    };
    let escaped = escape(head);
    let (shown, cut) = match escaped.char_indices().nth(max) {
        Some((at, _)) => (&escaped[..at], true),
        None => (&escaped[..], cut),
    };
    if cut {
        format!("{shown}...")
    } else {
        shown.to_owned()
    }
}

/// Like [`escape_truncated`], for bytes that may not be UTF-8.
pub fn escape_bytes_truncated(bytes: &[u8], max: usize) -> String {
    let head = &bytes[..bytes.len().min(max.saturating_mul(4))];
    let escaped = escape_bytes(head);
    let (shown, cut) = match escaped.char_indices().nth(max) {
        Some((at, _)) => (&escaped[..at], true),
        None => (&escaped[..], head.len() < bytes.len()),
    };
    if cut {
        format!("{shown}...")
    } else {
        shown.to_owned()
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C), zero-width and other invisible format characters.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}' // soft hyphen
            | '\u{034f}' // combining grapheme joiner
            | '\u{061c}'
            | '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}' // Hangul fillers, shown as blanks
            | '\u{17b4}' | '\u{17b5}'
            | '\u{180b}'..='\u{180f}' // Mongolian selectors and vowel separator
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}' // interlinear annotation
            | '\u{1d173}'..='\u{1d17a}' // musical formatting
            | '\u{e0000}'..='\u{e007f}' // tags
    )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// `s` as is when sh would read it as one plain word, else [`shell_quote`]d (for commands shown to users).
pub fn shell_quote_if_needed(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+=:,@%".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_owned()
    } else {
        shell_quote(s)
    }
}

/// Quotes `s` for POSIX sh: single quotes, with each `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralizes_control_characters() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[2Jb\nc"), "a\\x1b[2Jb\\nc");
        assert_eq!(escape_bytes(b"caf\xe9"), "caf\\xe9");
    }

    #[test]
    fn escape_neutralizes_bidi_and_zero_width_characters() {
        assert_eq!(escape("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(escape("\u{2066}x\u{2069}"), "\\u{2066}x\\u{2069}");
        assert_eq!(escape("a\u{200b}b"), "a\\u{200b}b");
        for c in [
            '\u{202e}',
            '\u{2066}',
            '\u{2067}',
            '\u{2068}',
            '\u{2069}',
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{200e}',
            '\u{200f}',
            '\u{feff}',
            '\u{00ad}',
            '\u{206a}',
            '\u{180e}',
            '\u{e0041}',
            '\u{fff9}',
        ] {
            let shown = escape_truncated(&format!("a{c}b"), 40);
            assert_eq!(shown, format!("a\\u{{{:x}}}b", c as u32), "{:x}", c as u32);
        }
        assert_eq!(escape("café ünïcode"), "café ünïcode");
    }

    #[test]
    fn refused_input_is_echoed_truncated() {
        assert_eq!(escape_truncated("short", 10), "short");
        assert_eq!(escape_truncated(&"x".repeat(50), 10), "xxxxxxxxxx...");
        assert_eq!(escape_truncated(&"x".repeat(10), 10), "xxxxxxxxxx");
        assert_eq!(escape_truncated("\x1b\x1b\x1b", 6), "\\x1b\\x...");
        assert_eq!(escape_bytes_truncated(b"ab\xff", 10), "ab\\xff");
        assert_eq!(escape_bytes_truncated(&[b'y'; 100], 3), "yyy...");
    }

    #[test]
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/srv/my root"), "'/srv/my root'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote_if_needed("/srv/plain"), "/srv/plain");
        assert_eq!(shell_quote_if_needed(""), "''");
    }
}
