//! `hooks:uninstall` and `apps:destroy` of an adopted repository: taking slipway's hooks out and putting back what was there.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::model::hook_script::is_slipway_hook;
use crate::model::name::AppName;
use crate::ops::error::{Error, Result};
use crate::store::app::{self, App, AppLock};
use crate::store::root::Root;

use super::{Installed, MANIFEST, installed_hooks, same_path, sync_parent, write_manifest};

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
