//! The authorized_keys file: one forced-command line per key, so a key can only ever run `slipway ssh-command`.

use std::path::Path;

use super::KeyEntry;
use crate::store::error::{Error, Result};

/// The restrictions on every key: OpenSSH's `restrict` (OpenSSH 7.2 and later) turns off
/// forwarding of every kind, terminals and `~/.ssh/rc`, and whatever later versions add to it.
pub const OPTIONS: &str = "restrict";

const HEADER: &str = "# Written by slipway from keys.json; edits here are lost. Use `slipway keys:add` and `slipway keys:remove`.\n";

/// The whole file: a comment line, then one line per key.
pub fn render(exe: &Path, root: &Path, keys: &[KeyEntry]) -> Result<String> {
    let exe = command_word(exe)?;
    let root = command_word(root)?;
    let mut text = HEADER.to_owned();
    for key in keys {
        let admin = if key.admin { " --admin" } else { "" };
        text.push_str(&format!(
            "{OPTIONS},command=\"{exe} --root {root} ssh-command --user {}{admin}\" {}",
            key.user, key.key
        ));
        if !key.comment.is_empty() {
            text.push(' ');
            text.push_str(&key.comment);
        }
        text.push('\n');
    }
    Ok(text)
}

/// A path as one word of the forced command.
///
/// sshd hands the command to the user's shell, and inside `command="..."` only
/// `\"` is special: a path is written bare when every character is plainly
/// safe, else single-quoted for the shell. `"`, newlines and other control
/// characters cannot be written safely at all and are refused.
fn command_word(path: &Path) -> Result<String> {
    let refuse = |reason| Error::UnsafePath {
        path: path.to_path_buf(),
        reason,
    };
    let Some(text) = path.to_str() else {
        return Err(refuse("it is not UTF-8"));
    };
    if text.contains('"') {
        return Err(refuse("it contains a double quote"));
    }
    if text.chars().any(char::is_control) {
        return Err(refuse("it contains a newline or another control character"));
    }
    let plain = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/._-+,:@%=".contains(&b));
    if plain && !text.is_empty() {
        Ok(text.to_owned())
    } else {
        Ok(crate::base::text::shell_quote(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::name::UserName;

    fn entry(user: &str, admin: bool, comment: &str) -> KeyEntry {
        KeyEntry {
            user: user.parse::<UserName>().unwrap(),
            fingerprint: "SHA256:x".into(),
            kind: "ssh-ed25519".into(),
            key: "ssh-ed25519 AAAAC3Nz".into(),
            comment: comment.into(),
            admin,
            added_at: "2026-03-01T10:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn lines_force_the_slipway_command() {
        let keys = [entry("alice", false, ""), entry("ops", true, "ops@laptop")];
        let text = render(
            Path::new("/usr/bin/slipway"),
            Path::new("/srv/slipway"),
            &keys,
        )
        .unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with('#'));
        assert_eq!(
            lines[1],
            "restrict,command=\"/usr/bin/slipway --root /srv/slipway ssh-command --user alice\" \
             ssh-ed25519 AAAAC3Nz"
        );
        assert!(lines[2].contains("ssh-command --user ops --admin\" "));
        assert!(lines[2].ends_with(" ssh-ed25519 AAAAC3Nz ops@laptop"));
    }

    #[test]
    fn unusual_paths_are_quoted_and_unsafe_ones_refused() {
        let keys = [entry("alice", false, "")];
        let text = render(
            Path::new("/opt/my bin/slipway"),
            Path::new("/srv/it's"),
            &keys,
        )
        .unwrap();
        assert!(
            text.contains("command=\"'/opt/my bin/slipway' --root '/srv/it'\\''s' ssh-command"),
            "{text}"
        );
        for bad in ["/srv/a\"b", "/srv/a\nb", "/srv/a\rb"] {
            let err = render(Path::new("/usr/bin/slipway"), Path::new(bad), &keys).unwrap_err();
            assert!(matches!(err, Error::UnsafePath { .. }), "{bad:?}");
        }
    }
}
