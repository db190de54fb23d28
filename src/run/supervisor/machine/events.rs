//! The state machine's vocabulary: the events it is fed, the actions it asks for, its answers, and the ids and views they use.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::formation::Formation;
use crate::model::procfile::Procfile;
use crate::model::release::Version;
use crate::run::supervisor::health::Check;

/// One start of a release.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GenId(pub u64);

/// One run of one process: a restart is a new run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId(pub u64);

/// A control request waiting for its [`Answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReqId(pub u64);

/// What running one release takes, read from disk before it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleaseInfo {
    /// The N of vN.
    pub version: Version,
    /// The unpacked code (`run/vN/app`), where processes start.
    pub dir: PathBuf,
    /// The processes' environment, less `PORT` and `DYNO`.
    pub env: BTreeMap<String, String>,
    /// Its process types and commands.
    pub procfile: Procfile,
    /// `GET` this path for a launch's health check (else TCP only).
    pub health_path: Option<String>,
    /// How long a launch may take to become healthy.
    pub health_timeout: Duration,
    /// How long a stopping process has between SIGTERM and SIGKILL (and a replaced release to drain).
    pub stop_grace: Duration,
    /// What its processes run in.
    pub sandbox: crate::base::sandbox::Sandbox,
}

/// Something that happened: a control request, news about a process, or time passing.
#[derive(Debug)]
pub enum Event {
    /// Start a release beside the live one and answer once it is healthy ([`Answer::Launched`]) or has failed.
    Launch {
        /// Who asks.
        req: ReqId,
        /// The release.
        release: ReleaseInfo,
        /// How many processes of each type to run.
        formation: Formation,
        /// Free ports for its web processes, taken in order.
        ports: Vec<u16>,
    },
    /// Start the current release as the live one at once (the supervisor just started; no health gate).
    Resume {
        /// The release.
        release: ReleaseInfo,
        /// How many processes of each type to run (unless a scale came first).
        formation: Formation,
        /// Free ports for its web processes, taken in order.
        ports: Vec<u16>,
    },
    /// Route traffic to a launched generation and retire the one it replaces.
    Switch {
        /// Who asks.
        req: ReqId,
        /// The launched generation.
        generation: GenId,
    },
    /// Stop a launched generation: it did not become current.
    Abort {
        /// Who asks.
        req: ReqId,
        /// The launched generation.
        generation: GenId,
    },
    /// Switch to a launched generation if `current` names its release, else abort it.
    Decide {
        /// Who asks.
        req: ReqId,
        /// The launched generation.
        generation: GenId,
        /// The version the `current` pointer names now.
        current: Option<Version>,
    },
    /// Start or stop processes of the live release to match a new formation.
    Scale {
        /// Who asks.
        req: ReqId,
        /// The new formation.
        formation: Formation,
        /// Free ports for new web processes, taken in order.
        ports: Vec<u16>,
    },
    /// Restart the live release's processes of one type, in place.
    Restart {
        /// Who asks.
        req: ReqId,
        /// The process type.
        kind: String,
    },
    /// Stop everything, and answer once every process is gone.
    Stop {
        /// Who asks.
        req: ReqId,
    },
    /// Stop everything (a signal, or the app directory is gone).
    Shutdown,
    /// A [`Action::Spawn`] started its process.
    Spawned {
        /// The run.
        run: RunId,
        /// Its pid, which is also its process group.
        pid: u32,
    },
    /// A [`Action::Spawn`] could not start its process.
    SpawnFailed {
        /// The run.
        run: RunId,
        /// Why.
        reason: String,
        /// Whether to try again later (the failure was not the command's).
        retry: bool,
    },
    /// A process exited.
    Exited {
        /// The run.
        run: RunId,
        /// How, as `exit 3` or `killed by signal 9`.
        how: String,
        /// Its last lines of output.
        tail: Vec<String>,
    },
    /// A health check ([`Action::Check`]) finished.
    Checked {
        /// The run checked.
        run: RunId,
        /// What it found.
        check: Check,
    },
    /// A retiring generation has no open connections left.
    Drained {
        /// The generation.
        generation: GenId,
    },
    /// Time passed.
    Tick,
}

