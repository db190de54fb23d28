//! Processes and apps: `ps`, `apps:info`, uptimes.

use std::fmt::Write as _;

use serde::Serialize;

use super::{escape, json, table, when};
use std::path::Path;

use crate::base::clock::Clock;
use crate::model::name::AppName;
use crate::model::release::Version;
use crate::run::sandbox::Choice;
use crate::run::supervisor::protocol::ProcessStatus;
use crate::run::supervisor::{Booted, Info, Scaled};
use crate::store::app::App;

/// "42s", "5m 3s", "2h 5m", "3d 4h": how long a process has been up.
pub fn uptime(secs: u64) -> String {
    match secs {
        ..60 => format!("{secs}s"),
        60..3_600 => format!("{}m {}s", secs / 60, secs % 60),
        3_600..86_400 => format!("{}h {}m", secs / 3_600, secs % 3_600 / 60),
        _ => format!("{}d {}h", secs / 86_400, secs % 86_400 / 3_600),
    }
}

/// The `ps` table: Process, State, Release, PID, Uptime, Command.
pub fn ps_table(app: &AppName, processes: &[ProcessStatus]) -> String {
    if processes.is_empty() {
        return format!("{app} has no processes running\n");
    }
    let rows: Vec<Vec<String>> = processes
        .iter()
        .map(|p| {
            vec![
                p.name(),
                p.state.clone(),
                format!("v{}", p.release),
                p.pid
                    .map(|pid| pid.to_string())
                    .unwrap_or_else(|| "-".into()),
                if p.pid.is_some() {
                    uptime(p.uptime_secs)
                } else {
                    "-".into()
                },
                escape(&p.command).into_owned(),
            ]
        })
        .collect();
    table(
        &["Process", "State", "Release", "PID", "Uptime", "Command"],
        &rows,
    )
}

/// `ps --json`: one object per process.
pub fn ps_json(processes: &[ProcessStatus]) -> String {
    #[derive(Serialize)]
    struct ProcessJson<'a> {
        name: String,
        #[serde(flatten)]
        process: &'a ProcessStatus,
    }
    let items: Vec<ProcessJson> = processes
        .iter()
        .map(|process| ProcessJson {
            name: process.name(),
            process,
        })
        .collect();
    json(&items)
}

/// `web at 2, worker at 1`.
pub fn formation_text(counts: &[(String, u32)]) -> String {
    let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k} at {n}")).collect();
    if parts.is_empty() {
        "nothing".into()
    } else {
        parts.join(", ")
    }
}

/// The `apps:info` block.
pub fn app_info(app: &App, info: &Info, clock: &Clock) -> String {
    let current = match &info.current {
        Some(r) => format!(
            "{} ({}, {})",
            r.name(),
            escape(&r.description),
            when(r.created_at, clock)
        ),
        None => "none".into(),
    };
    let processes: Vec<String> = info
        .formation
        .iter()
        .map(|(k, wanted, up)| format!("{k}: {up}/{wanted} up"))
        .collect();
    let rows = [
        ("Current release", current),
        ("State", info.state.to_owned()),
        (
            "Maintenance",
            match info.maintenance {
                true => "on".into(),
                false => "off".into(),
            },
        ),
        ("Launcher", info.launcher.to_string()),
        ("Sandbox", sandbox(&info.sandbox)),
        (
            "URL",
            info.url
                .as_deref()
                .map_or_else(|| "none".into(), |u| escape(u).into_owned()),
        ),
        (
            "Processes",
            if processes.is_empty() {
                "none".into()
            } else {
                processes.join(", ")
            },
        ),
        (
            "Git repository",
            escape(&info.repo.to_string_lossy()).into_owned(),
        ),
    ];
    let mut text = format!("=== {}\n", app.name);
    for (label, value) in rows {
        let _ = writeln!(text, "{:<16} {value}", format!("{label}:"));
    }
    text
}

/// `apps:info --json`.
pub fn app_info_json(app: &App, info: &Info) -> String {
    #[derive(Serialize)]
    struct Formation<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        wanted: u32,
        up: u32,
    }
    #[derive(Serialize)]
    struct InfoJson<'a> {
        name: &'a str,
        current: Option<Version>,
        state: &'a str,
        maintenance: bool,
        launcher: String,
        sandbox: &'a str,
        url: Option<&'a str>,
        processes: Vec<Formation<'a>>,
        repo: &'a Path,
    }
    json(&InfoJson {
        name: app.name.as_str(),
        current: info.current.as_ref().map(|r| r.version),
        state: info.state,
        maintenance: info.maintenance,
        launcher: info.launcher.to_string(),
        sandbox: match info.sandbox {
            Choice::Bwrap { .. } => "bwrap",
            Choice::Off | Choice::Missing { .. } => "none",
            Choice::Broken { .. } => "unavailable",
        },
        url: info.url.as_deref(),
        processes: info
            .formation
            .iter()
            .map(|(kind, wanted, up)| Formation {
                kind,
                wanted: *wanted,
                up: *up,
            })
            .collect(),
        repo: &info.repo,
    })
}

