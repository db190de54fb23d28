//! What commands ask of an app's supervisor: `ps:scale`, `restart`, `ps:stop`, `maintenance:on`, `boot`, and stopping it for `apps:destroy`.

use std::path::Path;
use std::time::{Duration, Instant};

use super::client::{Client, QUICK, Start};
use super::info::current_procfile;
use super::protocol::{Reply, Request};
use super::{Paths, server};
use crate::model::formation::Scale;
use crate::model::name::AppName;
use crate::model::procfile::Target;
use crate::model::settings::LauncherKind;
use crate::run::error::{Error, Result};
use crate::store::app::{App, AppLock};
use crate::store::root::Root;

/// What `ps:scale` changed.
#[derive(Debug)]
pub struct Scaled {
    /// Each process type of the current release with its new count.
    pub counts: Vec<(String, u32)>,
    /// Whether a release is live to run them (else they apply from the first deploy).
    pub deployed: bool,
}

/// Sets process counts (`ps:scale web=2`), saved in the formation and applied to the running release at once.
///
/// Types must exist in the current release's Procfile when there is one.
pub fn scale(root: &Root, app: &App, exe: &Path, changes: &[Scale]) -> Result<Scaled> {
    let lock = app.lock()?;
    let current = current_procfile(root, app)?;
    if let Some((version, procfile)) = &current {
        for change in changes {
            if procfile.processes().all(|(kind, _)| kind != change.kind) {
                let types: Vec<&str> = procfile.processes().map(|(k, _)| k).collect();
                return Err(Error::NoProcessType {
                    kind: change.kind.clone(),
                    version: *version,
                    types: types.join(", "),
                });
            }
        }
    }
    let mut formation = crate::store::formation::load(app)?;
    formation.apply(changes);
    crate::store::formation::save(app, &lock, &formation)?;
    let counts = match &current {
        Some((_, procfile)) => formation
            .plan(procfile)
            .into_iter()
            .map(|(k, n, _)| (k.to_owned(), n))
            .collect(),
        None => changes.iter().map(|c| (c.kind.clone(), c.count)).collect(),
    };
    if app.settings.launcher == LauncherKind::Local
        && let Some((_, procfile)) = &current
    {
        if let Some(mut client) = Client::connect(app)? {
            expect_ok(app, client.request(&Request::Scale, QUICK)?)?;
        } else if formation.runs_anything(procfile) && !Paths::of(app).stopped.exists() {
            // Starting it runs the current release with the new formation.
            Client::connect_or_start(root, app, exe, Start::Current)?;
        }
    }
    Ok(Scaled {
        counts,
        deployed: current.is_some(),
    })
}

/// Restarts the app's processes (`TYPE` or `TYPE.N` only, in place; or all, with no downtime); starts them if stopped.
pub fn restart(root: &Root, app: &App, exe: &Path, target: Option<&Target>) -> Result<()> {
    let lock = app.lock()?;
    require_local(app)?;
    if app.store().current()?.is_none() {
        return Err(Error::NothingRunning {
            app: app.name.to_string(),
        });
    }
    clear_stopped(app, &lock)?;
    let (mut client, target) = match Client::connect(app)? {
        Some(client) => (client, target),
        // Nothing runs: start everything, checked as a deploy is, so a failure is an error here.
        None => (Client::connect_or_start(root, app, exe, Start::Idle)?, None),
    };
    let timeout = app.settings.health_timeout.get() + app.settings.stop_grace.get() + QUICK;
    let reply = client.request(&Request::Restart(target.map(Target::to_string)), timeout)?;
    match target {
        Some(_) if !reply.ok && reply.busy_port.is_none() => Err(not_running(app, reply)),
        _ => expect_ok(app, reply),
    }
}

