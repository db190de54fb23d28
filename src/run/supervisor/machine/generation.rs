//! One generation of the state machine and its processes: starting, checking, restarting and stopping them, and what is due when.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    Action, Answer, FIRST_BACKOFF, GenId, Ids, LAUNCH_CHECK, MAX_BACKOFF, ProcState, ReleaseInfo,
    ReqId, RunId, SETTLE, Signal, TICK, reply, say,
};
use crate::base::span::Span;
use crate::model::formation::Formation;
use crate::model::procfile::{Target, WEB};

/// Where a generation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Phase {
    /// Started beside the live generation: being checked, or waiting to be switched to.
    Starting,
    /// Taking traffic (when it is the live one); crashed processes are restarted.
    Live,
    /// Replaced: waits for its connections to drain (or its grace), then stops.
    Retiring {
        /// When it was replaced.
        since: Instant,
        /// Whether its processes were told to stop.
        termed: bool,
    },
    /// Failed, aborted, or the supervisor is stopping: its processes were told to stop.
    Stopping,
}

/// A launch waiting for its generation to become healthy.
#[derive(Debug)]
pub(super) struct Launching {
    /// Who waits for the answer.
    pub req: ReqId,
    /// When it started.
    pub begun: Instant,
    /// When it fails unless healthy.
    pub deadline: Instant,
    /// When a generation without web processes counts as healthy.
    pub settle: Instant,
    /// The last check of each web process: empty when healthy, else what is wrong.
    pub problems: BTreeMap<String, String>,
}

/// Whether a process's health is to be checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Probe {
    /// At this time (if [`probe_for`] says so).
    Due(Instant),
    /// A check is running.
    InFlight,
    /// No more checks for this run.
    Passed,
}

/// One process of a generation, across its runs.
#[derive(Debug)]
pub(super) struct Proc {
    /// Its current (or last) run.
    pub run: RunId,
    /// Its type.
    pub kind: String,
    /// Its index within the type.
    pub index: u32,
    /// Its Procfile command.
    pub command: String,
    /// Its port (web processes), kept across runs.
    pub port: Option<u16>,
    /// Whether its current run was spawned and has not exited.
    pub running: bool,
    /// The pid of its current run, once spawned.
    pub pid: Option<u32>,
    /// Where it is in its life.
    pub state: ProcState,
    /// When its current run started.
    pub started: Instant,
    /// How often it was started again.
    pub restarts: u32,
    /// Crashes since it last ran for [`super::STABLE`]: they set the backoff.
    pub crashes: u32,
    /// How its last run ended.
    pub last_exit: Option<String>,
    /// The last lines its last run wrote.
    pub tail: Vec<String>,
    /// Whether the forwarder sends it traffic.
    pub in_pool: bool,
    /// Its next health check.
    pub probe: Probe,
    /// When its checks last looked in /proc for the ports it listens on.
    pub scanned: Option<Instant>,
    /// Since when (and on which port) its checks saw it listen only on another port than its own.
    pub elsewhere: Option<(u16, Instant)>,
}

/// One start of a release.
#[derive(Debug)]
pub(super) struct Gen {
    /// Its id.
    pub id: GenId,
    /// Its release.
    pub release: Arc<ReleaseInfo>,
    /// Its processes, sorted by type and index (a draining one may share a name with its successor).
    pub procs: Vec<Proc>,
    /// Where it is in its life.
    pub phase: Phase,
    /// The launch waiting for it to become healthy.
    pub launch: Option<Launching>,
}

/// The wait before a process that crashed `crashes` times in a row is started again.
pub(super) fn backoff(crashes: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1 << crashes.min(6))
        .min(MAX_BACKOFF)
}

/// Whether `p` is to be checked, and how: the health path and the timeout.
pub(super) fn probe_for(
    release: &ReleaseInfo,
    launching: bool,
    is_live: bool,
    p: &Proc,
) -> Option<(Option<String>, Duration)> {
    if !p.running || p.port.is_none() {
        None
    } else if launching {
        Some((release.health_path.clone(), LAUNCH_CHECK))
    } else if is_live && p.state == ProcState::Starting {
        // A restarted process only has to accept connections again.
        Some((None, TICK))
    } else {
        None
    }
}

