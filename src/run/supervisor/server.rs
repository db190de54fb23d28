//! The supervisor daemon (`slipway supervise --app NAME`): owns an app's processes, restarts crashed ones,
//! checks new releases, forwards the stable port, and answers the control socket.
//!
//! One thread accepts control connections (one thread each), the forwarder
//! has its own, each process has one copying its output to its log, and the
//! main thread ticks every 100 ms: it reaps, restarts with backoff, promotes
//! started processes to `up`, and retires old releases once they drained.

use std::collections::{BTreeMap, VecDeque};
use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::Paths;
use super::forward::{Backend, Backends, Listener};
use super::health::{self, Check};
use super::logs::LogBook;
use super::protocol::{MAX_LINE, ProcessStatus, Reply, Request};
use crate::base::process::describe;
use crate::model::formation::Formation;
use crate::model::name::AppName;
use crate::model::procfile::{Procfile, WEB};
use crate::run::error::{Error, Result};
use crate::run::launch::env;
use crate::run::launch::unpack;
use crate::store::app::App;
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

const TICK: Duration = Duration::from_millis(100);
/// A process without a port counts as up once it has run this long.
const SETTLE: Duration = Duration::from_secs(1);
/// A process that ran this long before crashing starts its backoff afresh.
const STABLE: Duration = Duration::from_secs(60);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a control connection may take to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the deployer has, after "healthy", to say `switch` or `abort`.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(60);
/// Output lines kept per process, for a failed launch's report.
const TAIL_LINES: usize = 8;

/// What the supervisor needs to run: whose processes, and the slipway binary they may call (`SLIPWAY_BIN`).
#[derive(Debug)]
pub struct Options {
    /// The root.
    pub root: Root,
    /// The app.
    pub app: AppName,
    /// The slipway binary.
    pub exe: PathBuf,
    /// Whether to start the current release at once (else the caller sends the launch).
    pub resume: bool,
}

/// Runs the supervisor until it is told to stop or gets SIGTERM; returns at once if one already runs.
pub fn run(options: Options) -> Result<()> {
    let app = App::open(&options.root, &options.app)?;
    let paths = Paths::of(&app);
    let mut lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&paths.lock)
        .map_err(Error::io("open", &paths.lock))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => return Ok(()),
        Err(std::fs::TryLockError::Error(e)) => return Err(Error::io("lock", &paths.lock)(e)),
    }
    let logs = LogBook::new(app.logs_dir());
    let _ = std::fs::create_dir_all(app.logs_dir());
    let say = |text: &str| logs.write("supervisor", "slipway[supervisor]", text);
    let mut previous = String::new();
    let _ = lock.read_to_string(&mut previous);
    if let Some(killed) = kill_leftovers(&previous) {
        say(&format!(
            "Stopped {killed} processes left by a supervisor that was killed"
        ));
    }
    let me = crate::base::sys::pid();
    let start = crate::base::sys::session_and_start(me).map_or(0, |(_, s)| s);
    lock.set_len(0).map_err(Error::io("write", &paths.lock))?;
    (&lock)
        .write_all(format!("{me} {start} {}\n", crate::base::sys::boot_id()).as_bytes())
        .map_err(Error::io("write", &paths.lock))?;
    let terminate = crate::base::sys::termination_flag()
        .map_err(Error::io("handle signals in", &paths.lock))?;

    let _ = std::fs::remove_file(&paths.socket);
    let control =
        UnixListener::bind(&paths.socket).map_err(Error::io("listen on", &paths.socket))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600));
    }
    let sup = Arc::new(Supervisor {
        root: options.root,
        name: options.app,
        exe: options.exe,
        logs: logs.clone(),
        backends: Arc::default(),
        listener: Mutex::new(None),
        state: Mutex::new(State::default()),
        stop_waiters: AtomicUsize::new(0),
    });
    say(&format!("Supervisor started (pid {me})"));
    if let Some(port) = app.settings.port
        && let Err(e) = sup.listen(port)
    {
        say(&e);
    }
    {
        let sup = sup.clone();
        std::thread::spawn(move || {
            for stream in control.incoming().flatten() {
                let sup = sup.clone();
                std::thread::spawn(move || sup.serve(stream));
            }
        });
    }
    if options.resume && !paths.stopped.exists() {
        let sup = sup.clone();
        std::thread::spawn(move || sup.resume());
    }
    let mut ticks: u32 = 0;
    loop {
        std::thread::sleep(TICK);
        ticks = ticks.wrapping_add(1);
        // Once a second: an app whose directory was deleted (its root removed by
        // hand, say) has nobody left to stop its processes but us.
        if terminate.load(Ordering::SeqCst)
            || (ticks.is_multiple_of(10) && !holds(&lock, &paths.lock))
        {
            sup.shut_down();
        }
        sup.tick();
        let done = {
            let st = sup.lock();
            st.shutting_down && st.gens.is_empty()
        };
        if done && sup.stop_waiters.load(Ordering::SeqCst) == 0 {
            break;
        }
    }
    let _ = std::fs::remove_file(&paths.socket);
    say("Supervisor stopped");
    drop(lock);
    Ok(())
}

