//! What the buildpack commands print, in the Heroku CLI's words.

use std::fmt::Write as _;

use super::escape;
use crate::model::buildpack::Buildpack;
use crate::model::name::AppName;

/// `buildpacks`: the app's buildpacks, numbered when there are several; with none set, what chooses instead (`config_url`: its `BUILDPACK_URL`).
pub fn list(app: &AppName, list: &[Buildpack], config_url: Option<&str>) -> String {
    match list {
        [] => match config_url {
            Some(url) => format!(
                "{app} has no Buildpack URL set; its BUILDPACK_URL config var chooses: {}\n",
                escape(url)
            ),
            None => format!(
                "{app} has no Buildpack URL set: the next deploy uses the repository's .buildpacks file if it has one, else detects them (python, nodejs)\n"
            ),
        },
        [one] => format!("=== {app} Buildpack URL\n{}\n", escape(one.as_str())),
        many => {
            let mut text = format!("=== {app} Buildpack URLs\n");
            for (i, b) in many.iter().enumerate() {
                let _ = writeln!(text, "{}. {}", i + 1, escape(b.as_str()));
            }
            text
        }
    }
}

/// "Buildpack set. Next release on myapp will use heroku/python.", and how to make that release.
pub fn changed(verb: &str, app: &AppName, list: &[Buildpack]) -> String {
    let mut text = match list {
        [] => format!("Buildpack {verb}. Next release on {app} will detect buildpacks normally.\n"),
        [one] => format!(
            "Buildpack {verb}. Next release on {app} will use {}.\n",
            escape(one.as_str())
        ),
        many => {
            let mut text = format!("Buildpack {verb}. Next release on {app} will use:\n");
            for (i, b) in many.iter().enumerate() {
                let _ = writeln!(text, "  {}. {}", i + 1, escape(b.as_str()));
            }
            text
        }
    };
    let these = if list.len() > 1 {
        "these buildpacks"
    } else {
        "this buildpack"
    };
    if !list.is_empty() {
        let _ = writeln!(
            text,
            "Run `git push slipway main` (or `slipway deploy -a {app}`) to create a new release using {these}."
        );
    }
    text
}

/// `buildpacks:clear`'s line.
pub fn cleared(app: &AppName) -> String {
    format!("Buildpacks cleared. Next release on {app} will detect buildpacks normally.\n")
}

/// `buildpacks:clear-cache`'s line.
pub fn cache_cleared(app: &AppName, had: bool) -> String {
    if had {
        format!("Build cache of {app} cleared: the next build starts from scratch.\n")
    } else {
        format!("{app} has no build cache.\n")
    }
}

/// `buildpacks:clear-cache --json`: the app and whether it had a cache.
pub fn cache_cleared_json(app: &AppName, had: bool) -> String {
    super::json(&serde_json::json!({"app": app.as_str(), "cleared": had}))
}
