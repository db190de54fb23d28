//! Running buildpacks on a build directory: `bin/detect`, `bin/compile` with its output streamed, `bin/release`.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::time::Instant;

use super::fetch::Fetched;
use crate::base::process::{self, Finished, Job, Stream};
use crate::base::sandbox::{Sandbox, Spec};
use crate::build::error::{BuildpackError, Error, Result};
use crate::model::buildpack::ReleaseInfo;
use crate::model::config::Config;
use crate::model::event::{Event, Observer};
use crate::model::settings::BuildTimeout;

/// The `PATH` buildpacks get.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// What `STACK` says to buildpacks: slipway builds on the host's own toolchain.
pub const STACK: &str = "slipway-1";
/// Lines of a failed compile repeated under the failure.
const TAIL: usize = 8;

/// Where and with what buildpacks run.
#[derive(Debug)]
pub struct Options<'a> {
    /// The checkout the buildpacks build in place (`BUILD_DIR`).
    pub build_dir: &'a Path,
    /// The app's buildpack caches: each buildpack gets `CACHE/KEY` as its `CACHE_DIR`.
    pub cache: &'a Path,
    /// Where to write `ENV_DIR` (created here, one file per config var).
    pub env_dir: &'a Path,
    /// The config vars `ENV_DIR` holds.
    pub config: &'a Config,
    /// `HOME` for the scripts (the build directory's parent, scratch).
    pub home: &'a Path,
    /// The commit being built (`SOURCE_VERSION`), if it came from git.
    pub source_version: Option<&'a str>,
    /// The whole build must end by then.
    pub deadline: Instant,
    /// The build's timeout, for the message when it is passed.
    pub timeout: BuildTimeout,
    /// What the scripts run in.
    pub sandbox: &'a Sandbox,
}

/// What the buildpacks made of the app.
#[derive(Debug, Default)]
pub struct Compiled {
    /// The app's name as the last buildpack's `bin/detect` printed it ("Python").
    pub name: String,
    /// Process types and config defaults from the buildpacks' `bin/release`, later ones winning.
    pub release: ReleaseInfo,
}

/// Runs `bin/detect` of `buildpack` on the build directory: the app's name if it applies.
pub fn detect(buildpack: &Fetched, options: &Options) -> Result<Option<String>> {
    let mut name = String::new();
    let finished = script(buildpack, "detect", options, None)?
        .stderr_apart()
        .run(&mut |stream, line| {
            if stream == Stream::Stdout && name.is_empty() {
                name = line.trim().to_owned();
            }
        })
        .map_err(|e| spawn_failed(buildpack, "detect", &e))?;
    check_deadline(finished, options)?;
    Ok(finished.success().then(|| {
        if name.is_empty() {
            buildpack.buildpack.to_string()
        } else {
            name
        }
    }))
}

/// Runs every buildpack of `chain` in order on the build directory.
///
/// With `chosen`, every buildpack must detect the app (else it is not
/// compatible); without, the first that detects it is the only one that runs,
/// and `None` means none did.
pub fn compile_all(
    chain: &[Fetched],
    chosen: bool,
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<Option<Compiled>> {
    let mut run = Vec::new();
    let mut name = String::new();
    for buildpack in chain {
        match detect(buildpack, options)? {
            Some(detected) => {
                name = detected;
                run.push(buildpack);
                if !chosen {
                    break;
                }
            }
            None if chosen => {
                return Err(BuildpackError::NotCompatible {
                    buildpack: buildpack.buildpack.to_string(),
                }
                .into());
            }
            None => {}
        }
    }
    if run.is_empty() {
        return Ok(None);
    }
    if chosen {
        observer.event(Event::UsingBuildpacks {
            resolved: run.iter().map(|b| b.resolved.clone()).collect(),
        });
    }
    observer.event(Event::AppDetected { name: name.clone() });
    write_env_dir(options.env_dir, options.config)?;
    options.sandbox.hand_over(options.env_dir)?;
    let mut release = ReleaseInfo::default();
    for buildpack in run {
        compile(buildpack, &name, options, observer)?;
        let info = release_info(buildpack, options)?;
        release
            .default_process_types
            .extend(info.default_process_types);
        release.config_vars.extend(info.config_vars);
        release.addons.extend(info.addons);
    }
    Ok(Some(Compiled { name, release }))
}

fn compile(
    buildpack: &Fetched,
    name: &str,
    options: &Options,
    observer: &mut dyn Observer,
) -> Result<()> {
    let cache = options.cache.join(&buildpack.cache_key);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&cache)
        .map_err(Error::io("create", &cache))?;
    let mut tail: Vec<String> = Vec::new();
    let finished = script(buildpack, "compile", options, Some(&cache))?
        .run(&mut |_, line| {
            if tail.len() == TAIL {
                tail.remove(0);
            }
            tail.push(line.clone());
            observer.event(Event::BuildpackOutput { line });
        })
        .map_err(|e| spawn_failed(buildpack, "compile", &e))?;
    match check_deadline(finished, options)? {
        Finished::Exited(status) if status.success() => Ok(()),
        Finished::Exited(status) => Err(BuildpackError::CompileFailed {
            name: name.to_owned(),
            status: process::describe(status),
            tail,
        }
        .into()),
        Finished::TimedOut | Finished::Stopped => Err(BuildpackError::TimedOut {
            timeout: options.timeout,
        }
        .into()),
    }
}