/// Whether `file` is still the file at `path` (not deleted or replaced since it was opened).
fn holds(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        // Only a missing file means gone; any other error is no reason to stop an app.
        (_, Err(e)) => e.kind() != std::io::ErrorKind::NotFound,
        (Err(_), Ok(_)) => true,
    }
}

/// Kills what a killed supervisor left running: the members of its session, if it was this boot's.
///
/// `previous` is what its lock file says: `PID START_TICKS BOOT_ID`.
pub fn kill_leftovers(previous: &str) -> Option<usize> {
    let mut words = previous.split_whitespace();
    let pid: u32 = words.next()?.parse().ok()?;
    let start: u64 = words.next()?.parse().ok()?;
    let boot = words.next()?;
    if boot != crate::base::sys::boot_id() || pid == crate::base::sys::pid() {
        return None;
    }
    // A live process with that pid but another start time is somebody else: its pid was reused.
    if let Some((_, now_start)) = crate::base::sys::session_and_start(pid)
        && now_start != start
    {
        return None;
    }
    let members = crate::base::sys::session_members(pid);
    for &member in &members {
        crate::base::sys::kill(member, crate::base::sys::Signal::KILL);
    }
    (!members.is_empty()).then_some(members.len())
}

struct Supervisor {
    root: Root,
    name: AppName,
    exe: PathBuf,
    logs: LogBook,
    backends: Arc<Backends>,
    listener: Mutex<Option<Listener>>,
    state: Mutex<State>,
    stop_waiters: AtomicUsize,
}

#[derive(Default)]
struct State {
    gens: Vec<Gen>,
    live: Option<u64>,
    next_id: u64,
    shutting_down: bool,
}

/// One start of a release: its processes, and where it is in its life.
struct Gen {
    id: u64,
    info: Arc<GenInfo>,
    procs: Vec<Proc>,
    phase: Phase,
    conns: Arc<AtomicUsize>,
}

/// What does not change while a generation runs.
struct GenInfo {
    version: u32,
    dir: PathBuf,
    env: BTreeMap<String, String>,
    procfile: Procfile,
    health_path: Option<String>,
    health_timeout: Duration,
    stop_grace: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Started beside the live release, being checked.
    Starting,
    /// Taking traffic; crashed processes are restarted.
    Live,
    /// Replaced: waits for its connections to drain, then stops.
    Retiring { since: Instant, termed: bool },
    /// Did not become healthy, was aborted, or the supervisor is stopping: stop now.
    Stopping { termed: bool },
}

struct Proc {
    kind: String,
    index: u32,
    command: String,
    port: Option<u16>,
    child: Option<Child>,
    state: PState,
    started: Instant,
    restarts: u32,
    crashes: u32,
    last_exit: Option<String>,
    in_pool: bool,
    tail: Arc<Mutex<VecDeque<String>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PState {
    Starting,
    Up,
    /// Exited; started again at `at` (live releases only).
    Crashed {
        at: Instant,
    },
    /// Sent SIGTERM; SIGKILL at `kill_at`; started again after if `restart`.
    Stopping {
        kill_at: Instant,
        restart: bool,
    },
    /// Exited for good.
    Exited,
}

impl Proc {
    fn name(&self) -> String {
        format!("{}.{}", self.kind, self.index)
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn free_port() -> Option<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()
}

impl Supervisor {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn say(&self, text: &str) {
        self.logs.write("supervisor", "slipway[supervisor]", text);
    }

    fn app(&self) -> std::result::Result<App, String> {
        App::open(&self.root, &self.name).map_err(|e| e.to_string())
    }

