//! The supervisor's state machine: what each event does to an app's releases and processes, and what must be done in return, with no I/O.
//!
//! The daemon ([`super::server`]) feeds every [`Event`] to [`step`] with the
//! time it happened, and carries out the [`Action`]s that come back: it spawns
//! and signals processes, runs health checks, sets the forwarder's backends,
//! answers control requests and writes log lines, then feeds what came of
//! them back in as events. Nothing here reads the clock, sleeps, or touches a
//! process, socket or file, so every race the daemon can meet can be replayed
//! in a unit test.
//!
//! A *generation* is one start of a release (a deploy, a rollback, a restart
//! of everything): its processes start, are checked, take traffic and stop
//! together. A process keeps its name and port across restarts; each start of
//! it is a *run* with its own [`RunId`], so news about an earlier run is
//! never taken for the current one.

mod events;
mod generation;
mod requests;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

pub use self::events::{
    Action, Answer, Backend, Event, GenId, ProcState, ProcView, ReleaseInfo, ReqId, RunId, Signal,
};
use self::generation::{Gen, Phase, Probe};
use crate::model::formation::Formation;
use crate::model::release::Version;

/// A process without a port counts as up once it has run this long.
pub const SETTLE: Duration = Duration::from_secs(1);
/// A process that ran this long before crashing starts its backoff afresh.
pub const STABLE: Duration = Duration::from_secs(60);
/// The longest wait before a crashed process is started again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The wait before a crashed process is started again the first time; it doubles with each crash.
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// How often a starting process of the live release is checked, and how long one check may take.
pub const TICK: Duration = Duration::from_millis(100);
/// How often a launch checks its web processes in its first second (most apps start within it).
pub const EARLY_CHECK: Duration = Duration::from_millis(5);
/// How long one health check of a launch may take.
pub const LAUNCH_CHECK: Duration = Duration::from_secs(1);
/// How long a launching web process may be seen listening only on other ports than its `$PORT` before its launch fails.
///
/// Not at once: some servers open a second port (a debugger, JMX) before their own.
pub const ELSEWHERE_GRACE: Duration = Duration::from_secs(3);
/// How long a stop request waits beyond the longest stop grace before it is answered anyway.
pub const STOP_SLACK: Duration = Duration::from_secs(5);

/// Everything the supervisor knows about its app's processes.
#[derive(Debug, Default)]
pub struct State {
    gens: Vec<Gen>,
    /// The generation taking traffic.
    live: Option<GenId>,
    ids: Ids,
    shutting_down: bool,
    /// Stop requests, answered once every generation is gone or at their deadline.
    stop_waiters: Vec<(ReqId, Instant)>,
    /// A formation a scale brought while nothing was live: the resume starts with it.
    scaled: Option<Formation>,
}

/// Applies one event at time `now`; returns what the daemon must do, in order.
pub fn step(state: &mut State, event: Event, now: Instant) -> Vec<Action> {
    let mut out = Vec::new();
    match event {
        Event::Launch {
            req,
            release,
            formation,
            ports,
        } => state.launch(req, release, &formation, ports, now, &mut out),
        Event::Resume {
            release,
            formation,
            ports,
        } => state.resume(release, formation, ports, now, &mut out),
        Event::Switch { req, generation } => {
            state.switch(generation, now, &mut out);
            reply(&mut out, req, Answer::Done);
        }
        Event::Abort { req, generation } => {
            state.abort(generation, now, &mut out);
            reply(&mut out, req, Answer::Done);
        }
        Event::Decide {
            req,
            generation,
            current,
        } => state.decide(req, generation, current, now, &mut out),
        Event::Scale {
            req,
            formation,
            ports,
        } => state.scale(req, formation, ports, now, &mut out),
        Event::Restart {
            req,
            target,
            formation,
            ports,
        } => state.restart(req, &target, &formation, ports, now, &mut out),
        Event::StopProcess { req, target, kill } => {
            state.stop_process(req, &target, kill, now, &mut out)
        }
        Event::Stop { req } => {
            state.shut_down(now, &mut out);
            let grace = state.gens.iter().map(|g| g.release.stop_grace).max();
            let deadline = now + grace.unwrap_or_default() + STOP_SLACK;
            state.stop_waiters.push((req, deadline));
        }
        Event::Shutdown => state.shut_down(now, &mut out),
        Event::Spawned { run, pid } => {
            if let Some((generation, i)) = state.find_run(run)
                && let Some(p) = generation.procs.get_mut(i)
            {
                p.pid = Some(pid);
            }
        }
        Event::SpawnFailed { run, reason, retry } => {
            state.spawn_failed(run, reason, retry, now, &mut out)
        }
        Event::Exited { run, how, tail } => state.exited(run, how, tail, now, &mut out),
        Event::Checked { run, check } => state.checked(run, check, now, &mut out),
        Event::Drained { generation } => {
            if let Some(g) = state.gens.iter_mut().find(|g| g.id == generation) {
                g.drained(now, &mut out);
            }
        }
        Event::Tick => {}
    }
    state.poll(now, &mut out);
    out
}