/// How app code is confined, as `apps:info` says it: loudly when it is not.
fn sandbox(choice: &Choice) -> String {
    const OPEN: &str = "app code runs with slipway's own rights and can read every app's config";
    match choice {
        Choice::Bwrap { user: None } => "bwrap".into(),
        Choice::Bwrap { user: Some(user) } => format!("bwrap, as {}", escape(user)),
        Choice::Off => format!("none (sandbox: none): {OPEN}"),
        Choice::Missing { reason } => format!("none ({}): {OPEN}", escape(reason)),
        Choice::Broken { reason } => {
            format!("unavailable ({}): app code cannot run", escape(reason))
        }
    }
}

/// `ps:scale`'s line; with no changes asked, the counts as they are.
pub fn scaled(scaled: &Scaled, only_shown: bool) -> String {
    if only_shown {
        if scaled.counts.is_empty() {
            return match scaled.deployed {
                true => "no process types\n".to_owned(),
                false => "no process types: nothing is deployed yet\n".to_owned(),
            };
        }
        let counts: Vec<String> = scaled
            .counts
            .iter()
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        return format!("{}\n", counts.join(" "));
    }
    match scaled.deployed {
        true => format!(
            "Scaling processes... done, now running {}\n",
            formation_text(&scaled.counts)
        ),
        false => format!(
            "Scaling processes... done, {} from the first deploy\n",
            formation_text(&scaled.counts)
        ),
    }
}

/// `ps:restart`, `ps:stop`, `ps:kill` with `--json`: the app, what was done, and to which process or type (`null`: all).
pub fn acted_json(app: &AppName, action: &str, process: Option<&str>) -> String {
    super::json(&serde_json::json!({"app": app.as_str(), "action": action, "process": process}))
}

/// `ps:restart`'s line.
pub fn restarted(kind: Option<&str>) -> String {
    match kind {
        Some(one) if one.contains('.') => format!("Restarting {} process... done\n", escape(one)),
        Some(kind) => format!("Restarting {} processes... done\n", escape(kind)),
        None => "Restarting processes... done\n".into(),
    }
}

/// `ps:stop NAME` and `ps:kill NAME`'s lines; a one-off (`run.N`) is gone for good.
pub fn stopped_process(app: &AppName, name: &str, kill: bool, one_off: bool) -> String {
    let verb = match kill {
        true => "Killing",
        false => "Stopping",
    };
    let name = escape(name);
    let what = match name.contains('.') {
        true => format!("{name} process"),
        false => format!("{name} processes"),
    };
    if one_off {
        return format!("{verb} {what}... done\n");
    }
    format!(
        "{verb} {what}... done\n(`slipway ps:restart {name} -a {app}`, a scale or a deploy starts {} again)\n",
        match name.contains('.') {
            true => "it",
            false => "them",
        }
    )
}

/// `ps:stop`'s lines.
pub fn stopped(app: &AppName, stopped: bool) -> String {
    if stopped {
        format!(
            "Stopping {app}'s processes... done\n(`slipway ps:restart -a {app}` or a deploy starts them again)\n"
        )
    } else {
        format!("{app} has no processes running\n")
    }
}

/// `maintenance:on` and `maintenance:off`'s line, in Heroku's words.
pub fn maintenance_set(app: &AppName, on: bool) -> String {
    let verb = match on {
        true => "Enabling",
        false => "Disabling",
    };
    format!("{verb} maintenance mode for {app}... done\n")
}

/// `maintenance`'s answer.
pub fn maintenance(on: bool) -> String {
    match on {
        true => "on\n".into(),
        false => "off\n".into(),
    }
}

/// `run`'s line (on stderr, before the command's output) and `run:detached`'s lines, in Heroku's words.
pub fn running(command: &str, app: &AppName, name: &str, detached: bool) -> String {
    let command = escape(command);
    match detached {
        false => format!("Running `{command}` on {app}... up, {name}\n"),
        true => format!(
            "Running `{command}` on {app}... done, {name}\n\
             Use `slipway logs -a {app} --ps {name}` to view the output.\n"
        ),
    }
}

/// `maintenance --json`.
pub fn maintenance_json(app: &AppName, on: bool) -> String {
    json(&serde_json::json!({ "app": app.as_str(), "maintenance": on }))
}

/// `run:detached --json`: the one-off that was started.
pub fn running_json(command: &str, app: &AppName, name: &str) -> String {
    json(&serde_json::json!({ "app": app.as_str(), "name": name, "command": command }))
}

/// Log lines, escaped, one per line.
pub fn log_lines<S: AsRef<str>>(lines: &[S]) -> String {
    lines
        .iter()
        .map(|l| format!("{}\n", escape(l.as_ref())))
        .collect()
}

/// `boot`'s lines, and whether any app failed to start.
pub fn booted(results: &[(AppName, Booted)]) -> (String, bool) {
    let mut text = String::new();
    let mut failed = false;
    for (name, outcome) in results {
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
    (text, failed)
}
