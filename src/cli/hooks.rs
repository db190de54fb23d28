//! `hooks:install`, `hooks:uninstall`, `hooks:status`: slipway's hooks in existing repositories.

use std::path::PathBuf;

use clap::Args;

use super::Reported;
use super::env::{Env, current_exe};
use super::hook::HookName;
use crate::model::name::AppName;
use crate::ops::hooks::{self, InstallRequest};
use crate::output;

#[derive(Args)]
pub struct InstallArgs {
    /// The bare repository that pushes go to
    #[arg(long, value_name = "PATH")]
    git_dir: PathBuf,
    /// The app [default: the repository's directory name without .git]
    #[arg(short = 'a', long, value_name = "APP")]
    app: Option<String>,
    /// The hook to install: post-receive deploys, pre-receive rejects pushes that do not compile (or build, with build_on: pre-receive)
    #[arg(long, value_enum, default_value = "post-receive")]
    hook: HookName,
    /// Keep an existing hook: move it aside and run it before slipway
    #[arg(long)]
    chain: bool,
    /// Install as DIR/HOOK.d/slipway, in a directory of hooks (such as GitLab's custom_hooks)
    #[arg(long, value_name = "DIR")]
    hooks_dir: Option<PathBuf>,
    /// Rewrite slipway's own hook to run this binary (never touches an admin's hook)
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
pub struct UninstallArgs {
    /// The repository to take slipway's hooks out of
    #[arg(long, value_name = "PATH")]
    git_dir: PathBuf,
}

#[derive(Args)]
pub struct StatusArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

pub fn install(env: &Env, args: InstallArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let request = InstallRequest {
        git_dir: args.git_dir,
        app: args.app.map(|a| a.parse::<AppName>()).transpose()?,
        hook: args.hook.kind(),
        hooks_dir: args.hooks_dir.map(std::path::absolute).transpose()?,
        chain: args.chain,
        force: args.force,
        exe: current_exe()?,
    };
    let report = hooks::install(&root, &request)?;
    output::print(&output::hooks::installed(&report))
}

pub fn uninstall(env: &Env, args: UninstallArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let done = hooks::uninstall(&root, &args.git_dir)?;
    output::print(&output::hooks::uninstalled(&done))
}

pub fn status(env: &Env, args: StatusArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let statuses = hooks::status(&root)?;
    output::print(&if args.json {
        output::hooks::hooks_json(&statuses, root.dir())
    } else {
        output::hooks::hooks_table(&statuses)
    })?;
    let problems = output::hooks::problems(&statuses, root.dir());
    if problems.is_empty() {
        return Ok(());
    }
    eprint!("{problems}");
    Err(Reported.into())
}
