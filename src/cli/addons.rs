//! `addons`, `addons:add`, `addons:remove`, `addons:upgrade`, `addons:downgrade`: each change a release.

use clap::Args;

use super::env::{AppArg, AppJsonArgs, Env};
use super::{observer, print_or_reported, print_outcome_json};
use crate::model::addon::{Action, Spec};
use crate::model::config::parse_assignment;
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
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
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
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
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
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn list(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let addons = config::attached_addons(&app)?;
    output::print(&if args.json {
        output::json(&addons)
    } else {
        output::config::addons_table(app.name.as_str(), &addons)
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
    let ctx = env.context(&root);
    let outcome = config::addon_add(&ctx, &app, &spec, &extra, args.description, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, outcome.as_ref());
    }
    print_or_reported(output::config::addon_added(&app.name, &spec, &outcome))
}

pub fn remove(env: &Env, args: RemoveArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let ctx = env.context(&root);
    let outcome = config::addon_remove(&ctx, &app, &args.name, args.description, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, outcome.as_ref());
    }
    print_or_reported(output::config::addon_removed(
        &app.name, &args.name, &outcome,
    ))
}

pub fn upgrade(env: &Env, args: PlanArgs) -> anyhow::Result<()> {
    change_plan(env, args, Action::Upgrade)
}

pub fn downgrade(env: &Env, args: PlanArgs) -> anyhow::Result<()> {
    change_plan(env, args, Action::Downgrade)
}

fn change_plan(env: &Env, args: PlanArgs, action: Action) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let spec: Spec = args.spec.parse()?;
    let ctx = env.context(&root);
    let outcome =
        config::addon_change_plan(&ctx, &app, &spec, action, args.description, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, outcome.as_ref());
    }
    let downgrade = action == Action::Downgrade;
    print_or_reported(output::config::plan_changed(
        &app.name, &spec, downgrade, &outcome,
    ))
}