    /// Listens on the stable port, replacing a listener on another port.
    fn listen(&self, port: u16) -> std::result::Result<(), String> {
        let mut listener = self.listener.lock().unwrap_or_else(|e| e.into_inner());
        if listener.as_ref().is_some_and(|l| l.port() == port) {
            return Ok(());
        }
        let new = Listener::open(port, self.backends.clone())
            .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
        if let Some(old) = listener.replace(new) {
            old.close();
        }
        self.say(&format!("Listening on 127.0.0.1:{port}"));
        Ok(())
    }

    // ----- control connections -----

    fn serve(&self, stream: UnixStream) {
        let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
        let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
        let Ok(write) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(stream);
        let Some(request) = read_request(&mut reader) else {
            let _ = reply(&write, &Reply::failed("malformed request", Vec::new()));
            return;
        };
        let answer = match request {
            Request::Ping => Reply {
                pid: Some(crate::base::sys::pid()),
                ..Reply::ok()
            },
            Request::Status => self.status(),
            Request::Launch(version) => {
                match self.launch(version) {
                    Ok(id) => {
                        if reply(&write, &Reply::ok()).is_err() {
                            self.decide(id, version);
                            return;
                        }
                        let _ = reader.get_ref().set_read_timeout(Some(SWITCH_TIMEOUT));
                        match read_request(&mut reader) {
                            Some(Request::Switch(v)) if v == version => self.switch(id),
                            Some(Request::Abort(v)) if v == version => self.abort(id),
                            // The deployer went away: `current` says what it decided.
                            _ => {
                                self.decide(id, version);
                            }
                        }
                        Reply::ok()
                    }
                    Err(failure) => failure,
                }
            }
            Request::Switch(_) | Request::Abort(_) => Reply::failed(
                "switch and abort follow a launch on its connection",
                Vec::new(),
            ),
            Request::Scale => self.scale(),
            Request::Restart(kind) => self.restart(kind),
            Request::Stop => {
                self.stop_waiters.fetch_add(1, Ordering::SeqCst);
                self.shut_down();
                let deadline = Instant::now() + self.longest_grace() + Duration::from_secs(5);
                while Instant::now() < deadline && !self.lock().gens.is_empty() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = reply(&write, &Reply::ok());
                self.stop_waiters.fetch_sub(1, Ordering::SeqCst);
                return;
            }
        };
        let _ = reply(&write, &answer);
    }

    fn status(&self) -> Reply {
        let st = self.lock();
        let mut processes = Vec::new();
        for run in &st.gens {
            for p in &run.procs {
                let state = match p.state {
                    PState::Starting => "starting",
                    PState::Up => "up",
                    PState::Crashed { .. } => "crashed",
                    PState::Stopping { .. } => "stopping",
                    PState::Exited => continue,
                };
                let state = match run.phase {
                    Phase::Retiring { .. } | Phase::Stopping { .. } if p.child.is_some() => {
                        "stopping"
                    }
                    _ => state,
                };
                processes.push(ProcessStatus {
                    kind: p.kind.clone(),
                    index: p.index,
                    pid: p.child.as_ref().map(Child::id),
                    state: state.to_owned(),
                    uptime_secs: p.started.elapsed().as_secs(),
                    release: run.info.version,
                    live: st.live == Some(run.id),
                    command: p.command.clone(),
                    port: p.port,
                    restarts: p.restarts,
                });
            }
        }
        let live = st
            .live
            .and_then(|id| st.gens.iter().find(|g| g.id == id))
            .map(|g| g.info.version);
        drop(st);
        Reply {
            processes,
            pid: Some(crate::base::sys::pid()),
            live,
            port: self
                .listener
                .lock()
                .ok()
                .and_then(|l| l.as_ref().map(Listener::port)),
            ..Reply::ok()
        }
    }

    // ----- starting releases -----