impl State {
    /// Whether the supervisor may exit: it is stopping, every process is gone and every stop request answered.
    pub fn is_finished(&self) -> bool {
        self.shutting_down && self.gens.is_empty() && self.stop_waiters.is_empty()
    }

    /// The version of the live generation.
    pub fn live_version(&self) -> Option<Version> {
        self.live_gen().map(|g| g.release.version)
    }

    /// Whether generation `id` is still there.
    pub fn contains(&self, id: GenId) -> bool {
        self.gens.iter().any(|g| g.id == id)
    }

    /// Retiring generations still waiting for their connections to drain.
    pub fn draining(&self) -> Vec<GenId> {
        self.gens
            .iter()
            .filter(|g| matches!(g.phase, Phase::Retiring { termed: false, .. }))
            .map(|g| g.id)
            .collect()
    }

    /// Every process that has not exited for good, generation by generation.
    pub fn processes(&self) -> Vec<ProcView> {
        let mut out = Vec::new();
        for generation in &self.gens {
            for p in generation
                .procs
                .iter()
                .filter(|p| p.state != ProcState::Exited)
            {
                out.push(ProcView {
                    kind: p.kind.clone(),
                    index: p.index,
                    pid: p.pid,
                    state: p.state,
                    ending: matches!(generation.phase, Phase::Retiring { .. } | Phase::Stopping),
                    started: p.started,
                    release: generation.release.version,
                    live: self.live == Some(generation.id),
                    command: p.command.clone(),
                    port: p.port,
                    restarts: p.restarts,
                });
            }
        }
        out
    }

    /// When something is next due (a restart, a SIGKILL, a check, a deadline); `None` when only events can change anything.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut due: Option<Instant> = None;
        let mut at = |t: Instant| due = Some(due.map_or(t, |d| d.min(t)));
        for generation in &self.gens {
            let is_live = self.is_live(generation);
            for p in &generation.procs {
                match p.state {
                    ProcState::Crashed { at: t } if is_live => at(t),
                    ProcState::Stopping {
                        kill_at,
                        killed: false,
                        ..
                    } if p.running => at(kill_at),
                    ProcState::Starting if is_live && p.running && p.port.is_none() => {
                        at(p.started + SETTLE)
                    }
                    _ => {}
                }
                if let Probe::Due(t) = p.probe
                    && generation::probe_for(
                        &generation.release,
                        generation.launch.is_some(),
                        is_live,
                        p,
                    )
                    .is_some()
                {
                    at(t);
                }
            }
            if let Phase::Retiring {
                since,
                termed: false,
            } = generation.phase
            {
                at(since + generation.release.stop_grace);
            }
            if let Some(launch) = &generation.launch {
                at(launch.deadline);
                if generation.procs.iter().all(|p| p.port.is_none()) {
                    at(launch.settle);
                }
            }
        }
        for (_, deadline) in &self.stop_waiters {
            at(*deadline);
        }
        due
    }

    fn live_gen(&self) -> Option<&Gen> {
        let live = self.live?;
        self.gens.iter().find(|g| g.id == live)
    }

    /// Whether `generation` takes traffic and keeps its processes running.
    fn is_live(&self, generation: &Gen) -> bool {
        generation.is_live(self.live, self.shutting_down)
    }

    /// The generation holding the process whose current run is `run`, and where in it.
    fn find_run(&mut self, run: RunId) -> Option<(&mut Gen, usize)> {
        self.gens.iter_mut().find_map(|g| {
            let i = g.procs.iter().position(|p| p.run == run)?;
            Some((g, i))
        })
    }

    /// Does what has come due by `now`; run after every event.
    fn poll(&mut self, now: Instant, out: &mut Vec<Action>) {
        let (live, shutting_down) = (self.live, self.shutting_down);
        for generation in &mut self.gens {
            let is_live = generation.is_live(live, shutting_down);
            generation.poll(is_live, now, &mut self.ids, out);
        }
        self.gens.retain(|g| {
            let finished = g.is_finished();
            if finished {
                say(out, format!("v{} stopped", g.release.version));
            }
            !finished
        });
        let all_gone = self.gens.is_empty();
        self.stop_waiters.retain(|(req, deadline)| {
            let answer = all_gone || now >= *deadline;
            if answer {
                reply(out, *req, Answer::Done);
            }
            !answer
        });
    }
}

/// Hands out ids for generations and runs alike.
#[derive(Debug, Default)]
struct Ids(u64);

impl Ids {
    fn next(&mut self) -> u64 {
        self.0 += 1;
        self.0
    }
}

fn reply(out: &mut Vec<Action>, req: ReqId, answer: Answer) {
    out.push(Action::Reply { req, answer });
}

/// A line for the supervisor's log.
fn say(out: &mut Vec<Action>, text: impl Into<String>) {
    out.push(Action::Log {
        process: None,
        text: text.into(),
    });
}

/// The generation among `gens` that takes traffic and keeps its processes running (a free function, so the state's other fields stay borrowable).
fn live_among(gens: &mut [Gen], live: Option<GenId>, shutting_down: bool) -> Option<&mut Gen> {
    gens.iter_mut().find(|g| g.is_live(live, shutting_down))
}
