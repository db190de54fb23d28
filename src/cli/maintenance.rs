//! `maintenance`, `maintenance:on`, `maintenance:off`: the stable port answers 503 while the processes keep running.

use clap::Args;

use super::env::{AppArg, Env};
use crate::ops::ps;
use crate::output;

#[derive(Args)]
pub struct MaintenanceArgs {
    #[command(flatten)]
    app: AppArg,
}

pub fn show(env: &Env, args: MaintenanceArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    output::print(&output::ps::maintenance(ps::in_maintenance(&app)))
}

pub fn set(env: &Env, args: MaintenanceArgs, on: bool) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    ps::set_maintenance(&app, on)?;
    output::print(&output::ps::maintenance_set(&app.name, on))
}
