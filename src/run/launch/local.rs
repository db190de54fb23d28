//! The `local` launcher: unpack, release phase, then start and check the release under the app's supervisor.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::time::Duration;

use super::{Launch, Launcher, Started, env, run_step, unpack};
use crate::base::process::Job;
use crate::base::sandbox::{Sandbox, Spec};
use crate::base::span::Span;
use crate::model::event::{Event, Observer};
use crate::model::procfile::WEB;
use crate::model::release::Version;
use crate::run::error::{Error, Result};
use crate::run::supervisor::protocol::Request;
use crate::run::supervisor::{self, Client, Start};

/// Slack on top of the health timeout for the supervisor's answer to `launch`.
const ANSWER_SLACK: Duration = Duration::from_secs(30);

/// Runs releases on this host.
pub struct Local;

impl Launcher for Local {
    fn launch(&self, launch: &Launch, observer: &mut dyn Observer) -> Result<Started> {
        let (app, release) = (launch.app, launch.release);
        let Some(slug) = &release.slug else {
            return Ok(Started::ready(app.settings.url.clone()));
        };
        let slug_path = launch.fetch(slug, observer)?;
        // One request per connection: what runs now, then (below) the launch.
        let running = supervisor::status(app)?;
        let in_use: BTreeSet<Version> = running
            .iter()
            .flat_map(|r| r.processes.iter().map(|p| p.release))
            .collect();
        // A damaged `current` (being repaired) protects no run directory; running ones stay anyway.
        let current = app.store().current().ok().flatten();
        let dir = supervisor::run_dir(app, release.version);
        clean_run_dirs(app, &in_use, current, release.version)?;
        // Nothing runs and the slug has no Procfile: nothing to unpack either
        // (re-pushing a 200 MB tree then stays a matter of milliseconds).
        if running.is_none() && unpack::read_file(&slug_path, "Procfile")?.is_none() {
            return Ok(Started::ready(app.settings.url.clone()));
        }
        if !(dir.is_dir() && in_use.contains(&release.version)) {
            remove_dir_if_exists(&dir)?;
            unpack::unpack(&slug_path, &dir, launch.root.dir())?;
        }
        let app_dir = dir.join("app");
        // Here rather than in the supervisor, so that a sandbox user who cannot reach it is told with a help line.
        let sandbox = launch.sandbox.sandbox(observer)?;
        sandbox.prepare(&Spec::release(&app_dir))?;
        let procfile = crate::run::read_procfile(&app_dir.join("Procfile"))?;
        if let Some(cmd) = procfile.release_command() {
            let env = env::base(release, &app_dir, launch.exe);
            let timeout = app.settings.release_timeout;
            release_phase(cmd, &app_dir, &env, sandbox, timeout, observer)?;
        }
        let formation = crate::store::formation::load(app)?;
        let runs = formation.runs_anything(&procfile);
        if !runs && running.is_none() {
            // Nothing to run and nothing running: no supervisor needed.
            return Ok(Started::ready(app.settings.url.clone()));
        }
        supervisor::clear_stopped(app, launch.lock)?;
        let serves_web = procfile.command(WEB).is_some() && formation.count(WEB) > 0;
        let port = match (serves_web, app.settings.port) {
            (true, None) => Some(crate::store::app::assign_port(launch.root, app)?),
            (_, port) => port,
        };
        let mut client = Client::connect_or_start(launch.root, app, launch.exe, Start::Current)?;
        let version = release.version;
        let reply = client.request(
            &Request::Launch(version),
            app.settings.health_timeout.get() + ANSWER_SLACK,
        )?;
        if !reply.ok {
            if let Some(taken) = Error::port_taken(app.name.as_str(), &reply) {
                return Err(taken);
            }
            return Err(Error::LaunchFailed {
                reason: reply
                    .error
                    .unwrap_or_else(|| format!("v{version} did not start")),
                detail: reply.detail,
            });
        }
        let url = app.settings.url.clone().or_else(|| {
            serves_web
                .then_some(port)
                .flatten()
                .map(|p| format!("http://127.0.0.1:{p}/"))
        });
        Ok(Started::with_switch(
            url,
            move |observer: &mut dyn Observer| {
                let switched = client
                    .request(&Request::Switch(version), Duration::from_secs(10))
                    .and_then(|r| match r.ok {
                        true => Ok(()),
                        false => Err(Error::LaunchFailed {
                            reason: r.error.unwrap_or_default(),
                            detail: r.detail,
                        }),
                    });
                if let Err(e) = switched {
                    observer.event(Event::Warning {
                        message: format!(
                            "v{version} is current, but switching traffic to it failed: {e}"
                        ),
                    });
                }
            },
        ))
    }
}

/// Runs the Procfile's `release:` command in the new release's directory, its output going to the client.
fn release_phase(
    cmd: &str,
    app_dir: &Path,
    env: &std::collections::BTreeMap<String, String>,
    sandbox: &Sandbox,
    timeout: Span,
    observer: &mut dyn Observer,
) -> Result<()> {
    observer.event(Event::ReleaseCommand {
        command: cmd.to_owned(),
    });
    let job = Job::new("/bin/sh")
        .arg("-c")
        .arg(env::with_profile(cmd))
        .current_dir(app_dir)
        .envs(env)
        .env("DYNO", "release.1")
        .sandboxed(sandbox, &Spec::release(app_dir))?;
    run_step(
        job,
        "release command",
        "the release command",
        timeout,
        observer,
    )
}

/// Removes unpacked releases nothing runs any more: all but the current one, the one starting, and those with processes.
fn clean_run_dirs(
    app: &crate::store::app::App,
    in_use: &BTreeSet<Version>,
    current: Option<Version>,
    starting: Version,
) -> Result<()> {
    let run = app.dir().join("run");
    let Ok(entries) = fs::read_dir(&run) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let keep = match name
            .strip_prefix('v')
            .and_then(|v| v.parse::<Version>().ok())
        {
            Some(v) => v == starting || Some(v) == current || in_use.contains(&v),
            // A staging directory is kept while the process unpacking into it lives.
            None => match name.strip_prefix(".unpack-") {
                Some(rest) => rest
                    .rsplit('-')
                    .next()
                    .and_then(|pid| pid.parse().ok())
                    .is_some_and(crate::base::sys::alive),
                None => true,
            },
        };
        if !keep {
            remove_dir_if_exists(&entry.path())?;
        }
    }
    Ok(())
}

fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", dir)(e)),
    }
}
