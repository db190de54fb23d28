//! `ps`, `ps:scale`, `ps:restart`, `restart`, `ps:stop`, `logs`: an app's processes under the local launcher.

use std::io::Write;

use clap::Args;

use super::env::{AppArg, AppJsonArgs, Env, current_exe};
use crate::launch::formation::Scale;
use crate::output;
use crate::supervisor::{self, logs};

#[derive(Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    app: AppArg,
    /// TYPE=N for each process type to change, such as web=2 worker=1; none shows the counts
    #[arg(value_name = "TYPE=N")]
    changes: Vec<String>,
}

#[derive(Args)]
pub struct RestartArgs {
    #[command(flatten)]
    app: AppArg,
    /// Only this process type (restarted in place); without it every process, with no downtime
    #[arg(value_name = "TYPE")]
    kind: Option<String>,
}

#[derive(Args)]
pub struct AppOnlyArgs {
    #[command(flatten)]
    app: AppArg,
}

#[derive(Args)]
pub struct LogsArgs {
    #[command(flatten)]
    app: AppArg,
    /// How many lines to show
    #[arg(short = 'n', long = "num", default_value_t = 100, value_name = "N")]
    num: usize,
    /// Keep printing new lines as they are written, until Ctrl-C
    #[arg(short = 't', long)]
    tail: bool,
}

pub fn list(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let processes = supervisor::processes(&app)?;
    let text = if args.json {
        output::ps_json(&processes)
    } else if processes.is_empty() {
        format!("{} has no processes running\n", app.name)
    } else {
        output::ps_table(&processes)
    };
    output::print(&text)?;
    Ok(())
}

pub fn scale(env: &Env, args: ScaleArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let changes = args
        .changes
        .iter()
        .map(|c| c.parse::<Scale>())
        .collect::<crate::Result<Vec<_>>>()?;
    if changes.is_empty() {
        let info = supervisor::info(&root, &app)?;
        let counts: Vec<String> = info
            .formation
            .iter()
            .map(|(k, n, _)| format!("{k}={n}"))
            .collect();
        output::print(&format!("{}\n", counts.join(" ")))?;
        return Ok(());
    }
    let scaled = supervisor::scale(&root, &app, &current_exe()?, &changes)?;
    output::print(&format!(
        "Scaling processes... done, now running {}\n",
        output::formation_text(&scaled.counts)
    ))?;
    Ok(())
}

pub fn restart(env: &Env, args: RestartArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    if let Some(kind) = &args.kind {
        crate::launch::procfile::check_type(kind).map_err(|reason| {
            crate::Error::BadProcessType {
                kind: output::escape(kind).into_owned(),
                reason,
            }
        })?;
    }
    supervisor::restart(&root, &app, &current_exe()?, args.kind.as_deref())?;
    let what = args
        .kind
        .as_deref()
        .map_or(String::new(), |k| format!("{k} "));
    output::print(&format!("Restarting {what}processes... done\n"))?;
    Ok(())
}

pub fn stop(env: &Env, args: AppOnlyArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let text = if supervisor::stop(&app)? {
        format!(
            "Stopping {}'s processes... done\n(`slipway ps:restart -a {}` or a deploy starts them again)\n",
            app.name, app.name
        )
    } else {
        format!("{} has no processes running\n", app.name)
    };
    output::print(&text)?;
    Ok(())
}

pub fn logs(env: &Env, args: LogsArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let (lines, cursor) = logs::last_lines(&app.logs_dir(), args.num)?;
    let text: String = lines
        .iter()
        .map(|l| format!("{}\n", output::escape(l)))
        .collect();
    output::print(&text)?;
    if args.tail {
        let mut out = std::io::stdout();
        logs::follow(&app.logs_dir(), cursor, &mut |line| {
            writeln!(out, "{}", output::escape(line))?;
            out.flush()
        })?;
    }
    Ok(())
}
