//! App lifecycle: `apps:create`, adopting an existing repository, `apps:destroy`.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::hooks;
use crate::base::files;
use crate::model::name::AppName;
use crate::model::refs::HookKind;
use crate::run::supervisor;
use crate::store::Error as StoreError;
use crate::store::app::{self, App};
use crate::store::hooks::install_shims;
use crate::store::keys;
use crate::store::root::Root;

/// What `apps:create` made.
#[derive(Debug)]
pub struct Created {
    /// The new app.
    pub app: App,
    /// The URL to add as a git remote.
    pub git_url: PathBuf,
}

/// Creates an app: its bare repository with the hook shim, settings and release store.
///
/// `exe` is the slipway binary the shim will run, by absolute path.
pub fn create(root: &Root, name: &AppName, exe: &Path) -> Result<Created> {
    let app = create_with(root, name, NewRepo::Own { exe })?;
    let git_url = app.repo_dir();
    Ok(Created { app, git_url })
}

/// Creates an app that deploys from an existing bare repository outside the root (`repo:` in app.yaml).
///
/// The repository is not touched; installing the hook into it is up to the caller.
pub fn adopt(root: &Root, name: &AppName, repo_dir: &Path) -> Result<App> {
    create_with(root, name, NewRepo::Adopted(repo_dir))
}

