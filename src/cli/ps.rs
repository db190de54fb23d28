//! `ps`, `ps:scale`, `ps:restart`, `restart`, `ps:stop`, `logs`: an app's processes under the local launcher.

use std::io::Write;

use clap::Args;

use super::env::{AppArg, AppJsonArgs, Env, current_exe};
use crate::model::formation::Scale;
use crate::ops::ps;
use crate::output;

#[derive(Args)]
pub struct ScaleArgs {
    #[command(flatten)]
    app: AppArg,
    /// TYPE=N for each process type to change, such as web=2 worker=1; none shows the counts
    #[arg(value_name = "TYPE=N")]
    changes: Vec<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RestartArgs {
    #[command(flatten)]
    app: AppArg,
    /// Only this process type (web) or process (web.1), restarted in place; without it every process, with no downtime
    #[arg(value_name = "TYPE[.N]")]
    kind: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct StopArgs {
    #[command(flatten)]
    app: AppArg,
    /// Only this process type (web) or process (web.1); without it every process and the supervisor
    #[arg(value_name = "TYPE[.N]")]
    name: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct KillArgs {
    #[command(flatten)]
    app: AppArg,
    /// The process type (web) or process (web.1) to kill
    #[arg(value_name = "TYPE[.N]")]
    name: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
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
    /// Only the lines of this process type (web) or process (web.1)
    #[arg(
        short = 'd',
        long = "dyno",
        visible_alias = "ps",
        visible_short_alias = 'p',
        value_name = "TYPE[.N]"
    )]
    dyno: Option<String>,
}

pub fn list(env: &Env, args: AppJsonArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let processes = ps::processes(&app)?;
    output::print(&if args.json {
        output::ps::ps_json(&processes)
    } else {
        output::ps::ps_table(&app.name, &processes)
    })
}

pub fn scale(env: &Env, args: ScaleArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let changes = args
        .changes
        .iter()
        .map(|c| c.parse::<Scale>())
        .collect::<Result<Vec<_>, _>>()?;
    let scaled = ps::scale(&root, &app, &current_exe()?, &changes)?;
    output::print(&if args.json {
        let counts: std::collections::BTreeMap<&str, u32> = scaled
            .counts
            .iter()
            .map(|(k, n)| (k.as_str(), *n))
            .collect();
        output::json(&counts)
    } else {
        output::ps::scaled(&scaled, changes.is_empty())
    })
}

pub fn restart(env: &Env, args: RestartArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    ps::restart(&root, &app, &current_exe()?, args.kind.as_deref())?;
    output::print(&match args.json {
        true => output::ps::acted_json(&app.name, "restart", args.kind.as_deref()),
        false => output::ps::restarted(args.kind.as_deref()),
    })
}

pub fn stop(env: &Env, args: StopArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    if let Some(name) = &args.name {
        let one_off = ps::stop_process(&app, name, false)?;
        return output::print(&match args.json {
            true => output::ps::acted_json(&app.name, "stop", Some(name)),
            false => output::ps::stopped_process(&app.name, name, false, one_off),
        });
    }
    let stopped = ps::stop(&app)?;
    output::print(&match args.json {
        true => output::ps::acted_json(&app.name, "stop", None),
        false => output::ps::stopped(&app.name, stopped),
    })
}

pub fn kill(env: &Env, args: KillArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let one_off = ps::stop_process(&app, &args.name, true)?;
    output::print(&match args.json {
        true => output::ps::acted_json(&app.name, "kill", Some(&args.name)),
        false => output::ps::stopped_process(&app.name, &args.name, true, one_off),
    })
}

pub fn logs(env: &Env, args: LogsArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.resolve_app(&root, &args.app)?;
    let only = ps::log_filter(args.dyno.as_deref())?;
    let (lines, cursor) = ps::last_log_lines(&app, args.num, only.as_ref())?;
    output::print(&output::ps::log_lines(&lines))?;
    if args.tail {
        let mut out = std::io::stdout();
        ps::follow_logs(&app, cursor, only.as_ref(), &mut |line| {
            out.write_all(output::ps::log_lines(&[line]).as_bytes())?;
            out.flush()
        })?;
    }
    Ok(())
}
