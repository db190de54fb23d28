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

/// What commands such as `ps:restart` and `logs --ps` name: every process of a type (`web`), or one (`web.1`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target {
    /// The process type.
    pub kind: String,
    /// The one process of that type, counting from 1.
    pub index: Option<u32>,
}

impl Target {
    /// Whether process `index` of `kind` is named.
    pub fn matches(&self, kind: &str, index: u32) -> bool {
        self.kind == kind && self.index.is_none_or(|i| i == index)
    }

    /// Whether the process named `name` (`web.1`) is named.
    pub fn matches_name(&self, name: &str) -> bool {
        name.rsplit_once('.')
            .and_then(|(kind, index)| Some((kind, index.parse().ok()?)))
            .is_some_and(|(kind, index)| self.matches(kind, index))
    }
}

impl std::str::FromStr for Target {
    type Err = Error;

    fn from_str(name: &str) -> Result<Target> {
        let bad = |reason: &'static str| Error::BadProcess {
            name: crate::base::text::escape(name).into_owned(),
            reason,
        };
        let (kind, index) = match name.split_once('.') {
            Some((kind, index)) => {
                let index = index
                    .parse::<u32>()
                    .ok()
                    .filter(|i| *i > 0 && !index.starts_with(['+', '0']))
                    .ok_or(bad("the number after the dot counts from 1, as in web.1"))?;
                (kind, Some(index))
            }
            None => (name, None),
        };
        check_type(kind).map_err(bad)?;
        Ok(Target {
            kind: kind.to_owned(),
            index,
        })
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(index) => write!(f, "{}.{index}", self.kind),
            None => f.write_str(&self.kind),
        }
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
    fn targets_name_a_type_or_one_process() {
        let web: Target = "web".parse().unwrap();
        let one: Target = "web.2".parse().unwrap();
        assert_eq!((web.index, one.index), (None, Some(2)));
        assert_eq!(
            (web.to_string(), one.to_string()),
            ("web".into(), "web.2".into())
        );
        assert!(web.matches("web", 7) && !web.matches("worker", 1));
        assert!(one.matches_name("web.2") && !one.matches_name("web.20"));
        assert!(!one.matches_name("supervisor") && !web.matches_name("web"));
        for bad in [
            "", "web.", "web.0", "web.01", "web.+1", "web.x", ".1", "w b", "web.1.2",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }

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
