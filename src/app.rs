//! Apps: their names, their directories and settings, and the lock that serializes changes to one app.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::fsutil;
use crate::hook;
use crate::launch::LauncherKind;
use crate::release::Store;
use crate::root::{self, Root};
use crate::size::Size;
use crate::span::Span;

const MAX_NAME_LEN: usize = 30;

/// A valid app name: a lowercase letter, then lowercase letters, digits or dashes; at most 30.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AppName(String);

impl FromStr for AppName {
    type Err = Error;

    fn from_str(name: &str) -> Result<AppName> {
        let bad = |reason| Error::BadAppName {
            name: crate::output::escape(name).into_owned(),
            reason,
        };
        let Some(first) = name.chars().next() else {
            return Err(bad("it is empty"));
        };
        if name.len() > MAX_NAME_LEN {
            return Err(bad("it is longer than 30 characters"));
        }
        if !first.is_ascii_lowercase() {
            return Err(bad("it must start with a lowercase letter"));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(bad("only lowercase letters, digits and dashes are allowed"));
        }
        Ok(AppName(name.to_owned()))
    }
}

impl AppName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AppName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The app a git remote URL points at: `.../apps/NAME/repo.git`, or any URL ending in `NAME.git`.
pub fn name_from_remote_url(url: &str) -> Option<AppName> {
    let url = url.trim_end_matches('/');
    let mut parts = url.rsplit(['/', ':']);
    let last = parts.next()?;
    if last == "repo.git" {
        let name = parts.next()?;
        return (parts.next()? == "apps").then(|| name.parse().ok())?;
    }
    last.strip_suffix(".git")?.parse().ok()
}

/// Per-app settings from `apps/NAME/app.yaml`; every field is optional.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSettings {
    /// The branch whose pushes deploy; default `main`, else `master`.
    pub deploy_branch: Option<String>,
    /// Shown after `Launching... done, vN`.
    pub url: Option<String>,
    /// Overrides the root's `max_slug_size` for this app.
    pub max_slug_size: Option<Size>,
    /// How releases are started.
    pub launcher: LauncherKind,
    /// Whether a new release goes live at once (else `releases:promote` does it, as Convox).
    pub auto_promote: bool,
    /// The app's git repository when it is not `apps/NAME/repo.git` (adopted by `hooks:install`).
    pub repo: Option<PathBuf>,
    /// The stable port the `local` launcher's forwarder listens on (set by `apps:create` from `port_range`).
    pub port: Option<u16>,
    /// A path that must answer 2xx or 3xx before a new release takes traffic (else accepting TCP is enough).
    pub health_path: Option<String>,
    /// How long a new release has to become healthy.
    pub health_timeout: Span,
    /// How long the Procfile's `release:` command (or the `exec` launcher's hook) may run.
    pub release_timeout: Span,
    /// How long old processes get to finish connections after a switch, and again between SIGTERM and SIGKILL.
    pub stop_grace: Span,
    /// A shell command that builds a checkout of each deployed commit (else `ROOT/hooks/build`, if any).
    pub build: Option<crate::build::BuildCommand>,
    /// Whether the build runs after refs move (the default) or before, rejecting a push that fails.
    pub build_on: crate::build::BuildOn,
    /// How long a build may run before it is killed (default 15 minutes).
    pub build_timeout: crate::build::BuildTimeout,
}

impl Default for AppSettings {
    fn default() -> AppSettings {
        AppSettings {
            deploy_branch: None,
            url: None,
            max_slug_size: None,
            launcher: LauncherKind::default(),
            auto_promote: true,
            repo: None,
            port: None,
            health_path: None,
            health_timeout: Span::secs(60),
            release_timeout: Span::secs(3600),
            stop_grace: Span::secs(30),
            build: None,
            build_on: crate::build::BuildOn::default(),
            build_timeout: crate::build::BuildTimeout::default(),
        }
    }
}

/// An existing app.
#[derive(Debug)]
pub struct App {
    /// Its name.
    pub name: AppName,
    dir: PathBuf,
    /// Settings read from `app.yaml`.
    pub settings: AppSettings,
}

/// Holds `apps/NAME/lock` (flock) until dropped; every change to an app happens under it.
#[derive(Debug)]
pub struct AppLock {
    _file: File,
}

