//! `hook post-receive`: what the shim in an app's repository runs on every push.

use std::io::Read;

use clap::{Args, ValueEnum};

use super::Reported;
use super::env::Env;
use crate::deploy::{self, Outcome};
use crate::hook::parse_updates;
use crate::output::Sideband;

#[derive(Args)]
pub struct HookArgs {
    /// Which git hook is running
    hook: HookName,
    /// The app whose repository this is
    #[arg(long)]
    app: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum HookName {
    PostReceive,
}

pub fn run(env: &Env, args: HookArgs) -> anyhow::Result<()> {
    let HookName::PostReceive = args.hook;
    let root = env.root()?;
    let app = env.app(&root, &args.app)?;
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let updates = parse_updates(&input)?;
    // git relays the hook's stderr to the pushing client as `remote:` lines.
    let mut sideband = Sideband::new(std::io::stderr());
    match deploy::push(&env.context(&root), &app, &updates, &mut sideband)? {
        Outcome::Failed(_) => Err(Reported.into()),
        Outcome::NothingToDeploy
        | Outcome::AlreadyLive(_)
        | Outcome::Live(_)
        | Outcome::Recorded(_) => Ok(()),
    }
}
