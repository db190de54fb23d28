//! One-off processes (`run`, `run:detached`): a command in the current release's environment, in a fresh copy of its code, beside the app's processes and never among them.
//!
//! Each one-off is `run.N` (N a random four-digit number, as Heroku's
//! `run.1234`). Its code is unpacked into `apps/NAME/oneoff/run.N/app`, so
//! whatever it writes leaves the running release alone, and removed when it
//! exits. `apps/NAME/oneoff/run.N.lock` is flock()ed by the process that
//! waits for it (the `slipway run` command itself, or the detached runner)
//! and holds its record for `ps`; a lock that nobody holds is a one-off whose
//! owner died, cleaned up by the next one. Every one-off is started by
//! [`start`], the one place its process is spawned.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::base::process::describe;
use crate::base::sandbox::{self, Sandbox, Spec};
use crate::base::sys;
use crate::model::release::Version;
use crate::run::error::{Error, Result};
use crate::run::launch::{env, unpack};
use crate::run::supervisor::logs::LogBook;
use crate::store::app::App;
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

mod detached;
mod registry;

pub use self::detached::start_detached;
use self::registry::{Record, clean_stale, take_name};
pub use self::registry::{exists, kill_all, list, stop};

/// How long a one-off has between SIGTERM and SIGKILL when it is stopped.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How often a waiting owner looks at its child and its signals.
const POLL: Duration = Duration::from_millis(20);

/// A one-off whose code is unpacked and whose name is taken, ready to start.
#[derive(Debug)]
pub struct Prepared {
    name: String,
    command: String,
    user: String,
    version: Version,
    /// `oneoff/run.N`, holding `app/`.
    dir: PathBuf,
    /// `oneoff/run.N.lock`, flock()ed by us.
    lock: File,
    lock_path: PathBuf,
    env: BTreeMap<String, String>,
    /// The app's sandbox, as its processes have.
    sandbox: Sandbox,
    logs: LogBook,
}

/// How a one-off ended, as its exit status says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    /// The exit code, or 128 + the signal that killed it (as a shell says).
    pub code: i32,
}

fn oneoff_dir(app: &App) -> PathBuf {
    app.dir().join("oneoff")
}

/// Takes a name, unpacks the release's code and works out the environment of `command` (the current release unless `version` is given).
///
/// `term` is passed on as `TERM` (an interactive command on the caller's terminal).
pub fn prepare(
    root: &Root,
    app: &App,
    exe: &Path,
    command: &str,
    user: &str,
    version: Option<Version>,
    term: Option<&str>,
) -> Result<Prepared> {
    let store = app.store();
    let nothing = || Error::NothingRunning {
        app: app.name.to_string(),
    };
    let version = match version {
        Some(v) => v,
        None => store.current()?.ok_or_else(nothing)?,
    };
    let release = store.find(version)?.ok_or_else(nothing)?;
    let slug = release.slug.as_ref().ok_or_else(nothing)?;
    let slugs = SlugStore::new(root.slugs_dir());
    slugs.check(slug)?;
    let sandbox = crate::run::sandbox::resolve(root, app, exe)?.sandbox;
    let base = oneoff_dir(app);
    fs::create_dir_all(&base).map_err(Error::io("create", &base))?;
    clean_stale(&base);
    let (name, lock, lock_path) = take_name(&base)?;
    let dir = base.join(&name);
    // A slug's entries are under `app/`: the code lands in `run.N/app`.
    let prepared = remove_dir_if_exists(&dir)
        .and_then(|()| unpack::unpack(&slugs.path(&slug.sha256), &dir, root.dir()));
    if let Err(e) = prepared {
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_file(&lock_path);
        return Err(e);
    }
    let app_dir = dir.join("app");
    let mut env = env::base(&release, &app_dir, exe);
    env.insert("DYNO".into(), name.clone());
    // As on Heroku, a one-off has a PORT of its own (a server started by hand can listen on it).
    if let Some(port) = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .ok()
        .map(|a| a.port())
    {
        env.insert("PORT".into(), port.to_string());
    }
    if let Some(term) = term {
        env.insert("TERM".into(), term.to_owned());
    }
    Ok(Prepared {
        name,
        command: command.to_owned(),
        user: user.to_owned(),
        version,
        dir,
        lock,
        lock_path,
        env,
        sandbox,
        logs: LogBook::new(app.logs_dir()),
    })
}

