//! `init`, `apps`, `apps:create`, `apps:destroy`, `apps:info`.

use clap::Args;

use super::env::{AppArg, AppArgs, AppJsonArgs, Env, current_exe};
use crate::model::name::AppName;
use crate::ops::{self, apps};
use crate::output;
use crate::store::root::Root;

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct CreateArgs {
    /// Lowercase letters, digits and dashes, starting with a letter
    name: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DestroyArgs {
    /// The app to delete [default: -a APP, else this checkout's app]
    name: Option<String>,
    #[command(flatten)]
    app: AppArg,
    /// The app's name again, to confirm
    #[arg(long, value_name = "NAME")]
    confirm: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RenameArgs {
    /// `OLD NEW`, or `NEW` alone with the app from -a APP or this checkout (as `heroku apps:rename NEW -a OLD`)
    #[arg(required = true, num_args = 1..=2, value_name = "NAMES")]
    names: Vec<String>,
    #[command(flatten)]
    app: AppArg,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn rename(env: &Env, args: RenameArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    // The last name is the new one; one before it, if any, is the app.
    let mut names = args.names.iter().rev();
    let new: AppName = names.next().ok_or(ops::Error::NoApp)?.parse()?;
    let old = env.app_name(names.next().map(String::as_str), &args.app)?;
    let app = apps::rename(&root, &old, &new, &current_exe()?)?;
    output::print(&if args.json {
        output::apps::created_json(&new, &app.repo_dir())
    } else {
        output::apps::renamed(&old, &app)
    })
}

pub fn init(env: &Env) -> anyhow::Result<()> {
    let root = Root::init(&env.root_dir)?;
    output::print(&output::apps::initialized(root.dir()))
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    if args.json {
        output::print(&output::json(&apps::summaries(&root)?))
    } else {
        output::print(&output::apps::listing(&apps::list(&root)?))
    }
}

pub fn create(env: &Env, args: CreateArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let name: AppName = args.name.parse()?;
    let created = apps::create(&root, &name, &current_exe()?)?;
    // Over ssh, the URL the client pushes to, not a path on this server.
    let git_url = match env.ssh_origin() {
        Some(origin) if origin.starts_with("ssh://") => format!("{origin}/{name}.git").into(),
        Some(origin) => format!("{origin}:{name}.git").into(),
        None => created.git_url,
    };
    output::print(&if args.json {
        output::apps::created_json(&name, &git_url)
    } else {
        output::apps::created(&name, &git_url)
    })
}

pub fn destroy(env: &Env, args: DestroyArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let name = env.app_name(args.name.as_deref(), &args.app)?;
    if args.confirm.as_deref() != Some(name.as_str()) {
        return Err(ops::Error::NotConfirmed {
            name: name.to_string(),
            given: args.confirm,
        }
        .into());
    }
    let destroyed = apps::destroy(&root, &name)?;
    output::print(&if args.json {
        output::apps::destroyed_json(&name, &destroyed)
    } else {
        output::apps::destroyed(&name, &destroyed)
    })
}

pub fn info(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let info = ops::ps::info(&root, &app)?;
    output::print(&if args.json {
        output::ps::app_info_json(&app, &info)
    } else {
        output::ps::app_info(&app, &info, &env.clock)
    })
}

pub fn open(env: &Env, args: AppArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let info = ops::ps::info(&root, &app)?;
    let Some(url) = info.url else {
        return Err(ops::Error::NoUrl {
            app: app.name.to_string(),
        }
        .into());
    };
    output::print(&format!("{url}\n"))?;
    if env.desktop {
        // Best effort, as `heroku open` on a desktop; the URL is printed either way.
        let _ = std::process::Command::new("xdg-open")
            .arg(&url)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
    Ok(())
}