/// Stops the processes of `target` (`web`, `web.1`) until a restart, scale or deploy: SIGTERM and SIGKILL after the stop grace, or SIGKILL now; waits until they are gone.
pub fn stop_process(app: &App, target: &Target, kill: bool) -> Result<()> {
    require_local(app)?;
    let Some(mut client) = Client::connect(app)? else {
        return Err(Error::ProcessNotRunning {
            app: app.name.to_string(),
            reason: "nothing is running".into(),
        });
    };
    let request = Request::StopProcess {
        name: target.to_string(),
        kill,
    };
    let reply = client.request(&request, QUICK)?;
    if !reply.ok {
        return Err(not_running(app, reply));
    }
    let grace = match kill {
        true => Duration::ZERO,
        false => app.settings.stop_grace.get(),
    };
    let deadline = Instant::now() + grace + QUICK;
    while Instant::now() < deadline {
        let stopping = super::processes(app)?
            .iter()
            .any(|p| p.pid.is_some() && target.matches(&p.kind, p.index));
        if !stopping {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

fn not_running(app: &App, reply: Reply) -> Error {
    Error::ProcessNotRunning {
        app: app.name.to_string(),
        reason: reply.error.unwrap_or_else(|| "it refused".into()),
    }
}

/// Stops every process of the app and its supervisor; `boot` leaves it stopped until a deploy or restart.
///
/// Returns whether anything was running.
pub fn stop(app: &App) -> Result<bool> {
    // Held until the supervisor is gone, so no deploy or restart meets it half-stopped.
    let _lock = app.lock()?;
    let path = Paths::of(app).stopped;
    crate::base::files::write_atomic(&path, b"stopped by ps:stop\n", 0o644)
        .map_err(Error::io("write", &path))?;
    shut_down(app)
}

/// Turns maintenance mode on or off: kept in `apps/NAME/maintenance` (so it outlives the supervisor), and told to the running supervisor at once.
pub fn set_maintenance(app: &App, on: bool) -> Result<()> {
    let _lock = app.lock()?;
    let path = Paths::of(app).maintenance;
    if on {
        crate::base::files::write_atomic(&path, b"on (maintenance:on)\n", 0o644)
            .map_err(Error::io("write", &path))?;
    } else {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove", &path)(e)),
        }
    }
    if let Some(mut client) = Client::connect(app)? {
        expect_ok(app, client.request(&Request::Maintenance(on), QUICK)?)?;
    }
    Ok(())
}

/// Whether maintenance mode is on.
pub fn in_maintenance(app: &App) -> bool {
    Paths::of(app).maintenance.exists()
}

/// Stops the app's supervisor and processes, one-offs included, for `apps:destroy`: politely, else by killing its session.
pub fn kill_all(app: &App) -> Result<()> {
    crate::run::oneoff::kill_all(app);
    let stopped = shut_down(app);
    let lock_path = Paths::of(app).lock;
    if let Ok(record) = std::fs::read_to_string(&lock_path) {
        let held = std::fs::File::open(&lock_path).is_ok_and(|f| f.try_lock_shared().is_err());
        if held
            && let Some(pid) = record
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
        {
            crate::base::sys::kill(pid, crate::base::sys::Signal::KILL);
            std::thread::sleep(Duration::from_millis(100));
        }
        server::kill_leftovers(&record);
    }
    stopped.map(|_| ())
}

/// Stops the app's supervisor and processes if they run (for `ps:stop`); waits until they are gone.
pub fn shut_down(app: &App) -> Result<bool> {
    let Some(mut client) = Client::connect(app)? else {
        return Ok(false);
    };
    let timeout = app.settings.stop_grace.get() + Duration::from_secs(15);
    let reply = client.request(&Request::Stop, timeout)?;
    expect_ok(app, reply)?;
    // The lock goes when the process does.
    let lock_path = Paths::of(app).lock;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let free = std::fs::File::open(&lock_path)
            .map(|f| f.try_lock_shared().is_ok())
            .unwrap_or(true);
        if free {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(true)
}

/// Removes the `stopped` mark: a deploy or restart means the app should run.
pub fn clear_stopped(app: &App, _lock: &AppLock) -> Result<()> {
    let path = Paths::of(app).stopped;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", &path)(e)),
    }
}

fn require_local(app: &App) -> Result<()> {
    if app.settings.launcher == LauncherKind::Local {
        Ok(())
    } else {
        Err(Error::NotLocal {
            app: app.name.to_string(),
        })
    }
}

fn expect_ok(app: &App, reply: Reply) -> Result<()> {
    if reply.ok {
        return Ok(());
    }
    if let Some(taken) = Error::port_taken(app.name.as_str(), &reply) {
        return Err(taken);
    }
    let mut reason = reply.error.unwrap_or_else(|| "it refused".into());
    for line in reply.detail {
        reason.push_str("; ");
        reason.push_str(&line);
    }
    Err(Error::Supervisor {
        app: app.name.to_string(),
        reason,
    })
}

/// What `boot` did for one app.
#[derive(Debug)]
pub enum Booted {
    /// Its supervisor runs (started now, or already running).
    Running,
    /// It has nothing to run: no current release, no processes, another launcher, or `ps:stop`ped.
    Skipped(&'static str),
    /// Its supervisor could not be started.
    Failed(Error),
}

/// Starts the supervisor of every app that should be running (after a reboot; idempotent).
pub fn boot(root: &Root, exe: &Path) -> Result<Vec<(AppName, Booted)>> {
    let mut out = Vec::new();
    for name in crate::store::app::list(root)? {
        let outcome = match App::open(root, &name) {
            Ok(app) => boot_app(root, &app, exe),
            Err(e) => Booted::Failed(e.into()),
        };
        out.push((name, outcome));
    }
    Ok(out)
}

fn boot_app(root: &Root, app: &App, exe: &Path) -> Booted {
    if app.settings.launcher != LauncherKind::Local {
        return Booted::Skipped("its launcher is not local");
    }
    if Paths::of(app).stopped.exists() {
        return Booted::Skipped("stopped by ps:stop");
    }
    let procfile = match current_procfile(root, app) {
        Ok(Some((_, procfile))) => procfile,
        Ok(None) => return Booted::Skipped("no current release"),
        Err(e) => return Booted::Failed(e),
    };
    match crate::store::formation::load(app) {
        Ok(f) if !f.runs_anything(&procfile) => return Booted::Skipped("no processes to run"),
        Ok(_) => {}
        Err(e) => return Booted::Failed(e.into()),
    }
    match Client::connect_or_start(root, app, exe, Start::Current) {
        Ok(_) => Booted::Running,
        Err(e) => Booted::Failed(e),
    }
}
