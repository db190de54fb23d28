//! `deploy`: builds and releases a commit again, without a push (a failed deploy retried, a rebuild).

use clap::Args;

use super::Reported;
use super::env::{AppArg, Env};
use crate::ops::change::Outcome;
use crate::ops::deploy;
use crate::output;

#[derive(Args)]
pub struct DeployArgs {
    #[command(flatten)]
    app: AppArg,
    /// The commit, branch or tag to deploy [default: the deploy branch's tip]
    #[arg(value_name = "REV")]
    rev: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, args: DeployArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let mut progress = output::events::Terminal::new();
    match deploy::redeploy(
        &env.context(&root),
        &app,
        args.rev.as_deref(),
        &mut progress,
    )? {
        Outcome::Failed(_) => Err(Reported.into()),
        _ => Ok(()),
    }
}
