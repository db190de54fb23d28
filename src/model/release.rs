//! Releases: the immutable numbered records of an app, as data.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// Where a release is in its life.
/// A release number: the N of vN. Never reused, never wraps (refused at the limit).
pub type Version = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Being built or launched (or its process was killed; see `store::releases::Store::recover`).
    Pending,
    /// Built and launched.
    Succeeded,
    /// Did not build or did not launch; never current.
    Failed,
}

/// What made a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// New code was pushed.
    Deploy,
    /// Config vars changed.
    Config,
    /// An add-on was added, removed or changed plan.
    Addon,
    /// A copy of an older release.
    Rollback,
    /// An existing release was made current.
    Promote,
}

/// The compiled slug a release runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlugRef {
    /// Hex sha256 of the `.tar.gz`; also its file name under `slugs/`.
    pub sha256: String,
    /// Compressed size in bytes.
    pub size: u64,
}

/// An add-on attached to the app when the release was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addon {
    /// The add-on's name, such as `memcachier`.
    pub name: String,
    /// Its plan, such as `free`.
    pub plan: String,
    /// The config vars it provides.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// One release record, as stored in `releases/vN.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The N of vN.
    pub version: Version,
    /// "Deploy 3f2c1a9", "Config add FOO", "Rollback to v40", ...
    pub description: String,
    /// Who made it.
    pub user: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// Full sha of the commit whose code the release runs, if it runs any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The ref that was pushed, for deploys.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub refname: Option<String>,
    /// The slug, once compiled; `None` before the first deploy, or once pruned.
    #[serde(default)]
    pub slug: Option<SlugRef>,
    /// The slug this release had before `releases:prune` deleted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pruned_slug: Option<SlugRef>,
    /// Every config var.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Every add-on.
    #[serde(default)]
    pub addons: Vec<Addon>,
    /// Pending, succeeded or failed.
    pub status: Status,
    /// What made it.
    pub kind: Kind,
    /// For rollbacks: the version copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<Version>,
}

impl Release {
    /// "v12".
    pub fn name(&self) -> String {
        format!("v{}", self.version)
    }

    /// The first 7 characters of the commit, as Heroku shows it.
    pub fn short_commit(&self) -> Option<&str> {
        self.commit.as_deref().map(short_sha)
    }
}

/// The first 7 characters of a hex sha.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// Parses `v12` or `12`.
pub fn parse_version(text: &str) -> Result<Version> {
    let digits = text.strip_prefix('v').unwrap_or(text);
    match digits.parse::<Version>() {
        Ok(n) if n > 0 && !digits.starts_with('+') => Ok(n),
        _ => Err(Error::BadVersion {
            text: crate::base::text::escape_truncated(text, crate::base::text::ECHO),
        }),
    }
}

/// The version of a record file name (`v12.json`); `None` for anything else.
pub fn version_of_file_name(name: &[u8]) -> Option<Version> {
    let digits = name.strip_prefix(b"v")?.strip_suffix(b".json")?;
    if digits.is_empty() || digits[0] == b'0' || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_record_names_count_as_versions() {
        assert_eq!(version_of_file_name(b"v12.json"), Some(12));
        assert_eq!(version_of_file_name(b"v012.json"), None);
        assert_eq!(version_of_file_name(b"v.json"), None);
        assert_eq!(version_of_file_name(b".tmp-1-2"), None);
        assert_eq!(version_of_file_name(b"v3.json.bak"), None);
    }

    #[test]
    fn versions_parse_with_or_without_v() {
        assert_eq!(parse_version("v40").ok(), Some(40));
        assert_eq!(parse_version("40").ok(), Some(40));
        assert!(parse_version("v0").is_err());
        assert!(parse_version("latest").is_err());
        assert!(parse_version("v+3").is_err());
    }
}
