//! The per-app supervisor of the `local` launcher, and what commands ask of it (`ps`, `ps:scale`, `restart`, `boot`).
//!
//! The supervisor is a detached process (`slipway supervise --app NAME`, its
//! own session, stdio away from git's pipes) holding `apps/NAME/supervisor.lock`
//! and answering on `apps/NAME/supervisor.sock`; see [`protocol`]. Starting it
//! is idempotent: a second one finds the lock taken and exits.

mod control;
pub mod forward;
pub mod health;
pub mod logs;
mod machine;
mod prepare;
mod process;
pub mod protocol;
pub mod server;
mod status;
mod traffic;

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use self::protocol::{ProcessStatus, Reply, Request};
use crate::model::formation::Scale;
use crate::model::name::AppName;
use crate::model::procfile::Procfile;
use crate::model::release::Version;
use crate::model::settings::LauncherKind;
use crate::run::error::{Error, Result};
use crate::run::launch::{env, unpack};
use crate::store::app::{App, AppLock};
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

/// How long a new supervisor has to start answering.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest path `bind` takes for a Unix socket (sun_path, less its NUL).
const MAX_SOCKET_PATH: usize = 107;
/// How long quick requests (ping, status, scale) may take.
const QUICK: Duration = Duration::from_secs(10);

/// The files of an app's supervisor.
#[derive(Clone, Debug)]
pub struct Paths {
    /// `supervisor.lock`: flock()ed by the running supervisor, holding its pid.
    pub lock: PathBuf,
    /// `supervisor.sock`: the control socket.
    pub socket: PathBuf,
    /// `stopped`: present after `ps:stop`, so `boot` leaves the app stopped.
    pub stopped: PathBuf,
}

impl Paths {
    /// The paths for `app`.
    pub fn of(app: &App) -> Paths {
        Paths {
            lock: app.dir().join("supervisor.lock"),
            socket: app.dir().join("supervisor.sock"),
            stopped: app.dir().join("stopped"),
        }
    }
}

/// `apps/NAME/run/vN`: where release vN is unpacked (its code is in `app/` inside).
pub fn run_dir(app: &App, version: Version) -> PathBuf {
    app.dir().join("run").join(format!("v{version}"))
}

/// What a supervisor started by [`Client::connect_or_start`] does first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Start the current release by itself (after a reboot, a scale, a crash of the old supervisor).
    Current,
    /// Nothing until asked: the caller launches a release and wants to hear how it went.
    Idle,
}

/// A connection to a running supervisor.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<UnixStream>,
    socket: PathBuf,
}

impl Client {
    /// Connects to the app's supervisor; `None` when none is running.
    pub fn connect(app: &App) -> Result<Option<Client>> {
        let socket = Paths::of(app).socket;
        match UnixStream::connect(&socket) {
            Ok(stream) => Ok(Some(Client {
                reader: BufReader::new(stream),
                socket,
            })),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(Error::io("connect to", &socket)(e)),
        }
    }

