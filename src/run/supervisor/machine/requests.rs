//! What the state machine does with control requests (launch, switch, scale, restart, stop) and with news of processes (spawned, exited, checked).

use std::sync::Arc;
use std::time::Instant;

use super::generation::{Gen, Launching, Phase, Probe, backoff};
use super::{
    Action, Answer, Backend, EARLY_CHECK, ELSEWHERE_GRACE, GenId, ProcState, ReleaseInfo, ReqId,
    RunId, SETTLE, STABLE, State, TICK, live_among, reply, say,
};
use crate::base::span::Span;
use crate::model::formation::Formation;
use crate::model::procfile::Target;
use crate::model::release::Version;
use crate::run::supervisor::health::Check;

impl State {
    /// Starts `release` beside the live generation; the answer waits until it is healthy or failed.
    pub(super) fn launch(
        &mut self,
        req: ReqId,
        release: ReleaseInfo,
        formation: &Formation,
        ports: Vec<u16>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.shutting_down {
            reply(out, req, Answer::failed("the supervisor is stopping"));
            return;
        }
        let timeout = release.health_timeout;
        let mut generation = Gen::new(GenId(self.ids.next()), Arc::new(release), Phase::Starting);
        generation.start(formation, ports, &mut self.ids, now, out);
        generation.launch = Some(Launching {
            req,
            begun: now,
            deadline: now + timeout,
            settle: now + SETTLE.min(timeout),
            problems: Default::default(),
        });
        self.gens.push(generation);
    }

    /// Starts `release` as the live generation, unless one is live already or the supervisor is stopping.
    pub(super) fn resume(
        &mut self,
        release: ReleaseInfo,
        formation: Formation,
        ports: Vec<u16>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.live.is_some() || self.shutting_down {
            return;
        }
        // A scale answered while the release was being prepared found nothing to change.
        let formation = self.scaled.take().unwrap_or(formation);
        let id = GenId(self.ids.next());
        let mut generation = Gen::new(id, Arc::new(release), Phase::Live);
        // The forwarder's pool fills as its web processes come up.
        generation.start(&formation, ports, &mut self.ids, now, out);
        self.gens.push(generation);
        self.live = Some(id);
    }

    /// Makes a launched generation the live one: new connections go to it, the previous one drains; whether it switched.
    pub(super) fn switch(&mut self, id: GenId, now: Instant, out: &mut Vec<Action>) -> bool {
        let launched = self
            .gens
            .iter()
            .any(|g| g.id == id && g.phase == Phase::Starting && g.launch.is_none());
        if !launched || self.shutting_down {
            return false;
        }
        let previous = self.live;
        let mut pool = Vec::new();
        let mut version = 0;
        for generation in &mut self.gens {
            if generation.id == id {
                generation.phase = Phase::Live;
                version = generation.release.version;
                for p in &mut generation.procs {
                    if !p.running {
                        p.state = ProcState::Crashed { at: now };
                    } else if let Some(port) = p.port {
                        p.in_pool = true;
                        pool.push(Backend {
                            generation: id,
                            port,
                        });
                    }
                }
            } else if Some(generation.id) == previous || generation.phase == Phase::Live {
                generation.phase = Phase::Retiring {
                    since: now,
                    termed: false,
                };
                for p in &mut generation.procs {
                    p.in_pool = false;
                }
            }
        }
        self.live = Some(id);
        out.push(Action::SetBackends(pool));
        say(out, format!("v{version} is live"));
        true
    }

    /// Stops a launched generation that did not become current.
    pub(super) fn abort(&mut self, id: GenId, now: Instant, out: &mut Vec<Action>) {
        let Some(generation) = self
            .gens
            .iter_mut()
            .find(|g| g.id == id && g.phase == Phase::Starting)
        else {
            return;
        };
        let version = generation.release.version;
        say(out, format!("v{version} was not made current; stopping it"));
        generation.shut(now, out);
        if let Some(launch) = generation.launch.take() {
            let reason = format!("v{version} was not made current");
            reply(out, launch.req, Answer::failed(reason));
        }
    }