    /// Reads what running `version` takes: its record, unpacked slug, Procfile, formation and settings.
    fn prepare(&self, version: u32) -> std::result::Result<(GenInfo, Formation), String> {
        let app = self.app()?;
        let release = app
            .store()
            .find(version)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("release v{version} does not exist"))?;
        let dir = super::run_dir(&app, version);
        if !dir.is_dir() {
            // After a reboot with run/ on a tmpfs, or a supervisor started by hand.
            // (A deploy unpacks before it asks, while its record does not name the slug yet.)
            let slug = release
                .slug
                .as_ref()
                .ok_or_else(|| format!("v{version} has no slug"))?;
            let slugs = SlugStore::new(self.root.slugs_dir());
            slugs.check(slug).map_err(|e| e.to_string())?;
            unpack::unpack(&slugs.path(&slug.sha256), &dir).map_err(|e| e.to_string())?;
        }
        let app_dir = dir.join("app");
        let procfile =
            crate::run::read_procfile(&app_dir.join("Procfile")).map_err(|e| e.to_string())?;
        let formation = crate::store::formation::load(&app).map_err(|e| e.to_string())?;
        if let Some(port) = app.settings.port {
            self.listen(port)?;
        }
        let env = env::base(&release, &app_dir, &self.exe);
        Ok((
            GenInfo {
                version,
                dir: app_dir,
                env,
                procfile,
                health_path: app.settings.health_path.clone(),
                health_timeout: app.settings.health_timeout.get(),
                stop_grace: app.settings.stop_grace.get(),
            },
            formation,
        ))
    }

    /// Starts every process of a new generation of `info`; returns its id.
    fn start_gen(&self, info: GenInfo, formation: &Formation, phase: Phase) -> u64 {
        let info = Arc::new(info);
        let plan = formation.plan(&info.procfile);
        self.say(&format!(
            "Starting v{} ({} processes)",
            info.version,
            plan.iter().map(|(_, n, _)| n).sum::<u32>()
        ));
        let mut procs = Vec::new();
        for (kind, count, command) in plan {
            for index in 1..=count {
                procs.push(self.new_proc(&info, kind, index, command));
            }
        }
        let mut st = self.lock();
        st.next_id += 1;
        let id = st.next_id;
        // Lost a race with a shutdown, or (resuming) with a release that went live meanwhile.
        let phase = if st.shutting_down || (phase == Phase::Live && st.live.is_some()) {
            Phase::Stopping { termed: false }
        } else {
            phase
        };
        st.gens.push(Gen {
            id,
            info,
            procs,
            phase,
            conns: Arc::default(),
        });
        if phase == Phase::Live {
            st.live = Some(id);
        }
        id
    }

    fn new_proc(&self, info: &GenInfo, kind: &str, index: u32, command: &str) -> Proc {
        let mut p = Proc {
            kind: kind.to_owned(),
            index,
            command: command.to_owned(),
            port: if kind == WEB { free_port() } else { None },
            child: None,
            state: PState::Starting,
            started: Instant::now(),
            restarts: 0,
            crashes: 0,
            last_exit: None,
            in_pool: false,
            tail: Arc::default(),
        };
        self.spawn(info, &mut p);
        p
    }

    /// Starts (or starts again) one process: `sh -c COMMAND` in the app directory, in its own process group.
    fn spawn(&self, info: &GenInfo, p: &mut Proc) {
        use std::os::unix::process::CommandExt;
        let name = p.name();
        let source = format!("slipway[{name}]");
        p.state = PState::Starting;
        p.started = Instant::now();
        let (reader, writer) = match std::io::pipe() {
            Ok(pipe) => pipe,
            Err(e) => {
                self.logs
                    .write(&name, &source, &format!("Cannot start: {e}"));
                p.state = PState::Crashed {
                    at: Instant::now() + MAX_BACKOFF,
                };
                return;
            }
        };
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(&p.command)
            .current_dir(&info.dir)
            .env_clear()
            .envs(&info.env)
            .env("DYNO", &name)
            .stdin(Stdio::null())
            .process_group(0);
        if let Some(port) = p.port {
            cmd.env("PORT", port.to_string());
        }
        match writer.try_clone() {
            Ok(w) => cmd.stdout(w).stderr(writer),
            Err(_) => cmd.stdout(Stdio::null()).stderr(Stdio::null()),
        };
        self.logs.write(
            &name,
            &source,
            &format!(
                "Starting process with command `{}` (v{}{})",
                p.command,
                info.version,
                p.port
                    .map(|port| format!(", PORT={port}"))
                    .unwrap_or_default()
            ),
        );
        match cmd.spawn() {
            Ok(child) => {
                p.child = Some(child);
                let logs = self.logs.clone();
                let tail = p.tail.clone();
                let source = format!("app[{name}]");
                std::thread::spawn(move || copy_output(reader, &logs, &name, &source, &tail));
            }
            Err(e) => {
                self.logs
                    .write(&name, &source, &format!("Cannot start: {e}"));
                p.last_exit = Some(format!("could not start ({e})"));
                p.state = PState::Exited;
            }
        }
    }

