//! `maintenance`, `maintenance:on`, `maintenance:off`: the stable port answers 503 while the processes keep running.

use super::env::{AppJsonArgs, Env};
use crate::ops::ps;
use crate::output;

pub fn show(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let on = ps::in_maintenance(&app);
    output::print(&match args.json {
        true => output::ps::maintenance_json(&app.name, on),
        false => output::ps::maintenance(on),
    })
}

pub fn set(env: &Env, args: AppJsonArgs, on: bool) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    ps::set_maintenance(&app, on)?;
    output::print(&match args.json {
        true => output::ps::maintenance_json(&app.name, on),
        false => output::ps::maintenance_set(&app.name, on),
    })
}