/// A signal for a process group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGTERM: please stop.
    Term,
    /// SIGKILL.
    Kill,
}

/// One web process the forwarder may send traffic to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backend {
    /// Its generation, whose connections are counted together.
    pub generation: GenId,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

/// What the daemon must do.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Start a process: `sh -c COMMAND` in the release's directory, in its own process group; answer with [`Event::Spawned`] or [`Event::SpawnFailed`].
    Spawn {
        /// The run; its [`Event::Exited`] names it.
        run: RunId,
        /// `web.1`: its log file and `DYNO`.
        name: String,
        /// The Procfile command.
        command: String,
        /// Its `PORT`.
        port: Option<u16>,
        /// The release it runs.
        release: Arc<ReleaseInfo>,
    },
    /// Send a signal to the process group of a run, if it has not been reaped.
    Signal {
        /// The run.
        run: RunId,
        /// The signal.
        signal: Signal,
    },
    /// Check the process on `port` (`GET path` when given); answer with [`Event::Checked`].
    Check {
        /// The run.
        run: RunId,
        /// Its port.
        port: u16,
        /// The health path, if any.
        path: Option<String>,
        /// How long the check may take.
        timeout: Duration,
    },
    /// Replace the forwarder's backends.
    SetBackends(Vec<Backend>),
    /// Add one backend.
    AddBackend(Backend),
    /// Remove the backend on this port.
    RemoveBackend(u16),
    /// Stop listening on the stable port.
    CloseListener,
    /// Answer a control request.
    Reply {
        /// The request.
        req: ReqId,
        /// The answer.
        answer: Answer,
    },
    /// Write a line to a process's log (as `slipway[web.1]`), or the supervisor's when `process` is `None`.
    Log {
        /// `web.1`, or `None` for the supervisor.
        process: Option<String>,
        /// The line.
        text: String,
    },
}

/// The machine's answer to a control request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Done.
    Done,
    /// The launched generation is healthy; it waits for [`Event::Switch`], [`Event::Abort`] or [`Event::Decide`].
    Launched(GenId),
    /// Not done: why, and more lines (a crashed process's last output, health check problems).
    Failed {
        /// Why.
        reason: String,
        /// More lines.
        detail: Vec<String>,
    },
}

impl Answer {
    pub(super) fn failed(reason: impl Into<String>) -> Answer {
        Answer::Failed {
            reason: reason.into(),
            detail: Vec::new(),
        }
    }
}

/// Where one process is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcState {
    /// Started, not yet known to be up.
    Starting,
    /// Up: accepting connections, or running past [`super::SETTLE`].
    Up,
    /// Exited; started again at `at` (live releases only).
    Crashed {
        /// When.
        at: Instant,
    },
    /// Sent SIGTERM; SIGKILL at `kill_at` (unless `killed` already); started again once gone if `restart`.
    Stopping {
        /// When SIGKILL follows.
        kill_at: Instant,
        /// Whether to start it again once it is gone.
        restart: bool,
        /// Whether SIGKILL was sent.
        killed: bool,
    },
    /// Gone for good.
    Exited,
}

/// One process as `ps` sees it (see [`State::processes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcView {
    /// Its type.
    pub kind: String,
    /// Its index within the type.
    pub index: u32,
    /// Its pid while it runs.
    pub pid: Option<u32>,
    /// Where it is in its life.
    pub state: ProcState,
    /// Whether its generation is being stopped or retired.
    pub ending: bool,
    /// When its current run started.
    pub started: Instant,
    /// Its release.
    pub release: Version,
    /// Whether its generation takes traffic.
    pub live: bool,
    /// Its Procfile command.
    pub command: String,
    /// Its port.
    pub port: Option<u16>,
    /// How often it was started again.
    pub restarts: u32,
}