    /// Starts `version` beside what runs and waits until it is healthy; on failure it is being stopped.
    fn launch(&self, version: u32) -> std::result::Result<u64, Reply> {
        let (info, formation) = self
            .prepare(version)
            .map_err(|e| Reply::failed(e, Vec::new()))?;
        let timeout = info.health_timeout;
        let health_path = info.health_path.clone();
        let id = self.start_gen(info, &formation, Phase::Starting);
        let begun = Instant::now();
        let deadline = begun + timeout;
        let settle = begun + SETTLE.min(timeout);
        let mut problems: BTreeMap<String, String> = BTreeMap::new();
        loop {
            // Snapshot under the lock; the network checks run without it.
            let (exited, web) = {
                let st = self.lock();
                let Some(run) = st
                    .gens
                    .iter()
                    .find(|g| g.id == id && g.phase == Phase::Starting)
                else {
                    return Err(Reply::failed("the supervisor is stopping", Vec::new()));
                };
                let exited = run
                    .procs
                    .iter()
                    .find(|p| p.child.is_none())
                    .map(|p| (p.name(), p.last_exit.clone(), p.tail.clone()));
                let web: Vec<(String, u16)> = run
                    .procs
                    .iter()
                    .filter_map(|p| Some((p.name(), p.port?)))
                    .collect();
                (exited, web)
            };
            if let Some((name, how, tail)) = exited {
                // Exiting is its own reason: waiting out the health timeout would not change it.
                let reason = format!(
                    "v{version} did not start: {name} {}",
                    how.map_or_else(|| "exited".to_owned(), |h| format!("exited ({h})"))
                );
                let detail = tail
                    .lock()
                    .map(|t| t.iter().cloned().collect::<Vec<_>>())
                    .unwrap_or_default();
                self.fail(id);
                return Err(Reply::failed(reason, detail));
            }
            for (name, port) in &web {
                if !problems.get(name).is_some_and(|p| p.is_empty()) {
                    let check =
                        health::check(*port, health_path.as_deref(), Duration::from_secs(1));
                    let problem = match check {
                        Check::Healthy => String::new(),
                        Check::NotListening => {
                            format!("{name} did not accept connections on port {port}")
                        }
                        Check::BadAnswer(why) => format!("{name}: {why}"),
                    };
                    problems.insert(name.clone(), problem);
                }
            }
            let all_healthy = web
                .iter()
                .all(|(name, _)| problems.get(name).is_some_and(|p| p.is_empty()));
            let now = Instant::now();
            if all_healthy && (!web.is_empty() || now >= settle) {
                // One last look: a process may have exited while web was being checked.
                let st = self.lock();
                let crashed = st
                    .gens
                    .iter()
                    .find(|g| g.id == id)
                    .is_none_or(|g| g.procs.iter().any(|p| p.child.is_none()));
                drop(st);
                if !crashed {
                    self.mark_up(id);
                    return Ok(id);
                }
                continue;
            }
            if now >= deadline {
                let detail = problems.into_values().filter(|p| !p.is_empty()).collect();
                self.fail(id);
                return Err(Reply::failed(not_healthy(version, timeout), detail));
            }
            // Most apps start within a second: look often then, less later.
            let pause = if now - begun < Duration::from_secs(1) {
                Duration::from_millis(5)
            } else {
                TICK
            };
            std::thread::sleep(pause);
        }
    }

    fn mark_up(&self, id: u64) {
        let mut st = self.lock();
        if let Some(run) = st.gens.iter_mut().find(|g| g.id == id) {
            for p in &mut run.procs {
                if p.state == PState::Starting {
                    p.state = PState::Up;
                    self.logs.write(
                        &p.name(),
                        &format!("slipway[{}]", p.name()),
                        "State changed from starting to up",
                    );
                }
            }
        }
    }

    fn fail(&self, id: u64) {
        let mut st = self.lock();
        if let Some(run) = st.gens.iter_mut().find(|g| g.id == id) {
            run.phase = Phase::Stopping { termed: false };
            self.say(&format!(
                "v{} did not become healthy; stopping it",
                run.info.version
            ));
        }
    }

    fn abort(&self, id: u64) {
        let mut st = self.lock();
        if let Some(run) = st.gens.iter_mut().find(|g| g.id == id) {
            run.phase = Phase::Stopping { termed: false };
            self.say(&format!(
                "v{} was not made current; stopping it",
                run.info.version
            ));
        }
    }

