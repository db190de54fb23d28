//! `buildpacks`, `buildpacks:set`, `buildpacks:add`, `buildpacks:remove`, `buildpacks:clear`, `buildpacks:clear-cache`.

use clap::Args;

use super::env::{AppArg, AppJsonArgs, Env};
use crate::model::buildpack::Buildpack;
use crate::ops::buildpacks;
use crate::output;

#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    app: AppArg,
    /// A built-in (python, nodejs), a git URL (#ref optional), a .tgz URL or a directory
    #[arg(value_name = "BUILDPACK")]
    buildpack: String,
    /// The 1-based position of the buildpack to set or add
    #[arg(short = 'i', long = "index", value_name = "N")]
    index: Option<usize>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    app: AppArg,
    /// The buildpack to remove
    #[arg(value_name = "BUILDPACK", required_unless_present = "index")]
    buildpack: Option<String>,
    /// The 1-based position of the buildpack to remove
    #[arg(short = 'i', long = "index", value_name = "N")]
    index: Option<usize>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn list(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let list = buildpacks::list(&app)?;
    output::print(&if args.json {
        output::json(&list)
    } else {
        let config_url = match list.is_empty() {
            true => buildpacks::config_url(&app)?,
            false => None,
        };
        output::buildpacks::list(&app.name, &list, config_url.as_deref())
    })
}

pub fn set(env: &Env, args: SetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let buildpack: Buildpack = args.buildpack.parse()?;
    let list = buildpacks::set(&app, buildpack, args.index)?;
    output::print(&if args.json {
        output::json(&list)
    } else {
        output::buildpacks::changed("set", &app.name, &list)
    })
}

pub fn add(env: &Env, args: SetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let buildpack: Buildpack = args.buildpack.parse()?;
    let list = buildpacks::add(&app, buildpack, args.index)?;
    output::print(&if args.json {
        output::json(&list)
    } else {
        output::buildpacks::changed("added", &app.name, &list)
    })
}

pub fn remove(env: &Env, args: RemoveArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let buildpack: Option<Buildpack> = args.buildpack.as_deref().map(str::parse).transpose()?;
    let list = buildpacks::remove(&app, buildpack.as_ref(), args.index)?;
    output::print(&if args.json {
        output::json(&list)
    } else {
        output::buildpacks::changed("removed", &app.name, &list)
    })
}

pub fn clear(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    buildpacks::clear(&app)?;
    output::print(&if args.json {
        output::json::<[Buildpack]>(&[])
    } else {
        output::buildpacks::cleared(&app.name)
    })
}

pub fn clear_cache(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let had = buildpacks::clear_cache(&app)?;
    output::print(&if args.json {
        output::buildpacks::cache_cleared_json(&app.name, had)
    } else {
        output::buildpacks::cache_cleared(&app.name, had)
    })
}