impl App {
    /// Opens the app `name` in `root`.
    pub fn open(root: &Root, name: &AppName) -> Result<App> {
        let dir = root.apps_dir().join(name.as_str());
        if !dir.join("app.yaml").is_file() {
            return Err(Error::UnknownApp {
                name: name.to_string(),
            });
        }
        let path = dir.join("app.yaml");
        let settings: AppSettings = root::read_yaml(&path)?.unwrap_or_default();
        if settings.repo.as_ref().is_some_and(|r| !r.is_absolute()) {
            return Err(Error::Settings {
                path,
                reason: "repo must be an absolute path".into(),
            });
        }
        if let Some(health) = &settings.health_path
            && (!health.starts_with('/') || !health.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(Error::Settings {
                path,
                reason: "health_path must start with / and hold no spaces or control characters"
                    .into(),
            });
        }
        if settings.port == Some(0) {
            return Err(Error::Settings {
                path,
                reason: "port must be between 1 and 65535".into(),
            });
        }
        Ok(App {
            name: name.clone(),
            dir,
            settings,
        })
    }

    /// `apps/NAME`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The app's bare git repository: `repo` from app.yaml, else `apps/NAME/repo.git`.
    pub fn repo_dir(&self) -> PathBuf {
        self.adopted_repo()
            .map_or_else(|| self.dir.join("repo.git"), Path::to_path_buf)
    }

    /// The repository outside the root that this app deploys from, if it was adopted.
    pub fn adopted_repo(&self) -> Option<&Path> {
        self.settings.repo.as_deref()
    }

    /// Where build and launch output is kept.
    pub fn logs_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    /// The app's release store.
    pub fn store(&self) -> Store {
        Store::new(self.dir.join("releases"), self.dir.join("current"))
    }

    /// The largest slug this app may deploy.
    pub fn max_slug_size(&self, root: &Root) -> Size {
        self.settings
            .max_slug_size
            .unwrap_or(root.settings.max_slug_size)
    }

    /// The branch whose pushes deploy: `deploy_branch`, else `main`, else `master` if only it exists.
    pub fn deploy_branch(&self, repo: &git2::Repository) -> String {
        self.deploy_branch_where(|b| repo.find_reference(&format!("refs/heads/{b}")).is_ok())
    }

    /// The deploy branch, given which branches exist (`has("main")`).
    pub fn deploy_branch_where(&self, has: impl Fn(&str) -> bool) -> String {
        if let Some(branch) = &self.settings.deploy_branch {
            return branch.clone();
        }
        if !has("main") && has("master") {
            "master".into()
        } else {
            "main".into()
        }
    }

    /// Waits for and takes the app lock.
    pub fn lock(&self) -> Result<AppLock> {
        let file = self.open_lock_file()?;
        file.lock().map_err(Error::io("lock", self.lock_path()))?;
        Ok(AppLock { _file: file })
    }

    /// Takes the app lock if nobody holds it.
    pub fn try_lock(&self) -> Result<Option<AppLock>> {
        let file = self.open_lock_file()?;
        match file.try_lock() {
            Ok(()) => Ok(Some(AppLock { _file: file })),
            Err(fs::TryLockError::WouldBlock) => Ok(None),
            Err(fs::TryLockError::Error(e)) => Err(Error::io("lock", self.lock_path())(e)),
        }
    }

    /// Marks releases left pending by a killed process as failed, unless a change is running.
    ///
    /// For read-only commands: they never wait behind a running deploy.
    pub fn recover_if_idle(&self) -> Result<()> {
        if let Some(lock) = self.try_lock()? {
            self.store().recover(&lock)?;
        }
        Ok(())
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join("lock")
    }

    fn open_lock_file(&self) -> Result<File> {
        let path = self.lock_path();
        OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(Error::io("open", &path))
    }
}

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
    let _guard = lock_apps(root)?;
    let dir = apps.join(name.as_str());
    if dir.exists() {
        return Err(Error::AppExists {
            name: name.to_string(),
        });
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
    fsutil::sync_dir(&apps).map_err(Error::io("sync", &apps))?;
    App::open(root, name)
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
        free_port(root)?
    ));
    match repo {
        NewRepo::Own { exe } => {
            let repo_dir = stage.join("repo.git");
            let mut opts = git2::RepositoryInitOptions::new();
            opts.bare(true).initial_head("main").no_reinit(true);
            git2::Repository::init_opts(&repo_dir, &opts)
                .map_err(Error::git(format!("init {}", repo_dir.display())))?;
            // The shim names the final location, not the staging directory.
            hook::install_shim(&repo_dir, exe, root.dir(), name)?;
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
         # build_timeout: 15m       # a build running longer is killed and fails\n"
    )
}