    /// Switches to generation `id` if `current` names its version, else aborts it; whether it switched.
    fn decide(&self, id: u64, version: u32) -> bool {
        let current = self
            .app()
            .ok()
            .and_then(|app| app.store().current().ok().flatten());
        if current == Some(version) {
            self.switch(id);
            true
        } else {
            self.abort(id);
            false
        }
    }

    /// Makes generation `id` the live one: new connections go to it, the previous one drains and stops.
    fn switch(&self, id: u64) {
        let mut st = self.lock();
        let previous = st.live;
        let now = Instant::now();
        let mut pool = Vec::new();
        let mut version = None;
        for run in &mut st.gens {
            if run.id == id {
                run.phase = Phase::Live;
                version = Some(run.info.version);
                for p in &mut run.procs {
                    if p.child.is_none() {
                        p.state = PState::Crashed { at: now };
                    } else if let Some(port) = p.port {
                        p.in_pool = true;
                        pool.push(Backend {
                            addr: addr(port),
                            conns: run.conns.clone(),
                        });
                    }
                }
            } else if Some(run.id) == previous || run.phase == Phase::Live {
                run.phase = Phase::Retiring {
                    since: now,
                    termed: false,
                };
                for p in &mut run.procs {
                    p.in_pool = false;
                }
            }
        }
        st.live = Some(id);
        self.backends.set(pool);
        drop(st);
        if let Some(v) = version {
            self.say(&format!("v{v} is live"));
        }
    }

    /// On start: runs the current release again, as it was (no release phase, no health gate).
    fn resume(&self) {
        let current = self
            .app()
            .ok()
            .and_then(|app| app.store().current().ok().flatten());
        let Some(version) = current else {
            return;
        };
        if self.lock().live.is_some() {
            return;
        }
        match self.prepare(version) {
            Ok((info, formation)) => {
                let st = self.lock();
                if st.live.is_some() || st.shutting_down {
                    return;
                }
                drop(st);
                // A `ps:scale` answered while the release was being prepared saved its
                // formation but found nothing to change: read it again.
                let formation = self
                    .app()
                    .ok()
                    .and_then(|app| crate::store::formation::load(&app).ok())
                    .unwrap_or(formation);
                // The pool fills as web processes come up (see tick).
                self.start_gen(info, &formation, Phase::Live);
            }
            Err(e) => self.say(&format!("Cannot start v{version}: {e}")),
        }
    }

    // ----- scale, restart, stop -----

    fn scale(&self) -> Reply {
        let formation = match self
            .app()
            .and_then(|app| crate::store::formation::load(&app).map_err(|e| e.to_string()))
        {
            Ok(f) => f,
            Err(e) => return Reply::failed(e, Vec::new()),
        };
        let now = Instant::now();
        let mut st = self.lock();
        let live = st.live;
        let Some(run) = st.gens.iter_mut().find(|g| Some(g.id) == live) else {
            return Reply::ok();
        };
        let info = run.info.clone();
        let grace = info.stop_grace;
        for (kind, count, command) in formation.plan(&info.procfile) {
            for p in run
                .procs
                .iter_mut()
                .filter(|p| p.kind == kind && p.index > count)
            {
                if !matches!(p.state, PState::Stopping { .. } | PState::Exited) {
                    self.stop_proc(p, now + grace, false);
                }
            }
            for index in 1..=count {
                let running = run.procs.iter().any(|p| {
                    p.kind == kind
                        && p.index == index
                        && !matches!(
                            p.state,
                            PState::Stopping { restart: false, .. } | PState::Exited
                        )
                });
                if !running {
                    run.procs
                        .retain(|p| !(p.kind == kind && p.index == index && p.child.is_none()));
                    let p = self.new_proc(&info, kind, index, command);
                    run.procs.push(p);
                }
            }
        }
        run.procs
            .sort_by(|a, b| (&a.kind, a.index).cmp(&(&b.kind, b.index)));
        Reply::ok()
    }

    fn stop_proc(&self, p: &mut Proc, kill_at: Instant, restart: bool) {
        if p.in_pool
            && let Some(port) = p.port
        {
            self.backends.remove(addr(port));
            p.in_pool = false;
        }
        p.state = PState::Stopping { kill_at, restart };
        if let Some(child) = &p.child {
            self.logs.write(
                &p.name(),
                &format!("slipway[{}]", p.name()),
                "Stopping process with SIGTERM",
            );
            crate::base::sys::kill_group(child.id(), crate::base::sys::Signal::TERM);
        }
    }

