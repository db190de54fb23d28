//! Buildpacks as users name them: a built-in (`python`, `heroku/nodejs`), a local directory, a git URL with an optional `#ref`, or a `.tgz` URL.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The buildpacks shipped inside slipway, in the order their detection runs.
pub const BUILTINS: [&str; 2] = ["nodejs", "python"];

/// The longest buildpack URL accepted.
const MAX_URL: usize = 2048;

/// A buildpack, as given to `buildpacks:set` or listed in `.buildpacks` / `BUILDPACK_URL`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Buildpack {
    text: String,
    source: Source,
}

/// Where a buildpack's scripts come from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// One shipped inside slipway, by its canonical name (`python`, `nodejs`).
    Builtin(&'static str),
    /// A directory on this host.
    Dir(PathBuf),
    /// A git repository, cloned with the real git client; `reference` is the part after `#`.
    Git {
        url: String,
        reference: Option<String>,
    },
    /// A `.tgz` or `.tar.gz` archive over http(s).
    Tarball(String),
}

impl Buildpack {
    /// Where its scripts come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The built-in of this canonical name.
    pub fn builtin(name: &'static str) -> Buildpack {
        Buildpack {
            text: name.to_owned(),
            source: Source::Builtin(name),
        }
    }
}

impl fmt::Display for Buildpack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Buildpack {
    type Err = Error;

    fn from_str(text: &str) -> Result<Buildpack> {
        let bad = |reason: &'static str| Error::BadBuildpack {
            text: crate::base::text::escape_truncated(text, 200),
            reason,
        };
        let text = text.trim();
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.len() > MAX_URL {
            return Err(bad("it is longer than 2048 characters"));
        }
        if text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(bad("it holds spaces or control characters"));
        }
        let source = parse_source(text).map_err(bad)?;
        Ok(Buildpack {
            text: text.to_owned(),
            source,
        })
    }
}

fn parse_source(text: &str) -> std::result::Result<Source, &'static str> {
    if let Some(name) = builtin_name(text) {
        return Ok(Source::Builtin(name));
    }
    if text.starts_with('/') {
        return Ok(Source::Dir(PathBuf::from(text)));
    }
    let lower = text.to_ascii_lowercase();
    let (base, reference) = match text.split_once('#') {
        Some((base, reference)) => (base, Some(reference)),
        None => (text, None),
    };
    let is_http = lower.starts_with("https://") || lower.starts_with("http://");
    let path = base
        .split(['?'])
        .next()
        .unwrap_or(base)
        .to_ascii_lowercase();
    if is_http && (path.ends_with(".tgz") || path.ends_with(".tar.gz")) {
        if reference.is_some() {
            return Err("an archive URL cannot name a git ref with #");
        }
        return Ok(Source::Tarball(text.to_owned()));
    }
    let is_git = ["https://", "http://", "file://", "ssh://", "git://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        || is_scp_like(base);
    if !is_git {
        return Err(
            "name a built-in (python, nodejs), an absolute directory, a git URL or a .tgz URL",
        );
    }
    if base.starts_with('-') {
        return Err("it cannot start with '-'");
    }
    if let Some(reference) = reference
        && !is_ref_name(reference)
    {
        return Err("the part after # must be a branch, tag or commit name");
    }
    Ok(Source::Git {
        url: base.to_owned(),
        reference: reference.map(str::to_owned),
    })
}

/// `python`, `heroku/python`, `heroku-buildpack-python` and the like: the built-in's canonical name.
fn builtin_name(text: &str) -> Option<&'static str> {
    let name = text
        .strip_prefix("heroku/")
        .or_else(|| text.strip_prefix("heroku-buildpack-"))
        .unwrap_or(text);
    match name {
        "python" => Some("python"),
        "nodejs" | "node" | "node.js" => Some("nodejs"),
        _ => None,
    }
}

/// `git@github.com:someone/repo.git`.
fn is_scp_like(text: &str) -> bool {
    match text.split_once(':') {
        Some((host, path)) => {
            !host.is_empty()
                && !host.contains('/')
                && host.contains('@')
                && !path.is_empty()
                && !path.starts_with("//")
        }
        None => false,
    }
}

/// A plausible branch, tag or commit name (what `git check-ref-format` would take, roughly).
fn is_ref_name(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 255
        && !reference.starts_with(['-', '/', '.'])
        && !reference.ends_with(['/', '.'])
        && !reference.contains("..")
        && !reference.ends_with(".lock")
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./+@".contains(&b))
}

impl TryFrom<String> for Buildpack {
    type Error = Error;

    fn try_from(text: String) -> Result<Buildpack> {
        text.parse()
    }
}

impl From<Buildpack> for String {
    fn from(buildpack: Buildpack) -> String {
        buildpack.text
    }
}

