//! `init`, `apps`, `apps:create`, `apps:destroy`.

use clap::Args;
use serde::Serialize;

use super::env::{AppJsonArgs, Env, current_exe};
use crate::app::{self, App, AppName};
use crate::output;
use crate::root::Root;

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
}

#[derive(Args)]
pub struct DestroyArgs {
    /// The app to delete
    name: String,
    /// The app's name again, to confirm
    #[arg(long, value_name = "NAME")]
    confirm: Option<String>,
}

pub fn init(env: &Env) -> anyhow::Result<()> {
    let root = Root::init(&env.root_dir)?;
    output::print(&format!(
        "Initialized slipway root in {}\n",
        root.dir().display()
    ))?;
    Ok(())
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let names = app::list(&root)?;
    if !args.json {
        let text: String = names.iter().map(|n| format!("{n}\n")).collect();
        output::print(&text)?;
        return Ok(());
    }
    #[derive(Serialize)]
    struct AppJson {
        name: String,
        repo: String,
        current: Option<String>,
    }
    let mut items = Vec::new();
    for name in names {
        let app = App::open(&root, &name)?;
        items.push(AppJson {
            repo: app.repo_dir().display().to_string(),
            current: app.store().current()?.map(|v| format!("v{v}")),
            name: name.to_string(),
        });
    }
    output::print(&output::json(&items))?;
    Ok(())
}

pub fn create(env: &Env, args: CreateArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let name: AppName = args.name.parse()?;
    let created = app::create(&root, &name, &current_exe()?)?;
    let url = created.git_url.display();
    output::print(&format!(
        "Creating {name}... done\n\
         Git repository: {url}\n\
         Add it as a remote and push to deploy:\n  \
           git remote add slipway {url}\n  \
           git push slipway main\n"
    ))?;
    Ok(())
}

pub fn destroy(env: &Env, args: DestroyArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let name: AppName = args.name.parse()?;
    if args.confirm.as_deref() != Some(name.as_str()) {
        return Err(crate::Error::NotConfirmed {
            name: name.to_string(),
        }
        .into());
    }
    let destroyed = app::destroy(&root, &name)?;
    let mut text = format!("Destroying {name}... done\n");
    if let Some((repo, _)) = destroyed.kept_repo {
        text.push_str(&format!(
            "Kept {}: slipway's hooks were taken out and what was there put back\n",
            output::escape(&repo.to_string_lossy())
        ));
    }
    output::print(&text)?;
    Ok(())
}

pub fn info(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let info = crate::supervisor::info(&root, &app)?;
    let text = if args.json {
        output::app_info_json(&app, &info)
    } else {
        output::app_info(&app, &info, &env.clock)
    };
    output::print(&text)?;
    Ok(())
}
