//! Everything a user reads: the `----->` lines of a deploy, tables, JSON and times.
//!
//! The library hands over data and [`Event`]s; this module decides how they
//! look. User-controlled text (commit messages, config values, file names) is
//! escaped here before it reaches a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;

use crate::app::App;
use crate::clock::Clock;
use crate::config::Config;
use crate::event::{Event, Observer, SkipReason};
use crate::hook::{HookKind, shell_quote_if_needed};
use crate::install::{Health, HookStatus, Layout};
use crate::release::{Addon, Release, Status};
use crate::size::Size;

/// Heroku's step marker.
pub const STEP: &str = "-----> ";
/// Heroku's error marker.
pub const BANG: &str = " !     ";
/// Indentation for detail lines under a step.
pub const INDENT: &str = "       ";

/// Escapes control characters so user text cannot move the cursor or fake lines.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`escape`], for bytes that may not be UTF-8 (invalid bytes become `\xNN`).
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// The complete lines an event prints (each ending in `\n`); `None` for progress ticks.
pub fn event_lines(event: &Event) -> Option<String> {
    let text = match event {
        Event::Waiting { app } => format!("{STEP}Waiting for another change to {app} to finish\n"),
        Event::Skipped { refname, reason } => {
            let refname = escape(refname);
            match reason {
                SkipReason::NotDeployBranch { deploy_branch } => format!(
                    "{STEP}Pushed {refname}: not deployed (only {} deploys)\n",
                    escape(deploy_branch)
                ),
                SkipReason::Deleted => format!("{STEP}Deleted {refname}: nothing to deploy\n"),
            }
        }
        Event::AlreadyLive {
            version,
            short,
            live,
        } => {
            let state = if *live { "live" } else { "released" };
            format!("{STEP}{short} is already {state} as v{version}: nothing to deploy\n")
        }
        Event::Compiling { short, refname } => {
            format!("{STEP}Compiling {short} ({})\n", escape(refname))
        }
        Event::SubmoduleSkipped { path, commit } => format!(
            "{BANG}Warning: submodule {path} ({}) skipped: slugs hold only the repository's own files\n",
            crate::release::short_sha(commit)
        ),
        Event::Progress { .. } => return None,
        Event::Compressed { size, reused } => format!(
            "{STEP}Compressing... done, {}{}\n",
            Size(*size),
            if *reused { " (reused)" } else { "" }
        ),
        Event::Downloading { .. } => return None,
        Event::Downloaded { url, size } => {
            format!(
                "{STEP}Downloading {}... done, {}\n",
                escape(url),
                Size(*size)
            )
        }
        Event::Extracted { entries } => format!("{STEP}Extracting... done, {entries} entries\n"),
        Event::CompilingSource { name } => format!("{STEP}Compiling {}\n", escape(name)),
        Event::Building => format!("{STEP}Building...\n"),
        Event::BuildOutput { line } => format!("{INDENT}{}\n", escape(line)),
        Event::NotStrict { repo } => format!(
            "{BANG}Warning: build_on is pre-receive, but the app has no pre-receive hook: built after the push\n\
             {BANG}help: `slipway hooks:install --git-dir {} --hook pre-receive` rejects pushes that fail to build\n",
            escape(&shell_quote_if_needed(repo))
        ),
        Event::AutoDeploying {
            app,
            short,
            branch,
            url,
        } => format!(
            "{STEP}Auto-deploying {short} to {app} ({} of {})\n",
            escape(branch),
            escape(url)
        ),
        Event::Launched { version, url } => {
            let mut text = format!("{STEP}Launching... done, v{version}\n");
            if let Some(url) = url {
                let _ = writeln!(text, "{INDENT}{} deployed", escape(url));
            }
            text
        }
        Event::Released { version } => format!(
            "{STEP}Released v{version} (not promoted: `slipway releases:promote v{version}` makes it live)\n"
        ),
        Event::Failed { reason, help, live } => {
            let live = match live {
                Some(v) => format!("v{v} is still live"),
                None => "nothing is live yet".to_owned(),
            };
            let mut text = format!("{BANG}{}; {live}\n", escape(reason));
            if let Some(help) = help {
                let _ = writeln!(text, "{BANG}help: {}", escape(help));
            }
            text
        }
        Event::Rejected { short, reason } => format!(
            "{BANG}{}\n{BANG}Push rejected: {short} does not compile\n",
            escape(reason)
        ),
        Event::ReleaseCommand { command } => {
            format!("{STEP}Running release command: {}\n", escape(command))
        }
        Event::CommandOutput { line } => format!("{INDENT}{}\n", escape(line)),
        Event::LaunchFailed {
            reason,
            detail,
            live,
        } => {
            let live = match live {
                Some(v) => format!("v{v} is still live"),
                None => "nothing is live yet".to_owned(),
            };
            let mut text = format!("{BANG}{}; {live}\n", sentence(&escape(reason)));
            for line in detail {
                let _ = writeln!(text, "{INDENT}{}", escape(line));
            }
            text
        }
        Event::Warning { message } => format!("{BANG}Warning: {}\n", escape(message)),
    };
    Some(text)
}