impl Proc {
    /// A process of `kind` that has not started yet.
    pub fn new(kind: &str, index: u32, command: &str, port: Option<u16>, now: Instant) -> Proc {
        Proc {
            run: RunId(0),
            kind: kind.to_owned(),
            index,
            command: command.to_owned(),
            port,
            running: false,
            pid: None,
            state: ProcState::Starting,
            started: now,
            restarts: 0,
            crashes: 0,
            last_exit: None,
            tail: Vec::new(),
            in_pool: false,
            probe: Probe::Passed,
            scanned: None,
            elsewhere: None,
        }
    }

    /// `web.1`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.kind, self.index)
    }

    /// A line for its log, as `slipway[web.1]`.
    pub fn log(&self, out: &mut Vec<Action>, text: impl Into<String>) {
        out.push(Action::Log {
            process: Some(self.name()),
            text: text.into(),
        });
    }

    /// Starts (or starts again) its command as `run`.
    pub fn start(
        &mut self,
        run: RunId,
        release: &Arc<ReleaseInfo>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        self.run = run;
        self.state = ProcState::Starting;
        self.started = now;
        self.running = true;
        self.pid = None;
        self.probe = Probe::Due(now);
        self.scanned = None;
        self.elsewhere = None;
        self.log(
            out,
            format!(
                "Starting process with command `{}` (v{}{})",
                self.command,
                release.version,
                self.port
                    .map(|port| format!(", PORT={port}"))
                    .unwrap_or_default()
            ),
        );
        out.push(Action::Spawn {
            run,
            name: self.name(),
            command: self.command.clone(),
            port: self.port,
            release: release.clone(),
        });
    }

    /// Takes it out of the forwarder's backends.
    pub fn unpool(&mut self, out: &mut Vec<Action>) {
        if self.in_pool {
            self.in_pool = false;
            if let Some(port) = self.port {
                out.push(Action::RemoveBackend(port));
            }
        }
    }

    /// SIGTERM now, SIGKILL after `grace`; started again once gone if `restart`. One that does not run is done at once.
    pub fn stop(&mut self, now: Instant, grace: Duration, restart: bool, out: &mut Vec<Action>) {
        self.unpool(out);
        if !self.running {
            self.state = match restart {
                true => ProcState::Crashed { at: now },
                false => ProcState::Exited,
            };
            return;
        }
        self.state = ProcState::Stopping {
            kill_at: now + grace,
            restart,
            killed: false,
        };
        self.log(out, "Stopping process with SIGTERM");
        out.push(Action::Signal {
            run: self.run,
            signal: Signal::Term,
        });
    }

    /// SIGKILL now, not started again.
    pub fn kill(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.unpool(out);
        if !self.running {
            self.state = ProcState::Exited;
            return;
        }
        self.state = ProcState::Stopping {
            kill_at: now,
            restart: false,
            killed: true,
        };
        self.log(out, "Stopping process with SIGKILL");
        out.push(Action::Signal {
            run: self.run,
            signal: Signal::Kill,
        });
    }

    /// Marks it up.
    pub fn up(&mut self, out: &mut Vec<Action>) {
        self.state = ProcState::Up;
        self.probe = Probe::Passed;
        self.log(out, "State changed from starting to up");
    }

    /// Whether it counts for its name: not gone, and not draining after a scale down.
    pub fn counts(&self) -> bool {
        !matches!(
            self.state,
            ProcState::Stopping { restart: false, .. } | ProcState::Exited
        )
    }
}

impl Gen {
    /// A generation of `release` with no processes yet.
    pub fn new(id: GenId, release: Arc<ReleaseInfo>, phase: Phase) -> Gen {
        Gen {
            id,
            release,
            procs: Vec::new(),
            phase,
            launch: None,
        }
    }

