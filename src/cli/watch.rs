//! `watch:set`, `watch:unset` and `watch`: auto-deploy each new commit of a branch of another repository.

use clap::Args;

use super::Reported;
use super::env::{AppArg, Env};
use crate::base::sys;
use crate::model::event::Quiet;
use crate::ops::watch::{self, WatchSettings};
use crate::output;

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
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UnsetArgs {
    #[command(flatten)]
    app: AppArg,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
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
    output::print(&if args.json {
        output::watch::settings_json(&app.name, &settings)
    } else {
        output::watch::watching(&app.name, &settings)
    })
}

pub fn unset(env: &Env, args: UnsetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let settings = watch::unset(&app, &mut Quiet)?;
    output::print(&if args.json {
        output::watch::settings_json(&app.name, &settings)
    } else {
        output::watch::stopped(&app.name, &settings)
    })
}

pub fn run(env: &Env, args: WatchArgs) -> anyhow::Result<()> {
    let interval = watch::parse_interval(&args.interval)?;
    // SIGTERM and SIGINT stop the loop at the next safe point, never mid-deploy.
    let stop = sys::termination_flag()?;
    let root = env.root()?;
    let ctx = env.context(&root);
    let mut lines = output::events::Lines::new();
    let every = (!args.once).then_some(interval);
    let failed = watch::run(&ctx, every, &stop, &mut lines, &mut |report| {
        let (out, err) = output::watch::report(&report, args.once);
        // A closed stdout does not stop the watch.
        let _ = output::print(&out);
        eprint!("{err}");
    });
    if args.once && failed {
        return Err(Reported.into());
    }
    Ok(())
}
