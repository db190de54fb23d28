//! Procfiles: `type: command` lines naming the processes a release runs.

use super::error::{Error, Result};

/// The process type that runs once per release, before the switch (Heroku's release phase).
pub const RELEASE: &str = "release";
/// The process type that gets `PORT` and receives the app's traffic.
pub const WEB: &str = "web";

/// A parsed Procfile: process types and their commands, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Procfile {
    entries: Vec<(String, String)>,
}

impl Procfile {
    /// Parses Procfile text; blank lines and `#` comments are ignored.
    pub fn parse(bytes: &[u8]) -> Result<Procfile> {
        let text = std::str::from_utf8(bytes).map_err(|_| Error::BadProcfile {
            line: 0,
            reason: "it is not UTF-8".into(),
        })?;
        let mut entries: Vec<(String, String)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let bad = |reason: String| Error::BadProcfile {
                line: i + 1,
                reason,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((kind, command)) = line.split_once(':') else {
                return Err(bad(format!(
                    "'{}' is not `type: command`",
                    crate::base::text::escape_truncated(line, crate::base::text::ECHO)
                )));
            };
            let (kind, command) = (kind.trim(), command.trim());
            check_type(kind).map_err(|reason| bad(reason.into()))?;
            if command.is_empty() {
                return Err(bad(format!("{kind} has no command")));
            }
            if entries.iter().any(|(k, _)| k == kind) {
                return Err(bad(format!("{kind} is defined twice")));
            }
            entries.push((kind.to_owned(), command.to_owned()));
        }
        Ok(Procfile { entries })
    }

    /// The command of process type `kind`.
    pub fn command(&self, kind: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, c)| c.as_str())
    }

    /// The release phase's command, if there is one.
    pub fn release_command(&self) -> Option<&str> {
        self.command(RELEASE)
    }

    /// The long-running process types (everything but `release`), with their commands.
    pub fn processes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .filter(|(k, _)| k != RELEASE)
            .map(|(k, c)| (k.as_str(), c.as_str()))
    }
}

/// Checks a process type name: letters, digits, `_` and `-`, at most 30, starting with a letter or digit.
pub fn check_type(kind: &str) -> Result<(), &'static str> {
    if kind.is_empty() || kind.len() > 30 {
        return Err("process types are 1 to 30 characters");
    }
    if !kind.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err("process types are letters, digits, '_' and '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_types_and_skips_comments() {
        let p = Procfile::parse(
            b"# processes\n\nweb: python3 -m http.server $PORT\nworker:  ./work --fast  \nrelease: ./migrate\n",
        )
        .unwrap();
        assert_eq!(p.command("web"), Some("python3 -m http.server $PORT"));
        assert_eq!(p.release_command(), Some("./migrate"));
        assert_eq!(
            p.processes().collect::<Vec<_>>(),
            [
                ("web", "python3 -m http.server $PORT"),
                ("worker", "./work --fast")
            ]
        );
    }

    #[test]
    fn refuses_malformed_lines() {
        for bad in [
            &b"web python3\n"[..],
            b"web:\n",
            b"we b: x\n",
            b"web: a\nweb: b\n",
            b"\xff: x\n",
        ] {
            assert!(Procfile::parse(bad).is_err(), "{bad:?}");
        }
        let err = Procfile::parse(b"web: a\n\nnope\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }
}
