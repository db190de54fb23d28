//! The formation: how many processes of each type run, as `ps:scale` sets it.
//!
//! A type the formation does not name runs one process, as foreman and piku
//! do: the Procfile says what the app is, `ps:scale` only changes how much of it runs.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::procfile::{self, Procfile};

/// The most processes of one type `ps:scale` allows.
pub const MAX_SCALE: u32 = 100;

/// Process counts by type; types not named run one process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Formation {
    counts: BTreeMap<String, u32>,
}

impl Formation {
    /// How many `kind` processes run.
    pub fn count(&self, kind: &str) -> u32 {
        self.counts.get(kind).copied().unwrap_or(1)
    }

    /// Sets the counts given.
    pub fn apply(&mut self, changes: &[Scale]) {
        for change in changes {
            self.counts.insert(change.kind.clone(), change.count);
        }
    }

    /// Each process type of `procfile` with its count and command, in Procfile order.
    pub fn plan<'p>(&self, procfile: &'p Procfile) -> Vec<(&'p str, u32, &'p str)> {
        procfile
            .processes()
            .map(|(kind, command)| (kind, self.count(kind), command))
            .collect()
    }

    /// Whether `procfile` runs any process under this formation.
    pub fn runs_anything(&self, procfile: &Procfile) -> bool {
        self.plan(procfile).iter().any(|(_, n, _)| *n > 0)
    }
}

/// One `TYPE=N` argument of `ps:scale`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scale {
    /// The process type.
    pub kind: String,
    /// How many should run.
    pub count: u32,
}

impl FromStr for Scale {
    type Err = Error;

    fn from_str(arg: &str) -> Result<Scale> {
        let bad = |reason: &'static str| Error::BadScale {
            arg: crate::base::text::escape_truncated(arg, crate::base::text::ECHO),
            reason,
        };
        // Heroku's `web=2:standard-2x` and `web:standard-2x`.
        if arg.contains(':') {
            return Err(bad(
                "slipway has no process sizes: every process runs on this host as it is (scale with TYPE=N only)",
            ));
        }
        let Some((kind, count)) = arg.split_once('=') else {
            return Err(bad("expected TYPE=N, such as web=2"));
        };
        procfile::check_type(kind).map_err(bad)?;
        let count: u32 = count
            .parse()
            .map_err(|_| bad("the count is not a whole number"))?;
        if count > MAX_SCALE {
            return Err(bad("at most 100 processes of a type"));
        }
        Ok(Scale {
            kind: kind.to_owned(),
            count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_types_run_one_and_scale_args_parse() {
        let procfile = Procfile::parse(b"web: a\nworker: b\nrelease: c\n").unwrap();
        let mut f = Formation::default();
        assert_eq!(f.plan(&procfile), [("web", 1, "a"), ("worker", 1, "b")]);
        f.apply(&["worker=0".parse().unwrap(), "web=3".parse().unwrap()]);
        assert_eq!(f.plan(&procfile), [("web", 3, "a"), ("worker", 0, "b")]);
        for bad in [
            "web",
            "web=-1",
            "web=x",
            "=2",
            "web=101",
            "w eb=1",
            "web=1:standard-2x",
            "web:performance-m",
        ] {
            assert!(bad.parse::<Scale>().is_err(), "{bad}");
        }
    }
}
