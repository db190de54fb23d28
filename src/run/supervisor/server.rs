//! The supervisor daemon (`slipway supervise --app NAME`): its lock and socket, and the loop that drives the state machine.
//!
//! One thread owns the [`State`]: it takes requests from the control
//! connections ([`super::control`]) and news from health checks as
//! [`Input`]s, reaps exited processes, feeds all of it to [`machine::step`]
//! and carries out the actions that come back. It wakes at least every
//! [`TICK`], sooner when the machine has something due.

use std::collections::{BTreeMap, VecDeque};
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::Paths;
use super::health;
use super::logs::LogBook;
use super::machine::{self, Action, Answer, Event, ReqId, State, TICK};
use super::prepare::{self, StartError};
use super::process::Processes;
use super::protocol::Reply;
use super::traffic::Traffic;
use crate::base::sys;
use crate::model::name::AppName;
use crate::run::error::{Error, Result};
use crate::store::app::App;
use crate::store::root::Root;

/// How often the loop checks that its lock file is still the app's.
const LOCK_CHECK: Duration = Duration::from_secs(1);

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

/// What the daemon's loop is handed by other threads.
#[derive(Debug)]
pub(super) enum Input {
    /// A control request; the machine's answer to `req` goes to `reply`.
    Request {
        /// Names the request in `event` and its answer.
        req: ReqId,
        /// The request.
        event: Event,
        /// Where the answer goes.
        reply: Sender<Answer>,
    },
    /// `status`: what runs, right now.
    Status(Sender<Reply>),
    /// News from another thread (a health check, the resume).
    Event(Event),
}

/// What every thread of the daemon shares.
#[derive(Debug)]
pub(super) struct Context {
    /// The root.
    pub root: Root,
    /// The app.
    pub name: AppName,
    /// The slipway binary.
    pub exe: PathBuf,
    /// The app's logs.
    pub logs: LogBook,
    /// The stable port and its backends.
    pub traffic: Traffic,
    /// Control connections waiting to write their answer to `stop` (the daemon waits for them).
    pub stop_clients: AtomicUsize,
    inputs: Sender<Input>,
    last_req: AtomicU64,
}

impl Context {
    /// A line for the supervisor's log.
    pub fn say(&self, text: &str) {
        self.logs.write("supervisor", "slipway[supervisor]", text);
    }

    /// The app, as it is on disk now.
    pub fn app(&self) -> std::result::Result<App, StartError> {
        Ok(App::open(&self.root, &self.name)?)
    }

    /// Listens on the stable port (if not already on it).
    pub fn listen(&self, port: u16) -> std::result::Result<(), StartError> {
        let opened = self
            .traffic
            .listen(port)
            .map_err(|source| StartError::Listen { port, source })?;
        if opened {
            self.say(&format!("Listening on 127.0.0.1:{port}"));
        }
        Ok(())
    }

    fn send(&self, input: Input) -> bool {
        self.inputs.send(input).is_ok()
    }

    /// Hands a request to the state machine and waits for its answer; `None` once the daemon is gone.
    pub fn ask(&self, request: impl FnOnce(ReqId) -> Event) -> Option<Answer> {
        let req = ReqId(self.last_req.fetch_add(1, Ordering::SeqCst) + 1);
        let (reply, answer) = mpsc::channel();
        let event = request(req);
        if !self.send(Input::Request { req, event, reply }) {
            return None;
        }
        answer.recv().ok()
    }

    /// The `status` reply; `None` once the daemon is gone.
    pub fn status(&self) -> Option<Reply> {
        let (reply, answer) = mpsc::channel();
        if !self.send(Input::Status(reply)) {
            return None;
        }
        answer.recv().ok()
    }
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
    let me = sys::pid();
    let start = sys::session_and_start(me).map_or(0, |(_, s)| s);
    lock.set_len(0).map_err(Error::io("write", &paths.lock))?;
    (&lock)
        .write_all(format!("{me} {start} {}\n", sys::boot_id()).as_bytes())
        .map_err(Error::io("write", &paths.lock))?;
    let terminate = sys::termination_flag().map_err(Error::io("handle signals in", &paths.lock))?;

    let _ = std::fs::remove_file(&paths.socket);
    let control =
        UnixListener::bind(&paths.socket).map_err(Error::io("listen on", &paths.socket))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&paths.socket, std::fs::Permissions::from_mode(0o600));
    }
    let (inputs, received) = mpsc::channel();
    let ctx = Arc::new(Context {
        root: options.root,
        name: options.app,
        exe: options.exe,
        logs: logs.clone(),
        traffic: Traffic::default(),
        stop_clients: AtomicUsize::new(0),
        inputs,
        last_req: AtomicU64::new(0),
    });
    say(&format!("Supervisor started (pid {me})"));
    if paths.maintenance.exists() {
        ctx.traffic.set_maintenance(true);
        say("Maintenance mode is on: the stable port answers 503");
    }
    if let Some(port) = app.settings.port
        && let Err(e) = ctx.listen(port)
    {
        say(&e.to_string());
    }
    {
        let ctx = ctx.clone();
        std::thread::Builder::new()
            .spawn(move || super::control::serve(ctx, control))
            .map_err(Error::io("start a thread for", &paths.socket))?;
    }
    if options.resume && !paths.stopped.exists() {
        let ctx = ctx.clone();
        // Without a thread nothing is resumed: the next deploy or restart starts the app.
        let _ = std::thread::Builder::new().spawn(move || resume(&ctx));
    }
    let mut daemon = Daemon {
        state: State::default(),
        processes: Processes::new(logs.clone()),
        waiting: BTreeMap::new(),
        ctx,
    };
    daemon.run(&received, &terminate, &lock, &paths.lock);
    let _ = std::fs::remove_file(&paths.socket);
    say("Supervisor stopped");
    drop(lock);
    Ok(())
}

