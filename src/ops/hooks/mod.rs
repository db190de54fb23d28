//! slipway's hooks in git repositories (an app's own, or an admin's existing one): installing them, taking them out, checking them.
//!
//! slipway never overwrites a hook it did not write. With `--chain` the
//! admin's hook is moved (the same file: bytes and mode kept) to
//! `HOOKS/pre-slipway/NAME`, keeping its name for hooks that look at `$0`, and
//! a dispatcher runs it first; uninstalling moves it back. What was installed
//! is recorded in `apps/NAME/hooks.json`, written atomically under the app lock.

mod install;
mod status;
mod uninstall;

pub use install::{Change, InstallReport, InstallRequest, install};
pub use status::{Health, HookStatus, status};
pub use uninstall::{Removal, Removed, Uninstalled, remove_all, uninstall};

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::files;
use crate::model::hook_script::{Invocation, is_slipway_hook};
use crate::model::name::AppName;
use crate::model::refs::HookKind;
use crate::ops::error::{Error, Result};
use crate::store::Error as StoreError;
use crate::store::app::{App, AppLock};
use crate::store::hooks::write_executable;

pub(super) const MANIFEST: &str = "hooks.json";
/// slipway's file name inside a `HOOK.d/` directory.
pub(super) const DIR_ENTRY: &str = "slipway";

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
            // The shims `apps:create` wrote into the app's own repository.
            let shims = [HookKind::PreReceive, HookKind::PostReceive]
                .into_iter()
                .filter_map(|hook| {
                    let shim = app.repo_dir().join("hooks").join(hook.as_str());
                    let ours = fs::read(&shim).is_ok_and(|bytes| is_slipway_hook(&bytes));
                    ours.then_some(Installed {
                        hook,
                        layout: Layout::Shim,
                        path: shim,
                        original: None,
                        created_dirs: Vec::new(),
                    })
                })
                .collect();
            Ok(shims)
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

pub(super) fn same_path(a: &Path, b: &Path) -> bool {
    fs::canonicalize(a).is_ok_and(|a| a == b)
}

pub(super) fn sync_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(dir) => files::sync_dir(dir).map_err(Error::io("sync", dir)),
        None => Ok(()),
    }
}

/// Rewrites every hook slipway installed for `app` to run as `new_name` (for `apps:rename`); the caller holds the app lock.
///
/// Returns the hooks' old texts, so a failed rename can put them back with [`restore_texts`].
pub fn rename_in_hooks(app: &App, new_name: &AppName) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut old = Vec::new();
    for installed in installed_hooks(app)? {
        let Ok(bytes) = fs::read(&installed.path) else {
            continue;
        };
        let Some(mut invocation) = Invocation::parse(&bytes) else {
            continue;
        };
        invocation.app = new_name.to_string();
        let text = match (installed.layout, &installed.original) {
            (Layout::Chain, Some(original)) => invocation.dispatcher(original),
            _ => invocation.shim(),
        };
        write_executable(&installed.path, text.as_bytes())
            .map_err(Error::io("write", &installed.path))?;
        old.push((installed.path, bytes));
    }
    Ok(old)
}

/// Puts back hook texts [`rename_in_hooks`] replaced.
pub fn restore_texts(old: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in old {
        let _ = write_executable(path, bytes);
    }
}