/// What `apps:destroy` did beyond deleting the app.
#[derive(Debug)]
pub struct Destroyed {
    /// An adopted repository, kept: slipway's hooks were taken out of it and what was there put back.
    pub kept_repo: Option<(PathBuf, Vec<crate::install::Removed>)>,
}

/// Deletes an app: its repository, releases and logs. Slugs stay until `slugs:gc`.
///
/// An adopted repository is the admin's: only slipway's hooks are removed from it.
pub fn destroy(root: &Root, name: &AppName) -> Result<Destroyed> {
    let app = App::open(root, name)?;
    let _guard = lock_apps(root)?;
    let lock = app.lock()?;
    // Its processes go before its directory does (an unresponsive supervisor is killed).
    let _ = crate::supervisor::kill_all(&app);
    // A later app of the same name must not inherit this one's ssh grants.
    crate::keys::forget_app_locked(root, name)?;
    let kept_repo = match app.adopted_repo() {
        Some(repo) => Some((repo.to_path_buf(), crate::install::remove_all(&app, &lock)?)),
        None => None,
    };
    let apps = root.apps_dir();
    let doomed = apps.join(format!(".destroyed-{name}-{}", std::process::id()));
    // Rename first, so the app disappears at once even if removal is interrupted.
    fs::rename(app.dir(), &doomed).map_err(Error::io("remove", app.dir()))?;
    fsutil::sync_dir(&apps).map_err(Error::io("sync", &apps))?;
    fs::remove_dir_all(&doomed).map_err(Error::io("remove", &doomed))?;
    Ok(Destroyed { kept_repo })
}

/// The names of every app, sorted.
pub fn list(root: &Root) -> Result<Vec<AppName>> {
    let apps = root.apps_dir();
    let mut names = Vec::new();
    for entry in fs::read_dir(&apps).map_err(Error::io("read", &apps))? {
        let entry = entry.map_err(Error::io("read", &apps))?;
        let Some(name) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        if entry.path().join("app.yaml").is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Takes the root lock (`apps/.lock`) that serializes app creation and removal and key changes.
pub(crate) fn lock_apps(root: &Root) -> Result<File> {
    let path = root.apps_dir().join(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(Error::io("open", &path))?;
    file.lock().map_err(Error::io("lock", &path))?;
    Ok(file)
}

/// A port of the root's `port_range` that no app has and nothing listens on; the caller holds the apps lock.
fn free_port(root: &Root) -> Result<u16> {
    let mut taken = std::collections::BTreeSet::new();
    for name in list(root)? {
        // An app whose settings do not parse still keeps its port, if it has one.
        let path = root.apps_dir().join(name.as_str()).join("app.yaml");
        if let Ok(Some(settings)) = root::read_yaml::<serde_yaml::Value>(&path)
            && let Some(port) = settings.get("port").and_then(serde_yaml::Value::as_u64)
        {
            taken.insert(port);
        }
    }
    let range = root.settings.port_range;
    (range.first..=range.last)
        .find(|&p| {
            !taken.contains(&u64::from(p)) && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
        })
        .ok_or(Error::NoFreePort { range })
}

/// Gives an app made before stable ports existed a port, appending `port: N` to its app.yaml.
pub fn assign_port(root: &Root, app: &App) -> Result<u16> {
    let _guard = lock_apps(root)?;
    let path = app.dir().join("app.yaml");
    let mut text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    // Another deploy may have given it one while we waited for the lock.
    if let Ok(settings) = serde_yaml::from_str::<serde_yaml::Value>(&text)
        && let Some(port) = settings.get("port").and_then(serde_yaml::Value::as_u64)
        && let Ok(port) = u16::try_from(port)
    {
        return Ok(port);
    }
    let port = free_port(root)?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!("port: {port}\n"));
    fsutil::write_atomic(&path, text.as_bytes(), 0o644).map_err(Error::io("write", &path))?;
    Ok(port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_name_their_app() {
        let name = |url: &str| name_from_remote_url(url).map(|n| n.to_string());
        assert_eq!(
            name("/srv/slipway/apps/myapp/repo.git").as_deref(),
            Some("myapp")
        );
        assert_eq!(
            name("file:///srv/slipway/apps/myapp/repo.git/").as_deref(),
            Some("myapp")
        );
        assert_eq!(name("git@example.com:myapp.git").as_deref(), Some("myapp"));
        assert_eq!(
            name("ssh://git@example.com:2222/myapp.git").as_deref(),
            Some("myapp")
        );
        assert_eq!(name("/srv/other/repo.git"), None);
        assert_eq!(name("https://example.com/Some/Repo"), None);
        assert_eq!(name("git@example.com:Bad_Name.git"), None);
    }
}
