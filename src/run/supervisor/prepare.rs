//! What starting a release takes, read from disk before the state machine hears of it: its record, unpacked slug, Procfile, formation, settings and free ports.

use std::io;

use super::machine::ReleaseInfo;
use super::server::Context;
use crate::model::formation::Formation;
use crate::model::procfile::WEB;
use crate::model::release::Version;
use crate::run::launch::{env, unpack};
use crate::store::app::App;
use crate::store::slugs::SlugStore;

/// Why a release cannot be started.
#[derive(Debug, thiserror::Error)]
pub(super) enum StartError {
    /// It has no record.
    #[error("release v{0} does not exist")]
    NoRelease(Version),

    /// It has no code to run.
    #[error("v{0} has no slug")]
    NoSlug(Version),

    /// The app's stable port is taken.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen { port: u16, source: io::Error },

    /// Reading, unpacking or parsing it failed.
    #[error(transparent)]
    Run(#[from] crate::run::Error),
}

impl From<crate::store::Error> for StartError {
    fn from(e: crate::store::Error) -> StartError {
        StartError::Run(e.into())
    }
}

/// A release ready to start: what the state machine's launch or resume takes.
#[derive(Debug)]
pub(super) struct Prepared {
    /// The release.
    pub release: ReleaseInfo,
    /// The formation, as saved now.
    pub formation: Formation,
    /// A free port for each web process.
    pub ports: Vec<u16>,
}

/// Reads what running `version` takes, unpacking its slug if needed, and listens on the app's stable port.
pub(super) fn prepare(ctx: &Context, version: Version) -> Result<Prepared, StartError> {
    let app = ctx.app()?;
    let release = app
        .store()
        .find(version)?
        .ok_or(StartError::NoRelease(version))?;
    let dir = super::run_dir(&app, version);
    if !dir.is_dir() {
        // After a reboot with run/ on a tmpfs, or a supervisor started by hand.
        // (A deploy unpacks before it asks, while its record does not name the slug yet.)
        let slug = release.slug.as_ref().ok_or(StartError::NoSlug(version))?;
        let slugs = SlugStore::new(ctx.root.slugs_dir());
        slugs.check(slug)?;
        unpack::unpack(&slugs.path(&slug.sha256), &dir, ctx.root.dir())?;
    }
    let app_dir = dir.join("app");
    let procfile = crate::run::read_procfile(&app_dir.join("Procfile"))?;
    let sandbox =
        crate::run::sandbox::resolve(&ctx.root, &app, &ctx.exe).map_err(crate::run::Error::from)?;
    let formation = crate::store::formation::load(&app)?;
    if let Some(port) = app.settings.port {
        ctx.listen(port)?;
    }
    let web = match procfile.command(WEB) {
        Some(_) => formation.count(WEB),
        None => 0,
    };
    Ok(Prepared {
        release: ReleaseInfo {
            version,
            env: env::base(&release, &app_dir, &ctx.exe),
            dir: app_dir,
            procfile,
            health_path: app.settings.health_path.clone(),
            health_timeout: app.settings.health_timeout.get(),
            stop_grace: app.settings.stop_grace.get(),
            sandbox: sandbox.sandbox,
        },
        formation,
        ports: free_ports(web),
    })
}

/// The formation as saved now, and a free port for each web process it may start.
pub(super) fn formation(app: &App) -> Result<(Formation, Vec<u16>), StartError> {
    let formation = crate::store::formation::load(app)?;
    let ports = free_ports(formation.count(WEB));
    Ok((formation, ports))
}

/// `n` ports nothing listens on right now (fewer if the system has none to give).
fn free_ports(n: u32) -> Vec<u16> {
    // All bound at once, so no port is handed out twice.
    let listeners: Vec<std::net::TcpListener> = (0..n)
        .filter_map(|_| std::net::TcpListener::bind("127.0.0.1:0").ok())
        .collect();
    listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.port())
        .collect()
}