/// `text` with its first letter capitalized, as a sentence on its own line starts.
fn sentence(text: &str) -> String {
    // "v12 did not ..." keeps its version as written.
    if text.starts_with('v') && text[1..].starts_with(|c: char| c.is_ascii_digit()) {
        return text.to_owned();
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Renders events for a pushing git client: the hook's stderr, which git relays as `remote:` lines.
///
/// Progress redraws one line with `\r` (git passes it through); no cursor movement.
pub struct Sideband<W: Write> {
    out: W,
    partial: bool,
    launch_lines: bool,
}

impl<W: Write> Sideband<W> {
    /// Writes every event to `out`.
    pub fn new(out: W) -> Sideband<W> {
        Sideband {
            out,
            partial: false,
            launch_lines: true,
        }
    }

    /// For commands that print their own result line (`config:set`, `rollback`, ...):
    /// leaves out the `Launching... done` step and keeps failures and launch output.
    pub fn without_launch_lines(out: W) -> Sideband<W> {
        Sideband {
            launch_lines: false,
            ..Sideband::new(out)
        }
    }
}

impl<W: Write> Observer for Sideband<W> {
    fn event(&mut self, event: Event) {
        // A client that hung up must not stop the deploy: write errors are ignored.
        if let Event::Progress { done, total } = event {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            let _ = write!(self.out, "\r{STEP}Compressing... {percent}%");
            let _ = self.out.flush();
            self.partial = true;
            return;
        }
        if !self.launch_lines && matches!(event, Event::Launched { .. } | Event::Released { .. }) {
            return;
        }
        let Some(text) = event_lines(&event) else {
            return;
        };
        if std::mem::take(&mut self.partial) {
            let lead = if matches!(event, Event::Compressed { .. }) {
                "\r"
            } else {
                "\n"
            };
            let _ = self.out.write_all(lead.as_bytes());
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago"; beyond a week `2010-09-12 15:32:17 -0700`.
pub fn when(then: Timestamp, clock: &Clock) -> String {
    let secs = clock.now.as_second() - then.as_second();
    let ago = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match secs {
        ..60 => "just now".to_owned(),
        60..3_600 => ago(secs / 60, "minute"),
        3_600..86_400 => ago(secs / 3_600, "hour"),
        86_400..604_800 => ago(secs / 86_400, "day"),
        _ => then
            .to_zoned_datetime(clock.tz().clone())
            .strftime("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
    }
}

/// Lays out rows under a header, each column as wide as its widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What a hook prints when git runs it for a repository that is not its app's (a shared hooks directory).
pub fn not_this_repo(app: &App, pushed: &Path) -> String {
    format!(
        "{BANG}slipway deploys '{}' from {}, not from {}: nothing to do\n",
        app.name,
        escape(&app.repo_dir().to_string_lossy()),
        escape(&pushed.to_string_lossy())
    )
}

/// The `hooks:status` table: App, Hook, Repository, Status.
pub fn hooks_table(statuses: &[HookStatus]) -> String {
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|s| {
            let hook = match s.installed.layout {
                Layout::Shim => s.installed.hook.to_string(),
                Layout::Chain => format!("{} (chained)", s.installed.hook),
                Layout::Dir => format!("{0} ({0}.d)", s.installed.hook),
            };
            vec![
                s.app.to_string(),
                hook,
                escape(&s.repo.to_string_lossy()).into_owned(),
                health_text(s),
            ]
        })
        .collect();
    table(&["App", "Hook", "Repository", "Status"], &rows)
}

/// `hooks:status --json`: one object per hook, with the command that fixes it when there is one.
pub fn hooks_json(statuses: &[HookStatus], root: &Path) -> String {
    #[derive(Serialize)]
    struct HookJson<'a> {
        app: String,
        hook: HookKind,
        repo: &'a Path,
        path: &'a Path,
        layout: Layout,
        original: Option<&'a Path>,
        slipway: Option<&'a Path>,
        ok: bool,
        status: String,
        fix: Option<String>,
    }
    let items: Vec<HookJson> = statuses
        .iter()
        .map(|s| HookJson {
            app: s.app.to_string(),
            hook: s.installed.hook,
            repo: &s.repo,
            path: &s.installed.path,
            layout: s.installed.layout,
            original: s.installed.original.as_deref(),
            slipway: s.exe.as_deref(),
            ok: s.health == Health::Ok,
            status: health_text(s),
            fix: fix_command(s, root),
        })
        .collect();
    json(&items)
}

/// A hook's health in a few words: `ok`, or what is wrong.
pub fn health_text(s: &HookStatus) -> String {
    let show = |p: &Path| escape(&p.to_string_lossy()).into_owned();
    match &s.health {
        Health::Ok => "ok".to_owned(),
        Health::StaleBinary => format!(
            "stale: runs {}, which is missing",
            s.exe.as_deref().map(show).unwrap_or_default()
        ),
        Health::OtherRoot(root) => format!("stale: deploys into another root, {}", show(root)),
        Health::Missing => format!("missing: {} is gone", show(&s.installed.path)),
        Health::Replaced => format!(
            "replaced: {} is no longer slipway's",
            show(&s.installed.path)
        ),
        Health::OriginalMissing(original) => {
            format!("broken chain: {} is gone", show(original))
        }
    }
}

/// The `error:` and `help:` lines for a hook that does not work.
pub fn hook_problem(s: &HookStatus, root: &Path) -> String {
    let mut text = format!(
        "error: the {} hook of '{}' in {} is {}\n",
        s.installed.hook,
        s.app,
        escape(&s.repo.to_string_lossy()),
        health_text(s)
    );
    match fix_command(s, root) {
        Some(fix) => {
            let _ = writeln!(text, "help: run `{fix}` to point it at this slipway");
        }
        None => {
            let _ = writeln!(
                text,
                "help: look at {}; `slipway hooks:uninstall --git-dir {}` takes slipway's hooks out",
                escape(&s.installed.path.to_string_lossy()),
                shell_quote_if_needed(&s.repo.to_string_lossy())
            );
        }
    }
    text
}

/// The `hooks:install --force` command that repairs a stale or missing hook.
pub fn fix_command(s: &HookStatus, root: &Path) -> Option<String> {
    if !s.health.fixed_by_force() {
        return None;
    }
    let quote = |p: &Path| shell_quote_if_needed(&p.to_string_lossy());
    let mut command = format!(
        "slipway --root {} hooks:install --force --git-dir {} --app {}",
        quote(root),
        quote(&s.repo),
        s.app
    );
    if s.installed.hook != HookKind::PostReceive {
        let _ = write!(command, " --hook {}", s.installed.hook);
    }
    if let Some(dir) = s.installed.hooks_dir() {
        let _ = write!(command, " --hooks-dir {}", quote(dir));
    }
    Some(escape(&command).into_owned())
}

/// The `releases` table: Rel, Change, By, When; newest first as given.
///
/// Failed and pending releases say so; the live release is marked when it is
/// not the newest (after a promote, or while auto-promote is off).
pub fn releases_table(releases: &[Release], current: Option<u32>, clock: &Clock) -> String {
    let newest = releases.iter().map(|r| r.version).max();
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            let mut change = escape(&r.description).into_owned();
            match r.status {
                Status::Succeeded if current == Some(r.version) && newest != current => {
                    change.push_str(" (current)");
                }
                Status::Succeeded => {}
                Status::Pending => change.push_str(" (pending)"),
                Status::Failed => change.push_str(" (failed)"),
            }
            vec![
                r.name(),
                change,
                escape(&r.user).into_owned(),
                when(r.created_at, clock),
            ]
        })
        .collect();
    table(&["Rel", "Change", "By", "When"], &rows)
}

/// `KEY => value` lines, the arrows aligned, each line starting with `indent` (the first with `first`).
fn arrows(first: &str, indent: &str, pairs: &[(&str, &str)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        let lead = if i == 0 { first } else { indent };
        let _ = writeln!(out, "{lead}{key:<width$} => {}", escape(value));
    }
    out
}

/// `heroku config`: a `=== APP Config Vars` header and aligned `KEY: value` lines.
pub fn config_listing(app: &str, config: &Config) -> String {
    if config.is_empty() {
        return format!("{app} has no config vars\n");
    }
    let width = config.keys().map(|k| k.len() + 1).max().unwrap_or(0);
    let mut out = format!("=== {app} Config Vars\n");
    for (key, value) in config {
        let label = format!("{key}:");
        let _ = writeln!(out, "{label:<width$} {}", escape(value));
    }
    out
}

/// `KEY='value'` lines that a POSIX shell reads back exactly.
pub fn config_shell(config: &Config) -> String {
    let safe = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@%+=".contains(c))
    };
    config
        .iter()
        .map(|(k, v)| {
            if safe(v) {
                format!("{k}={v}\n")
            } else {
                format!("{k}={}\n", crate::hook::shell_quote(v))
            }
        })
        .collect()
}

/// The lines `config:set` prints before its result: `  KEY => value`, aligned.
pub fn config_assignments(vars: &[(String, String)]) -> String {
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    format!("Adding config vars:\n{}", arrows("  ", "  ", &pairs))
}

/// The `addons` table: Add-on, Plan, Config vars.
pub fn addons_table(app: &str, addons: &[Addon]) -> String {
    if addons.is_empty() {
        return format!("{app} has no add-ons\n");
    }
    let rows: Vec<Vec<String>> = addons
        .iter()
        .map(|a| {
            let vars: Vec<&str> = a.config.keys().map(String::as_str).collect();
            vec![a.name.clone(), a.plan.clone(), vars.join(", ")]
        })
        .collect();
    table(&["Add-on", "Plan", "Config vars"], &rows)
}

/// The `releases:info` block, as Heroku prints it, plus status and commit.
pub fn release_info(
    release: &Release,
    current: Option<u32>,
    subject: Option<&str>,
    clock: &Clock,
) -> String {
    const LABEL: usize = 13;
    let mut out = format!("=== Release v{}\n", release.version);
    let mut field = |label: &str, value: &str| {
        let label = format!("{label}:");
        let _ = writeln!(out, "{label:<LABEL$}{value}");
    };
    field("Change", &escape(&release.description));
    field("By", &escape(&release.user));
    field("When", &when(release.created_at, clock));
    let status = match release.status {
        Status::Succeeded if current == Some(release.version) => "succeeded (current)",
        Status::Succeeded => "succeeded",
        Status::Pending => "pending",
        Status::Failed => "failed",
    };
    field("Status", status);
    if let Some(short) = release.short_commit() {
        let commit = match subject {
            Some(subject) => format!("{short} {}", escape(subject)),
            None => short.to_owned(),
        };
        field("Commit", &commit);
    }
    if !release.addons.is_empty() {
        let names: Vec<String> = release
            .addons
            .iter()
            .map(|a| format!("{}:{}", a.name, a.plan))
            .collect();
        field("Addons", &escape(&names.join(", ")));
    }
    if !release.config.is_empty() {
        let pairs: Vec<(&str, &str)> = release
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let first = format!("{:<LABEL$}", "Config:");
        out.push_str(&arrows(&first, &" ".repeat(LABEL), &pairs));
    }
    out
}

/// Said after a release that auto-promote did not make live.
pub fn not_promoted(version: u32) -> String {
    format!(
        "v{version} is not live yet (auto_promote is off): `slipway releases:promote v{version}` makes it live\n"
    )
}

/// A release as `--json` shows it: the record plus whether it is current.
#[derive(Serialize)]
pub struct ReleaseJson<'a> {
    #[serde(flatten)]
    release: &'a Release,
    current: bool,
}

