//! `hooks:status` and `hooks:install` as tables, JSON and problem lines.

use std::path::Path;

use serde::Serialize;

use std::fmt::Write as _;

use super::{BANG, escape, json, shell_quote_if_needed, table};
use crate::model::refs::HookKind;
use crate::ops::hooks::{Change, Health, HookStatus, InstallReport, Layout, Removal, Uninstalled};
use crate::store::app::App;

/// What the hook says when git's input to it cannot be read.
pub const UNREADABLE_INPUT: &str = "cannot read the hook input from standard input";

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
    if statuses.is_empty() {
        return "No repository has slipway's hook\n".to_owned();
    }
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

fn show(path: &Path) -> String {
    escape(&path.to_string_lossy()).into_owned()
}

/// `hooks:install`'s lines: what was adopted, installed or chained, and whether pushes now deploy.
pub fn installed(report: &InstallReport) -> String {
    let (app, repo) = (&report.app, show(&report.repo));
    let mut text = String::new();
    if report.created_app {
        let _ = writeln!(text, "Adopting {repo} as app {app}... done");
    }
    let path = show(&report.installed.path);
    let hook = report.installed.hook;
    let _ = match report.change {
        Change::Installed => writeln!(text, "Installed the {hook} hook: {path}"),
        Change::Rewritten => writeln!(text, "Rewrote the {hook} hook: {path}"),
        Change::Unchanged => writeln!(text, "The {hook} hook is already installed: {path}"),
        Change::Chained => writeln!(
            text,
            "Installed the {hook} hook: {path}\n\
             The hook that was there runs first, from {}",
            report
                .installed
                .original
                .as_deref()
                .map(show)
                .unwrap_or_default()
        ),
    };
    if report.releases {
        let _ = writeln!(text, "Pushes to {repo} now deploy {app}.");
    } else {
        let _ = writeln!(
            text,
            "Pushes to {repo} are now checked, but nothing releases them: \
             install the post-receive hook too (slipway hooks:install --git-dir {})",
            shell_quote_if_needed(&report.repo.to_string_lossy())
        );
    }
    text
}

/// `hooks:uninstall`'s lines.
pub fn uninstalled(done: &Uninstalled) -> String {
    let mut text = String::new();
    for removed in &done.removed {
        let path = show(&removed.installed.path);
        let _ = match removed.removal {
            Removal::Removed => writeln!(text, "Removed {path}"),
            Removal::Restored => writeln!(text, "Restored {path}, the hook that was there before"),
            Removal::AlreadyGone => writeln!(text, "{path} was already gone"),
            Removal::LeftAlone => writeln!(text, "Left {path} alone: it is no longer slipway's"),
        };
    }
    let _ = writeln!(
        text,
        "Pushes to {} no longer deploy {}; its releases are kept.",
        show(&done.repo),
        done.app
    );
    text
}

/// The problem lines of `hooks:status`, for stderr; empty when every hook works.
pub fn problems(statuses: &[HookStatus], root: &Path) -> String {
    statuses
        .iter()
        .filter(|s| s.health != Health::Ok)
        .map(|s| hook_problem(s, root))
        .collect()
}
