//! One-off processes: `run` (attached to the caller's terminal or pipes) and `run:detached` (output in the app's logs).
//!
//! See [`crate::run::oneoff`] for where they run and how they are tracked.

use std::path::Path;

use super::error::Result;
use crate::model::release::Version;
use crate::run::oneoff::{self, Prepared};
use crate::store::app::App;
use crate::store::root::Root;

/// `heroku run`'s command line: the words joined with spaces, for `sh -c`.
pub fn command_line(words: &[String]) -> String {
    words.join(" ")
}

/// Makes a one-off of `command` ready in a fresh copy of the current release: [`Prepared::attach`] runs it.
pub fn prepare(
    root: &Root,
    app: &App,
    exe: &Path,
    command: &str,
    user: &str,
    term: Option<&str>,
) -> Result<Prepared> {
    Ok(oneoff::prepare(root, app, exe, command, user, None, term)?)
}

/// Starts `command` in the background with its output in the app's logs; its name (`run.N`) once it runs.
pub fn detached(root: &Root, app: &App, exe: &Path, command: &str, user: &str) -> Result<String> {
    Ok(oneoff::start_detached(root, app, exe, command, user)?)
}

/// The detached runner (`slipway one-off`): runs `command` of `version` until it exits; `started` hears its name once it runs.
pub fn runner(
    root: &Root,
    app: &App,
    exe: &Path,
    version: Version,
    command: &str,
    user: &str,
    started: impl FnOnce(&str),
) -> Result<()> {
    let prepared = oneoff::prepare(root, app, exe, command, user, Some(version), None)?;
    Ok(prepared.run_logged(started)?)
}
