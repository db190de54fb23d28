//! Building an app in a scratch directory: its source written out, buildpacks, the build step, the default process types, then the slug.
//!
//! The scratch directory is private and removed afterwards whatever happens.
//! `.slugignore`d files are deleted before buildpacks run (as Heroku does)
//! and the slug of the result honours `.slugignore` again. Built slugs are
//! never taken from or put in the by-tree cache: the same tree may build
//! differently twice (a dependency released, a branch buildpack moved).

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Instant;

use git2::{Commit, Repository};

use super::buildpack::{self, Choice, Options};
use super::dir::{self, DirPlan};
use super::error::{Error, Result};
use super::source::Limits;
use super::step::{self, Step};
use crate::base::http::HttpSettings;
use crate::base::sandbox::Sandbox;
use crate::base::size::Size;
use crate::base::tempdir::TempDir;
use crate::model::buildpack::{BUILTINS, Buildpack};
use crate::model::config::Config;
use crate::model::event::{Event, Observer};
use crate::model::name::AppName;
use crate::model::release::SlugRef;
use crate::model::settings::BuildTimeout;
use crate::store::slugs::SlugStore;

/// What is built: a commit of a repository (objects also read from `incoming`), or a directory.
#[derive(Clone, Copy)]
pub enum Input<'a> {
    /// A commit, written out of the object database.
    Commit {
        repo: &'a Repository,
        commit: &'a Commit<'a>,
        incoming: &'a [PathBuf],
    },
    /// A directory (an unpacked source archive), copied.
    Dir(&'a Path),
}

/// Everything a build needs besides its input: whose it is, what it sees, where it works, what runs and what it may make.
pub struct Build<'a> {
    /// The app being built (`SLIPWAY_APP`).
    pub app: &'a AppName,
    /// The config vars the build sees (`ENV_DIR` for buildpacks, the environment for the build step).
    pub config: &'a Config,
    /// A private directory to make the scratch directory in.
    pub scratch: &'a Path,
    /// Kept between builds of this app (`SLIPWAY_CACHE_DIR`; buildpack caches below `buildpacks/`).
    pub cache: &'a Path,
    /// Where buildpacks are fetched to (`ROOT/buildpacks`).
    pub buildpack_cache: &'a Path,
    /// The environment `git` needs to clone buildpacks.
    pub git_env: &'a [(OsString, OsString)],
    /// Caps on downloaded buildpack archives.
    pub limits: Limits,
    /// Proxies and deadlines for downloading them.
    pub http: &'a HttpSettings,
    /// Which buildpacks run; `None` for none at all.
    pub buildpacks: Option<Choice>,
    /// The app's build step, run after the buildpacks.
    pub step: Option<Step>,
    /// The whole build's time limit.
    pub timeout: BuildTimeout,
    /// Where the slug goes.
    pub slugs: &'a SlugStore,
    /// The largest slug allowed.
    pub max_size: Size,
    /// What buildpacks and the build step run in.
    pub sandbox: &'a Sandbox,
}

/// A built slug, and the config defaults the buildpacks asked for (`bin/release`'s `config_vars`).
#[derive(Debug)]
pub struct Built {
    /// The slug.
    pub slug: SlugRef,
    /// Config vars to set where the app has not set them.
    pub config_defaults: Config,
}

