//! The `old new ref` lines git feeds its receive hooks, and the object directories of a push in quarantine.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The git hooks slipway can run as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookKind {
    /// Runs after refs moved: deploys the deploy branch.
    PostReceive,
    /// Runs before refs move: compiles the pushed commit and rejects the push if it cannot.
    PreReceive,
}

impl HookKind {
    /// The hook's file name, as git knows it.
    pub fn as_str(self) -> &'static str {
        match self {
            HookKind::PostReceive => "post-receive",
            HookKind::PreReceive => "pre-receive",
        }
    }
}

impl fmt::Display for HookKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One ref update, as git reports it to post-receive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefUpdate {
    /// The ref's old value (all zeros when created).
    pub old: String,
    /// The ref's new value (all zeros when deleted).
    pub new: String,
    /// The full ref name, such as `refs/heads/main`.
    pub refname: String,
}

impl RefUpdate {
    /// Whether the push deleted the ref.
    pub fn is_delete(&self) -> bool {
        self.new.bytes().all(|b| b == b'0')
    }
}

/// The longest hook input line: two 64-digit object ids and a ref name far longer than any real one.
pub const MAX_LINE: usize = 4096;
/// The most hook input read: ten thousands of ref updates; anything longer is refused before it is parsed.
pub const MAX_INPUT: usize = 16 * 1024 * 1024;

/// Parses git's hook input: one `OLD NEW REF` line per updated ref.
///
/// Anything else is an error naming the line, so a confused caller records nothing.
/// Input over [`MAX_INPUT`] bytes and lines over [`MAX_LINE`] are refused.
pub fn parse_updates(input: &[u8]) -> Result<Vec<RefUpdate>> {
    if input.len() > MAX_INPUT {
        return Err(Error::HookInputTooLong {
            max: crate::base::size::Size(MAX_INPUT as u64),
        });
    }
    let mut updates = Vec::new();
    for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let bad = |reason| Error::HookInput {
            line: i + 1,
            text: crate::base::text::escape_bytes_truncated(raw, crate::base::text::ECHO),
            reason,
        };
        if raw.len() > MAX_LINE {
            return Err(bad("the line is too long"));
        }
        let line = std::str::from_utf8(raw).map_err(|_| bad("not UTF-8"))?;
        let mut fields = line.split(' ');
        let (Some(old), Some(new), Some(refname), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad("expected '<old-sha> <new-sha> <ref>'"));
        };
        if !is_object_id(old) || !is_object_id(new) || old.len() != new.len() {
            return Err(bad("object ids must be 40 or 64 hex digits"));
        }
        if !refname.starts_with("refs/") || refname.len() == 5 {
            return Err(bad("ref names start with refs/"));
        }
        if refname.chars().any(char::is_control) {
            return Err(bad("ref names cannot contain control characters"));
        }
        updates.push(RefUpdate {
            old: old.to_owned(),
            new: new.to_owned(),
            refname: refname.to_owned(),
        });
    }
    Ok(updates)
}

/// Parses a `GIT_ALTERNATE_OBJECT_DIRECTORIES` value: `:`-separated, entries with a `:` or `"` C-quoted.
pub fn parse_object_dirs(value: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    let mut dirs = Vec::new();
    let mut entry = Vec::new();
    let mut bytes = value.iter().copied().peekable();
    let mut at_start = true;
    while let Some(b) = bytes.next() {
        match b {
            b':' => {
                if !entry.is_empty() {
                    dirs.push(PathBuf::from(std::ffi::OsString::from_vec(std::mem::take(
                        &mut entry,
                    ))));
                }
                at_start = true;
                continue;
            }
            b'"' if at_start => {
                while let Some(b) = bytes.next() {
                    match b {
                        b'"' => break,
                        b'\\' => entry.push(match bytes.next() {
                            Some(b'a') => 0x07,
                            Some(b'b') => 0x08,
                            Some(b't') => b'\t',
                            Some(b'n') => b'\n',
                            Some(b'v') => 0x0b,
                            Some(b'f') => 0x0c,
                            Some(b'r') => b'\r',
                            Some(d @ b'0'..=b'7') => {
                                let mut n = u32::from(d - b'0');
                                for _ in 0..2 {
                                    if let Some(d) = bytes.next_if(|d| (b'0'..=b'7').contains(d)) {
                                        n = n * 8 + u32::from(d - b'0');
                                    }
                                }
                                n as u8
                            }
                            Some(other) => other,
                            None => break,
                        }),
                        b => entry.push(b),
                    }
                }
            }
            b => entry.push(b),
        }
        at_start = false;
    }
    if !entry.is_empty() {
        dirs.push(PathBuf::from(std::ffi::OsString::from_vec(entry)));
    }
    dirs
}

fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64)
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    #[test]
    fn parses_git_lines_and_rejects_anything_else() {
        let input = format!(
            "{A} {B} refs/heads/main\n{B} {} refs/tags/v1\n",
            "0".repeat(40)
        );
        let updates = parse_updates(input.as_bytes()).unwrap();
        assert_eq!(updates.len(), 2);
        assert!(updates[1].is_delete());
        for bad in [
            format!("{A} {B}"),
            format!("{A} {B} refs/heads/main extra"),
            format!("{A} xyz refs/heads/main"),
            format!("{A} {B} main"),
            format!("{A}  {B} refs/heads/main"),
        ] {
            assert!(parse_updates(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn object_dirs_split_on_colons_and_unquote() {
        assert_eq!(
            parse_object_dirs(br#"/srv/a b/objects:"/srv/c:d/\"q\"\\/objects"::/e"#),
            [
                PathBuf::from("/srv/a b/objects"),
                PathBuf::from(r#"/srv/c:d/"q"\/objects"#),
                PathBuf::from("/e"),
            ]
        );
        assert_eq!(
            parse_object_dirs(br#""/x\303\251""#),
            [PathBuf::from("/x\u{e9}")]
        );
        assert!(parse_object_dirs(b"").is_empty());
    }
}
