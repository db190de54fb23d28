//! The build step: the app's `build` command (or the admin's `ROOT/hooks/build`), run in the build directory after any buildpacks.
//!
//! It runs with only the release's config vars, `SLIPWAY_APP`,
//! `SLIPWAY_BUILD_DIR`, `SLIPWAY_CACHE_DIR` (kept between builds), `PATH`
//! and `HOME` as environment, through the one process runner ([`Job`]): its
//! output is reported line by line, and when it exits (or times out)
//! anything it left running is killed. It runs in the app's sandbox: the
//! admin's hook too, since it works on the app's files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::base::process::{self, Finished, Job};
use crate::base::sandbox::{Sandbox, SandboxError, Spec};
use crate::base::text::escape;
use crate::model::config::Config;
use crate::model::event::{Event, Observer};
use crate::model::name::AppName;
use crate::model::settings::{BuildCommand, BuildTimeout};

/// The `PATH` a build gets (a config var `PATH` replaces it).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Why a build step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("build failed ({status})")]
    Failed { status: String },

    #[error("build timed out after {timeout}")]
    TimedOut { timeout: BuildTimeout },

    #[error("cannot run the build {program}: {reason}")]
    Spawn {
        program: String,
        reason: String,
        hook: bool,
    },

    #[error(transparent)]
    Sandbox(#[from] SandboxError),
}

/// What builds an app's commits, and for how long it may run.
#[derive(Clone, Debug)]
pub struct Step {
    program: Program,
    timeout: BuildTimeout,
}

#[derive(Clone, Debug)]
enum Program {
    /// `build:` from app.yaml, run by `sh -c`.
    Shell(String),
    /// The admin's `ROOT/hooks/build`, run as `HOOK BUILD_DIR CACHE_DIR`.
    Hook(PathBuf),
}

impl Step {
    /// The app's `build:` command, else the admin's hook; `None` without either.
    pub fn new(
        command: Option<&BuildCommand>,
        hook: Option<PathBuf>,
        timeout: BuildTimeout,
    ) -> Option<Step> {
        let program = match command {
            Some(command) => Program::Shell(command.as_str().to_owned()),
            None => Program::Hook(hook?),
        };
        Some(Step { program, timeout })
    }
}

/// The admin's executable `ROOT/hooks/build`, if there is one.
pub fn hook_path(root_dir: &Path) -> Option<PathBuf> {
    let path = root_dir.join("hooks").join("build");
    let meta = fs::metadata(&path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(path)
}

/// Where and with what a build step runs.
#[derive(Debug)]
pub struct Request<'a> {
    /// The app being built (`SLIPWAY_APP`).
    pub app: &'a AppName,
    /// The config vars the build step sees as its environment.
    pub config: &'a Config,
    /// The directory it builds in place (`SLIPWAY_BUILD_DIR`).
    pub build_dir: &'a Path,
    /// `HOME` (scratch).
    pub home: &'a Path,
    /// Kept between builds of this app (`SLIPWAY_CACHE_DIR`).
    pub cache: &'a Path,
    /// What is left of the build's time.
    pub time_left: Duration,
    /// What it runs in: it may write the build directory, `HOME` and the cache, and read the hook.
    pub sandbox: &'a Sandbox,
}

/// Runs the build step in the build directory, reporting its output line by line.
pub fn run(step: &Step, request: &Request, observer: &mut dyn Observer) -> Result<(), StepError> {
    observer.event(Event::Building);
    let mut spec = Spec {
        write: vec![
            request.build_dir.to_path_buf(),
            request.home.to_path_buf(),
            request.cache.to_path_buf(),
        ],
        read: Vec::new(),
        new_session: true,
    };
    let job = match &step.program {
        Program::Shell(command) => Job::new("/bin/sh").arg("-c").arg(command),
        Program::Hook(path) => {
            spec.read.push(path.clone());
            Job::new(path).arg(request.build_dir).arg(request.cache)
        }
    }
    .current_dir(request.build_dir)
    .env("PATH", PATH)
    .env("HOME", request.home)
    .envs(request.config)
    .env("SLIPWAY_APP", request.app.as_str())
    .env("SLIPWAY_BUILD_DIR", request.build_dir)
    .env("SLIPWAY_CACHE_DIR", request.cache)
    .timeout(request.time_left.min(step.timeout.0.get()))
    .sandboxed(request.sandbox, &spec)?;
    let hook = match &step.program {
        Program::Hook(path) => Some(escape(&path.display().to_string()).into_owned()),
        Program::Shell(_) => None,
    };
    let finished = job
        .run(&mut |_, line| observer.event(Event::BuildOutput { line }))
        .map_err(|e| StepError::Spawn {
            program: hook.clone().unwrap_or_else(|| "command".to_owned()),
            reason: e.to_string(),
            hook: hook.is_some(),
        })?;
    match finished {
        Finished::Exited(status) if status.success() => Ok(()),
        Finished::Exited(status) => Err(StepError::Failed {
            status: process::describe(status),
        }),
        Finished::TimedOut | Finished::Stopped => Err(StepError::TimedOut {
            timeout: step.timeout,
        }),
    }
}
