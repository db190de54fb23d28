//! `config`, `config:get`, `config:set`, `config:unset`: config vars, each change a release.

use clap::Args;

use super::env::{AppArg, Env};
use super::{observer, print_or_reported, print_outcome_json};
use crate::model::config::{check_key, parse_assignment};
use crate::ops::config;
use crate::output;

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    app: AppArg,
    /// Print JSON
    #[arg(long, conflicts_with = "shell")]
    json: bool,
    /// Print KEY=VALUE lines a shell can source
    #[arg(long)]
    shell: bool,
}

#[derive(Args)]
pub struct GetArgs {
    #[command(flatten)]
    app: AppArg,
    /// The var's name
    key: String,
}

#[derive(Args)]
pub struct SetArgs {
    #[command(flatten)]
    app: AppArg,
    /// Vars to set
    #[arg(required = true, value_name = "KEY=VALUE")]
    vars: Vec<String>,
    /// The release's description [default: Config add/change KEY, ...]
    #[arg(short = 'd', long)]
    description: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct UnsetArgs {
    #[command(flatten)]
    app: AppArg,
    /// Vars to remove
    #[arg(required = true, value_name = "KEY")]
    keys: Vec<String>,
    /// The release's description [default: Config remove KEY, ...]
    #[arg(short = 'd', long)]
    description: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn show(env: &Env, args: ShowArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let config = config::config_vars(&app)?;
    output::print(&if args.json {
        output::json(&config)
    } else if args.shell {
        output::config::config_shell(&config)
    } else {
        output::config::config_listing(app.name.as_str(), &config)
    })
}

pub fn get(env: &Env, args: GetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    check_key(&args.key)?;
    let value = config::config_vars(&app)?.remove(&args.key);
    // As Heroku: an unset var prints an empty line. The value is printed raw, for scripts.
    output::print(&format!("{}\n", value.unwrap_or_default()))
}

pub fn set(env: &Env, args: SetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let mut vars: Vec<(String, String)> = Vec::new();
    for arg in &args.vars {
        let (key, value) = parse_assignment(arg)?;
        // The last of repeated keys wins, as it would in a shell.
        vars.retain(|(k, _)| *k != key);
        vars.push((key, value));
    }
    let current = config::config_vars(&app)?;
    if !args.json {
        output::print(&output::config::config_assignments(&vars, &current))?;
    }
    let ctx = env.context(&root);
    let outcome = config::config_set(&ctx, &app, &vars, args.description, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, outcome.as_ref());
    }
    print_or_reported(output::config::set_result(&app.name, &outcome))
}

pub fn unset(env: &Env, args: UnsetArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let ctx = env.context(&root);
    let outcome = config::config_unset(&ctx, &app, &args.keys, args.description, &mut observer())?;
    if args.json {
        return print_outcome_json(&app, outcome.as_ref());
    }
    print_or_reported(output::config::unset_result(
        &app.name, &args.keys, &outcome,
    ))
}