/// On start: runs the current release again, as it was (no release phase, no health gate).
fn resume(ctx: &Context) {
    let current = ctx
        .app()
        .ok()
        .and_then(|app| app.store().current().ok().flatten());
    let Some(version) = current else {
        return;
    };
    match prepare::prepare(ctx, version) {
        Ok(p) => {
            ctx.send(Input::Event(Event::Resume {
                release: p.release,
                formation: p.formation,
                ports: p.ports,
            }));
        }
        Err(e) => ctx.say(&format!("Cannot start v{version}: {e}")),
    }
}

/// The loop's own: the state machine, the processes it started, and requests waiting for answers.
struct Daemon {
    state: State,
    processes: Processes,
    waiting: BTreeMap<ReqId, Sender<Answer>>,
    ctx: Arc<Context>,
}

impl Daemon {
    /// Runs until the machine has stopped everything and answered every `stop`.
    fn run(
        &mut self,
        inputs: &Receiver<Input>,
        terminate: &AtomicBool,
        lock: &std::fs::File,
        lock_path: &Path,
    ) {
        let mut lock_checked = Instant::now();
        loop {
            let now = Instant::now();
            let wait = self
                .state
                .next_deadline()
                .map_or(TICK, |due| due.saturating_duration_since(now))
                .clamp(Duration::from_millis(1), TICK);
            let input = inputs.recv_timeout(wait);
            // Exits first: a process that died before its health check answered is seen as dead.
            for event in self.processes.reap() {
                self.feed(event);
            }
            match input {
                Ok(input) => {
                    self.take(input);
                    while let Ok(input) = inputs.try_recv() {
                        self.take(input);
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
            // An app whose directory was deleted (its root removed by hand, say)
            // has nobody left to stop its processes but us.
            let gone = lock_checked.elapsed() >= LOCK_CHECK && {
                lock_checked = Instant::now();
                !holds(lock, lock_path)
            };
            if terminate.load(Ordering::SeqCst) || gone {
                self.feed(Event::Shutdown);
            }
            for generation in self.state.draining() {
                if self.ctx.traffic.is_drained(generation) {
                    self.feed(Event::Drained { generation });
                }
            }
            self.feed(Event::Tick);
            self.ctx.traffic.retain(|g| self.state.contains(g));
            if self.state.is_finished() && self.ctx.stop_clients.load(Ordering::SeqCst) == 0 {
                return;
            }
        }
    }

    fn take(&mut self, input: Input) {
        match input {
            Input::Request { req, event, reply } => {
                self.waiting.insert(req, reply);
                self.feed(event);
            }
            Input::Status(reply) => {
                let port = self.ctx.traffic.port();
                let _ = reply.send(super::status::reply(&self.state, Instant::now(), port));
            }
            Input::Event(event) => self.feed(event),
        }
    }

    /// Steps the machine with `event`, and with whatever carrying out its actions brings.
    fn feed(&mut self, event: Event) {
        let mut events = VecDeque::from([event]);
        while let Some(event) = events.pop_front() {
            for action in machine::step(&mut self.state, event, Instant::now()) {
                events.extend(self.execute(action));
            }
        }
    }

    /// Carries out one action; a spawn's outcome comes back as an event.
    fn execute(&mut self, action: Action) -> Option<Event> {
        let traffic = &self.ctx.traffic;
        match action {
            Action::Spawn {
                run,
                name,
                command,
                port,
                release,
            } => return Some(self.processes.spawn(run, &name, &command, port, &release)),
            Action::Signal { run, signal } => self.processes.signal(run, signal),
            Action::Check {
                run,
                port,
                path,
                timeout,
                scan,
            } => {
                let ctx = self.ctx.clone();
                let group = scan.then(|| self.processes.pid(run)).flatten();
                let check = move || {
                    let check = health::check_process(port, path.as_deref(), timeout, group);
                    ctx.send(Input::Event(Event::Checked { run, check }));
                };
                // Without a thread of its own, the check is not made; it is asked again later.
                if std::thread::Builder::new().spawn(check).is_err() {
                    return Some(Event::Checked {
                        run,
                        check: health::Check::NotListening,
                    });
                }
            }
            Action::SetBackends(list) => traffic.set(&list),
            Action::AddBackend(backend) => traffic.add(backend),
            Action::RemoveBackend(port) => traffic.remove(port),
            Action::CloseListener => traffic.close(),
            Action::Reply { req, answer } => {
                if let Some(reply) = self.waiting.remove(&req) {
                    let _ = reply.send(answer);
                }
            }
            Action::Log { process, text } => match process {
                Some(name) => self
                    .ctx
                    .logs
                    .write(&name, &format!("slipway[{name}]"), &text),
                None => self.ctx.say(&text),
            },
        }
        None
    }
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
    if boot != sys::boot_id() || pid == sys::pid() {
        return None;
    }
    // A live process with that pid but another start time is somebody else: its pid was reused.
    if let Some((_, now_start)) = sys::session_and_start(pid)
        && now_start != start
    {
        return None;
    }
    let members = sys::session_members(pid);
    for &member in &members {
        sys::kill(member, sys::Signal::KILL);
    }
    (!members.is_empty()).then_some(members.len())
}
