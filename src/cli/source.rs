//! `releases:create`: a release from a source directory or archive (file or http(s) URL), as Akkeris makes them.

use clap::Args;

use super::Reported;
use super::env::{AppArg, Env};
use crate::build::source::Spec;
use crate::ops::change::Outcome;
use crate::ops::source;
use crate::output;

#[derive(Args)]
pub struct CreateArgs {
    /// A directory, a .tar.gz/.tgz/.tar/.zip file, or an http(s) URL of one
    source: String,
    #[command(flatten)]
    app: AppArg,
    /// The release's description [default: Deploy from NAME]
    #[arg(short = 'd', long = "description", value_name = "TEXT")]
    description: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn create(env: &Env, args: CreateArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let spec = Spec::parse(&args.source)?;
    let mut progress = output::events::Terminal::new();
    let outcome = source::create_release(
        &env.context(&root),
        &app,
        &spec,
        args.description,
        &mut progress,
    )?;
    if args.json {
        return super::print_outcome_json(&app, Some(&outcome));
    }
    match outcome {
        Outcome::Failed(_) => Err(Reported.into()),
        _ => Ok(()),
    }
}
