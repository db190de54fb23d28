//! The build step: runs the app's `build` command (or the admin's `ROOT/hooks/build`) on a checkout of a commit, and makes the slug from what it leaves.
//!
//! The commit is written from the object database into a private scratch
//! directory under `ROOT/tmp`, removed afterwards whatever happens. The build
//! runs there in its own process group, with only the release's config vars,
//! `SLIPWAY_APP`, `SLIPWAY_BUILD_DIR`, `SLIPWAY_CACHE_DIR` (`apps/NAME/cache`,
//! kept between builds), `PATH` and `HOME` as environment. Its output is
//! reported line by line; when it exits (or times out) anything it left
//! running is killed. Built slugs are never taken from or put in the by-tree
//! cache: the same tree may build differently twice.
//!
//! With `build_on: pre-receive` the pre-receive hook builds the pushed commit
//! from git's quarantine and leaves a note (`apps/NAME/built/COMMIT`) that
//! post-receive takes instead of building again.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use git2::{Commit, Oid, Repository};
use serde::{Deserialize, Deserializer};

use crate::app::{App, AppLock};
use crate::deploy::{self, Context};
use crate::error::{Error, Result};
use crate::event::{Event, Observer};
use crate::fsutil;
use crate::hook::HookKind;
use crate::release::SlugRef;
use crate::root::Root;
use crate::slug::{self, DirPlan, SlugStore};
use crate::source::{self, TempDir};
use crate::span::Span;

/// Heroku's limit on a build.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// The `PATH` a build gets (a config var `PATH` replaces it).
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Longer output lines are reported in pieces of this many bytes.
const MAX_LINE: u64 = 8 * 1024;
/// How often a running build is checked for exit and timeout.
const POLL: Duration = Duration::from_millis(50);
/// How long output is still read after the build ended and its process group was killed.
const DRAIN: Duration = Duration::from_secs(2);
/// A pre-receive note older than this was left by a push that never reached post-receive.
const NOTE_TTL: Duration = Duration::from_secs(60 * 60);

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
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

impl BuildError {
    /// The obvious next step, printed as a `help:` line.
    pub fn help(&self) -> Option<String> {
        match self {
            BuildError::TimedOut { .. } => Some(
                "make the build faster (SLIPWAY_CACHE_DIR persists between builds), or raise build_timeout in app.yaml"
                    .into(),
            ),
            BuildError::Spawn { hook: true, .. } => {
                Some("ROOT/hooks/build must be an executable file with a #! line".into())
            }
            BuildError::Spawn { .. } | BuildError::Failed { .. } => None,
        }
    }
}

/// When the build runs (`build_on:` in app.yaml).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BuildOn {
    /// After refs moved, as part of the deploy: a failed build is a failed release.
    #[default]
    PostReceive,
    /// Before refs move, in the pre-receive hook: a failed build rejects the push.
    PreReceive,
}

/// A `build:` shell command; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildCommand(String);

impl BuildCommand {
    /// The command, as `sh -c` runs it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for BuildCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<BuildCommand, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "build must be a shell command (leave it out for no build)",
            ));
        }
        if text.contains('\0') {
            return Err(serde::de::Error::custom("build cannot contain a NUL byte"));
        }
        Ok(BuildCommand(text))
    }
}

/// `build_timeout:`: a [`Span`] of at least one second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildTimeout(pub Span);

impl Default for BuildTimeout {
    fn default() -> BuildTimeout {
        BuildTimeout(Span(DEFAULT_TIMEOUT))
    }
}

impl fmt::Display for BuildTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for BuildTimeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<BuildTimeout, D::Error> {
        match Span::deserialize(d) {
            Ok(span) if span.get() >= Duration::from_secs(1) => Ok(BuildTimeout(span)),
            _ => Err(serde::de::Error::custom(
                "build_timeout must be a duration of at least one second (try 90s, 15m or 1h)",
            )),
        }
    }
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
    /// The app's build step: `build` in app.yaml, else an executable `ROOT/hooks/build`; `None` without either.
    pub fn of(root: &Root, app: &App) -> Option<Step> {
        let program = match &app.settings.build {
            Some(command) => Program::Shell(command.as_str().to_owned()),
            None => Program::Hook(hook_path(root.dir())?),
        };
        Some(Step {
            program,
            timeout: app.settings.build_timeout,
        })
    }
}

