//! The `exec` launcher: hands the release to the admin's `ROOT/hooks/launch` (systemd, Nomad, Kubernetes...).
//!
//! The hook runs with a clean environment: `PATH` and the `SLIPWAY_*`
//! variables below. Its output goes to the pushing client; exit 0 means the
//! release is running. Its files are kept in `apps/NAME/exec/vN/` for as long
//! as the release may be live (a systemd unit may point at the env file).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::{Launch, Launcher, Started, env, run_step};
use crate::base::files;
use crate::base::process::Job;
use crate::model::event::Observer;
use crate::model::release::Version;
use crate::run::error::{Error, Result};

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
        let slug_path = launch.fetch(slug, observer)?;
        // Checked before anything is written for the hook.
        let procfile = super::slug_procfile(&slug_path)?;
        let slug_url = launch
            .slugs
            .url(slug, launch.root.settings.slug_url_ttl.get())?;
        let dir = exec_dir(app, release.version);
        fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
        let env_file = dir.join("env");
        files::write_atomic(&env_file, env::env_file(&release.config).as_bytes(), 0o600)
            .map_err(Error::io("write", &env_file))?;
        let procfile = match procfile {
            Some((bytes, _)) => {
                let path = dir.join("Procfile");
                files::write_atomic(&path, &bytes, 0o644).map_err(Error::io("write", &path))?;
                Some(path)
            }
            None => None,
        };
        let mut job = Job::new(&hook)
            .current_dir(&dir)
            .env("PATH", env::DEFAULT_PATH)
            .env("SLIPWAY_APP", app.name.as_str())
            .env("SLIPWAY_RELEASE", release.name())
            .env("SLIPWAY_SLUG", &slug_path)
            .env("SLIPWAY_SLUG_SHA256", &slug.sha256)
            .env("SLIPWAY_SLUG_URL", &slug_url)
            .env("SLIPWAY_ENV_FILE", &env_file)
            .env("SLIPWAY_ROOT", launch.root.dir());
        if let Some(path) = &procfile {
            job = job.env("SLIPWAY_PROCFILE", path);
        }
        if let Some(previous) = launch.previous {
            job = job.env("SLIPWAY_PREVIOUS_RELEASE", previous.name());
        }
        if let Some(port) = app.settings.port {
            job = job.env("SLIPWAY_PORT", port.to_string());
        }
        let cannot_run = hook.display().to_string();
        run_step(
            job,
            "launch hook",
            &cannot_run,
            app.settings.release_timeout,
            observer,
        )?;
        // Keep the files of the new and the previous release; older ones are no longer live.
        let keep = [Some(release.version), launch.previous.map(|p| p.version)];
        if let Ok(entries) = fs::read_dir(exec_dir(app, 0).parent().unwrap_or(&dir)) {
            for entry in entries.flatten() {
                let version = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix('v'))
                    .and_then(|v| v.parse::<Version>().ok());
                if version.is_some_and(|v| !keep.contains(&Some(v))) {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        Ok(Started::ready(app.settings.url.clone()))
    }
}

fn exec_dir(app: &crate::store::app::App, version: Version) -> PathBuf {
    app.dir().join("exec").join(format!("v{version}"))
}
