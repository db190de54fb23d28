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