/// The admin's executable `ROOT/hooks/build`, if there is one.
pub fn hook_path(root_dir: &Path) -> Option<PathBuf> {
    let path = root_dir.join("hooks").join("build");
    let meta = fs::metadata(&path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(path)
}

/// The slug a deploy of `commit` runs: built if the app has a build step, else compiled (or reused by tree).
///
/// With `build_on: pre-receive` the slug the pre-receive hook built is taken
/// instead of building again; the caller holds the app lock.
pub fn slug_of_commit(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
    repo: &Repository,
    commit: &Commit,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let slugs = SlugStore::new(ctx.root.slugs_dir());
    let Some(step) = Step::of(ctx.root, app) else {
        return slugs.get_or_compile(repo, commit, app.max_slug_size(ctx.root), observer);
    };
    if app.settings.build_on == BuildOn::PreReceive {
        if let Some(slug) = take_note(app, &slugs, commit.id()) {
            observer.event(Event::Compressed {
                size: slug.size,
                reused: true,
            });
            return Ok(slug);
        }
        if !has_pre_receive_hook(app) {
            observer.event(Event::NotStrict {
                repo: app.repo_dir().display().to_string(),
            });
        }
    }
    build_commit(ctx, app, lock, repo, commit, &[], &step, observer)
}

/// Pre-receive with `build_on: pre-receive`: builds the pushed commit (objects also in `incoming`) and notes its slug for post-receive.
pub fn prebuild(
    ctx: &Context,
    app: &App,
    repo: &Repository,
    commit: &Commit,
    incoming: &[PathBuf],
    step: &Step,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let lock = deploy::lock_app(app, observer)?;
    let slug = build_commit(ctx, app, &lock, repo, commit, incoming, step, observer)?;
    write_note(app, &lock, commit.id(), &slug)?;
    Ok(slug)
}

/// Checks `commit` out into a scratch directory, runs `step` there and compiles the result; the caller holds the app lock.
#[allow(clippy::too_many_arguments)]
fn build_commit(
    ctx: &Context,
    app: &App,
    _lock: &AppLock,
    repo: &Repository,
    commit: &Commit,
    incoming: &[PathBuf],
    step: &Step,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    observer.event(Event::Building);
    let config = deploy::base_release(app, &app.store())?
        .map(|r| r.config)
        .unwrap_or_default();
    let tmp_root = ctx.root.dir().join("tmp");
    source::prepare_tmp(&tmp_root)?;
    let scratch = Scratch(TempDir::new_in(&tmp_root).map_err(Error::io("create in", &tmp_root))?);
    let build_dir = scratch.0.path().join("app");
    let home = scratch.0.path().join("home");
    for dir in [&build_dir, &home] {
        fs::DirBuilder::new()
            .mode(0o700)
            .create(dir)
            .map_err(Error::io("create", dir))?;
    }
    let cache = app.dir().join("cache");
    fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(&cache)
        .map_err(Error::io("create", &cache))?;
    slug::checkout(repo, commit, incoming, &build_dir, observer)?;

    let mut env: Vec<(OsString, OsString)> = vec![
        ("PATH".into(), PATH.into()),
        ("HOME".into(), home.into_os_string()),
    ];
    env.extend(config.into_iter().map(|(k, v)| (k.into(), v.into())));
    env.extend([
        ("SLIPWAY_APP".into(), app.name.as_str().into()),
        (
            "SLIPWAY_BUILD_DIR".into(),
            build_dir.clone().into_os_string(),
        ),
        ("SLIPWAY_CACHE_DIR".into(), cache.clone().into_os_string()),
    ]);
    run(step, &build_dir, &cache, env, observer)?;

    let plan = DirPlan::scan(&build_dir)?;
    let mtime = commit.time().seconds().max(0) as u64;
    SlugStore::new(ctx.root.slugs_dir()).compile_dir_at(
        &plan,
        mtime,
        app.max_slug_size(ctx.root),
        observer,
    )
}

/// Runs the build in `dir`, reporting its output line by line, and kills its process group when it ends.
fn run(
    step: &Step,
    dir: &Path,
    cache: &Path,
    env: Vec<(OsString, OsString)>,
    observer: &mut dyn Observer,
) -> std::result::Result<(), BuildError> {
    let (name, mut cmd) = match &step.program {
        Program::Shell(command) => {
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(command);
            (None, cmd)
        }
        Program::Hook(path) => {
            let mut cmd = Command::new(path);
            cmd.arg(dir).arg(cache);
            (Some(path.display().to_string()), cmd)
        }
    };
    let spawn_error = |e: std::io::Error| BuildError::Spawn {
        program: name.as_deref().map_or_else(
            || "command".to_owned(),
            |n| crate::output::escape(n).into_owned(),
        ),
        reason: e.to_string(),
        hook: name.is_some(),
    };
    // One pipe for stdout and stderr, so their lines arrive in the order they were written.
    let (reader, writer) = std::io::pipe().map_err(spawn_error)?;
    cmd.current_dir(dir)
        .env_clear()
        .envs(env)
        .stdin(Stdio::null())
        .stdout(writer.try_clone().map_err(spawn_error)?)
        .stderr(writer)
        .process_group(0);
    let spawned = cmd.spawn();
    // Our copies of the pipe's write end go with the command: output ends when the build's processes are gone.
    drop(cmd);
    let mut child = spawned.map_err(spawn_error)?;
    let lines = read_lines(reader);

    let pid = child.id();
    let deadline = Instant::now().checked_add(step.timeout.0.get());
    let mut ended: Option<(Instant, bool)> = None;
    let mut output_open = true;
    loop {
        if output_open {
            match lines.recv_timeout(POLL) {
                Ok(line) => observer.event(Event::BuildOutput {
                    line: display_line(&line),
                }),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => output_open = false,
            }
        } else if ended.is_none() {
            std::thread::sleep(POLL);
        }
        match ended {
            None => {
                let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
                if timed_out || has_exited(pid) {
                    kill_group(pid);
                    ended = Some((Instant::now(), timed_out));
                }
            }
            Some((at, _)) if !output_open || at.elapsed() >= DRAIN => break,
            Some(_) => {}
        }
    }
    let status = child.wait().map_err(spawn_error)?;
    match ended {
        Some((_, true)) => Err(BuildError::TimedOut {
            timeout: step.timeout,
        }),
        _ if status.success() => Ok(()),
        _ => Err(BuildError::Failed {
            status: describe(status),
        }),
    }
}

/// Reads `reader` on a thread, sending each line (at most [`MAX_LINE`] bytes) as it comes.
fn read_lines(reader: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        loop {
            let mut line = Vec::new();
            match (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        }
    });
    rx
}

