//! `addons`, `addons:add`, `addons:remove`, `addons:upgrade`, `addons:downgrade`: each change a release.

use clap::Args;

use super::env::{AppArg, AppJsonArgs, Env};
use super::{Reported, observer};
use crate::model::addon::{Action, Spec};
use crate::model::config::parse_assignment;
use crate::ops::change::Outcome;
use crate::ops::config;
use crate::output;

#[derive(Args)]
pub struct AddArgs {
    #[command(flatten)]
    app: AppArg,
    /// The add-on, with its plan if not `free`
    #[arg(value_name = "NAME[:PLAN]")]
    spec: String,
    /// A config var the add-on provides (besides what hooks/addon prints)
    #[arg(long = "config", value_name = "KEY=VALUE")]
    config: Vec<String>,
    /// The release's description [default: Add NAME:PLAN add-on]
    #[arg(short = 'd', long)]
    description: Option<String>,
}

#[derive(Args)]
pub struct RemoveArgs {
    #[command(flatten)]
    app: AppArg,
    /// The add-on
    name: String,
    /// The release's description [default: Remove NAME add-on]
    #[arg(short = 'd', long)]
    description: Option<String>,
}

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    app: AppArg,
    /// The add-on and its new plan
    #[arg(value_name = "NAME:PLAN")]
    spec: String,
    /// The release's description [default: Upgrade NAME to NAME:PLAN]
    #[arg(short = 'd', long)]
    description: Option<String>,
}

pub fn list(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let addons = config::attached_addons(&app)?;
    output::print(&if args.json {
        output::json(&addons)
    } else {
        output::releases::addons_table(app.name.as_str(), &addons)
    })
}

pub fn add(env: &Env, args: AddArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let spec: Spec = args.spec.parse()?;
    let extra = args
        .config
        .iter()
        .map(|a| parse_assignment(a))
        .collect::<Result<Vec<_>, _>>()?;
    let outcome = config::addon_add(
        &env.context(&root),
        &app,
        &spec,
        &extra,
        args.description,
        &mut observer(),
    )?;
    let plan = spec
        .plan
        .as_deref()
        .unwrap_or(crate::model::addon::DEFAULT_PLAN);
    report(
        outcome,
        &format!("Adding {} to {}...", spec.name, app.name),
        &format!(" ({plan})"),
    )
}

pub fn remove(env: &Env, args: RemoveArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let outcome = config::addon_remove(
        &env.context(&root),
        &app,
        &args.name,
        args.description,
        &mut observer(),
    )?;
    report(
        outcome,
        &format!("Removing {} from {}...", args.name, app.name),
        "",
    )
}

pub fn upgrade(env: &Env, args: PlanArgs) -> anyhow::Result<()> {
    change_plan(env, args, Action::Upgrade, "Upgrading")
}

pub fn downgrade(env: &Env, args: PlanArgs) -> anyhow::Result<()> {
    change_plan(env, args, Action::Downgrade, "Downgrading")
}

fn change_plan(env: &Env, args: PlanArgs, action: Action, verb: &str) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let spec: Spec = args.spec.parse()?;
    let outcome = config::addon_change_plan(
        &env.context(&root),
        &app,
        &spec,
        action,
        args.description,
        &mut observer(),
    )?;
    report(
        outcome,
        &format!("{verb} {} to {} on {}...", spec.name, args.spec, app.name),
        "",
    )
}

/// "Adding memcachier to myapp... done, v12 (free)".
fn report(outcome: Option<Outcome>, doing: &str, suffix: &str) -> anyhow::Result<()> {
    match output::releases::addon_changed(&outcome, doing, suffix) {
        Some(text) => output::print(&text),
        None => Err(Reported.into()),
    }
}
