//! `quickstart`: a guided first deploy with the real git client, in a scratch directory.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::env::{Env, current_exe};
use crate::output;
use crate::quickstart::{self, APP};

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
    say(&format!(
        "==> slipway root: {root}\n==> app '{APP}', git repository {}\n",
        ws.app.repo_dir().display()
    ))?;

    say("\n==> Committing the sample app and pushing: git push slipway main\n")?;
    quickstart::commit_sample(
        &ws.checkout,
        &format!("Hello from slipway (v{next})"),
        "Add the sample app",
    )?;
    quickstart::push(&ws.checkout)?;

    say("\n==> Changing the page and pushing again\n")?;
    let greeting = format!("Hello again from slipway (v{})", next + 1);
    quickstart::commit_sample(&ws.checkout, &greeting, "Greet returning visitors")?;
    quickstart::push(&ws.checkout)?;

    say(&format!("\n==> slipway --root {root} releases -a {APP}\n"))?;
    let releases = ws.app.store().newest(15)?;
    say(&output::releases_table(
        &releases,
        ws.app.store().current()?,
        &env.clock,
    ))?;

    say(&format!(
        "\nNext, try:\n  \
           cd {checkout} && $EDITOR index.html && git commit -am 'My change' && git push slipway main\n  \
           {exe} --root {root} releases -a {APP}\n  \
           {exe} --root {root} apps\n",
        checkout = ws.checkout.display(),
        exe = exe.display(),
    ))
}

fn say(text: &str) -> anyhow::Result<()> {
    output::print(text)?;
    Ok(())
}
