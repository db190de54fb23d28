//! `hooks:install`, `hooks:uninstall`, `hooks:status`: slipway's hooks in existing repositories.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::Reported;
use super::env::{Env, current_exe};
use super::hook::HookName;
use crate::app::AppName;
use crate::install::{self, Change, Health, InstallRequest, Removal};
use crate::output::{self, escape};

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
    let report = install::install(&root, &request)?;
    let (app, repo) = (&report.app, show(&report.repo));
    let mut text = String::new();
    if report.created_app {
        let _ = writeln!(text, "Adopting {repo} as app {app}... done");
    }
    let path = show(&report.installed.path);
    let hook = report.installed.hook;
    let _ = match report.change {
        Change::Installed => writeln!(text, "Installed the {hook} hook: {path}"),
        Change::Rewritten => writeln!(text, "Rewrote the {hook} hook: {path}"),
        Change::Unchanged => writeln!(text, "The {hook} hook is already installed: {path}"),
        Change::Chained => writeln!(
            text,
            "Installed the {hook} hook: {path}\n\
             The hook that was there runs first, from {}",
            report
                .installed
                .original
                .as_deref()
                .map(show)
                .unwrap_or_default()
        ),
    };
    if report.releases {
        let _ = writeln!(text, "Pushes to {repo} now deploy {app}.");
    } else {
        let _ = writeln!(
            text,
            "Pushes to {repo} are now checked, but nothing releases them: \
             install the post-receive hook too (slipway hooks:install --git-dir {})",
            crate::hook::shell_quote_if_needed(&report.repo.to_string_lossy())
        );
    }
    output::print(&text)?;
    Ok(())
}

pub fn uninstall(env: &Env, args: UninstallArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let done = install::uninstall(&root, &args.git_dir)?;
    let mut text = String::new();
    for removed in &done.removed {
        let path = show(&removed.installed.path);
        let _ = match removed.removal {
            Removal::Removed => writeln!(text, "Removed {path}"),
            Removal::Restored => writeln!(text, "Restored {path}, the hook that was there before"),
            Removal::AlreadyGone => writeln!(text, "{path} was already gone"),
            Removal::LeftAlone => writeln!(text, "Left {path} alone: it is no longer slipway's"),
        };
    }
    let _ = writeln!(
        text,
        "Pushes to {} no longer deploy {}; its releases are kept.",
        show(&done.repo),
        done.app
    );
    output::print(&text)?;
    Ok(())
}

pub fn status(env: &Env, args: StatusArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let statuses = install::status(&root)?;
    let text = if args.json {
        output::hooks_json(&statuses, root.dir())
    } else if statuses.is_empty() {
        "No repository has slipway's hook\n".to_owned()
    } else {
        output::hooks_table(&statuses)
    };
    output::print(&text)?;
    let problems: Vec<_> = statuses.iter().filter(|s| s.health != Health::Ok).collect();
    if problems.is_empty() {
        return Ok(());
    }
    for problem in problems {
        eprint!("{}", output::hook_problem(problem, root.dir()));
    }
    Err(Reported.into())
}

fn show(path: &Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}
