//! `hooks:install`: planning and writing slipway's hook into a repository, adopting it as an app if needed.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::model::hook_script::{Invocation, is_slipway_hook};
use crate::model::name::AppName;
use crate::model::refs::HookKind;
use crate::ops::apps;
use crate::ops::error::{Error, Result};
use crate::store::Error as StoreError;
use crate::store::app::{self, App, AppLock};
use crate::store::hooks::write_executable;
use crate::store::root::Root;

use super::{
    DIR_ENTRY, Installed, Layout, chained_original, installed_hooks, same_path, sync_parent,
    write_manifest,
};

/// What `hooks:install` is asked to do.
#[derive(Debug)]
pub struct InstallRequest {
    /// The bare repository that pushes go to.
    pub git_dir: PathBuf,
    /// The app; by default the repository's directory name without `.git`.
    pub app: Option<AppName>,
    /// Which hook to install.
    pub hook: HookKind,
    /// Install as `DIR/HOOK.d/slipway` instead of into the repository's hooks directory.
    pub hooks_dir: Option<PathBuf>,
    /// Keep an existing hook and run it before slipway.
    pub chain: bool,
    /// Rewrite slipway's own hook even if it differs (never an admin's).
    pub force: bool,
    /// The slipway binary the hook runs, by absolute path.
    pub exe: PathBuf,
}

/// What an install changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The hook was written; nothing was there.
    Installed,
    /// The existing hook was moved aside and a dispatcher runs it, then slipway.
    Chained,
    /// slipway's own hook was rewritten.
    Rewritten,
    /// slipway's hook was already exactly this.
    Unchanged,
}

/// What `hooks:install` did.
#[derive(Debug)]
pub struct InstallReport {
    /// The app the repository deploys.
    pub app: AppName,
    /// The repository, resolved.
    pub repo: PathBuf,
    /// Whether the app was created by this install (the repository adopted).
    pub created_app: bool,
    /// The hook as recorded.
    pub installed: Installed,
    /// What changed on disk.
    pub change: Change,
    /// Whether the app has a post-receive hook, the one that makes releases.
    pub releases: bool,
}

/// Installs slipway's hook into a bare repository, adopting it as an app if needed.
///
/// Nothing is changed when the request is refused.
pub fn install(root: &Root, req: &InstallRequest) -> Result<InstallReport> {
    let (repo_dir, repo) = open_bare(&req.git_dir)?;
    let (name, existing) = choose_app(root, &repo_dir, req.app.as_ref())?;
    let previous = match &existing {
        Some(app) => installed_hooks(app)?,
        None => Vec::new(),
    };
    // Refuse before creating anything; planned again under the app lock below.
    plan(root, &repo_dir, &repo, &name, &previous, req)?;
    let (app, created_app) = match existing {
        Some(app) => (app, false),
        None => (apps::adopt(root, &name, &repo_dir)?, true),
    };
    let result = {
        let lock = app.lock()?;
        install_locked(root, &app, &lock, &repo_dir, &repo, req)
    };
    match result {
        Ok((installed, change, releases)) => Ok(InstallReport {
            app: name,
            repo: repo_dir,
            created_app,
            installed,
            change,
            releases,
        }),
        Err(e) => {
            if created_app {
                let _ = apps::destroy(root, &name);
            }
            Err(e)
        }
    }
}

fn install_locked(
    root: &Root,
    app: &App,
    lock: &AppLock,
    repo_dir: &Path,
    repo: &git2::Repository,
    req: &InstallRequest,
) -> Result<(Installed, Change, bool)> {
    let mut hooks = installed_hooks(app)?;
    let plan = plan(root, repo_dir, repo, &app.name, &hooks, req)?;
    let installed = apply(&plan)?;
    apps::check_pushed_objects(repo, repo_dir)?;
    hooks.retain(|h| h.hook != req.hook);
    hooks.push(installed.clone());
    hooks.sort_by_key(|h| h.hook.as_str());
    write_manifest(app, lock, &hooks)?;
    let releases = hooks.iter().any(|h| h.hook == HookKind::PostReceive);
    Ok((installed, plan.change, releases))
}

/// Everything an install will do, decided before anything is changed.
#[derive(Debug)]
struct Plan {
    installed: Installed,
    change: Change,
    content: String,
    /// Directories to create, outermost first.
    new_dirs: Vec<PathBuf>,
}