/// A line as a terminal would leave it: no newline, and after a `\r` only what overwrote the line.
fn display_line(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let last = line.rsplit(|&b| b == b'\r').next().unwrap_or(line);
    String::from_utf8_lossy(last).into_owned()
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => status.to_string(),
    }
}

/// Whether the process `pid` (our child) has exited, without reaping it.
#[allow(unsafe_code)]
fn has_exited(pid: u32) -> bool {
    // SAFETY: `info` is plain data that waitid fills in; WNOWAIT leaves the
    // child unreaped, so `Child::wait` still gets its status.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        if rc != 0 {
            // No such child: there is nothing left to wait for.
            return std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD);
        }
        info.si_pid() != 0
    }
}

/// Kills the build's whole process group (its id is the build's pid).
#[allow(unsafe_code)]
fn kill_group(pid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill has no memory preconditions. The group's leader is our
    // unreaped child, so its id cannot have been reused by another group.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
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

fn has_pre_receive_hook(app: &App) -> bool {
    crate::install::installed_hooks(app)
        .is_ok_and(|hooks| hooks.iter().any(|h| h.hook == HookKind::PreReceive))
}

fn notes_dir(app: &App) -> PathBuf {
    app.dir().join("built")
}

/// Notes that `commit` built into `slug`, and forgets notes of pushes that never reached post-receive.
fn write_note(app: &App, _lock: &AppLock, commit: Oid, slug: &SlugRef) -> Result<()> {
    let dir = notes_dir(app);
    fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    fsutil::remove_stale_temps(&dir).map_err(Error::io("clean", &dir))?;
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age > NOTE_TTL);
            if old && !fsutil::is_temp_name(entry.file_name().as_encoded_bytes()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let path = dir.join(commit.to_string());
    let text = format!("{} {}\n", slug.sha256, slug.size);
    fsutil::write_atomic(&path, text.as_bytes(), 0o644).map_err(Error::io("write", &path))
}

/// The slug pre-receive built for `commit`, if it noted one and the slug is still there; the note is used up.
fn take_note(app: &App, slugs: &SlugStore, commit: Oid) -> Option<SlugRef> {
    let path = notes_dir(app).join(commit.to_string());
    let text = fs::read_to_string(&path).ok()?;
    let _ = fs::remove_file(&path);
    let (sha256, size) = text.trim().split_once(' ')?;
    let slug = SlugRef {
        sha256: sha256.to_owned(),
        size: size.parse().ok()?,
    };
    let on_disk = fs::metadata(slugs.path(&slug.sha256)).ok()?;
    (on_disk.len() == slug.size).then_some(slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_what_a_terminal_would() {
        assert_eq!(display_line(b"hello\n"), "hello");
        assert_eq!(display_line(b"crlf\r\n"), "crlf");
        assert_eq!(display_line(b"10%\r50%\r100%\n"), "100%");
        assert_eq!(display_line(b"no newline"), "no newline");
        assert_eq!(display_line(b"\xff\n"), "\u{fffd}");
    }

    #[test]
    fn timeouts_parse_and_print_as_written() {
        let parse = |yaml: &str| serde_yaml::from_str::<BuildTimeout>(yaml).ok();
        assert_eq!(parse("2s"), Some(BuildTimeout(Span::secs(2))));
        assert_eq!(parse("90"), Some(BuildTimeout(Span::secs(90))));
        assert_eq!(parse("1h30m"), Some(BuildTimeout(Span::secs(5400))));
        assert_eq!(parse("0s"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(BuildTimeout(Span::secs(5400)).to_string(), "1h30m");
        assert_eq!(BuildTimeout::default().to_string(), "15m");
        assert!(serde_yaml::from_str::<BuildCommand>("'  '").is_err());
    }
}
