//! The answer to `status`: every process of the state machine as `ps` shows it.

use std::time::Instant;

use super::machine::{ProcState, State};
use super::protocol::{ProcessStatus, Reply};

/// What runs at `now`, the live version and the stable port, with the supervisor's pid.
pub(super) fn reply(state: &State, now: Instant, port: Option<u16>) -> Reply {
    let processes = state
        .processes()
        .into_iter()
        .map(|p| {
            let label = match p.state {
                // A release being retired or stopped: its processes are on their way out.
                _ if p.ending && p.pid.is_some() => "stopping",
                ProcState::Starting => "starting",
                ProcState::Up => "up",
                ProcState::Crashed { .. } => "crashed",
                ProcState::Stopping { .. } | ProcState::Exited => "stopping",
            };
            ProcessStatus {
                kind: p.kind,
                index: p.index,
                pid: p.pid,
                state: label.to_owned(),
                uptime_secs: now.saturating_duration_since(p.started).as_secs(),
                release: p.release,
                live: p.live,
                command: p.command,
                port: p.port,
                restarts: p.restarts,
            }
        })
        .collect();
    Reply {
        processes,
        pid: Some(crate::base::sys::pid()),
        live: state.live_version(),
        port,
        ..Reply::ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::formation::Formation;
    use crate::model::release::Version;
    use crate::run::supervisor::health::Check;
    use crate::run::supervisor::machine::{Action, Answer, Event, ReleaseInfo, ReqId, step};

    fn release(version: Version) -> ReleaseInfo {
        ReleaseInfo {
            version,
            dir: "/srv/app".into(),
            env: Default::default(),
            procfile: crate::model::procfile::Procfile::parse(b"web: serve\n").unwrap(),
            health_path: None,
            health_timeout: std::time::Duration::from_secs(5),
            stop_grace: std::time::Duration::from_secs(5),
            sandbox: crate::base::sandbox::Sandbox::None,
        }
    }

    /// Launches and switches to `version`, answering every spawn and check as the daemon would.
    fn deploy(state: &mut State, version: Version, port: u16, now: Instant) {
        let req = ReqId(version);
        let launch = Event::Launch {
            req,
            release: release(version),
            formation: Formation::default(),
            ports: vec![port],
        };
        let mut events = std::collections::VecDeque::from([launch]);
        while let Some(event) = events.pop_front() {
            for action in step(state, event, now) {
                match action {
                    Action::Spawn { run, .. } => events.push_back(Event::Spawned {
                        run,
                        pid: port.into(),
                    }),
                    Action::Check { run, .. } => events.push_back(Event::Checked {
                        run,
                        check: Check::Healthy,
                    }),
                    Action::Reply {
                        answer: Answer::Launched(generation),
                        ..
                    } => events.push_back(Event::Switch { req, generation }),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_replaced_release_shows_as_stopping_and_only_the_live_one_as_live() {
        let (mut state, start) = (State::default(), Instant::now());
        deploy(&mut state, 1, 5001, start);
        deploy(&mut state, 2, 5002, start);
        let reply = reply(
            &state,
            start + std::time::Duration::from_secs(90),
            Some(5000),
        );
        assert_eq!((reply.live, reply.port), (Some(2), Some(5000)));
        let seen: Vec<(Version, &str, bool, Option<u32>, u64)> = reply
            .processes
            .iter()
            .map(|p| (p.release, p.state.as_str(), p.live, p.pid, p.uptime_secs))
            .collect();
        assert_eq!(
            seen,
            [
                (1, "stopping", false, Some(5001), 90),
                (2, "up", true, Some(5002), 90)
            ]
        );
    }
}