fn plan(
    root: &Root,
    repo_dir: &Path,
    repo: &git2::Repository,
    app: &AppName,
    previous: &[Installed],
    req: &InstallRequest,
) -> Result<Plan> {
    let (target, mut layout) = match &req.hooks_dir {
        Some(dir) => {
            let no_dir = || Error::NoHooksDir { path: dir.clone() };
            let dir = fs::canonicalize(dir).map_err(|_| no_dir())?;
            if !dir.is_dir() {
                return Err(no_dir());
            }
            let sub = dir.join(format!("{}.d", req.hook));
            (sub.join(DIR_ENTRY), Layout::Dir)
        }
        None => (
            hooks_path(repo_dir, repo)?.join(req.hook.as_str()),
            Layout::Shim,
        ),
    };
    let previous = previous.iter().find(|h| h.hook == req.hook);
    if let Some(prev) = previous
        && prev.path != target
    {
        return Err(Error::HookElsewhere {
            hook: req.hook.to_string(),
            app: app.to_string(),
            path: prev.path.clone(),
            repo: repo_dir.to_path_buf(),
        });
    }
    let invocation = Invocation {
        exe: req.exe.clone(),
        root: root.dir().to_path_buf(),
        hook: req.hook,
        app: app.to_string(),
    };
    let mut original = previous.and_then(|p| p.original.clone());
    let mut new_dirs = missing_dirs(target.parent().unwrap_or(Path::new("/")));
    let change = match fs::symlink_metadata(&target) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A chained hook whose dispatcher went missing keeps its chain.
            if original
                .as_ref()
                .is_some_and(|o| o.symlink_metadata().is_ok())
            {
                layout = Layout::Chain;
            } else {
                original = None;
            }
            Change::Installed
        }
        Err(e) => return Err(Error::io("inspect", &target)(e)),
        Ok(meta) => {
            let existing = fs::read(&target).unwrap_or_default();
            match Invocation::parse(&existing) {
                Some(ours) if ours.app != app.as_str() => {
                    return Err(Error::HookOfOtherApp {
                        path: target,
                        app: ours.app,
                    });
                }
                Some(_) => {
                    if let Some(prev) = previous {
                        layout = prev.layout;
                    }
                    let expected = render(&invocation, layout, original.as_deref());
                    if existing == expected.as_bytes() {
                        Change::Unchanged
                    } else if req.force {
                        Change::Rewritten
                    } else {
                        return Err(Error::HookInstalled { path: target });
                    }
                }
                None if is_slipway_hook(&existing) => {
                    // Ours but unreadable (edited by hand): rewriting it clobbers nobody.
                    if !req.force {
                        return Err(Error::HookInstalled { path: target });
                    }
                    Change::Rewritten
                }
                None if layout == Layout::Dir || !req.chain || meta.is_dir() => {
                    return Err(Error::HookExists {
                        chainable: layout != Layout::Dir && !meta.is_dir(),
                        path: target,
                    });
                }
                None => {
                    let aside = chained_original(&target);
                    check_aside(&target, &meta, &aside)?;
                    new_dirs.extend(missing_dirs(aside.parent().unwrap_or(Path::new("/"))));
                    original = Some(aside);
                    layout = Layout::Chain;
                    Change::Chained
                }
            }
        }
    };
    let content = render(&invocation, layout, original.as_deref());
    let mut created_dirs = previous.map(|p| p.created_dirs.clone()).unwrap_or_default();
    created_dirs.extend(new_dirs.iter().cloned());
    Ok(Plan {
        installed: Installed {
            hook: req.hook,
            layout,
            path: target,
            original,
            created_dirs,
        },
        change,
        content,
        new_dirs,
    })
}

fn render(invocation: &Invocation, layout: Layout, original: Option<&Path>) -> String {
    match (layout, original) {
        (Layout::Chain, Some(original)) => invocation.dispatcher(original),
        _ => invocation.shim(),
    }
}

/// The aside name must be free, unless it already is the same file (an interrupted install).
fn check_aside(target: &Path, meta: &fs::Metadata, aside: &Path) -> Result<()> {
    if meta.file_type().is_symlink() {
        let link = fs::read_link(target).map_err(Error::io("read", target))?;
        if link.is_relative() {
            return Err(Error::RelativeSymlinkHook {
                path: target.to_path_buf(),
            });
        }
    }
    match fs::symlink_metadata(aside) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("inspect", aside)(e)),
        Ok(a) if a.dev() == meta.dev() && a.ino() == meta.ino() => Ok(()),
        Ok(_) => Err(Error::AsideTaken {
            path: aside.to_path_buf(),
        }),
    }
}

fn apply(plan: &Plan) -> Result<Installed> {
    for dir in &plan.new_dirs {
        match fs::create_dir(dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => {
                return Err(Error::io("create", dir)(e));
            }
            _ => sync_parent(dir)?,
        }
    }
    let target = &plan.installed.path;
    if plan.change == Change::Chained
        && let Some(aside) = &plan.installed.original
    {
        // A second name for the same file: the hook is never missing, and keeps its bytes and mode.
        match fs::hard_link(target, aside) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => fs::rename(target, aside).map_err(Error::io("move", target))?,
            Ok(()) => {}
        }
        sync_parent(aside)?;
    }
    if plan.change != Change::Unchanged {
        write_executable(target, plan.content.as_bytes()).map_err(Error::io("write", target))?;
    }
    Ok(plan.installed.clone())
}

