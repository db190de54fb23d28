//! `releases`, `releases:info`, `releases:output`, `rollback`, `releases:promote`, `releases:prune`.

use clap::Args;

use super::env::{AppArg, Env};
use super::{Reported, observer, print_outcome_json};
use crate::model::release::parse_version;
use crate::ops::change::Outcome;
use crate::ops::{gc, releases, rollback};
use crate::output;

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    app: AppArg,
    /// How many releases to show, newest first
    #[arg(short = 'n', long = "num", default_value_t = 15, value_name = "N")]
    num: usize,
    /// Print JSON: the records, each with `current`
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct InfoArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release [default: the current one]
    #[arg(value_name = "vNN")]
    version: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OutputArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release [default: the current one]
    #[arg(value_name = "vNN")]
    version: Option<String>,
}

#[derive(Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release to copy [default: the newest succeeded release before the current one]
    #[arg(value_name = "vNN")]
    version: Option<String>,
    /// The new release's description [default: Rollback to vNN]
    #[arg(short = 'd', long)]
    description: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release to make live
    #[arg(value_name = "vNN")]
    version: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct PruneArgs {
    #[command(flatten)]
    app: AppArg,
    /// How many of the newest succeeded releases keep their slugs (failed ones do not count; the current one counts, and always keeps its)
    #[arg(long, value_name = "N")]
    keep: usize,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let listing = releases::list(&app, args.num)?;
    output::print(&if args.json {
        let subjects = releases::commit_subjects(&app, &listing.releases);
        output::releases::releases_json(&listing.releases, listing.current, &subjects)
    } else {
        output::releases::listing(&app.name, &listing, &env.clock)
    })
}

pub fn info(env: &Env, args: InfoArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let version = args.version.as_deref().map(parse_version).transpose()?;
    let info = releases::info(&app, version)?;
    output::print(&if args.json {
        output::releases::info_json(&info)
    } else {
        output::releases::release_info(
            &info.release,
            info.current,
            info.commit_subject.as_deref(),
            &env.clock,
        )
    })
}

pub fn show_output(env: &Env, args: OutputArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let version = args.version.as_deref().map(parse_version).transpose()?;
    output::print(&releases::build_output(&app, version)?)
}

pub fn rollback(env: &Env, args: RollbackArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let target = args.version.as_deref().map(parse_version).transpose()?;
    let ctx = env.context(&root);
    let outcome = rollback::rollback(&ctx, &app, target, args.description, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, Some(&outcome));
    }
    match outcome {
        Outcome::Live(release) => output::print(&output::releases::rolled_back(&release)),
        _ => Err(Reported.into()),
    }
}

pub fn promote(env: &Env, args: PromoteArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let version = parse_version(&args.version)?;
    let ctx = env.context(&root);
    let outcome = rollback::promote(&ctx, &app, version, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, Some(&outcome));
    }
    match outcome {
        Outcome::Live(_) => output::print(&output::releases::promoted(&app.name, version)),
        _ => Err(Reported.into()),
    }
}

pub fn prune(env: &Env, args: PruneArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let reclaimed = gc::prune(&env.context(&root), &app, args.keep, &mut observer())?;
    output::print(&if args.json {
        output::json(&reclaimed)
    } else {
        output::releases::pruned(&app.name, &reclaimed)
    })
}
