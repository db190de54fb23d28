//! `fsck`: checks the release store of one app or all of them; one line per problem.

use std::collections::HashMap;

use clap::Args;

use super::Reported;
use super::env::Env;
use crate::app::{self, App, AppName};
use crate::slug::SlugStore;
use crate::{fsck, output};

#[derive(Args)]
pub struct FsckArgs {
    /// Check only this app [default: every app]
    #[arg(short = 'a', long = "app", value_name = "APP")]
    app: Option<String>,
}

pub fn run(env: &Env, args: FsckArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let names: Vec<AppName> = match &args.app {
        Some(name) => vec![name.parse()?],
        None => app::list(&root)?,
    };
    let slugs = SlugStore::new(root.slugs_dir());
    let mut verified = HashMap::new();
    let mut bad = false;
    let mut text = String::new();
    for name in names {
        let app = App::open(&root, &name)?;
        let report = fsck::check(&app, &slugs, &mut verified)?;
        if report.problems.is_empty() {
            text.push_str(&format!(
                "{name}: ok ({} releases, {} slugs checked)\n",
                report.releases, report.slugs
            ));
        }
        for problem in &report.problems {
            bad = true;
            text.push_str(&format!("{name}: {}\n", output::escape(problem)));
        }
    }
    output::print(&text)?;
    if bad { Err(Reported.into()) } else { Ok(()) }
}
