//! Text that reaches a terminal or a shell: escaping of control and bidi characters, and POSIX sh quoting.

use std::borrow::Cow;
use std::fmt::Write as _;

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
pub fn escape_truncated(text: &str, max: usize) -> String {
    let escaped = escape(text);
    match escaped.char_indices().nth(max) {
        Some((at, _)) => format!("{}...", &escaped[..at]),
        None => escaped.into_owned(),
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible_format(c)
}

/// Bidi controls (U+202A-202E, U+2066-2069, U+200E/F, U+061C) and zero-width characters.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{061c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}'
            | '\u{feff}'
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
        assert_eq!(escape("café ünïcode"), "café ünïcode");
    }

    #[test]
    fn refused_input_is_echoed_truncated() {
        assert_eq!(escape_truncated("short", 10), "short");
        assert_eq!(escape_truncated(&"x".repeat(50), 10), "xxxxxxxxxx...");
    }

    #[test]
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/srv/my root"), "'/srv/my root'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote_if_needed("/srv/plain"), "/srv/plain");
        assert_eq!(shell_quote_if_needed(""), "''");
    }
}