    /// Starts every process `formation` asks of its release; web processes take ports from `ports`.
    pub fn start(
        &mut self,
        formation: &Formation,
        ports: Vec<u16>,
        ids: &mut Ids,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let release = self.release.clone();
        let plan = formation.plan(&release.procfile);
        say(
            out,
            format!(
                "Starting v{} ({} processes)",
                release.version,
                plan.iter().map(|(_, n, _)| n).sum::<u32>()
            ),
        );
        let mut ports = ports.into_iter();
        for (kind, count, command) in plan {
            for index in 1..=count {
                let port = if kind == WEB { ports.next() } else { None };
                let mut p = Proc::new(kind, index, command, port, now);
                p.start(RunId(ids.next()), &release, now, out);
                self.procs.push(p);
            }
        }
    }

    /// Whether it takes traffic and keeps its processes running.
    pub fn is_live(&self, live: Option<GenId>, shutting_down: bool) -> bool {
        live == Some(self.id) && self.phase == Phase::Live && !shutting_down
    }

    /// Tells every process to stop (those already stopping keep their SIGKILL time).
    fn term_all(&mut self, now: Instant, out: &mut Vec<Action>) {
        let grace = self.release.stop_grace;
        for p in &mut self.procs {
            match p.state {
                ProcState::Stopping {
                    kill_at, killed, ..
                } => {
                    p.state = ProcState::Stopping {
                        kill_at,
                        restart: false,
                        killed,
                    }
                }
                _ => p.stop(now, grace, false, out),
            }
        }
    }

    /// Stops it now: it failed, was aborted, or the supervisor is stopping.
    pub fn shut(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.phase = Phase::Stopping;
        self.term_all(now, out);
    }

    /// A retiring generation with no connections left stops now.
    pub fn drained(&mut self, now: Instant, out: &mut Vec<Action>) {
        if let Phase::Retiring {
            since,
            termed: false,
        } = self.phase
        {
            self.phase = Phase::Retiring {
                since,
                termed: true,
            };
            self.term_all(now, out);
        }
    }

    /// Whether it was told to stop and every process is gone.
    pub fn is_finished(&self) -> bool {
        matches!(
            self.phase,
            Phase::Retiring { termed: true, .. } | Phase::Stopping
        ) && self.procs.iter().all(|p| !p.running)
    }

    /// Fails the waiting launch, and stops the generation.
    pub fn fail_launch(
        &mut self,
        reason: String,
        detail: Vec<String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if let Some(launch) = self.launch.take() {
            say(
                out,
                format!(
                    "v{} did not become healthy; stopping it",
                    self.release.version
                ),
            );
            self.shut(now, out);
            reply(out, launch.req, Answer::Failed { reason, detail });
        }
    }

    /// Starts or stops processes to match `formation` (the live generation only).
    pub fn scale(
        &mut self,
        formation: &Formation,
        ports: Vec<u16>,
        ids: &mut Ids,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let release = self.release.clone();
        let grace = release.stop_grace;
        let mut ports = ports.into_iter();
        for (kind, count, command) in formation.plan(&release.procfile) {
            for p in self
                .procs
                .iter_mut()
                .filter(|p| p.kind == kind && p.index > count)
            {
                if !matches!(p.state, ProcState::Stopping { .. } | ProcState::Exited) {
                    p.stop(now, grace, false, out);
                }
            }
            for index in 1..=count {
                self.ensure_running((kind, index, command), &mut ports, ids, now, out);
            }
        }
        self.procs
            .sort_by(|a, b| (&a.kind, a.index).cmp(&(&b.kind, b.index)));
    }

