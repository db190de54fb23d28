//! `hooks:status`: whether each installed hook still runs this root's slipway for its app.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::model::hook_script::Invocation;
use crate::model::name::AppName;
use crate::ops::error::Result;
use crate::store::app::{self, App};
use crate::store::root::Root;

use super::{Installed, installed_hooks, same_path};

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