    /// Switches to a launched generation if `current` names its release, else aborts it.
    ///
    /// A restart checks its new generation like a deploy; a deploy that went
    /// live meanwhile moved `current`, and is not to be switched away from.
    pub(super) fn decide(
        &mut self,
        req: ReqId,
        id: GenId,
        current: Option<Version>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(version) = self
            .gens
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.release.version)
        else {
            reply(out, req, Answer::failed("the supervisor is stopping"));
            return;
        };
        let answer = if current != Some(version) {
            self.abort(id, now, out);
            Answer::failed(format!(
                "v{version} stopped being current while it restarted"
            ))
        } else if self.switch(id, now, out) {
            Answer::Done
        } else {
            Answer::failed("the supervisor is stopping")
        };
        reply(out, req, answer);
    }

    /// Applies a new formation to the live generation; with none live, keeps it for the resume.
    pub(super) fn scale(
        &mut self,
        req: ReqId,
        formation: Formation,
        ports: Vec<u16>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        match live_among(&mut self.gens, self.live, self.shutting_down) {
            Some(generation) => generation.scale(&formation, ports, &mut self.ids, now, out),
            None => self.scaled = Some(formation),
        }
        reply(out, req, Answer::Done);
    }

    /// Restarts the live generation's processes of `target` in place (SIGTERM, then started again once gone), and starts those the formation wants that do not run.
    pub(super) fn restart(
        &mut self,
        req: ReqId,
        target: &Target,
        formation: &Formation,
        ports: Vec<u16>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(generation) = live_among(&mut self.gens, self.live, self.shutting_down) else {
            reply(out, req, Answer::failed("nothing is running"));
            return;
        };
        let grace = generation.release.stop_grace;
        let mut any = false;
        for p in generation
            .procs
            .iter_mut()
            .filter(|p| target.matches(&p.kind, p.index))
        {
            // One draining after a scale down is on its way out, not to be brought back.
            if !p.counts() {
                continue;
            }
            any = true;
            p.stop(now, grace, true, out);
        }
        // One stopped by ps:stop is started again.
        let started = generation.start_missing(formation, target, ports, &mut self.ids, now, out);
        let answer = match any || started > 0 {
            true => Answer::Done,
            false => Answer::failed(not_running(target)),
        };
        reply(out, req, answer);
    }

    /// Stops the live generation's processes of `target` for good: SIGTERM (SIGKILL after the grace), or SIGKILL now.
    pub(super) fn stop_process(
        &mut self,
        req: ReqId,
        target: &Target,
        kill: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some(generation) = live_among(&mut self.gens, self.live, self.shutting_down) else {
            reply(out, req, Answer::failed("nothing is running"));
            return;
        };
        let grace = generation.release.stop_grace;
        let mut any = false;
        for p in generation
            .procs
            .iter_mut()
            .filter(|p| target.matches(&p.kind, p.index) && p.counts())
        {
            any = true;
            match kill {
                true => p.kill(now, out),
                false => p.stop(now, grace, false, out),
            }
        }
        let answer = match any {
            true => Answer::Done,
            false => Answer::failed(not_running(target)),
        };
        reply(out, req, answer);
    }

    /// Stops everything: no more traffic, SIGTERM to every process (SIGKILL after its grace), then the daemon exits.
    pub(super) fn shut_down(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.live = None;
        out.push(Action::SetBackends(Vec::new()));
        out.push(Action::CloseListener);
        say(out, "Stopping every process");
        for generation in &mut self.gens {
            generation.shut(now, out);
            if let Some(launch) = generation.launch.take() {
                reply(
                    out,
                    launch.req,
                    Answer::failed("the supervisor is stopping"),
                );
            }
        }
    }

    /// A process could not be spawned: it is gone (or, when the failure was not its own, tried again later).
    pub(super) fn spawn_failed(
        &mut self,
        run: RunId,
        reason: String,
        retry: bool,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Some((generation, i)) = self.find_run(run) else {
            return;
        };
        let Some(p) = generation.procs.get_mut(i) else {
            return;
        };
        p.running = false;
        p.pid = None;
        p.log(out, format!("Cannot start: {reason}"));
        if retry {
            p.state = ProcState::Crashed {
                at: now + super::MAX_BACKOFF,
            };
        } else {
            p.last_exit = Some(format!("could not start ({reason})"));
            p.state = ProcState::Exited;
        }
        Self::ended_during_launch(generation, i, now, out);
    }

    /// A process exited: started again after a backoff (live generation), at once (restart), or gone.
    pub(super) fn exited(
        &mut self,
        run: RunId,
        how: String,
        tail: Vec<String>,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (live, shutting_down) = (self.live, self.shutting_down);
        let Some((generation, i)) = self.find_run(run) else {
            return;
        };
        let is_live = generation.is_live(live, shutting_down);
        let Some(p) = generation.procs.get_mut(i) else {
            return;
        };
        p.running = false;
        p.pid = None;
        p.log(out, format!("Process exited ({how})"));
        p.unpool(out);
        p.last_exit = Some(how);
        p.tail = tail;
        p.state = match p.state {
            ProcState::Stopping { restart: true, .. } => ProcState::Crashed { at: now },
            ProcState::Stopping { .. } | ProcState::Exited => ProcState::Exited,
            _ if is_live => {
                if now.saturating_duration_since(p.started) >= STABLE {
                    p.crashes = 0;
                }
                let delay = backoff(p.crashes);
                p.crashes += 1;
                p.log(
                    out,
                    format!("State changed to crashed; restarting in {}", Span(delay)),
                );
                ProcState::Crashed { at: now + delay }
            }
            _ => ProcState::Exited,
        };
        Self::ended_during_launch(generation, i, now, out);
    }

    /// A process that ended while its generation's launch waited fails the launch at once, with its own reason.
    fn ended_during_launch(generation: &mut Gen, i: usize, now: Instant, out: &mut Vec<Action>) {
        let Some(p) = generation.procs.get(i) else {
            return;
        };
        if generation.launch.is_none() {
            return;
        }
        // Exiting is its own reason: waiting out the health timeout would not change it.
        let reason = format!(
            "v{} did not start: {} {}",
            generation.release.version,
            p.name(),
            p.last_exit
                .as_ref()
                .map_or_else(|| "exited".to_owned(), |h| format!("exited ({h})"))
        );
        let detail = p.tail.clone();
        generation.fail_launch(reason, detail, now, out);
    }

    /// A health check finished: it counts for a waiting launch, or marks a restarted process of the live generation up.
    pub(super) fn checked(
        &mut self,
        run: RunId,
        check: Check,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let (live, shutting_down) = (self.live, self.shutting_down);
        let Some((generation, i)) = self.find_run(run) else {
            // An earlier run's check: its process was started again, or is gone.
            return;
        };
        let is_live = generation.is_live(live, shutting_down);
        let id = generation.id;
        let Some(p) = generation.procs.get_mut(i) else {
            return;
        };
        let Some(port) = p.port else {
            return;
        };
        let healthy = check == Check::Healthy;
        p.elsewhere = match check {
            Check::Elsewhere(other) => Some(p.elsewhere.unwrap_or((other, now))),
            _ => None,
        };
        if let Some(launch) = &mut generation.launch {
            let name = p.name();
            let problem = match check {
                Check::Healthy => String::new(),
                Check::NotListening => format!("{name} did not accept connections on port {port}"),
                Check::BadAnswer(why) => format!("{name}: {why}"),
                Check::Elsewhere(other) => format!(
                    "{name} listens on port {other}, not on its $PORT ({port}): web processes must listen on $PORT (was {other})"
                ),
            };
            launch.problems.insert(name.clone(), problem);
            // Most apps start within a second: look often then, less later.
            let pause = match now.saturating_duration_since(launch.begun) < SETTLE {
                true => EARLY_CHECK,
                false => TICK,
            };
            p.probe = match healthy {
                true => Probe::Passed,
                false => Probe::Due(now + pause),
            };
            // Listening elsewhere for a while is its own reason: waiting out the health timeout would not change it.
            if let Some((other, since)) = p.elsewhere
                && now.saturating_duration_since(since) >= ELSEWHERE_GRACE
            {
                let reason = format!(
                    "v{} did not start: web processes must listen on $PORT (was {other})",
                    generation.release.version
                );
                let detail = vec![format!(
                    "{name} listens on port {other}; its $PORT is {port}"
                )];
                generation.fail_launch(reason, detail, now, out);
            }
        } else if is_live && p.running && p.state == ProcState::Starting {
            if healthy {
                p.up(out);
                p.in_pool = true;
                out.push(Action::AddBackend(Backend {
                    generation: id,
                    port,
                }));
            } else {
                p.probe = Probe::Due(now + TICK);
            }
        } else {
            p.probe = Probe::Passed;
        }
    }
}

/// `no web processes are running`, `no web.2 process is running`.
fn not_running(target: &Target) -> String {
    match target.index {
        Some(_) => format!("no {target} process is running"),
        None => format!("no {target} processes are running"),
    }
}