/// `path` and its missing ancestors, outermost first.
fn missing_dirs(path: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = path
        .ancestors()
        .take_while(|p| !p.as_os_str().is_empty() && fs::symlink_metadata(p).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
}

/// The directory git runs this repository's hooks from: `core.hooksPath` (relative to the repository), else `hooks/`.
fn hooks_path(repo_dir: &Path, repo: &git2::Repository) -> Result<PathBuf> {
    let config = repo.config().map_err(Error::git(format!(
        "read the config of {}",
        repo_dir.display()
    )))?;
    let level = match config.get_entry("core.hooksPath") {
        Ok(entry) if entry.value_bytes().is_empty() => return Ok(repo_dir.join("hooks")),
        Ok(entry) => entry.level(),
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(repo_dir.join("hooks")),
        Err(e) => return Err(Error::git("read core.hooksPath")(e)),
    };
    let shared = match level {
        git2::ConfigLevel::Local | git2::ConfigLevel::Worktree | git2::ConfigLevel::App => None,
        git2::ConfigLevel::Global => Some("global"),
        git2::ConfigLevel::XDG => Some("XDG"),
        git2::ConfigLevel::System => Some("system"),
        git2::ConfigLevel::ProgramData => Some("program data"),
        git2::ConfigLevel::Highest => Some("the highest level of"),
    };
    if let Some(level) = shared {
        return Err(Error::SharedHooksPath {
            repo: repo_dir.to_path_buf(),
            level,
        });
    }
    let path = config
        .get_path("core.hooksPath")
        .map_err(Error::git("read core.hooksPath"))?;
    // git runs hooks of a bare repository from the repository itself.
    Ok(repo_dir.join(path))
}

/// Resolves `git_dir` and checks that it is a bare repository.
fn open_bare(git_dir: &Path) -> Result<(PathBuf, git2::Repository)> {
    let bad = |reason: String| Error::NotABareRepo {
        path: git_dir.to_path_buf(),
        reason,
    };
    let dir = fs::canonicalize(git_dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => bad("it does not exist".into()),
        _ => bad(e.to_string()),
    })?;
    let repo = git2::Repository::open(&dir).map_err(|e| bad(e.message().to_owned()))?;
    if !repo.is_bare() {
        return Err(bad("it has a working tree".into()));
    }
    Ok((dir, repo))
}

/// The app this repository deploys: named, else the one it belongs to, else named after its directory.
fn choose_app(
    root: &Root,
    repo_dir: &Path,
    requested: Option<&AppName>,
) -> Result<(AppName, Option<App>)> {
    let owner = owning_app(root, repo_dir);
    let name = match (requested, owner) {
        (Some(asked), Some(owner)) if *asked != owner => {
            return Err(Error::RepoOfOtherApp {
                repo: repo_dir.to_path_buf(),
                app: owner.to_string(),
            });
        }
        (Some(asked), _) => asked.clone(),
        (None, Some(owner)) => owner,
        (None, None) => name_after(repo_dir)?,
    };
    for other in app::list(root)? {
        if other != name && same_path(&App::open(root, &other)?.repo_dir(), repo_dir) {
            return Err(Error::RepoOfOtherApp {
                repo: repo_dir.to_path_buf(),
                app: other.to_string(),
            });
        }
    }
    let existing = match App::open(root, &name) {
        Ok(app) => app,
        Err(StoreError::UnknownApp { .. }) => return Ok((name, None)),
        Err(e) => return Err(e.into()),
    };
    if !same_path(&existing.repo_dir(), repo_dir) {
        return Err(Error::AppHasOtherRepo {
            app: name.to_string(),
            repo: existing.repo_dir(),
        });
    }
    Ok((name, Some(existing)))
}

/// The app whose own `apps/NAME/repo.git` this is.
fn owning_app(root: &Root, repo_dir: &Path) -> Option<AppName> {
    let apps = fs::canonicalize(root.apps_dir()).ok()?;
    let app_dir = repo_dir.parent()?;
    if repo_dir.file_name()? != "repo.git" || app_dir.parent()? != apps {
        return None;
    }
    app_dir.file_name()?.to_str()?.parse().ok()
}

/// `/srv/git/shop.git` -> `shop`.
fn name_after(repo_dir: &Path) -> Result<AppName> {
    let bad = |reason| Error::RepoNameNotAppName {
        repo: repo_dir.to_path_buf(),
        reason,
    };
    let file_name = repo_dir.file_name().and_then(|n| n.to_str());
    let base = file_name.ok_or_else(|| bad("its name is not UTF-8"))?;
    let base = base.strip_suffix(".git").unwrap_or(base);
    base.parse().map_err(|e| match e {
        crate::model::Error::BadAppName { reason, .. } => bad(reason),
        other => other.into(),
    })
}
