//! What commands read from an app's supervisor and its current release: `ps`, `apps:info`, the current Procfile.

use std::path::PathBuf;

use super::client::{Client, QUICK};
use super::protocol::{ProcessStatus, Reply, Request};
use super::{Paths, run_dir};
use crate::model::procfile::Procfile;
use crate::model::release::Version;
use crate::model::settings::LauncherKind;
use crate::run::error::Result;
use crate::run::launch::unpack;
use crate::store::app::App;
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

/// The app's processes, as its supervisor reports them; `None` when no supervisor runs.
pub fn status(app: &App) -> Result<Option<Reply>> {
    let Some(mut client) = Client::connect(app)? else {
        return Ok(None);
    };
    let reply = client.request(&Request::Status, QUICK)?;
    Ok(Some(reply))
}

/// The Procfile of the app's current release (empty if it has none, or no current release).
pub fn current_procfile(root: &Root, app: &App) -> Result<Option<(Version, Procfile)>> {
    let store = app.store();
    let Some(version) = store.current()? else {
        return Ok(None);
    };
    let Some(release) = store.find(version)? else {
        return Ok(None);
    };
    let Some(slug) = release.slug else {
        return Ok(Some((version, Procfile::default())));
    };
    let unpacked = run_dir(app, version).join("app").join("Procfile");
    if run_dir(app, version).is_dir() {
        return Ok(Some((version, crate::run::read_procfile(&unpacked)?)));
    }
    let slugs = SlugStore::new(root.slugs_dir());
    let procfile = match unpack::read_file(&slugs.path(&slug.sha256), "Procfile")? {
        Some(bytes) => Procfile::parse(&bytes)?,
        None => Procfile::default(),
    };
    Ok(Some((version, procfile)))
}

/// The processes of one app for `ps`, sorted by type and index; empty when nothing runs.
pub fn processes(app: &App) -> Result<Vec<ProcessStatus>> {
    if app.settings.launcher != LauncherKind::Local {
        return Ok(Vec::new());
    }
    let mut list = status(app)?.map(|r| r.processes).unwrap_or_default();
    list.sort_by(|a, b| {
        (&a.kind, a.index, !a.live, a.release).cmp(&(&b.kind, b.index, !b.live, b.release))
    });
    Ok(list)
}

/// What `apps:info` shows about an app.
#[derive(Debug)]
pub struct Info {
    /// The release `current` names.
    pub current: Option<crate::model::release::Release>,
    /// How its releases are started.
    pub launcher: LauncherKind,
    /// Where it is served: `url` from app.yaml, else the stable port when it has web processes.
    pub url: Option<String>,
    /// The processes the current release should run, by type: (type, wanted, up).
    pub formation: Vec<(String, u32, u32)>,
    /// `up`, `starting`, `crashed`, `stopped` (ps:stop), `not running` or `no processes`.
    pub state: &'static str,
    /// The app's git repository.
    pub repo: PathBuf,
    /// How its code is confined.
    pub sandbox: crate::run::sandbox::Choice,
    /// Whether maintenance mode is on.
    pub maintenance: bool,
}

/// Gathers [`Info`] for `apps:info`.
pub fn info(root: &Root, app: &App) -> Result<Info> {
    let store = app.store();
    let current = match store.current()? {
        Some(v) => store.find(v)?,
        None => None,
    };
    let local = app.settings.launcher == LauncherKind::Local;
    let procfile = current_procfile(root, app)?
        .map(|(_, p)| p)
        .unwrap_or_default();
    let formation = crate::store::formation::load(app)?;
    let running = if local { processes(app)? } else { Vec::new() };
    let plan: Vec<(String, u32, u32)> = formation
        .plan(&procfile)
        .into_iter()
        .map(|(kind, wanted, _)| {
            let up = running
                .iter()
                .filter(|p| p.live && p.kind == kind && p.state == "up")
                .count() as u32;
            (kind.to_owned(), wanted, up)
        })
        .collect();
    let wanted: u32 = plan.iter().map(|(_, w, _)| w).sum();
    let live: Vec<&ProcessStatus> = running.iter().filter(|p| p.live).collect();
    let state = if !local {
        "not run here"
    } else if wanted == 0 {
        "no processes"
    } else if live.is_empty() {
        if Paths::of(app).stopped.exists() {
            "stopped"
        } else {
            "not running"
        }
    } else if live.iter().any(|p| p.state == "crashed") {
        "crashed"
    } else if live.iter().all(|p| p.state == "up") {
        "up"
    } else {
        "starting"
    };
    let serves_web = local
        && plan
            .iter()
            .any(|(k, w, _)| k == crate::model::procfile::WEB && *w > 0);
    let url = app.settings.url.clone().or_else(|| {
        serves_web
            .then_some(app.settings.port)
            .flatten()
            .map(|p| format!("http://127.0.0.1:{p}/"))
    });
    Ok(Info {
        current,
        launcher: app.settings.launcher,
        url,
        formation: plan,
        state,
        repo: app.repo_dir(),
        sandbox: crate::run::sandbox::describe(root, app),
        maintenance: super::in_maintenance(app),
    })
}