    fn restart(&self, kind: Option<String>) -> Reply {
        if let Some(kind) = kind {
            let now = Instant::now();
            let mut st = self.lock();
            let live = st.live;
            let Some(run) = st.gens.iter_mut().find(|g| Some(g.id) == live) else {
                return Reply::failed("nothing is running", Vec::new());
            };
            let grace = run.info.stop_grace;
            let mut any = false;
            for p in run.procs.iter_mut().filter(|p| p.kind == kind) {
                any = true;
                if p.child.is_some() {
                    self.stop_proc(p, now + grace, true);
                } else {
                    p.state = PState::Crashed { at: now };
                }
            }
            return if any {
                Reply::ok()
            } else {
                Reply::failed(format!("no {kind} processes are running"), Vec::new())
            };
        }
        // Everything, with no downtime: a new generation of the same release, checked, then switched to.
        let live = {
            let st = self.lock();
            st.live
                .and_then(|id| st.gens.iter().find(|g| g.id == id))
                .map(|g| g.info.version)
        };
        let version = match live {
            Some(v) => v,
            None => match self
                .app()
                .ok()
                .and_then(|a| a.store().current().ok().flatten())
            {
                Some(v) => v,
                None => return Reply::failed("the app has no current release", Vec::new()),
            },
        };
        match self.launch(version) {
            // A deploy may have gone live while this one started (its client gave up waiting).
            Ok(id) if self.decide(id, version) => Reply::ok(),
            Ok(_) => Reply::failed(
                format!("v{version} stopped being current while it restarted"),
                Vec::new(),
            ),
            Err(failure) => failure,
        }
    }

    fn longest_grace(&self) -> Duration {
        let st = self.lock();
        st.gens
            .iter()
            .map(|g| g.info.stop_grace)
            .max()
            .unwrap_or_default()
    }

    /// Stops everything: no more traffic, SIGTERM to every process (SIGKILL after the grace), then exit.
    fn shut_down(&self) {
        let mut st = self.lock();
        if st.shutting_down {
            return;
        }
        st.shutting_down = true;
        st.live = None;
        for run in &mut st.gens {
            run.phase = Phase::Stopping { termed: false };
        }
        drop(st);
        self.backends.set(Vec::new());
        if let Some(l) = self.listener.lock().ok().and_then(|mut l| l.take()) {
            l.close();
        }
        self.say("Stopping every process");
    }

    // ----- the tick -----

    fn tick(&self) {
        let now = Instant::now();
        let mut to_check: Vec<(u64, String, u16)> = Vec::new();
        {
            let mut st = self.lock();
            let live = st.live;
            let shutting_down = st.shutting_down;
            for run in &mut st.gens {
                let is_live = Some(run.id) == live && run.phase == Phase::Live && !shutting_down;
                let info = run.info.clone();
                for p in &mut run.procs {
                    self.reap(p, is_live, now);
                    match p.state {
                        PState::Crashed { at } if is_live && at <= now => {
                            p.restarts += 1;
                            self.spawn(&info, p);
                        }
                        PState::Stopping { kill_at, .. } if now >= kill_at => {
                            if let Some(child) = &p.child {
                                crate::base::sys::kill_group(
                                    child.id(),
                                    crate::base::sys::Signal::KILL,
                                );
                            }
                        }
                        PState::Starting if is_live && p.child.is_some() => match p.port {
                            Some(port) => to_check.push((run.id, p.name(), port)),
                            None if p.started.elapsed() >= SETTLE => {
                                p.state = PState::Up;
                                self.logs.write(
                                    &p.name(),
                                    &format!("slipway[{}]", p.name()),
                                    "State changed from starting to up",
                                );
                            }
                            None => {}
                        },
                        _ => {}
                    }
                }
                if is_live {
                    run.procs.retain(|p| p.state != PState::Exited);
                }
                let grace = info.stop_grace;
                let term = match run.phase {
                    Phase::Retiring {
                        since,
                        termed: false,
                    } => run.conns.load(Ordering::SeqCst) == 0 || since.elapsed() >= grace,
                    Phase::Stopping { termed: false } => true,
                    _ => false,
                };
                if term {
                    for p in &mut run.procs {
                        if p.child.is_some() {
                            self.stop_proc(p, now + grace, false);
                        } else {
                            p.state = PState::Exited;
                        }
                    }
                    run.phase = match run.phase {
                        Phase::Retiring { since, .. } => Phase::Retiring {
                            since,
                            termed: true,
                        },
                        _ => Phase::Stopping { termed: true },
                    };
                }
            }
            st.gens.retain(|g| {
                let ending = matches!(
                    g.phase,
                    Phase::Retiring { termed: true, .. } | Phase::Stopping { termed: true }
                );
                let finished = ending && g.procs.iter().all(|p| p.child.is_none());
                if finished {
                    self.say(&format!("v{} stopped", g.info.version));
                }
                !finished
            });
        }
        for (id, name, port) in to_check {
            if health::check(port, None, Duration::from_millis(100)) != Check::Healthy {
                continue;
            }
            let mut st = self.lock();
            let live = st.live;
            let Some(run) = st.gens.iter_mut().find(|g| g.id == id) else {
                continue;
            };
            let conns = run.conns.clone();
            // By name and port, and still starting: an old `web.2` draining after a
            // scale down may share the name with the new one.
            if let Some(p) = run.procs.iter_mut().find(|p| {
                p.name() == name
                    && p.port == Some(port)
                    && p.state == PState::Starting
                    && p.child.is_some()
            }) {
                p.state = PState::Up;
                self.logs.write(
                    &name,
                    &format!("slipway[{name}]"),
                    "State changed from starting to up",
                );
                if Some(id) == live {
                    p.in_pool = true;
                    self.backends.add(Backend {
                        addr: addr(port),
                        conns,
                    });
                }
            }
        }
    }

