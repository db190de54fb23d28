//! `slugs:compile` (a slug from any repository, no root needed), `slugs:gc` and `slugs:migrate`.

use std::path::PathBuf;

use clap::Args;

use super::env::Env;
use crate::base::size::Size;
use crate::build::{compile, dir};
use crate::model::settings::DEFAULT_MAX_SLUG_SIZE;
use crate::model::slug_store::SlugStoreSpec;
use crate::output::{self, Sideband};

#[derive(Args)]
pub struct CompileArgs {
    /// The commit to compile (a sha, branch or tag)
    #[arg(required_unless_present = "dir")]
    rev: Option<String>,
    /// The repository (bare or not)
    #[arg(long, value_name = "DIR", default_value = ".")]
    git_dir: PathBuf,
    /// Compile this directory instead of a commit (every mtime 1980-01-01, as releases:create does)
    #[arg(long, value_name = "DIR", conflicts_with = "rev")]
    dir: Option<PathBuf>,
    /// Where to write the .tar.gz
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Refuse to write a slug larger than this
    #[arg(long, value_name = "SIZE", default_value_t = DEFAULT_MAX_SLUG_SIZE.bytes().to_string())]
    max_size: String,
}

pub fn compile(_env: &Env, args: CompileArgs) -> anyhow::Result<()> {
    let max: Size = args.max_size.parse()?;
    let mut progress = Sideband::new(std::io::stderr());
    let slug = match &args.dir {
        Some(dir) => dir::compile_dir_to_file(dir, &args.output, max, &mut progress)?,
        None => {
            // clap requires REV without --dir.
            let rev = args.rev.as_deref().unwrap_or("HEAD");
            compile::compile_to_file(&args.git_dir, rev, &args.output, max, &mut progress)?
        }
    };
    output::print(&output::releases::compiled(&slug, &args.output))
}

#[derive(Args)]
pub struct GcArgs {
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn gc(env: &Env, args: GcArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let reclaimed = crate::ops::gc::gc(&root, &env.slugs(&root))?;
    output::print(&if args.json {
        output::json(&reclaimed)
    } else {
        output::releases::collected(&reclaimed)
    })
}

#[derive(Args)]
pub struct MigrateArgs {
    /// The store to move to: s3://BUCKET/PREFIX (with s3_endpoint and s3_region from slipway.yaml), or local
    #[arg(long, value_name = "STORE")]
    to: String,
}

pub fn migrate(env: &Env, args: MigrateArgs) -> anyhow::Result<()> {
    let mut root = env.root()?;
    let spec: SlugStoreSpec = args.to.parse()?;
    if spec == root.settings.slug_store {
        return output::print(&output::upkeep::already_there(&spec));
    }
    let from = env.slugs(&root);
    let to = env.slug_store(&root, &spec);
    let migrated = crate::ops::migrate::migrate(
        &mut root,
        &from,
        &to,
        &spec,
        &env.clock,
        &mut Sideband::new(std::io::stderr()),
    )?;
    output::print(&output::upkeep::migrated(&migrated))
}
