//! Config vars: names, `KEY=VALUE` arguments, and what a change adds, changes and removes.

use std::collections::BTreeMap;

use super::error::{Error, Result};

/// An app's config vars, sorted by name.
pub type Config = BTreeMap<String, String>;

/// Checks a config var name: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn check_key(key: &str) -> Result<()> {
    let mut chars = key.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::BadConfigKey {
            key: crate::base::text::escape_truncated(key, crate::base::text::ECHO),
        })
    }
}

/// Parses `KEY=VALUE` (the value may hold anything, `=` included).
pub fn parse_assignment(arg: &str) -> Result<(String, String)> {
    let Some((key, value)) = arg.split_once('=') else {
        return Err(Error::BadConfigAssignment {
            arg: crate::base::text::escape_truncated(arg, crate::base::text::ECHO),
        });
    };
    check_key(key)?;
    Ok((key.to_owned(), value.to_owned()))
}

/// What a config change does, by var name.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// Names that were not set before.
    pub added: Vec<String>,
    /// Names whose value changed.
    pub changed: Vec<String>,
    /// Names no longer set.
    pub removed: Vec<String>,
}

impl Diff {
    /// The difference between two configs.
    pub fn between(before: &Config, after: &Config) -> Diff {
        let mut diff = Diff::default();
        for (key, value) in after {
            match before.get(key) {
                None => diff.added.push(key.clone()),
                Some(old) if old != value => diff.changed.push(key.clone()),
                Some(_) => {}
            }
        }
        diff.removed = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .cloned()
            .collect();
        diff
    }

    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// "Config add FOO, BAR", "Config change BAR", "Config add FOO; change BAR; remove BAZ".
    pub fn description(&self) -> String {
        let parts: Vec<String> = [
            ("add", &self.added),
            ("change", &self.changed),
            ("remove", &self.removed),
        ]
        .into_iter()
        .filter(|(_, keys)| !keys.is_empty())
        .map(|(verb, keys)| format!("{verb} {}", keys.join(", ")))
        .collect();
        format!("Config {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn descriptions_name_every_kind_of_change() {
        let before = config(&[("BAR", "1"), ("BAZ", "2"), ("KEEP", "3")]);
        let after = config(&[("BAR", "9"), ("FOO", "x"), ("KEEP", "3")]);
        let diff = Diff::between(&before, &after);
        assert_eq!(diff.description(), "Config add FOO; change BAR; remove BAZ");
        let only_add = Diff::between(
            &before,
            &config(&[
                ("BAR", "1"),
                ("BAZ", "2"),
                ("KEEP", "3"),
                ("A", ""),
                ("B", ""),
            ]),
        );
        assert_eq!(only_add.description(), "Config add A, B");
        assert!(Diff::between(&before, &before).is_empty());
    }

    #[test]
    fn keys_and_assignments_are_checked() {
        for good in ["A", "_x", "MY_VAR_2", "lower"] {
            assert!(check_key(good).is_ok(), "{good}");
        }
        for bad in ["", "1A", "A-B", "A B", "É", "A=B"] {
            assert!(check_key(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_assignment("URL=a=b c").unwrap(),
            ("URL".to_owned(), "a=b c".to_owned())
        );
        assert_eq!(
            parse_assignment("EMPTY=").unwrap(),
            ("EMPTY".to_owned(), String::new())
        );
        assert!(parse_assignment("NOVALUE").is_err());
    }
}