/// Starts a one-off's process in the app's sandbox: the one place one is spawned.
///
/// It stays in the caller's session, as the app's processes stay in the
/// supervisor's: on a terminal, to keep it; otherwise, so that a signal to
/// its group reaches it past `bwrap`.
///
/// A failure is said in its log too; dropping `prepared` then cleans up.
fn start(prepared: &Prepared, configure: impl FnOnce(&mut Command)) -> Result<Child> {
    spawn(prepared, configure).map_err(|e| {
        prepared.note(&format!("Cannot start: {e}"));
        Error::OneOff {
            reason: format!("cannot start /bin/sh: {e}"),
        }
    })
}

fn spawn(prepared: &Prepared, configure: impl FnOnce(&mut Command)) -> io::Result<Child> {
    let app_dir = prepared.dir.join("app");
    let cmd = env::app_command(&prepared.command, &app_dir, &prepared.env);
    let spec = Spec {
        new_session: false,
        ..Spec::release(&app_dir)
    };
    let wrapped = prepared
        .sandbox
        .wrap(cmd, &spec)
        .map_err(io::Error::other)?;
    let mut cmd = wrapped.command;
    configure(&mut cmd);
    let child = cmd.spawn();
    drop(wrapped.args);
    child
}

/// Sends `signal` to a one-off: to its group when it leads one (past `bwrap`, which passes none on), else to it alone.
fn signal_process(pid: u32, group: bool, sandboxed: bool, signal: sys::Signal) {
    match (group, sandboxed) {
        (true, true) => sandbox::signal_group(pid, signal),
        (true, false) => sys::kill_group(pid, signal),
        (false, _) => sys::kill(pid, signal),
    }
}

