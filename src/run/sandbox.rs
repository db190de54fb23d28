//! Which sandbox an app's code runs in: `sandbox:` from app.yaml, else from slipway.yaml, else bubblewrap when it works here; and, as root, as whom.

use std::path::{Path, PathBuf};

use crate::base::sandbox::{self, Bwrap, Identity, Sandbox, SandboxError};
use crate::model::settings::SandboxKind;
use crate::store::app::App;
use crate::store::root::Root;

/// Who sandboxed app code runs as when slipway runs as root and slipway.yaml names no `sandbox_user`.
pub const DEFAULT_USER: &str = "nobody";

/// How an app's code is confined, and why, for warnings and `apps:info`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Under bubblewrap, as `user` when slipway runs as root.
    Bwrap { user: Option<String> },
    /// Not at all: `sandbox: none` says so.
    Off,
    /// Not at all: no sandbox was asked for and bubblewrap does not work here.
    Missing { reason: String },
    /// None can be had: `sandbox: bwrap` without a working bubblewrap, or no `sandbox_user`; app code does not run.
    Broken { reason: String },
}

/// The sandbox an app's code runs in.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// What wraps its commands.
    pub sandbox: Sandbox,
    /// How it was chosen.
    pub choice: Choice,
}

/// The sandbox of `app` (whose code may call the slipway binary `exe`): an error when `sandbox: bwrap` cannot be had.
pub fn resolve(root: &Root, app: &App, exe: &Path) -> Result<Resolved, SandboxError> {
    resolve_revealing(root, app, &[exe.to_path_buf()])
}

fn resolve_revealing(root: &Root, app: &App, reveal: &[PathBuf]) -> Result<Resolved, SandboxError> {
    let asked = app.settings.sandbox.or(root.settings.sandbox);
    if asked == Some(SandboxKind::None) {
        return Ok(Resolved {
            sandbox: Sandbox::None,
            choice: Choice::Off,
        });
    }
    let user = match crate::base::sys::is_superuser() {
        true => Some(Identity::lookup(
            root.settings
                .sandbox_user
                .as_deref()
                .unwrap_or(DEFAULT_USER),
        )?),
        false => None,
    };
    let name = user.as_ref().map(|u| u.name.clone());
    match Bwrap::find(root.dir(), &hidden(), reveal, user) {
        Ok(bwrap) => Ok(Resolved {
            sandbox: Sandbox::Bwrap(bwrap),
            choice: Choice::Bwrap { user: name },
        }),
        Err(e @ (SandboxError::NotInstalled | SandboxError::NotWorking { .. }))
            if asked.is_none() =>
        {
            Ok(Resolved {
                sandbox: Sandbox::None,
                choice: Choice::Missing {
                    reason: e.to_string(),
                },
            })
        }
        Err(e) => Err(e),
    }
}

/// How `app`'s code would be confined now, for `apps:info`.
pub fn describe(root: &Root, app: &App) -> Choice {
    match resolve_revealing(root, app, &[]) {
        Ok(resolved) => resolved.choice,
        Err(e) => Choice::Broken {
            reason: e.to_string(),
        },
    }
}

/// Hidden besides the root: the home of the account slipway runs as (ssh keys for `watch`, git credentials).
fn hidden() -> Vec<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    sandbox::home_of(uid).into_iter().collect()
}