    /// Notices a process that exited and decides what happens next.
    fn reap(&self, p: &mut Proc, is_live: bool, now: Instant) {
        let Some(child) = p.child.as_mut() else {
            return;
        };
        let Ok(Some(status)) = child.try_wait() else {
            return;
        };
        let pgid = child.id();
        p.child = None;
        // Anything it left behind in its group goes with it.
        crate::base::sys::kill_group(pgid, crate::base::sys::Signal::KILL);
        let how = describe(status);
        let name = p.name();
        self.logs.write(
            &name,
            &format!("slipway[{name}]"),
            &format!("Process exited ({how})"),
        );
        if p.in_pool
            && let Some(port) = p.port
        {
            self.backends.remove(addr(port));
            p.in_pool = false;
        }
        p.last_exit = Some(how);
        p.state = match p.state {
            PState::Stopping { restart: true, .. } => PState::Crashed { at: now },
            PState::Stopping { .. } | PState::Exited => PState::Exited,
            _ if is_live => {
                if p.started.elapsed() >= STABLE {
                    p.crashes = 0;
                }
                let delay = Duration::from_millis(500)
                    .saturating_mul(1 << p.crashes.min(6))
                    .min(MAX_BACKOFF);
                p.crashes += 1;
                self.logs.write(
                    &name,
                    &format!("slipway[{name}]"),
                    &format!(
                        "State changed to crashed; restarting in {}ms",
                        delay.as_millis()
                    ),
                );
                PState::Crashed { at: now + delay }
            }
            _ => PState::Exited,
        };
    }
}

fn not_healthy(version: u32, timeout: Duration) -> String {
    format!(
        "v{version} did not become healthy in {}",
        crate::base::span::Span(timeout)
    )
}

fn read_request(reader: &mut BufReader<UnixStream>) -> Option<Request> {
    let mut line = Vec::new();
    (&mut *reader)
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)
        .ok()?;
    Request::parse(std::str::from_utf8(&line).ok()?.trim_end())
}

fn reply(mut stream: &UnixStream, answer: &Reply) -> std::io::Result<()> {
    stream.write_all(answer.line().as_bytes())
}

/// Copies a process's output into its log, line by line, keeping the last few lines for failure reports.
fn copy_output(
    reader: std::io::PipeReader,
    logs: &LogBook,
    file: &str,
    source: &str,
    tail: &Mutex<VecDeque<String>>,
) {
    let mut reader = BufReader::new(reader);
    let mut line = Vec::new();
    loop {
        line.clear();
        match (&mut reader).take(16 * 1024).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    line.pop();
                }
                let text = String::from_utf8_lossy(&line);
                logs.write(file, source, &text);
                if let Ok(mut tail) = tail.lock() {
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(text.into_owned());
                }
            }
        }
    }
}