impl Prepared {
    /// Its name, `run.N`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs it on the caller's stdin, stdout and stderr until it exits; how it ended.
    ///
    /// With a `terminal` on stdin it stays in the caller's process group, the
    /// terminal's foreground, so Ctrl-C and an interactive program's reads
    /// reach it directly. Otherwise it gets a process group of its own, to
    /// which SIGINT and SIGQUIT are passed on, and which is killed once it
    /// exits. SIGTERM or SIGHUP to this process is passed on either way
    /// (SIGKILL after a grace).
    pub fn attach(self, terminal: bool) -> Result<Exit> {
        use std::os::unix::process::CommandExt;
        let (stop, interrupt) =
            sys::foreground_flags().map_err(Error::io("handle signals for", &self.dir))?;
        let group = !terminal;
        let sandboxed = self.sandbox.is_bwrap();
        let mut child = start(&self, |cmd| {
            cmd.stdin(Stdio::inherit())
                .stdout(Stdio::inherit())
                .stderr(Stdio::inherit());
            if group {
                cmd.process_group(0);
            }
        })?;
        self.begin(child.id(), group);
        let pid = child.id();
        let signal = |signal| signal_process(pid, group, sandboxed, signal);
        let mut kill_at = None;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            if group && interrupt.swap(false, Ordering::SeqCst) {
                signal(sys::Signal::INT);
            }
            if kill_at.is_none() && stop.load(Ordering::SeqCst) {
                signal(sys::Signal::TERM);
                kill_at = Some(Instant::now() + STOP_GRACE);
            }
            if kill_at.is_some_and(|t| Instant::now() >= t) {
                signal(sys::Signal::KILL);
            }
            std::thread::sleep(POLL);
        };
        if group {
            // What it left running in its group ends with it, as a dyno's processes do.
            sys::kill_group(pid, sys::Signal::KILL);
        }
        let exit = status.map_or(Exit { code: 1 }, exit_of);
        let how = status.map_or_else(|| "lost".to_owned(), describe);
        self.finish(&format!("Process exited ({how})"));
        Ok(exit)
    }

    /// Runs it in a process group of its own with its output in the app's logs (`logs --ps run.N`), until it exits; `started` hears its name once it runs.
    ///
    /// SIGTERM, SIGHUP or SIGINT to this process is passed on to its group.
    pub fn run_logged(self, started: impl FnOnce(&str)) -> Result<()> {
        use std::os::unix::process::CommandExt;
        let terminate =
            sys::termination_flag().map_err(Error::io("handle signals for", &self.dir))?;
        let (reader, writer) = io::pipe().map_err(Error::io("open a pipe for", &self.dir))?;
        let sandboxed = self.sandbox.is_bwrap();
        let mut child = start(&self, |cmd| {
            match writer.try_clone() {
                Ok(w) => cmd.stdout(w).stderr(writer),
                Err(_) => cmd.stdout(Stdio::null()).stderr(Stdio::null()),
            };
            cmd.stdin(Stdio::null()).process_group(0);
        })?;
        self.begin(child.id(), true);
        started(&self.name);
        let copier = {
            let (logs, file) = (self.logs.clone(), self.name.clone());
            std::thread::Builder::new().spawn(move || copy_output(reader, &logs, &file))
        };
        let mut kill_at = None;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) => {}
                Err(_) => break None,
            }
            if kill_at.is_none() && terminate.load(Ordering::SeqCst) {
                signal_process(child.id(), true, sandboxed, sys::Signal::TERM);
                kill_at = Some(Instant::now() + STOP_GRACE);
            }
            if kill_at.is_some_and(|t| Instant::now() >= t) {
                sys::kill_group(child.id(), sys::Signal::KILL);
            }
            std::thread::sleep(POLL);
        };
        // What it left running in its group would hold the output open.
        sys::kill_group(child.id(), sys::Signal::KILL);
        if let Ok(copier) = copier {
            let _ = copier.join();
        }
        let how = status.map_or_else(|| "lost".to_owned(), describe);
        self.finish(&format!("Process exited ({how})"));
        Ok(())
    }

    /// Records it as started (for `ps`) and says so in its log.
    fn begin(&self, pid: u32, group: bool) {
        let record = Record {
            command: self.command.clone(),
            user: self.user.clone(),
            release: self.version,
            pid,
            group,
            sandboxed: self.sandbox.is_bwrap(),
            started: jiff::Timestamp::now().as_second(),
            start_ticks: sys::session_and_start(pid).map_or(0, |(_, start)| start),
            boot: sys::boot_id(),
        };
        if let Ok(json) = serde_json::to_vec(&record) {
            let mut file = &self.lock;
            let _ = file.set_len(0).and_then(|()| file.write_all(&json));
        }
        self.note(&format!(
            "Starting process with command `{}` by {} (v{})",
            self.command, self.user, self.version
        ));
    }

    /// Says `text` in its log; dropping it then removes its code and gives up its name.
    fn finish(self, text: &str) {
        self.note(text);
    }

    fn note(&self, text: &str) {
        let source = format!("slipway[{}]", self.name);
        self.logs.write(&self.name, &source, text);
    }
}

impl Drop for Prepared {
    /// Removes its code and its lock file, while it still holds the lock.
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
        let _ = fs::remove_file(&self.lock_path);
    }
}

/// The exit code a shell would give for `status`.
fn exit_of(status: std::process::ExitStatus) -> Exit {
    use std::os::unix::process::ExitStatusExt;
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Exit { code }
}

/// Copies a one-off's output into its log, line by line.
fn copy_output(reader: io::PipeReader, logs: &LogBook, file: &str) {
    logs.copy_lines(reader, file, &format!("app[{file}]"), drop);
}

fn remove_dir_if_exists(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", dir)(e)),
    }
}
