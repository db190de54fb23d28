//! `fsck`: checks the release store of one app or all of them; one line per problem.

use clap::Args;

use super::Reported;
use super::env::Env;
use crate::model::name::AppName;
use crate::ops::fsck;
use crate::output;

#[derive(Args)]
pub struct FsckArgs {
    /// Check only this app [default: every app]
    #[arg(short = 'a', long = "app", value_name = "APP")]
    app: Option<String>,
    /// Repair the app whose current release is damaged: its newest intact succeeded release goes live as a new version
    #[arg(long, requires = "app")]
    repair: bool,
    /// With an s3:// slug store: download and hash every slug (else presence and size are checked)
    #[arg(long, conflicts_with = "repair")]
    deep: bool,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn run(env: &Env, args: FsckArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let only: Option<AppName> = args.app.as_deref().map(str::parse).transpose()?;
    if args.repair {
        let app = env.app(&root, args.app.as_deref().unwrap_or_default())?;
        let repaired = fsck::repair(&env.context(&root), &app, &mut super::observer())?;
        return super::print_or_reported(output::upkeep::repaired(&app.name, &repaired));
    }
    let slugs = env.slugs(&root);
    let reports = fsck::check_all(&root, &slugs, only.as_ref(), args.deep)?;
    output::print(&if args.json {
        output::upkeep::fsck_json(&reports)
    } else {
        output::upkeep::fsck(&reports)
    })?;
    if reports.iter().any(|(_, r)| !r.problems.is_empty()) {
        return Err(Reported.into());
    }
    Ok(())
}
