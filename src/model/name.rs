//! Names of apps and users, and the app a git remote URL points at.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

const MAX_NAME_LEN: usize = 30;

/// A valid app name: a lowercase letter, then lowercase letters, digits or dashes; at most 30.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppName(String);

impl FromStr for AppName {
    type Err = Error;

    fn from_str(name: &str) -> Result<AppName> {
        let bad = |reason| Error::BadAppName {
            name: crate::base::text::escape_truncated(name, crate::base::text::ECHO),
            reason,
        };
        let Some(first) = name.chars().next() else {
            return Err(bad("it is empty"));
        };
        if name.len() > MAX_NAME_LEN {
            return Err(bad("it is longer than 30 characters"));
        }
        if !first.is_ascii_lowercase() {
            return Err(bad("it must start with a lowercase letter"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad("only lowercase letters, digits and dashes are allowed"));
        }
        Ok(AppName(name.to_owned()))
    }
}

impl AppName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The app a git remote URL points at: `.../apps/NAME/repo.git`, or any URL ending in `NAME.git`.
pub fn name_from_remote_url(url: &str) -> Option<AppName> {
    let url = url.trim_end_matches('/');
    let mut parts = url.rsplit(['/', ':']);
    let last = parts.next()?;
    if last == "repo.git" {
        let name = parts.next()?;
        return (parts.next()? == "apps").then(|| name.parse().ok())?;
    }
    last.strip_suffix(".git")?.parse().ok()
}

const MAX_USER_LEN: usize = 64;

/// A valid user name: a lowercase letter, then lowercase letters, digits, `.`, `_`, `-` or `@`; at most 64.
///
/// Wide enough for `deploy_bot`, `alice.smith` and `alice@example.com`, and
/// never anything a shell or the authorized_keys syntax would read specially.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl FromStr for UserName {
    type Err = Error;

    fn from_str(name: &str) -> Result<UserName> {
        let bad = |reason| Error::BadUserName {
            name: crate::base::text::escape_truncated(name, crate::base::text::ECHO),
            reason,
        };
        let Some(first) = name.chars().next() else {
            return Err(bad("it is empty"));
        };
        if name.len() > MAX_USER_LEN {
            return Err(bad("it is longer than 64 characters"));
        }
        if !first.is_ascii_lowercase() {
            return Err(bad("it must start with a lowercase letter"));
        }
        if !name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@')
        }) {
            return Err(bad(
                "only lowercase letters, digits, dots, underscores, dashes and @ are allowed",
            ));
        }
        Ok(UserName(name.to_owned()))
    }
}

impl TryFrom<String> for UserName {
    type Error = Error;

    fn try_from(name: String) -> Result<UserName> {
        name.parse()
    }
}

impl From<UserName> for String {
    fn from(name: UserName) -> String {
        name.0
    }
}

impl UserName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_name_their_app() {
        let name = |url: &str| name_from_remote_url(url).map(|n| n.to_string());
        assert_eq!(
            name("/srv/slipway/apps/myapp/repo.git").as_deref(),
            Some("myapp")
        );
        assert_eq!(
            name("file:///srv/slipway/apps/myapp/repo.git/").as_deref(),
            Some("myapp")
        );
        assert_eq!(name("git@example.com:myapp.git").as_deref(), Some("myapp"));
        assert_eq!(
            name("ssh://git@example.com:2222/myapp.git").as_deref(),
            Some("myapp")
        );
        assert_eq!(name("/srv/other/repo.git"), None);
        assert_eq!(name("https://example.com/Some/Repo"), None);
        assert_eq!(name("git@example.com:Bad_Name.git"), None);
    }
}
