//! The `exec` launcher: hands the release to the admin's `ROOT/hooks/launch` (systemd, Nomad, Kubernetes...).
//!
//! The hook runs with a clean environment: `PATH` and the `SLIPWAY_*`
//! variables below. Its output goes to the pushing client; exit 0 means the
//! release is running. Its files are kept in `apps/NAME/exec/vN/` for as long
//! as the release may be live (a systemd unit may point at the env file).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use super::command::{self, Finished};
use super::{Launch, Launcher, Started, env, unpack};
use crate::error::{Error, Result};
use crate::event::{Event, Observer};
use crate::fsutil;

/// Runs `ROOT/hooks/launch`.
pub struct Exec;

impl Launcher for Exec {
    fn launch(&self, launch: &Launch, observer: &mut dyn Observer) -> Result<Started> {
        let (app, release) = (launch.app, launch.release);
        let Some(slug) = &release.slug else {
            return Ok(Started::ready(app.settings.url.clone()));
        };
        let hook = launch.root.dir().join("hooks").join("launch");
        let executable = fs::metadata(&hook)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false);
        if !executable {
            return Err(Error::NoLaunchHook { path: hook });
        }
        launch.slugs.check(slug)?;
        let slug_path = launch.slugs.path(&slug.sha256);
        let dir = exec_dir(app, release.version);
        fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        let env_file = dir.join("env");
        fsutil::write_atomic(&env_file, env::env_file(&release.config).as_bytes(), 0o600)
            .map_err(Error::io("write", &env_file))?;
        let procfile = match unpack::read_file(&slug_path, "Procfile")? {
            Some(bytes) => {
                let path = dir.join("Procfile");
                fsutil::write_atomic(&path, &bytes, 0o644).map_err(Error::io("write", &path))?;
                Some(path)
            }
            None => None,
        };
        let mut cmd = Command::new(&hook);
        cmd.current_dir(&dir)
            .env_clear()
            .env("PATH", env::DEFAULT_PATH)
            .env("SLIPWAY_APP", app.name.as_str())
            .env("SLIPWAY_RELEASE", release.name())
            .env("SLIPWAY_SLUG", &slug_path)
            .env("SLIPWAY_SLUG_SHA256", &slug.sha256)
            .env("SLIPWAY_ENV_FILE", &env_file)
            .env("SLIPWAY_ROOT", launch.root.dir());
        if let Some(path) = &procfile {
            cmd.env("SLIPWAY_PROCFILE", path);
        }
        if let Some(previous) = launch.previous {
            cmd.env("SLIPWAY_PREVIOUS_RELEASE", previous.name());
        }
        if let Some(port) = app.settings.port {
            cmd.env("SLIPWAY_PORT", port.to_string());
        }
        let timeout = app.settings.release_timeout;
        let finished = command::run(&mut cmd, timeout.get(), &mut |line| {
            observer.event(Event::CommandOutput { line })
        })
        .map_err(|e| Error::LaunchFailed {
            reason: format!("cannot run {}: {e}", hook.display()),
            detail: Vec::new(),
        })?;
        match finished {
            Finished::Exited(status) if status.success() => {}
            Finished::Exited(status) => {
                return Err(Error::LaunchFailed {
                    reason: format!("launch hook failed ({})", command::describe(status)),
                    detail: Vec::new(),
                });
            }
            Finished::TimedOut => {
                return Err(Error::LaunchFailed {
                    reason: format!("launch hook did not finish within {timeout}"),
                    detail: Vec::new(),
                });
            }
        }
        // Keep the files of the new and the previous release; older ones are no longer live.
        let keep = [Some(release.version), launch.previous.map(|p| p.version)];
        if let Ok(entries) = fs::read_dir(exec_dir(app, 0).parent().unwrap_or(&dir)) {
            for entry in entries.flatten() {
                let version = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix('v'))
                    .and_then(|v| v.parse::<u32>().ok());
                if version.is_some_and(|v| !keep.contains(&Some(v))) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(Started::ready(app.settings.url.clone()))
    }
}

fn exec_dir(app: &crate::app::App, version: u32) -> PathBuf {
    app.dir().join("exec").join(format!("v{version}"))
}
