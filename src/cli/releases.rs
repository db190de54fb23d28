//! `releases`: the release history of an app.

use clap::Args;

use super::env::{AppArg, Env};
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

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.app(&root, &args.app.app)?;
    let store = app.store();
    // A read recovers what a killed deploy left, but never waits behind a running one.
    if let Some(lock) = app.try_lock()? {
        store.recover(&lock)?;
    }
    let releases = store.newest(args.num)?;
    let text = if args.json {
        output::releases_json(&releases, store.current()?)
    } else if releases.is_empty() {
        format!("{} has no releases yet\n", app.name)
    } else {
        output::releases_table(&releases, &env.clock)
    };
    output::print(&text)?;
    Ok(())
}
