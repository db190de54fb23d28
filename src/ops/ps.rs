//! An app's processes under the local launcher: listing, scaling, restarting, stopping, logs, and `boot`.
//!
//! Each is a request to the app's supervisor (see [`crate::run::supervisor`]);
//! this module is where the command line reaches it.

use std::path::Path;

use super::error::Result;
use crate::model::formation::Scale;
use crate::model::name::AppName;
use crate::model::procfile;
use crate::run::supervisor::protocol::ProcessStatus;
use crate::run::supervisor::{self, Booted, Info, Scaled, logs};
use crate::store::app::App;
use crate::store::root::Root;

/// The app's processes, as its supervisor reports them.
pub fn processes(app: &App) -> Result<Vec<ProcessStatus>> {
    Ok(supervisor::processes(app)?)
}

/// The app's state: current release, URL, formation, whether it is up.
pub fn info(root: &Root, app: &App) -> Result<Info> {
    Ok(supervisor::info(root, app)?)
}

/// Sets process counts (`web=2`); with no changes, returns the counts as they are.
pub fn scale(root: &Root, app: &App, exe: &Path, changes: &[Scale]) -> Result<Scaled> {
    if changes.is_empty() {
        let info = supervisor::info(root, app)?;
        let counts = info.formation.into_iter().map(|(k, n, _)| (k, n)).collect();
        return Ok(Scaled { counts });
    }
    Ok(supervisor::scale(root, app, exe, changes)?)
}

/// Restarts every process with no downtime, or those of one type in place.
pub fn restart(root: &Root, app: &App, exe: &Path, kind: Option<&str>) -> Result<()> {
    if let Some(kind) = kind {
        procfile::check_type(kind).map_err(|reason| crate::model::Error::BadProcessType {
            kind: crate::base::text::escape_truncated(kind, crate::base::text::ECHO),
            reason,
        })?;
    }
    Ok(supervisor::restart(root, app, exe, kind)?)
}

/// Stops the app's processes until the next deploy or restart; false if none ran.
pub fn stop(app: &App) -> Result<bool> {
    Ok(supervisor::stop(app)?)
}

/// The last `n` lines of the app's process logs, and where to follow on from.
pub fn last_log_lines(app: &App, n: usize) -> Result<(Vec<String>, logs::Cursor)> {
    Ok(logs::last_lines(&app.logs_dir(), n)?)
}

/// Passes each new log line to `on_line` as it is written, until `on_line` fails.
pub fn follow_logs(
    app: &App,
    cursor: logs::Cursor,
    on_line: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> Result<()> {
    Ok(logs::follow(&app.logs_dir(), cursor, on_line)?)
}

/// Starts the supervisor of every app that should run.
pub fn boot(root: &Root, exe: &Path) -> Result<Vec<(AppName, Booted)>> {
    Ok(supervisor::boot(root, exe)?)
}

/// Runs `app`'s supervisor in this process until it is told to stop (started by deploys and `boot`).
pub fn supervise(root: Root, app: AppName, exe: std::path::PathBuf, resume: bool) -> Result<()> {
    Ok(supervisor::server::run(supervisor::server::Options {
        root,
        app,
        exe,
        resume,
    })?)
}

/// Serves the files of `dir` on 127.0.0.1:`port` (the sample app's web process).
pub fn serve_static(dir: &Path, port: u16) -> Result<()> {
    Ok(crate::run::launch::serve_static::serve(dir, port)?)
}
