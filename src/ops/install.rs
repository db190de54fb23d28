//! Installing slipway's hooks into a git repository (an app's own, or an admin's existing one), taking them out, and checking them.
//!
//! slipway never overwrites a hook it did not write. With `--chain` the
//! admin's hook is moved (the same file: bytes and mode kept) to
//! `HOOKS/pre-slipway/NAME`, keeping its name for hooks that look at `$0`, and
//! a dispatcher runs it first; uninstalling moves it back. What was installed
//! is recorded in `apps/NAME/hooks.json`, written atomically under the app lock.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::apps;
use super::error::{Error, Result};
use crate::base::files;
use crate::model::hook_script::{Invocation, is_slipway_hook};
use crate::model::name::AppName;
use crate::model::refs::HookKind;
use crate::store::Error as StoreError;
use crate::store::app::{self, App, AppLock};
use crate::store::hooks::write_executable;
use crate::store::root::Root;

const MANIFEST: &str = "hooks.json";
/// slipway's file name inside a `HOOK.d/` directory.
const DIR_ENTRY: &str = "slipway";

/// How slipway's hook sits in a repository.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// `HOOKS/NAME` is slipway's shim; there was no hook before.
    Shim,
    /// `HOOKS/NAME` is slipway's dispatcher; the hook that was there runs first from `original`.
    Chain,
    /// `DIR/NAME.d/slipway`: one more hook in a hooks directory (such as GitLab's `custom_hooks/`).
    Dir,
}

/// One hook slipway installed, as recorded in `apps/NAME/hooks.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Installed {
    /// Which git hook.
    pub hook: HookKind,
    /// How it is laid out.
    pub layout: Layout,
    /// The file slipway wrote.
    pub path: PathBuf,
    /// Where the admin's hook was moved (chain only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original: Option<PathBuf>,
    /// Directories slipway created for it, outermost first; removed on uninstall when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created_dirs: Vec<PathBuf>,
}

impl Installed {
    /// The `--hooks-dir` that installs this hook again (dir layout only).
    pub fn hooks_dir(&self) -> Option<&Path> {
        match self.layout {
            Layout::Dir => self.path.parent()?.parent(),
            Layout::Shim | Layout::Chain => None,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    hooks: Vec<Installed>,
}

/// Where `--chain` moves an existing hook: `HOOKS/pre-slipway/NAME`, so it keeps its file name.
pub fn chained_original(hook_path: &Path) -> PathBuf {
    let name = hook_path.file_name().unwrap_or_default();
    hook_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("pre-slipway")
        .join(name)
}

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

fn same_path(a: &Path, b: &Path) -> bool {
    fs::canonicalize(a).is_ok_and(|a| a == b)
}

/// The hooks slipway installed for `app`: `hooks.json`, else the shim `apps:create` wrote.
pub fn installed_hooks(app: &App) -> Result<Vec<Installed>> {
    let path = app.dir().join(MANIFEST);
    match fs::read(&path) {
        Ok(bytes) => {
            let manifest: Manifest =
                serde_json::from_slice(&bytes).map_err(|e| StoreError::Settings {
                    path,
                    reason: e.to_string(),
                })?;
            Ok(manifest.hooks)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if app.adopted_repo().is_some() {
                return Ok(Vec::new());
            }
            let shim = app.repo_dir().join("hooks").join("post-receive");
            let ours = fs::read(&shim).is_ok_and(|bytes| is_slipway_hook(&bytes));
            Ok(ours
                .then(|| Installed {
                    hook: HookKind::PostReceive,
                    layout: Layout::Shim,
                    path: shim,
                    original: None,
                    created_dirs: Vec::new(),
                })
                .into_iter()
                .collect())
        }
        Err(e) => Err(Error::io("read", path)(e)),
    }
}

fn write_manifest(app: &App, _lock: &AppLock, hooks: &[Installed]) -> Result<()> {
    let path = app.dir().join(MANIFEST);
    let manifest = Manifest {
        hooks: hooks.to_vec(),
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    bytes.push(b'\n');
    files::write_atomic(&path, &bytes, 0o644).map_err(Error::io("write", &path))
}

/// What uninstalling did to one hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removal {
    /// slipway's hook was deleted; there was none before.
    Removed,
    /// The hook that was there before slipway is back.
    Restored,
    /// slipway's hook was already gone.
    AlreadyGone,
    /// The file is no longer slipway's (someone replaced it): left as it is.
    LeftAlone,
}

/// One hook taken out.
#[derive(Clone, Debug)]
pub struct Removed {
    /// What had been installed.
    pub installed: Installed,
    /// What was done.
    pub removal: Removal,
}

/// What `hooks:uninstall` did.
#[derive(Debug)]
pub struct Uninstalled {
    /// The app the repository deployed; it and its releases are kept.
    pub app: AppName,
    /// The repository.
    pub repo: PathBuf,
    /// Each hook taken out.
    pub removed: Vec<Removed>,
}

/// Takes slipway's hooks out of a repository and puts back what was there before.
pub fn uninstall(root: &Root, git_dir: &Path) -> Result<Uninstalled> {
    let repo = fs::canonicalize(git_dir).unwrap_or_else(|_| git_dir.to_path_buf());
    let no_hooks = || Error::NoHooks { repo: repo.clone() };
    let mut owner = None;
    for name in app::list(root)? {
        let app = App::open(root, &name)?;
        if same_path(&app.repo_dir(), &repo) {
            owner = Some(app);
            break;
        }
    }
    let app = owner.ok_or_else(no_hooks)?;
    let lock = app.lock()?;
    if installed_hooks(&app)?.is_empty() {
        return Err(no_hooks());
    }
    let removed = remove_all(&app, &lock)?;
    Ok(Uninstalled {
        app: app.name.clone(),
        repo,
        removed,
    })
}

/// Takes out every hook recorded for `app`, restoring what each replaced; the caller holds the app lock.
pub fn remove_all(app: &App, lock: &AppLock) -> Result<Vec<Removed>> {
    let hooks = installed_hooks(app)?;
    let mut removed = Vec::new();
    for (i, installed) in hooks.iter().enumerate().rev() {
        let removal = remove_one(installed)?;
        removed.push(Removed {
            installed: installed.clone(),
            removal,
        });
        // Record progress, so an interrupted uninstall can be run again.
        write_manifest(app, lock, &hooks[..i])?;
    }
    let path = app.dir().join(MANIFEST);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", &path)(e)),
        _ => Ok(()),
    }?;
    removed.reverse();
    Ok(removed)
}

fn remove_one(installed: &Installed) -> Result<Removal> {
    let target = &installed.path;
    let state = match fs::read(target) {
        Ok(bytes) => Some(is_slipway_hook(&bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // A dangling symlink reads as missing but is someone's file.
            fs::symlink_metadata(target).ok().map(|_| false)
        }
        Err(e) => return Err(Error::io("read", target)(e)),
    };
    let original = installed
        .original
        .as_ref()
        .filter(|o| fs::symlink_metadata(o).is_ok());
    let removal = match (state, original) {
        (Some(false), _) => Removal::LeftAlone,
        (_, Some(original)) => {
            // One rename: the dispatcher is replaced by the original, never leaving no hook.
            fs::rename(original, target).map_err(Error::io("restore", target))?;
            Removal::Restored
        }
        (Some(true), None) => {
            fs::remove_file(target).map_err(Error::io("remove", target))?;
            Removal::Removed
        }
        (None, None) => Removal::AlreadyGone,
    };
    sync_parent(target)?;
    for dir in installed.created_dirs.iter().rev() {
        // Only empty directories go: anything else in them is someone's.
        if fs::remove_dir(dir).is_ok() {
            sync_parent(dir)?;
        }
    }
    Ok(removal)
}

fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => files::sync_dir(dir).map_err(Error::io("sync", dir)),
        None => Ok(()),
    }
}

