//! `watch:set`, `watch:unset` and `watch`: auto-deploy each new commit of a branch of another repository.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Args;

use super::Reported;
use super::env::{AppArg, Env};
use crate::app::App;
use crate::deploy::Outcome;
use crate::event::{Event, Observer, Quiet};
use crate::output::{self, Sideband};
use crate::watch::{self, WatchSettings, Watched};

/// Raised by SIGTERM or SIGINT; the watch loop stops at the next safe point.
static STOP: AtomicBool = AtomicBool::new(false);

#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    app: AppArg,
    /// The repository to watch: https://, ssh://, git://, file:// or user@host:path
    #[arg(long, value_name = "URL")]
    repo: String,
    /// The branch whose new commits deploy
    #[arg(long, value_name = "BRANCH")]
    branch: String,
}

#[derive(Args)]
pub struct UnsetArgs {
    #[command(flatten)]
    app: AppArg,
}

#[derive(Args)]
pub struct WatchArgs {
    /// Check every watching app once, then exit (1 if any fetch or deploy failed)
    #[arg(long)]
    once: bool,
    /// Time between rounds, such as 30s, 5m or 1h
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    interval: String,
}

pub fn set(env: &Env, args: SetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let settings = WatchSettings::new(&args.repo, &args.branch)?;
    watch::set(&app, &settings, &mut Quiet)?;
    output::print(&format!(
        "Watching {} of {} for {}: `slipway watch` deploys each new commit\n",
        output::escape(&settings.branch),
        settings.shown_url(),
        app.name
    ))?;
    Ok(())
}

pub fn unset(env: &Env, args: UnsetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let settings = watch::unset(&app, &mut Quiet)?;
    output::print(&format!(
        "Stopped watching {} of {} for {}\n",
        output::escape(&settings.branch),
        settings.shown_url(),
        app.name
    ))?;
    Ok(())
}

pub fn run(env: &Env, args: WatchArgs) -> anyhow::Result<()> {
    let interval = parse_interval(&args.interval)?;
    stop_on_signals();
    let root = env.root()?;
    let ctx = env.context(&root);
    let mut failed = false;
    loop {
        // Listed every round, so watch:set and watch:unset take effect without a restart.
        let names = watch::watching(&root).unwrap_or_else(|e| {
            failed = true;
            eprintln!("error: watch: {e}");
            Vec::new()
        });
        for name in names {
            if STOP.load(Ordering::SeqCst) {
                break;
            }
            let mut lines = Lines::new();
            let result = App::open(&root, &name).and_then(|app| {
                let Some(settings) = watch::settings(&app)? else {
                    return Ok(None);
                };
                watch::check(&ctx, &app, &settings, &STOP, &mut lines).map(|w| Some((settings, w)))
            });
            let quiet = !args.once;
            match result {
                Ok(None) | Ok(Some((_, Watched::Stopped))) => {}
                Ok(Some((settings, Watched::Unchanged { short }))) if !quiet => {
                    say(&format!(
                        "{name}: {} of {} is still at {short}, nothing to deploy\n",
                        output::escape(&settings.branch),
                        settings.shown_url()
                    ));
                }
                Ok(Some((settings, Watched::AlreadyLive { short, version }))) if !quiet => {
                    say(&format!(
                        "{name}: {} of {} is at {short}, already live as v{version}\n",
                        output::escape(&settings.branch),
                        settings.shown_url()
                    ));
                }
                Ok(Some((_, Watched::Deployed(outcome)))) => {
                    failed |= matches!(*outcome, Outcome::Failed(_));
                }
                Ok(Some(_)) => {}
                Err(e) => {
                    failed = true;
                    // One line per failure: the next round tries again.
                    eprintln!("error: watch {name}: {e}");
                }
            }
        }
        if args.once || !sleep(interval) {
            break;
        }
    }
    if args.once && failed {
        return Err(Reported.into());
    }
    Ok(())
}

/// Prints a line to stdout; a closed stdout does not stop the watch.
fn say(text: &str) {
    let _ = output::print(text);
}

/// `30s`, `5m`, `1h30m`, ISO 8601 (`PT30S`) or a number of seconds; at least one second.
fn parse_interval(text: &str) -> anyhow::Result<Duration> {
    let seconds = match text.trim().parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => text
            .parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| u64::try_from(d.as_secs()).ok()),
    };
    match seconds {
        Some(n) if n >= 1 => Ok(Duration::from_secs(n)),
        _ => anyhow::bail!(
            "'{}' is not an interval of at least one second (try 30s, 5m or 1h)",
            output::escape(text)
        ),
    }
}

/// Sleeps for `interval` in short steps; false if a stop signal came.
fn sleep(interval: Duration) -> bool {
    let until = Instant::now() + interval;
    while Instant::now() < until {
        if STOP.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(
            Duration::from_millis(100).min(until.saturating_duration_since(Instant::now())),
        );
    }
    !STOP.load(Ordering::SeqCst)
}

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes SIGTERM and SIGINT raise [`STOP`] instead of killing the process mid-deploy.
#[allow(unsafe_code)]
fn stop_on_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTERM, handler);
        libc::signal(libc::SIGINT, handler);
    }
}

/// Deploy events as complete lines on stdout: no progress redraws in a log.
struct Lines {
    inner: Sideband<std::io::Stdout>,
}

impl Lines {
    fn new() -> Lines {
        Lines {
            inner: Sideband::new(std::io::stdout()),
        }
    }
}

impl Observer for Lines {
    fn event(&mut self, event: Event) {
        if !matches!(event, Event::Progress { .. } | Event::Downloading { .. }) {
            self.inner.event(event);
            let _ = std::io::stdout().flush();
        }
    }
}
