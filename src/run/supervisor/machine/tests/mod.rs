//! Unit tests of the state machine: the races and timings the integration tests found the hard way, replayed event by event.
//!
//! [`Sim`] plays the daemon: it feeds events at a clock of its own and
//! answers every spawn, so each test reads as what happened, in order.

mod launch;
mod processes;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::*;
use crate::model::formation::Scale;
use crate::model::procfile::Procfile;
use crate::run::supervisor::health::Check;

pub(super) const SEC: Duration = Duration::from_secs(1);
pub(super) const MS: Duration = Duration::from_millis(1);

/// A state machine, a clock, and the daemon's part played by hand.
pub(super) struct Sim {
    pub(super) state: State,
    pub(super) now: Instant,
    last_pid: u32,
    last_req: u64,
}

impl Sim {
    pub(super) fn new() -> Sim {
        Sim {
            state: State::default(),
            now: Instant::now(),
            last_pid: 1000,
            last_req: 0,
        }
    }

    /// Feeds `event` now, answers every spawn as the daemon would, and checks nothing due was left undone.
    pub(super) fn step(&mut self, event: Event) -> Vec<Action> {
        let mut actions = step(&mut self.state, event, self.now);
        let runs: Vec<RunId> = spawns(&actions).into_iter().map(|(run, ..)| run).collect();
        for run in runs {
            self.last_pid += 1;
            let pid = self.last_pid;
            actions.extend(step(&mut self.state, Event::Spawned { run, pid }, self.now));
        }
        if let Some(due) = self.state.next_deadline() {
            assert!(
                due > self.now,
                "something due {:?} ago was not done",
                self.now - due
            );
        }
        actions
    }

    /// Lets `d` pass.
    pub(super) fn wait(&mut self, d: Duration) -> Vec<Action> {
        self.now += d;
        self.step(Event::Tick)
    }

    pub(super) fn req(&mut self) -> ReqId {
        self.last_req += 1;
        ReqId(self.last_req)
    }

    /// Launches `release`; returns the request and what it did.
    pub(super) fn launch(
        &mut self,
        release: ReleaseInfo,
        formation: Formation,
        ports: &[u16],
    ) -> (ReqId, Vec<Action>) {
        let req = self.req();
        let actions = self.step(Event::Launch {
            req,
            release,
            formation,
            ports: ports.to_vec(),
        });
        (req, actions)
    }

    /// Answers every check in `actions` with `check`.
    pub(super) fn answer(&mut self, actions: &[Action], check: Check) -> Vec<Action> {
        let mut out = Vec::new();
        for (run, _) in checks(actions) {
            out.extend(self.step(Event::Checked {
                run,
                check: check.clone(),
            }));
        }
        out
    }

    /// Launches `release`, finds it healthy and switches to it; returns its generation.
    pub(super) fn deploy(
        &mut self,
        release: ReleaseInfo,
        formation: Formation,
        ports: &[u16],
    ) -> GenId {
        let (req, actions) = self.launch(release, formation, ports);
        let actions = self.answer(&actions, Check::Healthy);
        let Some(Answer::Launched(generation)) = answer_to(&actions, req) else {
            panic!("not launched: {actions:#?}");
        };
        let req = self.req();
        let actions = self.step(Event::Switch { req, generation });
        assert_eq!(answer_to(&actions, req), Some(Answer::Done));
        generation
    }

    /// The current run of process `name` of `version` (the one not draining, if two share the name).
    pub(super) fn run(&self, version: u64, name: &str) -> RunId {
        self.state
            .gens
            .iter()
            .filter(|g| g.release.version == version)
            .flat_map(|g| &g.procs)
            .filter(|p| p.name() == name)
            .min_by_key(|p| !p.counts())
            .map(|p| p.run)
            .unwrap_or_else(|| panic!("no {name} in v{version}"))
    }

    /// `web.1 up v1` for every process.
    pub(super) fn ps(&self) -> Vec<String> {
        self.state
            .processes()
            .iter()
            .map(|p| {
                let state = match p.state {
                    _ if p.ending && p.pid.is_some() => "stopping",
                    ProcState::Starting => "starting",
                    ProcState::Up => "up",
                    ProcState::Crashed { .. } => "crashed",
                    ProcState::Stopping { .. } => "stopping",
                    ProcState::Exited => "exited",
                };
                let port = p.port.map(|p| format!(" :{p}")).unwrap_or_default();
                format!("{}.{} {state} v{}{port}", p.kind, p.index, p.release)
            })
            .collect()
    }
}

pub(super) fn release(version: u64, procfile: &str) -> ReleaseInfo {
    ReleaseInfo {
        version,
        dir: PathBuf::from(format!("/srv/shop/run/v{version}/app")),
        env: BTreeMap::new(),
        procfile: Procfile::parse(procfile.as_bytes()).unwrap(),
        health_path: None,
        health_timeout: 10 * SEC,
        stop_grace: 2 * SEC,
        sandbox: crate::base::sandbox::Sandbox::None,
    }
}

pub(super) fn formation(scales: &[&str]) -> Formation {
    let mut f = Formation::default();
    let scales: Vec<Scale> = scales.iter().map(|s| s.parse().unwrap()).collect();
    f.apply(&scales);
    f
}

pub(super) const WEB_AND_WORKER: &str = "web: python3 server.py\nworker: python3 worker.py\n";

pub(super) fn spawns(actions: &[Action]) -> Vec<(RunId, String, Option<u16>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Spawn {
                run, name, port, ..
            } => Some((*run, name.clone(), *port)),
            _ => None,
        })
        .collect()
}

pub(super) fn checks(actions: &[Action]) -> Vec<(RunId, u16)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Check { run, port, .. } => Some((*run, *port)),
            _ => None,
        })
        .collect()
}

pub(super) fn signals(actions: &[Action]) -> Vec<(RunId, Signal)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Signal { run, signal } => Some((*run, *signal)),
            _ => None,
        })
        .collect()
}

pub(super) fn answer_to(actions: &[Action], req: ReqId) -> Option<Answer> {
    actions.iter().find_map(|a| match a {
        Action::Reply { req: r, answer } if *r == req => Some(answer.clone()),
        _ => None,
    })
}

/// Log lines as `web.1: text` or `supervisor: text`.
pub(super) fn logs(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Log { process, text } => Some(format!(
                "{}: {text}",
                process.as_deref().unwrap_or("supervisor")
            )),
            _ => None,
        })
        .collect()
}

pub(super) fn pools(actions: &[Action]) -> Vec<&Action> {
    actions
        .iter()
        .filter(|a| {
            matches!(
                a,
                Action::SetBackends(_) | Action::AddBackend(_) | Action::RemoveBackend(_)
            )
        })
        .collect()
}
