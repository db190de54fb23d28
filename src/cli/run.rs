//! `run` and `run:detached`: a one-off process in the current release's environment; and the hidden `one-off` runner behind `run:detached`.

use std::io::{IsTerminal, Write};

use clap::Args;

use super::Reported;
use super::env::{AppArg, Env, current_exe};
use crate::model::release::Version;
use crate::ops;
use crate::output;

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    app: AppArg,
    /// The command: its words are joined with spaces and run by sh, as `heroku run` does (put it after `--`)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    command: Vec<String>,
}

#[derive(Args)]
pub struct DetachedArgs {
    /// Print the one-off that was started as JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
pub struct RunnerArgs {
    /// The app
    #[arg(long)]
    app: String,
    /// Who started it
    #[arg(long)]
    user: String,
    /// The release whose code and config it runs with
    #[arg(long)]
    release: Version,
    /// The command line, for sh
    #[arg(last = true, required = true)]
    command: String,
}

/// Runs the command attached to this terminal (or these pipes) and exits with its exit status.
pub fn run(env: &Env, args: RunArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let command = ops::run::command_line(&args.command);
    let term = std::env::var("TERM").ok();
    let prepared = ops::run::prepare(
        &root,
        &app,
        &current_exe()?,
        &command,
        &env.user,
        term.as_deref(),
    )?;
    eprint!(
        "{}",
        output::ps::running(&command, &app.name, prepared.name(), false)
    );
    let exit = prepared.attach(std::io::stdin().is_terminal())?;
    let _ = std::io::stdout().flush();
    // The command's own exit status is ours: nothing is left to clean up or print.
    std::process::exit(exit.code)
}

/// Starts the command in the background, its output in the app's logs.
pub fn detached(env: &Env, args: DetachedArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.run.app)?;
    let command = ops::run::command_line(&args.run.command);
    let name = ops::run::detached(&root, &app, &current_exe()?, &command, &env.user)?;
    output::print(&match args.json {
        true => output::ps::running_json(&command, &app.name, &name),
        false => output::ps::running(&command, &app.name, &name, true),
    })
}

/// The runner: says `ok run.N` (or `error REASON`) on its first line of stdout, then runs the command until it exits.
pub fn runner(env: &Env, args: RunnerArgs) -> anyhow::Result<()> {
    let mut out = std::io::stdout();
    let result = (|| -> anyhow::Result<()> {
        let root = env.root()?;
        let app = env.app(&root, &args.app)?;
        let started = |name: &str| {
            let _ = writeln!(out, "ok {name}").and_then(|()| out.flush());
        };
        ops::run::runner(
            &root,
            &app,
            &current_exe()?,
            args.release,
            &args.command,
            &args.user,
            started,
        )?;
        Ok(())
    })();
    if let Err(e) = result {
        let message = output::help::error_lines(&e);
        let first = message.lines().next().unwrap_or("error: failed");
        let _ = writeln!(
            std::io::stdout(),
            "error {}",
            first.trim_start_matches("error: ")
        );
        return Err(Reported.into());
    }
    Ok(())
}
