//! The git hooks: the shim and dispatcher installed into a repository, and the `old new ref` lines git feeds them.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::app::AppName;
use crate::error::{Error, Result};

const SHIM_TEMPLATE: &str = include_str!("../templates/hook-shim");
const DISPATCHER_TEMPLATE: &str = include_str!("../templates/hook-dispatcher");
/// Every file slipway writes as a hook starts with this; nothing else is ever treated as slipway's.
const MARKER: &[u8] = b"#!/bin/sh\n# slipway hook ";

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

/// Parses git's hook input: one `OLD NEW REF` line per updated ref.
///
/// Anything else is an error naming the line, so a confused caller records nothing.
pub fn parse_updates(input: &[u8]) -> Result<Vec<RefUpdate>> {
    let mut updates = Vec::new();
    for (i, raw) in input.split(|&b| b == b'\n').enumerate() {
        if raw.is_empty() {
            continue;
        }
        let bad = |reason| Error::HookInput {
            line: i + 1,
            text: crate::output::escape_bytes(raw).into_owned(),
            reason,
        };
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

/// What a slipway hook runs: `EXE --root ROOT hook HOOK --app APP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    /// The slipway binary, by absolute path.
    pub exe: PathBuf,
    /// The root it deploys into.
    pub root: PathBuf,
    /// The hook slipway runs as.
    pub hook: HookKind,
    /// The app it deploys.
    pub app: String,
}

impl Invocation {
    /// The shim's text: runs slipway by absolute path, every value shell-quoted.
    pub fn shim(&self) -> String {
        self.render(SHIM_TEMPLATE)
    }

    /// The dispatcher's text: runs `original` (the admin's hook) first, then slipway, with the same stdin.
    pub fn dispatcher(&self, original: &Path) -> String {
        self.render(DISPATCHER_TEMPLATE)
            .replace("{{ORIGINAL}}", &shell_quote(&original.to_string_lossy()))
    }

    fn render(&self, template: &str) -> String {
        template
            .replace("{{SLIPWAY}}", &shell_quote(&self.exe.to_string_lossy()))
            .replace("{{ROOT}}", &shell_quote(&self.root.to_string_lossy()))
            .replace("{{HOOK}}", self.hook.as_str())
            .replace("{{APP}}", &shell_quote(&self.app))
    }

    /// Finds the slipway command line in a shim or dispatcher that slipway wrote.
    pub fn parse(script: &[u8]) -> Option<Invocation> {
        if !is_slipway_hook(script) {
            return None;
        }
        let text = std::str::from_utf8(script).ok()?;
        text.lines().rev().find_map(|line| {
            let words = shell_words(line)?;
            let i = words.iter().position(|w| w == "--root")?.checked_sub(1)?;
            let [exe, _, root, hook_word, hook, app_flag, app] = words.get(i..i + 7)? else {
                return None;
            };
            let hook = match hook.as_str() {
                "post-receive" => HookKind::PostReceive,
                "pre-receive" => HookKind::PreReceive,
                _ => return None,
            };
            (hook_word == "hook" && app_flag == "--app").then(|| Invocation {
                exe: exe.into(),
                root: root.into(),
                hook,
                app: app.clone(),
            })
        })
    }
}

/// Whether a hook file's content is a shim or dispatcher written by slipway.
pub fn is_slipway_hook(script: &[u8]) -> bool {
    script.starts_with(MARKER)
}

/// Writes the post-receive shim into `repo_dir/hooks`, executable.
pub fn install_shim(repo_dir: &Path, exe: &Path, root: &Path, app: &AppName) -> Result<()> {
    let hooks = repo_dir.join("hooks");
    fs::create_dir_all(&hooks).map_err(Error::io("create", &hooks))?;
    let path = hooks.join("post-receive");
    let shim = Invocation {
        exe: exe.to_path_buf(),
        root: root.to_path_buf(),
        hook: HookKind::PostReceive,
        app: app.to_string(),
    }
    .shim();
    write_executable(&path, shim.as_bytes()).map_err(Error::io("write", &path))
}

/// Replaces `path` atomically with an executable (0755) file, whatever the umask.
pub fn write_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // git skips a hook that is not executable: the mode is set before it gets its name.
    crate::fsutil::write_atomic(path, bytes, 0o755)
}

/// Splits one line of sh into words: bare, `'single'` and `"double"` quoted; `None` if a quote is unclosed.
fn shell_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '\'' => break,
                        c => w.push(c),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => w.push(chars.next()?),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).push(chars.next()?),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Some(words)
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
    fn shim_and_dispatcher_invocations_parse_back() {
        let inv = Invocation {
            exe: "/opt/it's here/slipway".into(),
            root: "/srv/my root".into(),
            hook: HookKind::PreReceive,
            app: "shop".into(),
        };
        assert_eq!(Invocation::parse(inv.shim().as_bytes()), Some(inv.clone()));
        let dispatcher = inv.dispatcher(Path::new("/srv/a | b/pre-slipway/pre-receive"));
        assert_eq!(Invocation::parse(dispatcher.as_bytes()), Some(inv));
        assert_eq!(
            Invocation::parse(b"#!/bin/sh\nexec slipway --root r hook pre-receive --app a\n"),
            None
        );
        assert!(!is_slipway_hook(b"#!/bin/bash\n# slipway hook shim\n"));
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

    #[test]
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/srv/my root"), "'/srv/my root'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