/// Builds `input`; `None` when nothing built it (no buildpack detected the app and there is no build step).
pub fn build(build: &Build, input: Input, observer: &mut dyn Observer) -> Result<Option<Built>> {
    let started = Instant::now();
    let deadline = started + build.timeout.0.get();
    let scratch =
        Scratch(TempDir::new_in(build.scratch).map_err(Error::io("create in", build.scratch))?);
    let build_dir = scratch.0.path().join("app");
    let home = scratch.0.path().join("home");
    for dir in [&build_dir, &home] {
        private_dir(dir, false)?;
    }
    private_dir(build.cache, true)?;
    let (source_version, mtime) = match input {
        Input::Commit {
            repo,
            commit,
            incoming,
        } => {
            super::checkout(repo, commit, incoming, &build_dir, observer)?;
            let sha = commit.id().to_string();
            (Some(sha), commit.time().seconds().max(0) as u64)
        }
        Input::Dir(source) => {
            dir::copy_tree(source, &build_dir)?;
            (None, super::compile::SOURCE_MTIME)
        }
    };

    let mut compiled = None;
    if let Some(choice) = &build.buildpacks {
        dir::remove_ignored(&build_dir)?;
        let chain = fetch_all(build, choice, observer)?;
        let options = Options {
            build_dir: &build_dir,
            cache: &build.cache.join("buildpacks"),
            env_dir: &scratch.0.path().join("env"),
            config: build.config,
            home: &home,
            source_version: source_version.as_deref(),
            deadline,
            timeout: build.timeout,
            sandbox: build.sandbox,
        };
        let chosen = matches!(choice, Choice::Chosen { .. });
        compiled = buildpack::compile_all(&chain, chosen, &options, observer)?;
    }
    if compiled.is_none() && build.step.is_none() {
        return Ok(None);
    }
    if let Some(step) = &build.step {
        let left = deadline.saturating_duration_since(Instant::now());
        let request = step::Request {
            app: build.app,
            config: build.config,
            build_dir: &build_dir,
            home: &home,
            cache: build.cache,
            time_left: left,
            sandbox: build.sandbox,
        };
        step::run(step, &request, observer)?;
    }
    let defaults = compiled
        .as_ref()
        .map(|c| c.release.default_process_types.clone())
        .unwrap_or_default();
    declare_process_types(&build_dir, &defaults, observer)?;

    let plan = DirPlan::scan(&build_dir)?;
    let slug = dir::compile_dir_at(build.slugs, &plan, mtime, build.max_size, observer)?;
    Ok(Some(Built {
        slug,
        config_defaults: compiled.map(|c| c.release.config_vars).unwrap_or_default(),
    }))
}

/// Resolves the buildpacks of `choice` to directories: the chosen ones, or every built-in for detection.
fn fetch_all(
    build: &Build,
    choice: &Choice,
    observer: &mut dyn Observer,
) -> Result<Vec<buildpack::Fetched>> {
    let list: Vec<Buildpack> = match choice {
        Choice::Chosen { buildpacks, .. } => buildpacks.clone(),
        Choice::Detect => BUILTINS
            .iter()
            .map(|name| Buildpack::builtin(name))
            .collect(),
    };
    list.iter()
        .map(|b| {
            buildpack::fetch(
                b,
                build.buildpack_cache,
                build.git_env,
                build.limits,
                build.http,
                observer,
            )
        })
        .collect()
}

/// Adds the buildpacks' default process types the Procfile does not declare, and says which types the slug runs.
fn declare_process_types(
    build_dir: &Path,
    defaults: &std::collections::BTreeMap<String, String>,
    observer: &mut dyn Observer,
) -> Result<()> {
    let path = build_dir.join("Procfile");
    // A symlinked Procfile is followed, as the launcher does, when it stays inside the app.
    let readable = match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_file() => true,
        Ok(meta) if meta.is_symlink() => dir::symlink_escape(build_dir, b"Procfile").is_none(),
        _ => false,
    };
    let existing = match readable {
        true => fs::read_to_string(&path).ok(),
        false => None,
    };
    let (merged, declared, added) = buildpack::merge_process_types(existing.as_deref(), defaults);
    if let Some(text) = merged {
        // Replaced, never written through: a symlink becomes a file of its own.
        let _ = fs::remove_file(&path);
        crate::base::files::write_atomic(&path, text.as_bytes(), 0o644)
            .map_err(Error::io("write", &path))?;
    }
    observer.event(Event::ProcessTypes {
        declared,
        defaults: added,
    });
    Ok(())
}

fn private_dir(dir: &Path, recursive: bool) -> Result<()> {
    fs::DirBuilder::new()
        .mode(0o700)
        .recursive(recursive)
        .create(dir)
        .map_err(Error::io("create", dir))
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
