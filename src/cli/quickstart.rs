//! `quickstart`: a guided first deploy with the real git client, in a scratch directory.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::env::{Env, current_exe};
use super::{Reported, observer, print_or_reported};
use crate::ops::change::Outcome;
use crate::ops::quickstart::{self, APP};
use crate::ops::{config, ps, releases, rollback};
use crate::output::{self, quickstart as say};

#[derive(ClapArgs)]
pub struct Args {
    /// Where to put the demo root and checkout
    #[arg(default_value = "slipway-quickstart")]
    dir: PathBuf,
}

pub fn run(env: &Env, args: Args) -> anyhow::Result<()> {
    let exe = current_exe()?;
    let ws = quickstart::prepare(&std::path::absolute(&args.dir)?, &exe)?;
    let root = ws.root.dir().display().to_string();
    let next = ws.app.store().latest_version()?.unwrap_or(0) + 1;
    output::print(&say::intro(&root, APP, &ws.app.repo_dir()))?;

    output::print(say::first_push())?;
    quickstart::commit_sample(
        &ws.checkout,
        &quickstart::greeting(next, false),
        "Add the sample app",
    )?;
    quickstart::push(&ws.checkout)?;

    output::print(say::second_push())?;
    let greeting = quickstart::greeting(next + 1, true);
    quickstart::commit_sample(&ws.checkout, &greeting, "Greet returning visitors")?;
    quickstart::push(&ws.checkout)?;

    let ctx = env.context(&ws.root);
    output::print(&say::config_step(APP))?;
    let vars = [("GREETING_STYLE".to_owned(), "friendly".to_owned())];
    let current = config::config_vars(&ws.app)?;
    output::print(&output::config::config_assignments(&vars, &current))?;
    let outcome = config::config_set(&ctx, &ws.app, &vars, None, &mut observer())?;
    print_or_reported(output::config::set_result(&ws.app.name, &outcome))?;

    output::print(&say::rollback_step(APP))?;
    match rollback::rollback(&ctx, &ws.app, None, None, &mut observer())? {
        Outcome::Live(r) => output::print(&output::releases::rolled_back(&r))?,
        _ => return Err(Reported.into()),
    }

    output::print(&say::releases_step(&root, APP))?;
    let listing = releases::list(&ws.app, 15)?;
    output::print(&output::releases::listing(
        &ws.app.name,
        &listing,
        &env.clock,
    ))?;

    // Read the settings again: the app may have been given its port just now.
    let app = env.app(&ws.root, APP)?;
    let info = ps::info(&ws.root, &app)?;
    let page = info.url.as_deref().and_then(|url| {
        let page = quickstart::fetch(url)?;
        Some((url, quickstart::heading(&page).unwrap_or("").to_owned()))
    });
    let served = page.as_ref().map(|(url, heading)| (*url, heading.as_str()));
    output::print(&say::served(served, &exe, &root, APP))?;
    output::print(&say::next_steps(&ws.checkout, &exe, &root, APP, next))
}