/// Records as a JSON array, each with `current: true|false`.
pub fn releases_json(releases: &[Release], current: Option<u32>) -> String {
    let items: Vec<ReleaseJson> = releases
        .iter()
        .map(|release| ReleaseJson {
            release,
            current: current == Some(release.version),
        })
        .collect();
    json(&items)
}

/// Pretty JSON with a trailing newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `text` to stdout; a closed pipe (`slipway releases | head`) is not an error.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

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
pub fn ps_table(processes: &[crate::supervisor::protocol::ProcessStatus]) -> String {
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
pub fn ps_json(processes: &[crate::supervisor::protocol::ProcessStatus]) -> String {
    #[derive(Serialize)]
    struct ProcessJson<'a> {
        name: String,
        #[serde(flatten)]
        process: &'a crate::supervisor::protocol::ProcessStatus,
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
pub fn app_info(app: &App, info: &crate::supervisor::Info, clock: &Clock) -> String {
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
        ("Launcher", info.launcher.to_string()),
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
pub fn app_info_json(app: &App, info: &crate::supervisor::Info) -> String {
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
        current: Option<String>,
        state: &'a str,
        launcher: String,
        url: Option<&'a str>,
        processes: Vec<Formation<'a>>,
        repo: &'a Path,
    }
    json(&InfoJson {
        name: app.name.as_str(),
        current: info.current.as_ref().map(Release::name),
        state: info.state,
        launcher: info.launcher.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(now: &str) -> Clock {
        Clock::fixed(
            now.parse().unwrap(),
            jiff::tz::TimeZone::fixed(jiff::tz::offset(-7)),
        )
    }

    #[test]
    fn when_reads_like_heroku() {
        let c = clock("2010-09-20T12:00:00Z");
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(when(at("2010-09-20T11:59:30Z"), &c), "just now");
        assert_eq!(when(at("2010-09-20T11:59:00Z"), &c), "1 minute ago");
        assert_eq!(when(at("2010-09-20T11:55:00Z"), &c), "5 minutes ago");
        assert_eq!(when(at("2010-09-20T09:00:00Z"), &c), "3 hours ago");
        assert_eq!(when(at("2010-09-18T12:00:00Z"), &c), "2 days ago");
        assert_eq!(
            when(at("2010-09-12T22:32:17Z"), &c),
            "2010-09-12 15:32:17 -0700"
        );
    }

    #[test]
    fn escape_neutralizes_control_characters() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[2Jb\nc"), "a\\x1b[2Jb\\nc");
        assert_eq!(escape_bytes(b"caf\xe9"), "caf\\xe9");
    }

    #[test]
    fn table_pads_columns_without_trailing_space() {
        let rows = vec![vec![
            "v1".to_owned(),
            "Deploy 3f2c1a9".to_owned(),
            "alice".to_owned(),
            "1 minute ago".to_owned(),
        ]];
        assert_eq!(
            table(&["Rel", "Change", "By", "When"], &rows),
            "Rel  Change          By     When\nv1   Deploy 3f2c1a9  alice  1 minute ago\n"
        );
    }
}