/// Whether an installed hook still works.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// It runs an existing slipway binary for this root and app.
    Ok,
    /// The slipway binary it runs is gone or not executable (moved or upgraded).
    StaleBinary,
    /// It deploys into another root (the root moved).
    OtherRoot(PathBuf),
    /// The hook file is gone.
    Missing,
    /// The file is no longer slipway's: someone replaced it.
    Replaced,
    /// The chained hook that should run first is gone.
    OriginalMissing(PathBuf),
}

impl Health {
    /// Whether `hooks:install --force` puts it right.
    pub fn fixed_by_force(&self) -> bool {
        matches!(
            self,
            Health::StaleBinary | Health::OtherRoot(_) | Health::Missing
        )
    }
}

/// One installed hook and its health, for `hooks:status`.
#[derive(Clone, Debug)]
pub struct HookStatus {
    /// The app it deploys.
    pub app: AppName,
    /// The repository it is in.
    pub repo: PathBuf,
    /// What was installed.
    pub installed: Installed,
    /// The slipway binary the hook runs, when it can be read.
    pub exe: Option<PathBuf>,
    /// Whether it works.
    pub health: Health,
}

/// Every hook slipway installed under `root`, app by app, with whether it still works.
pub fn status(root: &Root) -> Result<Vec<HookStatus>> {
    let mut statuses = Vec::new();
    for name in app::list(root)? {
        let app = App::open(root, &name)?;
        for installed in installed_hooks(&app)? {
            let (exe, health) = check(root, &app, &installed);
            statuses.push(HookStatus {
                app: name.clone(),
                repo: app.repo_dir(),
                installed,
                exe,
                health,
            });
        }
    }
    Ok(statuses)
}

fn check(root: &Root, app: &App, installed: &Installed) -> (Option<PathBuf>, Health) {
    let Ok(bytes) = fs::read(&installed.path) else {
        return (None, Health::Missing);
    };
    let Some(invocation) = Invocation::parse(&bytes) else {
        return (None, Health::Replaced);
    };
    if invocation.app != app.name.as_str() {
        return (Some(invocation.exe), Health::Replaced);
    }
    let health = if !is_executable(&invocation.exe) {
        Health::StaleBinary
    } else if !same_path(&invocation.root, &canonical(root.dir())) {
        Health::OtherRoot(invocation.root.clone())
    } else {
        match &installed.original {
            Some(original) if fs::symlink_metadata(original).is_err() => {
                Health::OriginalMissing(original.clone())
            }
            _ => Health::Ok,
        }
    };
    (Some(invocation.exe), health)
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
