//! The build step: runs the app's `build` command (or the admin's `ROOT/hooks/build`) on a checkout of a commit, and makes the slug from what it leaves.
//!
//! The commit is written from the object database into a private scratch
//! directory, removed afterwards whatever happens. The build runs there with
//! only the release's config vars, `SLIPWAY_APP`, `SLIPWAY_BUILD_DIR`,
//! `SLIPWAY_CACHE_DIR` (kept between builds), `PATH` and `HOME` as
//! environment, through the one process runner ([`Job`]): its output is
//! reported line by line, and when it exits (or times out) anything it left
//! running is killed. Built slugs are never taken from or put in the by-tree
//! cache: the same tree may build differently twice.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use git2::{Commit, Repository};

use super::dir::{self, DirPlan};
use super::error::{Error, Result};
use crate::base::process::{self, Finished, Job};
use crate::base::size::Size;
use crate::base::tempdir::TempDir;
use crate::base::text::escape;
use crate::model::config::Config;
use crate::model::event::{Event, Observer};
use crate::model::name::AppName;
use crate::model::release::SlugRef;
use crate::model::settings::{BuildCommand, BuildTimeout};
use crate::store::slugs::SlugStore;

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

/// Everything a build needs besides the commit: whose it is, what it sees, where it works and what it may make.
#[derive(Debug)]
pub struct Build<'a> {
    /// The app being built (`SLIPWAY_APP`).
    pub app: &'a AppName,
    /// The config vars the build sees as its environment.
    pub config: &'a Config,
    /// A private directory to make the build's scratch directory in.
    pub scratch: &'a Path,
    /// Kept between builds of this app (`SLIPWAY_CACHE_DIR`).
    pub cache: &'a Path,
    /// Where the slug goes.
    pub slugs: &'a SlugStore,
    /// The largest slug allowed.
    pub max_size: Size,
}

/// Checks `commit` out into a scratch directory, runs `step` there and compiles the result.
///
/// `incoming` are extra object directories (git's quarantine, in pre-receive).
pub fn build_commit(
    build: &Build,
    step: &Step,
    repo: &Repository,
    commit: &Commit,
    incoming: &[PathBuf],
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    observer.event(Event::Building);
    let scratch =
        Scratch(TempDir::new_in(build.scratch).map_err(Error::io("create in", build.scratch))?);
    let build_dir = scratch.0.path().join("app");
    let home = scratch.0.path().join("home");
    for dir in [&build_dir, &home] {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(Error::io("create", dir))?;
    }
    fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(build.cache)
        .map_err(Error::io("create", build.cache))?;
    super::checkout(repo, commit, incoming, &build_dir, observer)?;

    let job = match &step.program {
        Program::Shell(command) => Job::new("/bin/sh").arg("-c").arg(command),
        Program::Hook(path) => Job::new(path).arg(&build_dir).arg(build.cache),
    }
    .current_dir(&build_dir)
    .env("PATH", PATH)
    .env("HOME", &home)
    .envs(build.config)
    .env("SLIPWAY_APP", build.app.as_str())
    .env("SLIPWAY_BUILD_DIR", &build_dir)
    .env("SLIPWAY_CACHE_DIR", build.cache)
    .timeout(step.timeout.0.get());
    run(step, job, observer)?;

    let plan = DirPlan::scan(&build_dir)?;
    let mtime = commit.time().seconds().max(0) as u64;
    dir::compile_dir_at(build.slugs, &plan, mtime, build.max_size, observer)
}

/// Runs the build, reporting its output line by line.
fn run(step: &Step, job: Job, observer: &mut dyn Observer) -> Result<(), StepError> {
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

/// The scratch directory of one build; removed on drop even if the build made parts of it read-only.
struct Scratch(TempDir);

impl Drop for Scratch {
    fn drop(&mut self) {
        let path = self.0.path();
        if fs::remove_dir_all(path).is_err() {
            make_writable(path);
            let _ = fs::remove_dir_all(path);
        }
    }
}

/// Gives the owner full access to `dir` and every directory under it (never following symlinks).
fn make_writable(dir: &Path) {
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            make_writable(&entry.path());
        }
    }
}
