//! `--json` for the commands that change things: what was made, which version, whether it is live.

use serde::Serialize;

use super::json;
use crate::model::name::AppName;
use crate::model::release::{Release, Status, Version};
use crate::ops::change::Outcome;

/// What a command that may make a release did, as JSON.
#[derive(Serialize)]
struct ReleaseResult<'a> {
    app: &'a str,
    /// Whether a release was made.
    changed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<Version>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<Status>,
    /// Whether `version` is the live release now.
    live: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

/// The JSON of a change's outcome (`None`: nothing changed, no release).
pub fn outcome(app: &AppName, outcome: Option<&Outcome>) -> String {
    let (release, live): (Option<&Release>, bool) = match outcome {
        Some(Outcome::Live(r)) => (Some(r), true),
        Some(Outcome::Recorded(r) | Outcome::Failed(r)) => (Some(r), false),
        Some(Outcome::AlreadyLive(v)) => {
            return json(&ReleaseResult {
                app: app.as_str(),
                changed: false,
                version: Some(*v),
                status: None,
                live: true,
                description: None,
            });
        }
        Some(Outcome::NothingToDeploy) | None => (None, false),
    };
    json(&ReleaseResult {
        app: app.as_str(),
        changed: release.is_some(),
        version: release.map(|r| r.version),
        status: release.map(|r| r.status),
        live,
        description: release.map(|r| r.description.as_str()),
    })
}