    /// Starts process `kind.index` running `command` unless one by that name already counts; whether it did.
    fn ensure_running(
        &mut self,
        (kind, index, command): (&str, u32, &str),
        ports: &mut impl Iterator<Item = u16>,
        ids: &mut Ids,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> bool {
        let same = |p: &Proc| p.kind == kind && p.index == index;
        if self.procs.iter().any(|p| same(p) && p.counts()) {
            return false;
        }
        // A draining process of the same name stays until it is gone, beside its successor.
        self.procs.retain(|p| !same(p) || p.running);
        let port = if kind == WEB { ports.next() } else { None };
        let mut p = Proc::new(kind, index, command, port, now);
        p.start(RunId(ids.next()), &self.release, now, out);
        self.procs.push(p);
        true
    }

    /// Starts the processes of `target` that `formation` wants and that do not run (stopped by `ps:stop`, say); how many it started.
    pub fn start_missing(
        &mut self,
        formation: &Formation,
        target: &Target,
        ports: Vec<u16>,
        ids: &mut Ids,
        now: Instant,
        out: &mut Vec<Action>,
    ) -> usize {
        let release = self.release.clone();
        let mut ports = ports.into_iter();
        let mut started = 0;
        for (kind, count, command) in formation.plan(&release.procfile) {
            for index in (1..=count).filter(|i| target.matches(kind, *i)) {
                if self.ensure_running((kind, index, command), &mut ports, ids, now, out) {
                    started += 1;
                }
            }
        }
        self.procs
            .sort_by(|a, b| (&a.kind, a.index).cmp(&(&b.kind, b.index)));
        started
    }

    /// Does what has come due by `now`: restarts, SIGKILLs, checks, settling, the end of a grace or a launch.
    pub fn poll(&mut self, is_live: bool, now: Instant, ids: &mut Ids, out: &mut Vec<Action>) {
        self.settle_launch(now, out);
        let release = self.release.clone();
        let launching = self.launch.is_some();
        for p in &mut self.procs {
            match p.state {
                ProcState::Crashed { at } if is_live && at <= now => {
                    p.restarts += 1;
                    p.start(RunId(ids.next()), &release, now, out);
                }
                ProcState::Stopping {
                    kill_at,
                    restart,
                    killed: false,
                } if p.running && now >= kill_at => {
                    p.state = ProcState::Stopping {
                        kill_at,
                        restart,
                        killed: true,
                    };
                    out.push(Action::Signal {
                        run: p.run,
                        signal: Signal::Kill,
                    });
                }
                ProcState::Starting
                    if is_live && p.running && p.port.is_none() && now >= p.started + SETTLE =>
                {
                    p.up(out);
                }
                _ => {}
            }
            if let Probe::Due(at) = p.probe
                && at <= now
                && let Some((path, timeout)) = probe_for(&release, launching, is_live, p)
                && let Some(port) = p.port
            {
                p.probe = Probe::InFlight;
                // Looking through /proc costs more than a connect: once a tick at most.
                let scan = launching && p.scanned.is_none_or(|t| now >= t + TICK);
                if scan {
                    p.scanned = Some(now);
                }
                out.push(Action::Check {
                    run: p.run,
                    port,
                    path,
                    timeout,
                    scan,
                });
            }
        }
        if is_live {
            self.procs.retain(|p| p.state != ProcState::Exited);
        }
        if let Phase::Retiring {
            since,
            termed: false,
        } = self.phase
            && now >= since + release.stop_grace
        {
            self.drained(now, out);
        }
    }

    /// Answers the waiting launch once every web process is healthy (or, without any, once it settled), or at its deadline.
    fn settle_launch(&mut self, now: Instant, out: &mut Vec<Action>) {
        let Some(launch) = &self.launch else {
            return;
        };
        let mut web = self.procs.iter().filter(|p| p.port.is_some()).peekable();
        let any_web = web.peek().is_some();
        let healthy = web.all(|p| launch.problems.get(&p.name()).is_some_and(String::is_empty));
        let running = self.procs.iter().all(|p| p.running);
        if healthy && running && (any_web || now >= launch.settle) {
            for p in &mut self.procs {
                if p.state == ProcState::Starting {
                    p.up(out);
                }
            }
            if let Some(launch) = self.launch.take() {
                reply(out, launch.req, Answer::Launched(self.id));
            }
        } else if now >= launch.deadline {
            let detail = launch
                .problems
                .values()
                .filter(|p| !p.is_empty())
                .cloned()
                .collect();
            let reason = format!(
                "v{} did not become healthy in {}",
                self.release.version,
                Span(self.release.health_timeout)
            );
            self.fail_launch(reason, detail, now, out);
        }
    }
}