/// Runs `bin/release` (when the buildpack has one) and parses what it printed.
fn release_info(buildpack: &Fetched, options: &Options) -> Result<ReleaseInfo> {
    if !buildpack.dir.join("bin").join("release").is_file() {
        return Ok(ReleaseInfo::default());
    }
    let mut yaml = String::new();
    let finished = script(buildpack, "release", options, None)?
        .stderr_apart()
        .run(&mut |stream, line| {
            if stream == Stream::Stdout && yaml.len() < 1024 * 1024 {
                yaml.push_str(&line);
                yaml.push('\n');
            }
        })
        .map_err(|e| spawn_failed(buildpack, "release", &e))?;
    match check_deadline(finished, options)? {
        Finished::Exited(status) if !status.success() => {
            return Err(BuildpackError::ScriptFailed {
                buildpack: buildpack.buildpack.to_string(),
                script: "release",
                status: process::describe(status),
            }
            .into());
        }
        _ => {}
    }
    ReleaseInfo::parse(&yaml).map_err(|source| {
        BuildpackError::BadRelease {
            buildpack: buildpack.buildpack.to_string(),
            source,
        }
        .into()
    })
}

/// A job for `bin/NAME BUILD_DIR` of `buildpack` (`bin/compile BUILD_DIR CACHE_DIR ENV_DIR` with `cache`), with the build environment and what is left of the deadline, in the sandbox.
///
/// It may write the build directory, `HOME` and its cache, and read itself
/// and `ENV_DIR`.
fn script(
    buildpack: &Fetched,
    name: &'static str,
    options: &Options,
    cache: Option<&Path>,
) -> Result<Job> {
    let left = options.deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(BuildpackError::TimedOut {
            timeout: options.timeout,
        }
        .into());
    }
    let mut job = Job::new(buildpack.dir.join("bin").join(name)).arg(options.build_dir);
    let mut spec = Spec {
        write: vec![options.build_dir.to_path_buf(), options.home.to_path_buf()],
        read: vec![buildpack.dir.clone()],
        new_session: true,
    };
    if let Some(cache) = cache {
        job = job.arg(cache).arg(options.env_dir);
        spec.write.push(cache.to_path_buf());
        spec.read.push(options.env_dir.to_path_buf());
    }
    job = job
        .current_dir(options.build_dir)
        .env("PATH", PATH)
        .env("HOME", options.home)
        .env("LANG", "C.UTF-8")
        .env("STACK", STACK)
        .timeout(left);
    if let Some(commit) = options.source_version {
        job = job.env("SOURCE_VERSION", commit);
    }
    Ok(job.sandboxed(options.sandbox, &spec)?)
}

/// A timed-out script is a timed-out build, whatever it was doing.
fn check_deadline(finished: Finished, options: &Options) -> Result<Finished> {
    match finished {
        Finished::TimedOut | Finished::Stopped => Err(BuildpackError::TimedOut {
            timeout: options.timeout,
        }
        .into()),
        other => Ok(other),
    }
}

fn spawn_failed(buildpack: &Fetched, script: &'static str, e: &std::io::Error) -> Error {
    BuildpackError::NotABuildpack {
        buildpack: buildpack.buildpack.to_string(),
        reason: format!("cannot run bin/{script}: {e}"),
    }
    .into()
}

/// `ENV_DIR`: one file per config var, named after it and holding its value, readable only by the build.
fn write_env_dir(dir: &Path, config: &Config) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io("create", dir))?;
    for (key, value) in config {
        let path = dir.join(key);
        crate::base::files::write_atomic(&path, value.as_bytes(), 0o600)
            .map_err(Error::io("write", &path))?;
    }
    Ok(())
}

/// The Procfile of a built app with the buildpacks' default process types added for types it does not declare.
///
/// Returns the new Procfile text and which types came from where, or `None`
/// when nothing needs adding.
pub fn merge_process_types(
    procfile: Option<&str>,
    defaults: &BTreeMap<String, String>,
) -> (Option<String>, Vec<String>, Vec<String>) {
    let parsed = procfile
        .and_then(|text| crate::model::procfile::Procfile::parse(text.as_bytes()).ok())
        .unwrap_or_default();
    let declared: Vec<String> = parsed.processes().map(|(k, _)| k.to_owned()).collect();
    let added: Vec<(&String, &String)> = defaults
        .iter()
        .filter(|(kind, _)| !declared.contains(kind))
        .collect();
    if added.is_empty() {
        return (None, declared, Vec::new());
    }
    let mut text = procfile.unwrap_or_default().to_owned();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    for (kind, command) in &added {
        text.push_str(&format!("{kind}: {command}\n"));
    }
    let added = added.into_iter().map(|(k, _)| k.clone()).collect();
    (Some(text), declared, added)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_process_types_fill_in_what_the_procfile_does_not_declare() {
        let defaults: BTreeMap<String, String> = [
            ("web".to_owned(), "npm start".to_owned()),
            ("worker".to_owned(), "node worker.js".to_owned()),
        ]
        .into();
        let (text, declared, added) = merge_process_types(Some("web: node server.js"), &defaults);
        assert_eq!(
            text.as_deref(),
            Some("web: node server.js\nworker: node worker.js\n")
        );
        assert_eq!(declared, ["web"]);
        assert_eq!(added, ["worker"]);
        let (text, declared, added) = merge_process_types(None, &defaults);
        assert_eq!(
            text.as_deref(),
            Some("web: npm start\nworker: node worker.js\n")
        );
        assert!(declared.is_empty());
        assert_eq!(added, ["web", "worker"]);
        let (text, _, _) = merge_process_types(Some("web: a\nworker: b\n"), &defaults);
        assert_eq!(text, None);
    }
}
