//! An app's processes under the local launcher: listing, scaling, restarting, stopping, logs, and `boot`.
//!
//! Each is a request to the app's supervisor (see [`crate::run::supervisor`]);
//! this module is where the command line reaches it.

use std::path::Path;

use super::error::{Error, Result};
use crate::model::formation::Scale;
use crate::model::name::AppName;
use crate::model::procfile::Target;
use crate::run::oneoff;
use crate::run::supervisor::protocol::ProcessStatus;
use crate::run::supervisor::{self, Booted, Info, Scaled, logs};
use crate::store::app::App;
use crate::store::root::Root;

/// The app's processes, as its supervisor reports them, then its one-off processes (`run.N`).
pub fn processes(app: &App) -> Result<Vec<ProcessStatus>> {
    let mut list = supervisor::processes(app)?;
    list.extend(oneoff::list(app));
    Ok(list)
}

/// The app's state: current release, URL, formation, whether it is up.
pub fn info(root: &Root, app: &App) -> Result<Info> {
    Ok(supervisor::info(root, app)?)
}

/// Sets process counts (`web=2`); with no changes, returns the counts as they are.
pub fn scale(root: &Root, app: &App, exe: &Path, changes: &[Scale]) -> Result<Scaled> {
    if changes.is_empty() {
        let info = supervisor::info(root, app)?;
        let deployed = info.current.is_some();
        let counts = info.formation.into_iter().map(|(k, n, _)| (k, n)).collect();
        return Ok(Scaled { counts, deployed });
    }
    Ok(supervisor::scale(root, app, exe, changes)?)
}

/// Restarts every process with no downtime, or those of one type (`web`) or one process (`web.1`) in place.
pub fn restart(root: &Root, app: &App, exe: &Path, name: Option<&str>) -> Result<()> {
    let target = name.map(str::parse::<Target>).transpose()?;
    if let Some(name) = name
        && oneoff::exists(app, name)
    {
        return Err(Error::OneOffRestart {
            app: app.name.to_string(),
            name: name.to_owned(),
        });
    }
    Ok(supervisor::restart(root, app, exe, target.as_ref())?)
}

/// Stops one process (`web.1`) or every process of a type (`web`) until a restart, scale or deploy, or a one-off process (`run.N`) for good; `kill` sends SIGKILL at once.
///
/// Returns whether it was a one-off.
pub fn stop_process(app: &App, name: &str, kill: bool) -> Result<bool> {
    let target: Target = name.parse()?;
    // One-offs first: `run.N` is theirs, unless none by that name runs.
    if target.index.is_some() && oneoff::stop(app, name, kill)? {
        return Ok(true);
    }
    supervisor::stop_process(app, &target, kill)?;
    Ok(false)
}

/// Stops the app's processes until the next deploy or restart; false if none ran.
pub fn stop(app: &App) -> Result<bool> {
    Ok(supervisor::stop(app)?)
}

/// Which processes' logs `logs` shows: `web`, `web.1`, or all of them.
pub fn log_filter(name: Option<&str>) -> Result<Option<Target>> {
    Ok(name.map(str::parse::<Target>).transpose()?)
}

/// The last `n` lines of the app's process logs (of `only`'s processes), and where to follow on from.
pub fn last_log_lines(
    app: &App,
    n: usize,
    only: Option<&Target>,
) -> Result<(Vec<String>, logs::Cursor)> {
    Ok(logs::last_lines(&app.logs_dir(), n, only)?)
}

/// Passes each new log line (of `only`'s processes) to `on_line` as it is written, until `on_line` fails.
pub fn follow_logs(
    app: &App,
    cursor: logs::Cursor,
    only: Option<&Target>,
    on_line: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> Result<()> {
    Ok(logs::follow(&app.logs_dir(), cursor, only, on_line)?)
}

/// Turns maintenance mode on or off: the stable port answers every request with 503 and a page, the processes keep running.
pub fn set_maintenance(app: &App, on: bool) -> Result<()> {
    Ok(supervisor::set_maintenance(app, on)?)
}

/// Whether maintenance mode is on.
pub fn in_maintenance(app: &App) -> bool {
    supervisor::in_maintenance(app)
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
