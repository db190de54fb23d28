//! The control socket: one thread per connection reads a request ([`super::protocol`]), asks the daemon, and writes the reply.
//!
//! What needs the disk (a release to prepare, the formation, `current`) is
//! read here, on the connection's thread, so the daemon's loop never waits
//! for it; the state machine gets the result as an event.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use super::machine::{Answer, Event, GenId};
use super::prepare::{self, Prepared};
use super::protocol::{MAX_LINE, Reply, Request};
use super::server::Context;
use crate::model::procfile::Target;
use crate::model::release::Version;

/// How long a control connection may take to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the deployer has, after "healthy", to say `switch` or `abort`.
const SWITCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Accepts control connections until the process ends, each on a thread of its own.
pub(super) fn serve(ctx: Arc<Context>, listener: UnixListener) {
    for stream in listener.incoming().flatten() {
        let ctx = ctx.clone();
        // Without a thread the connection is dropped; its client sees it closed.
        let _ = std::thread::Builder::new().spawn(move || handle(&ctx, stream));
    }
}

fn handle(ctx: &Context, stream: UnixStream) {
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
        Request::Status => ctx.status().unwrap_or_else(stopping),
        Request::Launch(version) => return launch(ctx, version, &mut reader, &write),
        Request::Switch(_) | Request::Abort(_) => Reply::failed(
            "switch and abort follow a launch on its connection",
            Vec::new(),
        ),
        Request::Scale => scale(ctx),
        Request::Restart(Some(name)) => restart_some(ctx, &name),
        Request::StopProcess { name, kill } => match name.parse::<Target>() {
            Ok(target) => to_reply(ctx.ask(|req| Event::StopProcess { req, target, kill })),
            Err(e) => Reply::failed(e.to_string(), Vec::new()),
        },
        Request::Restart(None) => restart(ctx),
        Request::Maintenance(on) => {
            ctx.traffic.set_maintenance(on);
            ctx.say(match on {
                true => "Maintenance mode on: the stable port answers 503",
                false => "Maintenance mode off",
            });
            Reply::ok()
        }
        Request::Stop => {
            // The daemon does not exit before this reply is written.
            ctx.stop_clients.fetch_add(1, Ordering::SeqCst);
            ctx.ask(|req| Event::Stop { req });
            let _ = reply(&write, &Reply::ok());
            ctx.stop_clients.fetch_sub(1, Ordering::SeqCst);
            return;
        }
    };
    let _ = reply(&write, &answer);
}

/// `launch N`: answered once vN is healthy or failed; then `switch N` or `abort N` on the same connection.
fn launch(ctx: &Context, version: Version, reader: &mut BufReader<UnixStream>, write: &UnixStream) {
    let generation = match start(ctx, version) {
        Ok(generation) => generation,
        Err(failure) => {
            let _ = reply(write, &failure);
            return;
        }
    };
    if reply(write, &Reply::ok()).is_err() {
        decide(ctx, generation);
        return;
    }
    let _ = reader.get_ref().set_read_timeout(Some(SWITCH_TIMEOUT));
    match read_request(reader) {
        Some(Request::Switch(v)) if v == version => {
            ctx.ask(|req| Event::Switch { req, generation });
        }
        Some(Request::Abort(v)) if v == version => {
            ctx.ask(|req| Event::Abort { req, generation });
        }
        // The deployer went away: `current` says what it decided.
        _ => {
            decide(ctx, generation);
        }
    }
    let _ = reply(write, &Reply::ok());
}

/// Prepares `version` and starts it beside what runs; its generation once healthy.
fn start(ctx: &Context, version: Version) -> Result<GenId, Reply> {
    let Prepared {
        release,
        formation,
        ports,
    } = prepare::prepare(ctx, version).map_err(|e| Reply {
        busy_port: e.busy_port(),
        ..Reply::failed(e.to_string(), Vec::new())
    })?;
    let answer = ctx.ask(|req| Event::Launch {
        req,
        release,
        formation,
        ports,
    });
    match answer {
        Some(Answer::Launched(generation)) => Ok(generation),
        other => Err(to_reply(other)),
    }
}

/// Switches to `generation` if `current` names its release, else aborts it.
fn decide(ctx: &Context, generation: GenId) -> Option<Answer> {
    let current = ctx
        .app()
        .ok()
        .and_then(|app| app.store().current().ok().flatten());
    ctx.ask(|req| Event::Decide {
        req,
        generation,
        current,
    })
}

/// `restart`: every process, with no downtime: a new generation of the live (or current) release, checked, then switched to.
fn restart(ctx: &Context) -> Reply {
    let live = ctx.status().and_then(|s| s.live);
    let current = || {
        ctx.app()
            .ok()
            .and_then(|a| a.store().current().ok().flatten())
    };
    let Some(version) = live.or_else(current) else {
        return Reply::failed("the app has no current release", Vec::new());
    };
    match start(ctx, version) {
        // A deploy may have gone live while this one started (its client gave up waiting).
        Ok(generation) => to_reply(decide(ctx, generation)),
        Err(failure) => failure,
    }
}

/// `restart TYPE[.N]`: restarts those processes in place, and starts those of them the formation wants that do not run.
fn restart_some(ctx: &Context, name: &str) -> Reply {
    let target = match name.parse::<Target>() {
        Ok(target) => target,
        Err(e) => return Reply::failed(e.to_string(), Vec::new()),
    };
    let read = ctx.app().and_then(|app| prepare::formation(&app));
    match read {
        Ok((formation, ports)) => to_reply(ctx.ask(|req| Event::Restart {
            req,
            target,
            formation,
            ports,
        })),
        Err(e) => Reply::failed(e.to_string(), Vec::new()),
    }
}

/// `scale`: reads the formation again and starts or stops processes to match.
fn scale(ctx: &Context) -> Reply {
    let read = ctx.app().and_then(|app| prepare::formation(&app));
    match read {
        Ok((formation, ports)) => to_reply(ctx.ask(|req| Event::Scale {
            req,
            formation,
            ports,
        })),
        Err(e) => Reply::failed(e.to_string(), Vec::new()),
    }
}

/// The reply for the state machine's answer; none means the daemon is gone.
fn to_reply(answer: Option<Answer>) -> Reply {
    match answer {
        Some(Answer::Done | Answer::Launched(_)) => Reply::ok(),
        Some(Answer::Failed { reason, detail }) => Reply::failed(reason, detail),
        None => stopping(),
    }
}

fn stopping() -> Reply {
    Reply::failed("the supervisor is stopping", Vec::new())
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