/// Parses a `.buildpacks` file: one buildpack per line; blank lines and `#` comments are ignored.
pub fn parse_list(text: &str) -> Result<Vec<Buildpack>> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::parse)
        .collect()
}

/// What a buildpack's `bin/release` printed: process types to use where the Procfile has none, and config defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ReleaseInfo {
    /// `web: npm start` and the like.
    #[serde(default)]
    pub default_process_types: std::collections::BTreeMap<String, String>,
    /// Config vars the app gets unless it sets them itself.
    #[serde(default)]
    pub config_vars: std::collections::BTreeMap<String, String>,
    /// Add-ons the buildpack would like (listed, never provisioned).
    #[serde(default)]
    pub addons: Vec<String>,
}

impl ReleaseInfo {
    /// Parses `bin/release`'s YAML; empty output is an empty release.
    pub fn parse(text: &str) -> Result<ReleaseInfo> {
        let bad = |reason: String| Error::BadReleaseYaml { reason };
        if text.trim().is_empty() || text.trim() == "---" {
            return Ok(ReleaseInfo::default());
        }
        let value: serde_yaml::Value =
            serde_yaml::from_str(text).map_err(|e| bad(e.to_string()))?;
        if value.is_null() {
            return Ok(ReleaseInfo::default());
        }
        let info: ReleaseInfo = serde_yaml::from_value(value).map_err(|e| bad(e.to_string()))?;
        for kind in info.default_process_types.keys() {
            super::procfile::check_type(kind).map_err(|reason| {
                bad(format!(
                    "process type '{}': {reason}",
                    crate::base::text::escape_truncated(kind, crate::base::text::ECHO)
                ))
            })?;
        }
        for key in info.config_vars.keys() {
            super::config::check_key(key).map_err(|e| bad(e.to_string()))?;
        }
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Option<Source> {
        text.parse::<Buildpack>().ok().map(|b| b.source)
    }

    #[test]
    fn names_urls_and_paths_parse_into_sources() {
        assert_eq!(source("python"), Some(Source::Builtin("python")));
        assert_eq!(source("heroku/nodejs"), Some(Source::Builtin("nodejs")));
        assert_eq!(
            source("https://github.com/heroku/heroku-buildpack-python"),
            Some(Source::Git {
                url: "https://github.com/heroku/heroku-buildpack-python".into(),
                reference: None
            })
        );
        assert_eq!(
            source("file:///srv/bp.git#v2.1"),
            Some(Source::Git {
                url: "file:///srv/bp.git".into(),
                reference: Some("v2.1".into())
            })
        );
        assert_eq!(
            source("git@github.com:someone/bp.git#main"),
            Some(Source::Git {
                url: "git@github.com:someone/bp.git".into(),
                reference: Some("main".into())
            })
        );
        assert_eq!(
            source("https://example.com/bp.tgz?sig=1"),
            Some(Source::Tarball("https://example.com/bp.tgz?sig=1".into()))
        );
        assert_eq!(
            source("/srv/buildpacks/go"),
            Some(Source::Dir("/srv/buildpacks/go".into()))
        );
        for bad in [
            "",
            "ruby",
            "ftp://x/y",
            "relative/dir",
            "https://x/y#../../z",
            "https://x/y#-o",
            "https://x/bp.tgz#main",
            "a b",
            "https://x/\ny",
        ] {
            assert!(bad.parse::<Buildpack>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn buildpacks_files_skip_blanks_and_comments() {
        let list = parse_list("# ours\nheroku/nodejs\n\n  python  \n").unwrap();
        assert_eq!(
            list.iter().map(Buildpack::as_str).collect::<Vec<_>>(),
            ["heroku/nodejs", "python"]
        );
        assert!(parse_list("nodejs\nnot a buildpack\n").is_err());
    }

    #[test]
    fn release_yaml_gives_process_types_and_config_defaults() {
        let info = ReleaseInfo::parse(
            "---\naddons: []\ndefault_process_types:\n  web: npm start\nconfig_vars:\n  NODE_ENV: production\n",
        )
        .unwrap();
        assert_eq!(info.default_process_types["web"], "npm start");
        assert_eq!(info.config_vars["NODE_ENV"], "production");
        assert_eq!(ReleaseInfo::parse("").unwrap(), ReleaseInfo::default());
        assert_eq!(
            ReleaseInfo::parse("--- {}\n").unwrap(),
            ReleaseInfo::default()
        );
        assert!(ReleaseInfo::parse("default_process_types: [1, 2]").is_err());
        assert!(ReleaseInfo::parse("default_process_types:\n  'bad type': x\n").is_err());
        assert!(ReleaseInfo::parse(": :\n  - [").is_err());
    }
}