    /// Connects to the app's supervisor, starting one (detached) if none runs.
    pub fn connect_or_start(root: &Root, app: &App, exe: &Path, start: Start) -> Result<Client> {
        if let Some(client) = Client::connect(app)? {
            return Ok(client);
        }
        let socket = Paths::of(app).socket;
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(Error::Supervisor {
                app: app.name.to_string(),
                reason: format!(
                    "its socket path {} is longer than the {MAX_SOCKET_PATH} bytes a Unix socket allows; use a root with a shorter path",
                    socket.display()
                ),
            });
        }
        let mut child = spawn(root, app, exe, start)?;
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(client) = Client::connect(app)? {
                return Ok(client);
            }
            // Exit 0 means another supervisor holds the lock: it will answer soon.
            if let Ok(Some(status)) = child.try_wait()
                && !status.success()
            {
                return Err(Error::Supervisor {
                    app: app.name.to_string(),
                    reason: format!("it exited at once ({status})"),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Supervisor {
                    app: app.name.to_string(),
                    reason: format!(
                        "it did not start answering on {} within {}s",
                        Paths::of(app).socket.display(),
                        START_TIMEOUT.as_secs()
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `request` and waits up to `timeout` for the reply.
    pub fn request(&mut self, request: &Request, timeout: Duration) -> Result<Reply> {
        self.send(request)?;
        let stream = self.reader.get_ref();
        stream
            .set_read_timeout(Some(timeout))
            .map_err(Error::io("read from", &self.socket))?;
        let mut line = Vec::new();
        (&mut self.reader)
            .take(16 * 1024 * 1024)
            .read_until(b'\n', &mut line)
            .map_err(Error::io("read from", &self.socket))?;
        if line.is_empty() {
            return Err(Error::Supervisor {
                app: self.app_name(),
                reason: "it closed the connection without answering".into(),
            });
        }
        serde_json::from_slice(&line).map_err(|e| Error::Supervisor {
            app: self.app_name(),
            reason: format!("its answer is malformed: {e}"),
        })
    }

    /// Sends `request` without waiting for an answer.
    pub fn send(&mut self, request: &Request) -> Result<()> {
        let mut stream = self.reader.get_ref();
        stream
            .set_write_timeout(Some(QUICK))
            .and_then(|()| stream.write_all(request.line().as_bytes()))
            .map_err(Error::io("write to", &self.socket))
    }

    fn app_name(&self) -> String {
        self.socket
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// Starts `slipway supervise --app NAME` in its own session, with nothing of ours inherited.
fn spawn(root: &Root, app: &App, exe: &Path, start: Start) -> Result<std::process::Child> {
    let logs = app.logs_dir();
    std::fs::create_dir_all(&logs).map_err(Error::io("create", &logs))?;
    let log_path = logs.join("supervisor.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(Error::io("open", &log_path))?;
    let err = log.try_clone().map_err(Error::io("open", &log_path))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root.dir())
        .args(["supervise", "--app", app.name.as_str()])
        .args((start == Start::Idle).then_some("--idle"))
        .current_dir(app.dir())
        .env_clear()
        .env("PATH", env::DEFAULT_PATH)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    crate::base::sys::detach(&mut cmd);
    // It outlives us; if it exits at once (one already runs), the zombie goes when we do.
    cmd.spawn().map_err(|e| Error::Supervisor {
        app: app.name.to_string(),
        reason: format!("cannot run {}: {e}", exe.display()),
    })
}

/// The app's processes, as its supervisor reports them; `None` when no supervisor runs.
pub fn status(app: &App) -> Result<Option<Reply>> {
    let Some(mut client) = Client::connect(app)? else {
        return Ok(None);
    };
    let reply = client.request(&Request::Status, QUICK)?;
    Ok(Some(reply))
}

/// The Procfile of the app's current release (empty if it has none, or no current release).
pub fn current_procfile(root: &Root, app: &App) -> Result<Option<(Version, Procfile)>> {
    let store = app.store();
    let Some(version) = store.current()? else {
        return Ok(None);
    };
    let Some(release) = store.find(version)? else {
        return Ok(None);
    };
    let Some(slug) = release.slug else {
        return Ok(Some((version, Procfile::default())));
    };
    let unpacked = run_dir(app, version).join("app").join("Procfile");
    if run_dir(app, version).is_dir() {
        return Ok(Some((version, crate::run::read_procfile(&unpacked)?)));
    }
    let slugs = SlugStore::new(root.slugs_dir());
    let procfile = match unpack::read_file(&slugs.path(&slug.sha256), "Procfile")? {
        Some(bytes) => Procfile::parse(&bytes)?,
        None => Procfile::default(),
    };
    Ok(Some((version, procfile)))
}

/// What `ps:scale` changed.
#[derive(Debug)]
pub struct Scaled {
    /// Each process type of the current release with its new count.
    pub counts: Vec<(String, u32)>,
}

/// Sets process counts (`ps:scale web=2`), saved in the formation and applied to the running release at once.
///
/// Types must exist in the current release's Procfile when there is one.
pub fn scale(root: &Root, app: &App, exe: &Path, changes: &[Scale]) -> Result<Scaled> {
    let lock = app.lock()?;
    let current = current_procfile(root, app)?;
    if let Some((version, procfile)) = &current {
        for change in changes {
            if procfile.processes().all(|(kind, _)| kind != change.kind) {
                let types: Vec<&str> = procfile.processes().map(|(k, _)| k).collect();
                return Err(Error::NoProcessType {
                    kind: change.kind.clone(),
                    version: *version,
                    types: types.join(", "),
                });
            }
        }
    }
    let mut formation = crate::store::formation::load(app)?;
    formation.apply(changes);
    crate::store::formation::save(app, &lock, &formation)?;
    let counts = match &current {
        Some((_, procfile)) => formation
            .plan(procfile)
            .into_iter()
            .map(|(k, n, _)| (k.to_owned(), n))
            .collect(),
        None => changes.iter().map(|c| (c.kind.clone(), c.count)).collect(),
    };
    if app.settings.launcher == LauncherKind::Local
        && let Some((_, procfile)) = &current
    {
        if let Some(mut client) = Client::connect(app)? {
            expect_ok(app, client.request(&Request::Scale, QUICK)?)?;
        } else if formation.runs_anything(procfile) && !Paths::of(app).stopped.exists() {
            // Starting it runs the current release with the new formation.
            Client::connect_or_start(root, app, exe, Start::Current)?;
        }
    }
    Ok(Scaled { counts })
}

/// Restarts the app's processes (`TYPE` only, in place; or all, with no downtime); starts them if stopped.
pub fn restart(root: &Root, app: &App, exe: &Path, kind: Option<&str>) -> Result<()> {
    let lock = app.lock()?;
    require_local(app)?;
    if app.store().current()?.is_none() {
        return Err(Error::NothingRunning {
            app: app.name.to_string(),
        });
    }
    clear_stopped(app, &lock)?;
    let (mut client, kind) = match Client::connect(app)? {
        Some(client) => (client, kind),
        // Nothing runs: start everything, checked as a deploy is, so a failure is an error here.
        None => (Client::connect_or_start(root, app, exe, Start::Idle)?, None),
    };
    let timeout = app.settings.health_timeout.get() + app.settings.stop_grace.get() + QUICK;
    let reply = client.request(&Request::Restart(kind.map(str::to_owned)), timeout)?;
    expect_ok(app, reply)
}

/// Stops every process of the app and its supervisor; `boot` leaves it stopped until a deploy or restart.
///
/// Returns whether anything was running.
pub fn stop(app: &App) -> Result<bool> {
    // Held until the supervisor is gone, so no deploy or restart meets it half-stopped.
    let _lock = app.lock()?;
    let path = Paths::of(app).stopped;
    crate::base::files::write_atomic(&path, b"stopped by ps:stop\n", 0o644)
        .map_err(Error::io("write", &path))?;
    shut_down(app)
}

/// Stops the app's supervisor and processes for `apps:destroy`: politely, else by killing its session.
pub fn kill_all(app: &App) -> Result<()> {
    let stopped = shut_down(app);
    let lock_path = Paths::of(app).lock;
    if let Ok(record) = std::fs::read_to_string(&lock_path) {
        let held = std::fs::File::open(&lock_path).is_ok_and(|f| f.try_lock_shared().is_err());
        if held
            && let Some(pid) = record
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
        {
            crate::base::sys::kill(pid, crate::base::sys::Signal::KILL);
            std::thread::sleep(Duration::from_millis(100));
        }
        server::kill_leftovers(&record);
    }
    stopped.map(|_| ())
}

/// Stops the app's supervisor and processes if they run (for `ps:stop`); waits until they are gone.
pub fn shut_down(app: &App) -> Result<bool> {
    let Some(mut client) = Client::connect(app)? else {
        return Ok(false);
    };
    let timeout = app.settings.stop_grace.get() + Duration::from_secs(15);
    let reply = client.request(&Request::Stop, timeout)?;
    expect_ok(app, reply)?;
    // The lock goes when the process does.
    let lock_path = Paths::of(app).lock;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let free = std::fs::File::open(&lock_path)
            .map(|f| f.try_lock_shared().is_ok())
            .unwrap_or(true);
        if free {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(true)
}

/// Removes the `stopped` mark: a deploy or restart means the app should run.
pub fn clear_stopped(app: &App, _lock: &AppLock) -> Result<()> {
    let path = Paths::of(app).stopped;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", &path)(e)),
    }
}

fn require_local(app: &App) -> Result<()> {
    if app.settings.launcher == LauncherKind::Local {
        Ok(())
    } else {
        Err(Error::NotLocal {
            app: app.name.to_string(),
        })
    }
}

fn expect_ok(app: &App, reply: Reply) -> Result<()> {
    if reply.ok {
        return Ok(());
    }
    let mut reason = reply.error.unwrap_or_else(|| "it refused".into());
    for line in reply.detail {
        reason.push_str("; ");
        reason.push_str(&line);
    }
    Err(Error::Supervisor {
        app: app.name.to_string(),
        reason,
    })
}

/// What `boot` did for one app.
#[derive(Debug)]
pub enum Booted {
    /// Its supervisor runs (started now, or already running).
    Running,
    /// It has nothing to run: no current release, no processes, another launcher, or `ps:stop`ped.
    Skipped(&'static str),
    /// Its supervisor could not be started.
    Failed(Error),
}

/// Starts the supervisor of every app that should be running (after a reboot; idempotent).
pub fn boot(root: &Root, exe: &Path) -> Result<Vec<(AppName, Booted)>> {
    let mut out = Vec::new();
    for name in crate::store::app::list(root)? {
        let outcome = match App::open(root, &name) {
            Ok(app) => boot_app(root, &app, exe),
            Err(e) => Booted::Failed(e.into()),
        };
        out.push((name, outcome));
    }
    Ok(out)
}

fn boot_app(root: &Root, app: &App, exe: &Path) -> Booted {
    if app.settings.launcher != LauncherKind::Local {
        return Booted::Skipped("its launcher is not local");
    }
    if Paths::of(app).stopped.exists() {
        return Booted::Skipped("stopped by ps:stop");
    }
    let procfile = match current_procfile(root, app) {
        Ok(Some((_, procfile))) => procfile,
        Ok(None) => return Booted::Skipped("no current release"),
        Err(e) => return Booted::Failed(e),
    };
    match crate::store::formation::load(app) {
        Ok(f) if !f.runs_anything(&procfile) => return Booted::Skipped("no processes to run"),
        Ok(_) => {}
        Err(e) => return Booted::Failed(e.into()),
    }
    match Client::connect_or_start(root, app, exe, Start::Current) {
        Ok(_) => Booted::Running,
        Err(e) => Booted::Failed(e),
    }
}

/// The processes of one app for `ps`, sorted by type and index; empty when nothing runs.
pub fn processes(app: &App) -> Result<Vec<ProcessStatus>> {
    if app.settings.launcher != LauncherKind::Local {
        return Ok(Vec::new());
    }
    let mut list = status(app)?.map(|r| r.processes).unwrap_or_default();
    list.sort_by(|a, b| {
        (&a.kind, a.index, !a.live, a.release).cmp(&(&b.kind, b.index, !b.live, b.release))
    });
    Ok(list)
}

/// What `apps:info` shows about an app.
#[derive(Debug)]
pub struct Info {
    /// The release `current` names.
    pub current: Option<crate::model::release::Release>,
    /// How its releases are started.
    pub launcher: LauncherKind,
    /// Where it is served: `url` from app.yaml, else the stable port when it has web processes.
    pub url: Option<String>,
    /// The processes the current release should run, by type: (type, wanted, up).
    pub formation: Vec<(String, u32, u32)>,
    /// `up`, `starting`, `crashed`, `stopped` (ps:stop), `not running` or `no processes`.
    pub state: &'static str,
    /// The app's git repository.
    pub repo: PathBuf,
    /// How its code is confined.
    pub sandbox: crate::run::sandbox::Choice,
}

/// Gathers [`Info`] for `apps:info`.
pub fn info(root: &Root, app: &App) -> Result<Info> {
    let store = app.store();
    let current = match store.current()? {
        Some(v) => store.find(v)?,
        None => None,
    };
    let local = app.settings.launcher == LauncherKind::Local;
    let procfile = current_procfile(root, app)?
        .map(|(_, p)| p)
        .unwrap_or_default();
    let formation = crate::store::formation::load(app)?;
    let running = if local { processes(app)? } else { Vec::new() };
    let plan: Vec<(String, u32, u32)> = formation
        .plan(&procfile)
        .into_iter()
        .map(|(kind, wanted, _)| {
            let up = running
                .iter()
                .filter(|p| p.live && p.kind == kind && p.state == "up")
                .count() as u32;
            (kind.to_owned(), wanted, up)
        })
        .collect();
    let wanted: u32 = plan.iter().map(|(_, w, _)| w).sum();
    let live: Vec<&ProcessStatus> = running.iter().filter(|p| p.live).collect();
    let state = if !local {
        "not run here"
    } else if wanted == 0 {
        "no processes"
    } else if live.is_empty() {
        if Paths::of(app).stopped.exists() {
            "stopped"
        } else {
            "not running"
        }
    } else if live.iter().any(|p| p.state == "crashed") {
        "crashed"
    } else if live.iter().all(|p| p.state == "up") {
        "up"
    } else {
        "starting"
    };
    let serves_web = local
        && plan
            .iter()
            .any(|(k, w, _)| k == crate::model::procfile::WEB && *w > 0);
    let url = app.settings.url.clone().or_else(|| {
        serves_web
            .then_some(app.settings.port)
            .flatten()
            .map(|p| format!("http://127.0.0.1:{p}/"))
    });
    Ok(Info {
        current,
        launcher: app.settings.launcher,
        url,
        formation: plan,
        state,
        repo: app.repo_dir(),
        sandbox: crate::run::sandbox::describe(root, app),
    })
}
