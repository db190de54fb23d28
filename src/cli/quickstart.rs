//! `quickstart`: a guided first deploy with the real git client, in a scratch directory.

use std::path::PathBuf;

use clap::Args as ClapArgs;

use super::env::{Env, current_exe};
use super::{Reported, changed, observer};
use crate::ops::change::Outcome;
use crate::ops::quickstart::{self, APP};
use crate::ops::{config, ps, releases, rollback};
use crate::output;

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

    let ctx = env.context(&ws.root);
    say(&format!(
        "\n==> Every config change is a release: slipway config:set GREETING_STYLE=friendly -a {APP}\n"
    ))?;
    let vars = [("GREETING_STYLE".to_owned(), "friendly".to_owned())];
    say(&output::releases::config_assignments(&vars))?;
    let outcome = config::config_set(&ctx, &ws.app, &vars, None, &mut observer())?;
    changed(
        &ws.app,
        outcome,
        "Updating vars and restarting",
        "No config vars changed",
    )?;

    say(&format!(
        "\n==> A bad release is one rollback away, git untouched: slipway rollback -a {APP}\n"
    ))?;
    match rollback::rollback(&ctx, &ws.app, None, None, &mut observer())? {
        Outcome::Live(r) => say(&format!(
            "Rolled back to v{}\n",
            r.rollback_of.unwrap_or_default()
        ))?,
        _ => return Err(Reported.into()),
    }

    say(&format!("\n==> slipway --root {root} releases -a {APP}\n"))?;
    let listing = releases::list(&ws.app, 15)?;
    say(&output::releases::listing(
        &ws.app.name,
        &listing,
        &env.clock,
    ))?;

    // Read the settings again: the app may have been given its port just now.
    let app = env.app(&ws.root, APP)?;
    let info = ps::info(&ws.root, &app)?;
    let served = info.url.as_deref().and_then(|url| {
        let page = quickstart::fetch(url)?;
        Some((url, quickstart::heading(&page).unwrap_or("").to_owned()))
    });
    match served {
        Some((url, heading)) => say(&format!(
            "\n==> The app is live at {url}\n    GET {url} says: {}\n",
            output::escape(&heading)
        ))?,
        None => say(&format!(
            "\n==> The app could not start; `{exe} --root {root} logs -a {APP}` shows why\n",
            exe = exe.display()
        ))?,
    }

    say(&format!(
        "\nNext, try:\n  \
           cd {checkout} && $EDITOR index.html && git commit -am 'My change' && git push slipway main\n  \
           {exe} --root {root} releases -a {APP}\n  \
           {exe} --root {root} releases:info -a {APP}\n  \
           {exe} --root {root} rollback v{first} -a {APP}\n  \
           {exe} --root {root} ps -a {APP}\n  \
           {exe} --root {root} logs -a {APP}\n  \
           {exe} --root {root} ps:stop -a {APP}     # the app keeps running until you stop it\n",
        first = next,
        checkout = ws.checkout.display(),
        exe = exe.display(),
    ))
}

fn say(text: &str) -> anyhow::Result<()> {
    output::print(text)
}
