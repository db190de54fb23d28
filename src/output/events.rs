//! A deploy as it streams: the `----->` lines of each event, and the sideband writer that draws them for a pushing git client.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

use super::{BANG, INDENT, STEP, escape, help, shell_quote_if_needed};
use crate::base::size::Size;
use crate::build::{self, BuildpackError};
use crate::model::event::{Event, Observer, SkipReason};
use crate::ops;

/// The complete lines an event prints (each ending in `\n`); `None` for progress ticks.
pub fn event_lines(event: &Event) -> Option<String> {
    lines(event, Retry::Deploy)
}

/// Like [`event_lines`], for a push being decided in pre-receive: a failure is retried by pushing again.
pub fn rejected_push_lines(event: &Event) -> Option<String> {
    lines(event, Retry::Push)
}

/// How a failed deploy is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Retry {
    /// With `slipway deploy`: the commit is on the branch already (deploys after the push, `deploy`, `watch`).
    Deploy,
    /// By pushing again: the push is being rejected, and the branch did not move.
    Push,
}

fn lines(event: &Event, retry: Retry) -> Option<String> {
    let text = match event {
        Event::Waiting { app } => format!("{STEP}Waiting for another change to {app} to finish\n"),
        Event::Skipped { refname, reason } => {
            let refname = escape(refname);
            match reason {
                SkipReason::NotDeployBranch { deploy_branch } => {
                    let branch = escape(deploy_branch);
                    let mut text =
                        format!("{STEP}Pushed {refname}: not deployed (only {branch} deploys)\n");
                    // A default-branch name pushed to an app that deploys another: the usual slip.
                    if let Some(pushed) = refname
                        .strip_prefix("refs/heads/")
                        .filter(|b| ["main", "master"].contains(b))
                    {
                        let _ = writeln!(
                            text,
                            "{INDENT}To deploy it: git push slipway {pushed}:{branch}"
                        );
                    }
                    text
                }
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
        Event::DeployBranchChanged { from, to } => format!(
            "{STEP}The deploy branch is now {} ({} deployed until {} was pushed); \
             set deploy_branch: {} in app.yaml to keep {}\n",
            escape(to),
            escape(from),
            escape(to),
            escape(from),
            escape(from)
        ),
        Event::SubmoduleSkipped { path, commit } => format!(
            "{BANG}Warning: submodule {path} ({}) skipped: slugs hold only the repository's own files\n",
            crate::model::release::short_sha(commit)
        ),
        Event::Progress { .. } => return None,
        Event::Compressed { size, reused } => format!(
            "{STEP}Compressing... done, {}{}\n",
            Size(*size),
            if *reused { " (reused)" } else { "" }
        ),
        Event::Uploading { .. } => return None,
        Event::Uploaded {
            size,
            already_stored,
        } => format!(
            "{STEP}Uploading slug... done ({}{})\n",
            Size(*size),
            if *already_stored {
                ", already stored"
            } else {
                ""
            }
        ),
        Event::SlugDownloaded { size, millis } => format!(
            "{STEP}Downloading slug... done ({} at {})\n",
            Size(*size),
            rate(*size, *millis)
        ),
        Event::SlugCopied {
            sha256,
            size,
            already_there,
        } => format!(
            "{STEP}{} ({}): {}\n",
            sha256.get(..12).unwrap_or(sha256),
            Size(*size),
            if *already_there {
                "already there"
            } else {
                "copied and checked"
            }
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
        Event::FetchingBuildpack { buildpack } => {
            format!("{STEP}Fetching buildpack {}\n", escape(buildpack))
        }
        Event::UsingBuildpacks { resolved } => match resolved.as_slice() {
            [one] => format!("{STEP}Using buildpack: {}\n", escape(one)),
            many => {
                let mut text = format!("{STEP}Using buildpacks:\n");
                for (i, buildpack) in many.iter().enumerate() {
                    let _ = writeln!(text, "{INDENT}{}. {}", i + 1, escape(buildpack));
                }
                text
            }
        },
        Event::AppDetected { name } => format!("{STEP}{} app detected\n", escape(name)),
        Event::BuildpackOutput { line } => {
            let line = escape(line);
            if line.starts_with(STEP) || line.starts_with(INDENT) || line.starts_with(BANG) {
                format!("{line}\n")
            } else {
                format!("{INDENT}{line}\n")
            }
        }
        Event::ProcessTypes { declared, defaults } => process_types(declared, defaults),
        Event::BuildOutput { line } => format!("{INDENT}{}\n", escape(line)),
        Event::NotStrict { repo, setting } => {
            let (done, verb) = match *setting {
                "build_on" => ("built", "build"),
                _ => ("deployed", "deploy"),
            };
            format!(
                "{BANG}Warning: {setting} is pre-receive, but the app has no pre-receive hook: {done} after the push\n\
                 {BANG}help: `slipway hooks:install --git-dir {} --hook pre-receive` rejects pushes that fail to {verb}\n",
                escape(&shell_quote_if_needed(repo))
            )
        }
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
        Event::Failed { app, error, live } => {
            let live = match live {
                Some(v) => format!("v{v} is still live"),
                None => "nothing is live yet".to_owned(),
            };
            let mut text = match compile_failure(&*error.0) {
                Some(lines) => format!("{lines}{BANG}{}\n", sentence(&live)),
                None => format!("{BANG}{}; {live}\n", escape(&error.to_string())),
            };
            if let Some(help) = help::help_any(&*error.0) {
                let _ = writeln!(text, "{BANG}help: {}", escape(&help));
            }
            let again = match broken_procfile(&*error.0) {
                // The mistake is in the commit: the same commit can only fail again.
                true => "fix the Procfile, commit and push".to_owned(),
                false => retry_help(app, retry),
            };
            let _ = writeln!(text, "{BANG}help: {again}");
            text
        }
        Event::Rejected { short, error } => match compile_failure(&*error.0) {
            Some(lines) => lines,
            None => {
                let mut text = format!("{BANG}{}\n", escape(&error.to_string()));
                if let Some(help) = help::help_any(&*error.0) {
                    let _ = writeln!(text, "{BANG}help: {}", escape(&help));
                }
                let built = matches!(error.0.downcast_ref(), Some(ops::Error::Build(_)));
                let _ = match built {
                    true => writeln!(text, "{BANG}Push rejected: {short} does not compile"),
                    false => writeln!(text, "{BANG}Push rejected"),
                };
                text
            }
        },
        Event::ReleaseCommand { command } => {
            format!("{STEP}Running release command: {}\n", escape(command))
        }
        Event::CommandOutput { line } => format!("{INDENT}{}\n", escape(line)),
        Event::LaunchFailed {
            app,
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
            let _ = writeln!(
                text,
                "{BANG}help: `slipway logs -a {app}` shows what it printed; {}",
                retry_help(app, retry)
            );
            text
        }
        Event::Warning { message } => format!("{BANG}Warning: {}\n", escape(message)),
        Event::Unsandboxed { missing: None } => format!(
            "{BANG}Warning: sandbox: none — app code runs with slipway's own rights and can read every app's config\n"
        ),
        Event::Unsandboxed {
            missing: Some(reason),
        } => format!(
            "{BANG}Warning: no sandbox ({}) — app code runs with slipway's own rights and can read every app's config; install bubblewrap (apt-get install bubblewrap), or set sandbox: none to say so\n",
            escape(reason)
        ),
    };
    Some(text)
}

/// `120.5MB/s`: `size` bytes in `millis`.
fn rate(size: u64, millis: u64) -> String {
    let per_second = u128::from(size) * 1000 / u128::from(millis.max(1));
    format!("{}/s", Size(u64::try_from(per_second).unwrap_or(u64::MAX)))
}

/// Whether `error` is, through the layers' wrappers, a Procfile that does not parse.
fn broken_procfile(error: &(dyn std::error::Error + 'static)) -> bool {
    let model = match error.downcast_ref::<ops::Error>() {
        Some(ops::Error::Model(e)) => Some(e),
        Some(ops::Error::Run(crate::run::Error::Model(e))) => Some(e),
        Some(ops::Error::Store(crate::store::Error::Model(e))) => Some(e),
        Some(_) => None,
        None => match error.downcast_ref::<crate::run::Error>() {
            Some(crate::run::Error::Model(e)) => Some(e),
            _ => error.downcast_ref::<crate::model::Error>(),
        },
    };
    matches!(model, Some(crate::model::Error::BadProcfile { .. }))
}

/// How to try a failed release again without a new commit.
fn retry_help(app: &str, retry: Retry) -> String {
    match retry {
        Retry::Deploy => format!(
            "`slipway deploy -a {app}` deploys the same commit again (after a fix outside the code)"
        ),
        Retry::Push => "the branch did not move: pushing the same commit again retries it (after a fix outside the code)".to_owned(),
    }
}

/// Heroku's "Push rejected, failed to compile" lines, with the buildpack's last output, when `error` is a failed compile.
fn compile_failure(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let build = match error.downcast_ref::<ops::Error>() {
        Some(ops::Error::Build(build)) => build,
        Some(_) => return None,
        None => error.downcast_ref::<build::Error>()?,
    };
    let build::Error::Buildpack(BuildpackError::CompileFailed { name, status, tail }) = build
    else {
        return None;
    };
    let mut text = format!(
        "{BANG}Push rejected, failed to compile {} app.\n",
        escape(name)
    );
    // A buildpack that explained itself with ` !` lines is not repeated.
    if !tail.is_empty() && !tail.iter().any(|l| l.starts_with(BANG.trim_end())) {
        let _ = writeln!(text, "{BANG}bin/compile ended ({status}) after:");
        for line in tail {
            let _ = writeln!(text, "{INDENT}{}", escape(line.trim_start()));
        }
    }
    Some(text)
}

/// Heroku's "Discovering process types" step, saying plainly when nothing will run.
fn process_types(declared: &[String], defaults: &[String]) -> String {
    let list = |kinds: &[String]| {
        kinds
            .iter()
            .map(|k| escape(k).into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut text = format!("{STEP}Discovering process types\n");
    if declared.is_empty() && defaults.is_empty() {
        let _ = writeln!(
            text,
            "{INDENT}No Procfile and no default process types: nothing will run (add a Procfile)"
        );
        return text;
    }
    let procfile = if declared.is_empty() {
        "(none)".to_owned()
    } else {
        list(declared)
    };
    let _ = writeln!(text, "{INDENT}Procfile declares types -> {procfile}");
    if !defaults.is_empty() {
        let _ = writeln!(
            text,
            "{INDENT}Default types for buildpack -> {}",
            list(defaults)
        );
    }
    text
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
    retry: Retry,
}

impl<W: Write> Sideband<W> {
    /// Writes every event to `out`.
    pub fn new(out: W) -> Sideband<W> {
        Sideband {
            out,
            partial: false,
            launch_lines: true,
            retry: Retry::Deploy,
        }
    }

    /// For pre-receive: a failed deploy rejects the push, so pushing again is how to retry it.
    pub fn rejecting_push(self) -> Sideband<W> {
        Sideband {
            retry: Retry::Push,
            ..self
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
        let progress = match event {
            Event::Progress { done, total } => Some(("Compressing", done, total)),
            Event::Uploading { done, total } => Some(("Uploading slug", done, total)),
            _ => None,
        };
        if let Some((what, done, total)) = progress {
            let percent = (done.saturating_mul(100)).checked_div(total).unwrap_or(100);
            let _ = write!(self.out, "\r{STEP}{what}... {percent}%");
            let _ = self.out.flush();
            self.partial = true;
            return;
        }
        if !self.launch_lines && matches!(event, Event::Launched { .. } | Event::Released { .. }) {
            return;
        }
        let Some(text) = lines(&event, self.retry) else {
            return;
        };
        if std::mem::take(&mut self.partial) {
            let lead = if matches!(event, Event::Compressed { .. } | Event::Uploaded { .. }) {
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

/// `----->` lines on stderr, with percentages and an indicatif bar for downloads when stderr is a terminal.
pub struct Terminal {
    lines: Sideband<std::io::Stderr>,
    bar: Option<ProgressBar>,
    tty: bool,
}

impl Terminal {
    /// Draws on stderr.
    pub fn new() -> Terminal {
        Terminal {
            lines: Sideband::new(std::io::stderr()),
            bar: None,
            tty: std::io::stderr().is_terminal(),
        }
    }
}

impl Observer for Terminal {
    fn event(&mut self, event: Event) {
        if let Event::Downloading { done, total } = event {
            if !self.tty {
                return;
            }
            let bar = self.bar.get_or_insert_with(|| {
                let bar = match total {
                    Some(total) => ProgressBar::new(total).with_style(
                        ProgressStyle::with_template(
                            "-----> Downloading {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    ),
                    None => ProgressBar::new_spinner().with_style(
                        ProgressStyle::with_template(
                            "-----> Downloading {spinner} {bytes} {bytes_per_sec}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                    ),
                };
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar
            });
            bar.set_position(done);
            return;
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        // Redrawn percentages are for a person watching; a file or a pipe gets the lines alone.
        if !self.tty && matches!(event, Event::Progress { .. } | Event::Uploading { .. }) {
            return;
        }
        self.lines.event(event);
    }
}

impl Default for Terminal {
    fn default() -> Terminal {
        Terminal::new()
    }
}

/// Deploy events as complete lines on stdout (for `watch`, whose output is a log): no progress redraws.
pub struct Lines {
    inner: Sideband<std::io::Stdout>,
}

impl Lines {
    /// Writes to stdout.
    pub fn new() -> Lines {
        Lines {
            inner: Sideband::new(std::io::stdout()),
        }
    }
}

impl Default for Lines {
    fn default() -> Lines {
        Lines::new()
    }
}

impl Observer for Lines {
    fn event(&mut self, event: Event) {
        if !matches!(
            event,
            Event::Progress { .. } | Event::Uploading { .. } | Event::Downloading { .. }
        ) {
            self.inner.event(event);
            let _ = std::io::stdout().flush();
        }
    }
}
