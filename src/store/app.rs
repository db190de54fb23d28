//! Apps: their names, their directories and settings, and the lock that serializes changes to one app.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use super::error::{Error, Result};
use super::releases::Store;
use super::root::{self, Root};
use crate::base::files;
use crate::base::size::Size;
use crate::model::name::AppName;
use crate::model::settings::AppSettings;

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
        let path = dir.join("app.yaml");
        if !exists(&path) {
            if dir.is_dir() {
                return Err(Error::NoSettings {
                    name: name.to_string(),
                    path,
                });
            }
            return Err(Error::UnknownApp {
                name: name.to_string(),
            });
        }
        let settings: AppSettings = root::read_yaml(&path)?.unwrap_or_default();
        if let Some(reason) = settings.problem() {
            return Err(Error::Settings {
                path,
                reason: reason.into(),
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

/// The names of every app, sorted (not those [`damaged`]).
pub fn list(root: &Root) -> Result<Vec<AppName>> {
    scan(root).map(|(apps, _)| apps)
}

/// The app directories without an `app.yaml`, sorted: apps that cannot be opened until it is back.
pub fn damaged(root: &Root) -> Result<Vec<AppName>> {
    scan(root).map(|(_, damaged)| damaged)
}

/// The app directories under `apps/`: with their settings file, and without.
fn scan(root: &Root) -> Result<(Vec<AppName>, Vec<AppName>)> {
    let apps = root.apps_dir();
    let (mut names, mut damaged) = (Vec::new(), Vec::new());
    for entry in fs::read_dir(&apps).map_err(Error::io("read", &apps))? {
        let entry = entry.map_err(Error::io("read", &apps))?;
        let Some(name) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        if exists(&path.join("app.yaml")) {
            names.push(name);
        } else if path.is_dir() {
            damaged.push(name);
        }
    }
    names.sort();
    damaged.sort();
    Ok((names, damaged))
}

/// Whether anything is at `path` (a dangling symlink or a directory included).
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Takes the root lock (`apps/.lock`) that serializes app creation and removal and key changes.
pub fn lock_apps(root: &Root) -> Result<File> {
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
pub fn free_port(root: &Root) -> Result<u16> {
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
    files::write_atomic(&path, text.as_bytes(), 0o644).map_err(Error::io("write", &path))?;
    Ok(port)
}
