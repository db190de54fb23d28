//! `releases`, `releases:info`, `releases:output`, `rollback`, `releases:promote`, `releases:prune`.

use clap::Args;
use serde::Serialize;

use super::env::{AppArg, Env};
use super::{Reported, observer};
use crate::deploy::Outcome;
use crate::release::{Release, parse_version};
use crate::{change, gc, output};

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    app: AppArg,
    /// How many releases to show, newest first
    #[arg(short = 'n', long = "num", default_value_t = 15, value_name = "N")]
    num: usize,
    /// Print JSON: the records, each with `current`
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct InfoArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release [default: the current one]
    #[arg(value_name = "vNN")]
    version: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct OutputArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release
    #[arg(value_name = "vNN")]
    version: String,
}

#[derive(Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release to copy [default: the newest succeeded release before the current one]
    #[arg(value_name = "vNN")]
    version: Option<String>,
    /// The new release's description [default: Rollback to vNN]
    #[arg(short = 'd', long)]
    description: Option<String>,
}

#[derive(Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    app: AppArg,
    /// The release to make live
    #[arg(value_name = "vNN")]
    version: String,
}

#[derive(Args)]
pub struct PruneArgs {
    #[command(flatten)]
    app: AppArg,
    /// How many of the newest releases keep their slugs (the current one always does)
    #[arg(long, value_name = "N")]
    keep: usize,
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    app.recover_if_idle()?;
    let store = app.store();
    let releases = store.newest(args.num)?;
    let text = if args.json {
        output::releases_json(&releases, store.current()?)
    } else if releases.is_empty() {
        format!("{} has no releases yet\n", app.name)
    } else {
        output::releases_table(&releases, store.current()?, &env.clock)
    };
    output::print(&text)?;
    Ok(())
}

pub fn info(env: &Env, args: InfoArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    app.recover_if_idle()?;
    let store = app.store();
    let current = store.current()?;
    let version = match &args.version {
        Some(text) => parse_version(text)?,
        None => current.ok_or_else(|| anyhow::anyhow!("{} has no current release", app.name))?,
    };
    let release = store
        .find(version)?
        .ok_or_else(|| crate::Error::NoRelease {
            app: app.name.to_string(),
            version,
        })?;
    let subject = commit_subject(&app, &release);
    if args.json {
        #[derive(Serialize)]
        struct InfoJson<'a> {
            #[serde(flatten)]
            release: &'a Release,
            current: bool,
            commit_subject: Option<String>,
        }
        output::print(&output::json(&InfoJson {
            release: &release,
            current: current == Some(version),
            commit_subject: subject,
        }))?;
    } else {
        output::print(&output::release_info(
            &release,
            current,
            subject.as_deref(),
            &env.clock,
        ))?;
    }
    Ok(())
}

/// The subject line of the release's commit, if the app's repository still has it.
fn commit_subject(app: &crate::app::App, release: &Release) -> Option<String> {
    let oid = git2::Oid::from_str(release.commit.as_deref()?).ok()?;
    let repo = git2::Repository::open_bare(app.repo_dir()).ok()?;
    let commit = repo.find_commit(oid).ok()?;
    commit.summary().ok().flatten().map(str::to_owned)
}

pub fn show_output(env: &Env, args: OutputArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let version = parse_version(&args.version)?;
    if app.store().find(version)?.is_none() {
        return Err(crate::Error::NoRelease {
            app: app.name.to_string(),
            version,
        }
        .into());
    }
    let path = app.logs_dir().join(format!("v{version}.log"));
    match std::fs::read_to_string(&path) {
        Ok(text) => output::print(&text)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            anyhow::bail!(
                "v{version} of {} has no stored output (it was not built or launched here)",
                app.name
            )
        }
        Err(e) => return Err(crate::Error::io("read", path)(e).into()),
    }
    Ok(())
}

pub fn rollback(env: &Env, args: RollbackArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let target = args.version.as_deref().map(parse_version).transpose()?;
    match change::rollback(
        &env.context(&root),
        &app,
        target,
        args.description,
        &mut observer(),
    )? {
        Outcome::Live(release) => {
            let target = release.rollback_of.unwrap_or_default();
            output::print(&format!("Rolled back to v{target}\n"))?;
            Ok(())
        }
        _ => Err(Reported.into()),
    }
}

pub fn promote(env: &Env, args: PromoteArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let version = parse_version(&args.version)?;
    match change::promote(&env.context(&root), &app, version, &mut observer())? {
        Outcome::Live(_) => {
            output::print(&format!(
                "Promoting v{version} on {}... done, v{version} is live\n",
                app.name
            ))?;
            Ok(())
        }
        _ => Err(Reported.into()),
    }
}

pub fn prune(env: &Env, args: PruneArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let reclaimed = gc::prune(&root, &app, args.keep)?;
    let releases = match reclaimed.pruned.as_slice() {
        [] => "no release's slug".to_owned(),
        [one] => format!("the slug of v{one}"),
        many => format!("the slugs of {} releases", many.len()),
    };
    output::print(&format!(
        "Pruned {releases} of {}; deleted {} slug files ({})\n",
        app.name,
        reclaimed.slugs,
        crate::size::Size(reclaimed.bytes)
    ))?;
    Ok(())
}