/// Where a new app's repository comes from.
enum NewRepo<'a> {
    /// `apps/NAME/repo.git`, with a shim running `exe`.
    Own { exe: &'a Path },
    /// An existing repository, recorded in app.yaml.
    Adopted(&'a Path),
}

fn create_with(root: &Root, name: &AppName, repo: NewRepo) -> Result<App> {
    let apps = root.apps_dir();
    let _guard = app::lock_apps(root)?;
    let dir = apps.join(name.as_str());
    if dir.exists() {
        return Err(StoreError::AppExists {
            name: name.to_string(),
        }
        .into());
    }
    let stage = apps.join(format!(".new-{name}"));
    if stage.exists() {
        // Left by a create that was killed; we hold the apps lock, so nobody is using it.
        fs::remove_dir_all(&stage).map_err(Error::io("remove", &stage))?;
    }
    let built = populate(&stage, root, name, &repo);
    if let Err(e) = built {
        let _ = fs::remove_dir_all(&stage);
        return Err(e);
    }
    fs::rename(&stage, &dir).map_err(Error::io("create", &dir))?;
    files::sync_dir(&apps).map_err(Error::io("sync", &apps))?;
    Ok(App::open(root, name)?)
}

fn populate(stage: &Path, root: &Root, name: &AppName, repo: &NewRepo) -> Result<()> {
    for sub in ["releases", "logs"] {
        let path = stage.join(sub);
        fs::create_dir_all(&path).map_err(Error::io("create", &path))?;
    }
    let mut settings_text = default_settings(name);
    settings_text.push_str(&format!(
        "# The stable port the app is served on (local launcher): http://127.0.0.1:PORT/\n\
         port: {}\n",
        app::free_port(root)?
    ));
    match repo {
        NewRepo::Own { exe } => {
            let repo_dir = stage.join("repo.git");
            let mut opts = git2::RepositoryInitOptions::new();
            opts.bare(true).initial_head("main").no_reinit(true);
            git2::Repository::init_opts(&repo_dir, &opts)
                .map_err(Error::git(format!("init {}", repo_dir.display())))?;
            // The shims name the final location, not the staging directory.
            let hooks = [HookKind::PreReceive, HookKind::PostReceive];
            install_shims(&repo_dir, exe, root.dir(), name, &hooks)?;
            settings_text.push_str(
                "# The whole deploy (build, release, launch) runs before refs move: a push\n\
                 # whose deploy fails is rejected, and `git push` says so with its exit status.\n\
                 # post-receive: deploy after the push is accepted (it always exits 0).\n\
                 deploy_on: pre-receive\n",
            );
        }
        NewRepo::Adopted(repo_dir) => {
            let line = adopted_repo_setting(repo_dir)?;
            settings_text.push_str(
                "# The repository this app deploys from, adopted by `slipway hooks:install`.\n\
                 # `slipway apps:destroy` removes slipway's hook from it but keeps it.\n",
            );
            settings_text.push_str(&line);
        }
    }
    let settings = stage.join("app.yaml");
    fs::write(&settings, settings_text).map_err(Error::io("write", &settings))?;
    Ok(())
}

/// `repo: PATH` as a YAML line, quoted as YAML needs.
fn adopted_repo_setting(repo_dir: &Path) -> Result<String> {
    let not_utf8 = || Error::NotABareRepo {
        path: repo_dir.to_path_buf(),
        reason: "its path is not UTF-8, which app.yaml cannot hold".into(),
    };
    let path = repo_dir.to_str().ok_or_else(not_utf8)?;
    let mut map = std::collections::BTreeMap::new();
    map.insert("repo", path);
    serde_yaml::to_string(&map).map_err(|_| not_utf8())
}

fn default_settings(name: &AppName) -> String {
    format!(
        "# Settings for the app '{name}'. Every key is optional; uncomment to change a default.\n\
         # deploy_branch: main      # the branch whose pushes deploy (default: main, else master)\n\
         # url: https://{name}.example.com/   # printed after \"Launching... done\"\n\
         # max_slug_size: 500MB     # the largest compressed slug a deploy may make\n\
         # launcher: local          # how releases are started: local, exec or none\n\
         # auto_promote: true       # false: new releases wait for `slipway releases:promote`\n\
         # health_path: /health     # must answer 2xx/3xx before a release takes traffic\n\
         # health_timeout: 60s      # how long a new release has to become healthy\n\
         # release_timeout: 1h      # how long the Procfile's release command may run\n\
         # stop_grace: 30s          # drain time, then SIGTERM, then SIGKILL this much later\n\
         # build: npm ci && npm run build   # runs on a checkout of each deploy; the slug is what it leaves\n\
         # build_on: post-receive   # pre-receive: build before refs move, reject a push that fails\n\
         # build_timeout: 15m       # a build running longer is killed and fails\n\
         # sandbox: bwrap           # none: app code runs unsandboxed, with slipway's own rights\n"
    )
}

/// What `apps:destroy` did beyond deleting the app.
#[derive(Debug)]
pub struct Destroyed {
    /// An adopted repository, kept: slipway's hooks were taken out of it and what was there put back.
    pub kept_repo: Option<(PathBuf, Vec<hooks::Removed>)>,
}

/// Deletes an app: its repository, releases and logs. Slugs stay until `slugs:gc`.
///
/// An adopted repository is the admin's: only slipway's hooks are removed from it.
pub fn destroy(root: &Root, name: &AppName) -> Result<Destroyed> {
    let app = App::open(root, name)?;
    let _guard = app::lock_apps(root)?;
    let lock = app.lock()?;
    // Its processes go before its directory does (an unresponsive supervisor is killed).
    let _ = supervisor::kill_all(&app);
    // A later app of the same name must not inherit this one's ssh grants.
    keys::forget_app_locked(root, name)?;
    let kept_repo = match app.adopted_repo() {
        Some(repo) => Some((repo.to_path_buf(), hooks::remove_all(&app, &lock)?)),
        None => None,
    };
    let apps = root.apps_dir();
    let doomed = apps.join(format!(".destroyed-{name}-{}", std::process::id()));
    // Rename first, so the app disappears at once even if removal is interrupted.
    fs::rename(app.dir(), &doomed).map_err(Error::io("remove", app.dir()))?;
    files::sync_dir(&apps).map_err(Error::io("sync", &apps))?;
    fs::remove_dir_all(&doomed).map_err(Error::io("remove", &doomed))?;
    Ok(Destroyed { kept_repo })
}

/// Renames an app: its directory, the hooks that run it, its ssh grants; its processes restart under the new name.
///
/// Nothing is lost if it fails halfway: each step is undone, newest first.
/// Release records, config, add-ons, slugs, logs and the stable port do not
/// name the app and are kept as they are.
pub fn rename(root: &Root, from: &AppName, to: &AppName, exe: &Path) -> Result<App> {
    let app = App::open(root, from)?;
    let _guard = app::lock_apps(root)?;
    if root.apps_dir().join(to.as_str()).exists() {
        return Err(StoreError::AppExists {
            name: to.to_string(),
        }
        .into());
    }
    let lock = app.lock()?;
    let was_running = supervisor::shut_down(&app)?;
    let old_hooks = hooks::rename_in_hooks(&app, to)?;
    let undo_hooks = || hooks::restore_texts(&old_hooks);
    let (from_dir, to_dir) = (app.dir().to_path_buf(), root.apps_dir().join(to.as_str()));
    if let Err(e) = fs::rename(&from_dir, &to_dir) {
        undo_hooks();
        return Err(Error::io("rename", &from_dir)(e));
    }
    let apps = root.apps_dir();
    let moved = files::sync_dir(&apps)
        .map_err(Error::io("sync", &apps))
        .and_then(|()| Ok(keys::rename_app_locked(root, from, to)?));
    if let Err(e) = moved {
        let _ = fs::rename(&to_dir, &from_dir);
        undo_hooks();
        return Err(e);
    }
    drop(lock);
    let renamed = App::open(root, to)?;
    if was_running {
        // Checked as `ps:restart` is: "done" means its processes are up under the new name.
        supervisor::restart(root, &renamed, exe, None)?;
    }
    Ok(renamed)
}

/// One app in `apps --json`.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// Its name.
    pub name: String,
    /// Its git repository.
    pub repo: String,
    /// The live release's version.
    pub current: Option<crate::model::release::Version>,
}

/// Every app, sorted by name.
pub fn list(root: &Root) -> Result<Vec<AppName>> {
    Ok(app::list(root)?)
}

/// Every app with its repository and live release.
pub fn summaries(root: &Root) -> Result<Vec<Summary>> {
    let mut items = Vec::new();
    for name in app::list(root)? {
        let app = App::open(root, &name)?;
        items.push(Summary {
            repo: app.repo_dir().display().to_string(),
            current: app.store().current()?,
            name: name.to_string(),
        });
    }
    Ok(items)
}
