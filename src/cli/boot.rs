//! `boot` (start every app's supervisor, as the systemd unit does), and the hidden `supervise` and `serve-static`.

use std::path::PathBuf;

use clap::Args;

use super::Reported;
use super::env::{Env, current_exe};
use crate::model::name::AppName;
use crate::ops;
use crate::output;

#[derive(Args)]
pub struct BootArgs {}

#[derive(Args)]
pub struct SuperviseArgs {
    /// The app whose processes to supervise
    #[arg(long)]
    app: String,
    /// Start no release until asked to (the command that started it launches one)
    #[arg(long)]
    idle: bool,
}

#[derive(Args)]
pub struct ServeStaticArgs {
    /// The directory to serve
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The port to listen on (127.0.0.1)
    #[arg(long, env = "PORT")]
    port: u16,
}

pub fn boot(env: &Env, _args: BootArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let results = ops::ps::boot(&root, &current_exe()?)?;
    let (text, failed) = output::ps::booted(&results);
    output::print(&text)?;
    if failed {
        return Err(Reported.into());
    }
    Ok(())
}

pub fn supervise(env: &Env, args: SuperviseArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    ops::ps::supervise(root, app, current_exe()?, !args.idle)?;
    Ok(())
}

pub fn serve_static(_env: &Env, args: ServeStaticArgs) -> anyhow::Result<()> {
    ops::ps::serve_static(&args.dir, args.port)?;
    Ok(())
}
