//! Turning a [`Buildpack`] into a directory of scripts on this host, cached under `ROOT/buildpacks`.
//!
//! - a built-in is written out of the binary once per version;
//! - a git URL is mirrored with the real git client (`buildpacks/git/KEY.git`),
//!   and the commit its `#ref` names (default: the remote's default branch) is
//!   unpacked into `buildpacks/git/KEY/COMMIT`, which never changes; a branch
//!   is fetched again on every build, a tag or commit only when it is missing;
//! - a `.tgz` URL is downloaded and unpacked once (`buildpacks/tgz/KEY`);
//! - a directory is used where it is.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::builtin;
use crate::base::files::TempFile;
use crate::base::http::HttpSettings;
use crate::base::process::{self, Finished, Job};
use crate::base::tempdir::TempDir;
use crate::base::text::escape;
use crate::build::error::{BuildpackError, Error, Result};
use crate::build::source::{self, Limits};
use crate::model::buildpack::{Buildpack, Source};
use crate::model::event::{Event, Observer};

/// How long fetching one buildpack may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
/// The git transports a buildpack URL may use.
const PROTOCOLS: &str = "file:git:http:https:ssh";

/// A buildpack ready to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fetched {
    /// As the user named it.
    pub buildpack: Buildpack,
    /// Its directory (with `bin/detect`, `bin/compile`, `bin/release`).
    pub dir: PathBuf,
    /// What exactly runs: `python 1`, `https://...#main (3f2c1a9)`; shown in the build output.
    pub resolved: String,
    /// A stable name for its build cache directory.
    pub cache_key: String,
}

/// Fetches `buildpack` into `cache` (`ROOT/buildpacks`), with `git_env` as the environment of `git`.
pub fn fetch(
    buildpack: &Buildpack,
    cache: &Path,
    git_env: &[(OsString, OsString)],
    limits: Limits,
    http: &HttpSettings,
    observer: &mut dyn Observer,
) -> Result<Fetched> {
    let fetched = |dir: PathBuf, resolved: String, cache_key: String| Fetched {
        buildpack: buildpack.clone(),
        dir,
        resolved,
        cache_key,
    };
    match buildpack.source() {
        Source::Builtin(name) => {
            let dir = builtin::materialize(name, &cache.join("builtin"))?;
            let version = builtin::builtin_version(name).unwrap_or("0");
            Ok(fetched(
                dir,
                format!("{name} {version} (built in)"),
                (*name).to_owned(),
            ))
        }
        Source::Dir(dir) => {
            if !dir.join("bin").join("compile").is_file() {
                return Err(BuildpackError::NotABuildpack {
                    buildpack: buildpack.to_string(),
                    reason: "it has no bin/compile".into(),
                }
                .into());
            }
            Ok(fetched(
                dir.clone(),
                buildpack.to_string(),
                key_of(buildpack.as_str()),
            ))
        }
        Source::Git { url, reference } => {
            let (dir, commit) = git(
                buildpack,
                url,
                reference.as_deref(),
                cache,
                git_env,
                limits,
                observer,
            )?;
            let short = commit.get(..7).unwrap_or(&commit);
            Ok(fetched(
                dir,
                format!("{} ({short})", buildpack),
                key_of(url),
            ))
        }
        Source::Tarball(url) => {
            let dir = tarball(buildpack, url, cache, limits, http, observer)?;
            Ok(fetched(dir, buildpack.to_string(), key_of(url)))
        }
    }
}

/// A short, filesystem-safe key for `text`.
fn key_of(text: &str) -> String {
    crate::base::digest::hex(&Sha256::digest(text.as_bytes())[..8])
}

