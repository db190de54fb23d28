//! `boot` (start every app's supervisor, as the systemd unit does), and the hidden `supervise` and `serve-static`.

use std::path::PathBuf;

use clap::Args;

use super::Reported;
use super::env::{Env, current_exe};
use crate::app::AppName;
use crate::output;
use crate::supervisor::{self, Booted, server};

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
    let results = supervisor::boot(&root, &current_exe()?)?;
    let mut text = String::new();
    let mut failed = false;
    for (name, outcome) in &results {
        match outcome {
            Booted::Running => text.push_str(&format!("Starting {name}... done\n")),
            Booted::Skipped(why) => text.push_str(&format!("Skipping {name}: {why}\n")),
            Booted::Failed(e) => {
                failed = true;
                text.push_str(&format!("Starting {name}... failed: {e}\n"));
            }
        }
    }
    if results.is_empty() {
        text.push_str("No apps\n");
    }
    output::print(&text)?;
    if failed {
        return Err(Reported.into());
    }
    Ok(())
}

pub fn supervise(env: &Env, args: SuperviseArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    server::run(server::Options {
        root,
        app,
        exe: current_exe()?,
        resume: !args.idle,
    })?;
    Ok(())
}

pub fn serve_static(_env: &Env, args: ServeStaticArgs) -> anyhow::Result<()> {
    crate::launch::serve_static::serve(&args.dir, args.port)?;
    Ok(())
}
