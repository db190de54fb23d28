//! The git hook: the shim installed into a repository, and the `old new ref` lines git feeds it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::app::AppName;
use crate::error::{Error, Result};

const SHIM_TEMPLATE: &str = include_str!("../templates/post-receive");

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

fn is_object_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64)
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The shim's text: runs `exe` by absolute path with the root and app, every value shell-quoted.
pub fn shim(exe: &Path, root: &Path, app: &AppName) -> String {
    SHIM_TEMPLATE
        .replace("{{SLIPWAY}}", &shell_quote(&exe.to_string_lossy()))
        .replace("{{ROOT}}", &shell_quote(&root.to_string_lossy()))
        .replace("{{APP}}", &shell_quote(app.as_str()))
}

/// Writes the post-receive shim into `repo_dir/hooks`, executable.
pub fn install_shim(repo_dir: &Path, exe: &Path, root: &Path, app: &AppName) -> Result<()> {
    let hooks = repo_dir.join("hooks");
    fs::create_dir_all(&hooks).map_err(Error::io("create", &hooks))?;
    let path = hooks.join("post-receive");
    crate::fsutil::write_atomic(&path, shim(exe, root, app).as_bytes(), 0o755)
        .map_err(Error::io("write", &path))?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).map_err(Error::io("chmod", &path))
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
    fn shell_quote_survives_quotes_and_spaces() {
        assert_eq!(shell_quote("/srv/my root"), "'/srv/my root'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