fn git(
    buildpack: &Buildpack,
    url: &str,
    reference: Option<&str>,
    cache: &Path,
    git_env: &[(OsString, OsString)],
    limits: Limits,
    observer: &mut dyn Observer,
) -> Result<(PathBuf, String)> {
    let base = cache.join("git");
    fs::create_dir_all(&base).map_err(Error::io("create", &base))?;
    let key = key_of(url);
    let _lock = lock(&base.join(format!("{key}.lock")))?;
    let mirror = base.join(format!("{key}.git"));
    let fail = |reason: String| -> Error {
        BuildpackError::Fetch {
            buildpack: buildpack.to_string(),
            reason,
        }
        .into()
    };
    let git_job = || {
        Job::new("git")
            .envs(git_env.iter().map(|(k, v)| (k, v)))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_ALLOW_PROTOCOL", PROTOCOLS)
            .timeout(FETCH_TIMEOUT)
    };
    if !mirror.is_dir() {
        observer.event(Event::FetchingBuildpack {
            buildpack: buildpack.to_string(),
        });
        let stage = TempDir::new_in(&base).map_err(Error::io("create in", &base))?;
        let into = stage.path().join("mirror.git");
        run_git(
            git_job()
                .args(["clone", "--quiet", "--bare", "--"])
                .arg(url)
                .arg(&into),
            &fail,
        )?;
        fs::rename(&into, &mirror).map_err(Error::io("write", &mirror))?;
    }
    let rev = reference.unwrap_or("HEAD");
    let known = resolve(&git_job, &mirror, rev);
    // A branch (or the default branch) moves: fetch it every build. A tag or commit does not.
    let is_branch =
        reference.is_none_or(|r| resolve(&git_job, &mirror, &format!("refs/heads/{r}")).is_some());
    let commit = if known.is_none() || is_branch {
        run_git(
            git_job().arg("--git-dir").arg(&mirror).args([
                "fetch",
                "--quiet",
                "--prune",
                "--tags",
                "origin",
                "+refs/heads/*:refs/heads/*",
            ]),
            &fail,
        )?;
        resolve(&git_job, &mirror, rev)
    } else {
        known
    };
    let Some(commit) = commit else {
        return Err(fail(format!(
            "it has no branch, tag or commit '{}'",
            escape(rev)
        )));
    };
    let dir = base.join(&key).join(&commit);
    if !dir.is_dir() {
        let parent = base.join(&key);
        fs::create_dir_all(&parent).map_err(Error::io("create", &parent))?;
        let mut archive =
            TempFile::new_in(&parent, 0o600).map_err(Error::io("create in", &parent))?;
        let file = archive
            .file()
            .try_clone()
            .map_err(Error::io("write", archive.path()))?;
        run_git(
            git_job()
                .arg("--git-dir")
                .arg(&mirror)
                .args(["archive", "--format=tar", "--prefix=buildpack/", &commit])
                .stdout_to(file),
            &fail,
        )?;
        unpack(archive.path(), &commit, &parent, &dir, limits)?;
    }
    Ok((dir, commit))
}

/// The commit `rev` names in `repo`, if any.
fn resolve(git_job: &dyn Fn() -> Job, repo: &Path, rev: &str) -> Option<String> {
    let mut out = String::new();
    let finished = git_job()
        .arg("--git-dir")
        .arg(repo)
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .stderr_apart()
        .run(&mut |stream, line| {
            if stream == process::Stream::Stdout {
                out = line;
            }
        })
        .ok()?;
    (finished.success() && out.len() >= 40).then_some(out)
}

/// Runs a git job; on failure, git's last `fatal:` or `error:` line.
fn run_git(job: Job, fail: &dyn Fn(String) -> Error) -> Result<()> {
    let mut lines = Vec::new();
    let finished = job
        .run(&mut |_, line| {
            if lines.len() < 64 {
                lines.push(line);
            }
        })
        .map_err(|e| fail(format!("cannot run git: {e}")))?;
    match finished {
        Finished::Exited(status) if status.success() => Ok(()),
        Finished::Exited(status) => {
            let line = lines
                .iter()
                .rev()
                .find_map(|l| {
                    l.strip_prefix("fatal: ")
                        .or_else(|| l.strip_prefix("error: "))
                })
                .map_or_else(
                    || format!("git failed ({})", process::describe(status)),
                    str::to_owned,
                );
            Err(fail(escape(&line).into_owned()))
        }
        Finished::TimedOut | Finished::Stopped => Err(fail(format!(
            "git took longer than {} minutes",
            FETCH_TIMEOUT.as_secs() / 60
        ))),
    }
}

fn tarball(
    buildpack: &Buildpack,
    url: &str,
    cache: &Path,
    limits: Limits,
    http: &HttpSettings,
    observer: &mut dyn Observer,
) -> Result<PathBuf> {
    let base = cache.join("tgz");
    fs::create_dir_all(&base).map_err(Error::io("create", &base))?;
    let key = key_of(url);
    let dir = base.join(&key);
    let _lock = lock(&base.join(format!("{key}.lock")))?;
    if dir.is_dir() {
        return Ok(dir);
    }
    observer.event(Event::FetchingBuildpack {
        buildpack: buildpack.to_string(),
    });
    let mut file = TempFile::new_in(&base, 0o600).map_err(Error::io("create in", &base))?;
    source::download_to(url, &mut file, limits, http, observer)?;
    unpack(file.path(), "buildpack.tgz", &base, &dir, limits)?;
    Ok(dir)
}

/// Unpacks `archive` into `dest` through a temp directory in `parent`, with the hostile-input-safe extractor.
fn unpack(archive: &Path, name: &str, parent: &Path, dest: &Path, limits: Limits) -> Result<()> {
    let stage = TempDir::new_in(parent).map_err(Error::io("create in", parent))?;
    let mut root = source::extract_archive(archive, name, stage.path(), limits)?;
    // An archive of just `bin/` had that one directory taken for a wrapper.
    if root.file_name().is_some_and(|n| n == "bin") && !root.join("bin").is_dir() {
        root = stage.path().to_path_buf();
    }
    fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(Error::io("write", &root))?;
    fs::rename(&root, dest).map_err(Error::io("write", dest))?;
    Ok(())
}

/// Holds an exclusive lock on `path` until dropped (one fetch of a buildpack at a time).
fn lock(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(Error::io("open", path))?;
    file.lock().map_err(Error::io("lock", path))?;
    Ok(file)
}
