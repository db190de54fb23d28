//! `hook post-receive|pre-receive`: what the shim in a repository runs on every push.
//!
//! git's environment is read here and nowhere deeper: `GIT_DIR` (which
//! repository is being pushed to) and the quarantine object directories.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};

use super::Reported;
use super::env::Env;
use crate::model::refs::{self, HookKind, parse_updates};
use crate::ops::change::{Context, Outcome};
use crate::ops::deploy;
use crate::ops::prereceive::{self, Verdict};
use crate::output::{self, Sideband};
use crate::store::app::App;

#[derive(Args)]
pub struct HookArgs {
    /// Which git hook is running
    hook: HookName,
    /// The app whose repository this is
    #[arg(long)]
    app: String,
}

/// A git hook slipway can run as, on the command line.
#[derive(Clone, Copy, ValueEnum)]
pub enum HookName {
    PostReceive,
    PreReceive,
}

impl HookName {
    /// The library's name for it.
    pub fn kind(self) -> HookKind {
        match self {
            HookName::PostReceive => HookKind::PostReceive,
            HookName::PreReceive => HookKind::PreReceive,
        }
    }
}

pub fn run(env: &Env, args: HookArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app = env.app(&root, &args.app)?;
    let mut input = Vec::new();
    // One byte more than the parser accepts, so it can tell the input was longer.
    std::io::stdin()
        .lock()
        .take(refs::MAX_INPUT as u64 + 1)
        .read_to_end(&mut input)
        .context(output::hooks::UNREADABLE_INPUT)?;
    let updates = parse_updates(&input)?;
    // git relays the hook's stderr to the pushing client as `remote:` lines.
    let mut sideband = Sideband::new(std::io::stderr());
    if let Some(pushed) = pushed_elsewhere(&app) {
        // A hooks directory shared by several repositories: this push is not the app's.
        eprint!("{}", output::hooks::not_this_repo(&app, &pushed));
        return Ok(());
    }
    let ctx = env.context(&root);
    match args.hook.kind() {
        HookKind::PostReceive => match deploy::push(&ctx, &app, &updates, &mut sideband)? {
            Outcome::Failed(_) => Err(Reported.into()),
            Outcome::NothingToDeploy
            | Outcome::AlreadyLive(_)
            | Outcome::Live(_)
            | Outcome::Recorded(_) => Ok(()),
        },
        HookKind::PreReceive => {
            // The release's saved output says what the push said.
            let ctx = Context {
                log_lines: output::rejected_push_lines,
                ..ctx
            };
            let mut sideband = sideband.rejecting_push();
            let incoming = incoming_object_dirs();
            let pusher = crate::base::sys::ancestor_running("receive-pack", 4);
            match prereceive::check(&ctx, &app, &updates, &incoming, pusher, &mut sideband)? {
                Verdict::Rejected => Err(Reported.into()),
                Verdict::NothingToCheck | Verdict::Compiled(_) | Verdict::Deployed => Ok(()),
            }
        }
    }
}

/// The repository git is running the hook for (`GIT_DIR`), when it is not the app's.
fn pushed_elsewhere(app: &App) -> Option<PathBuf> {
    let git_dir = std::env::var_os("GIT_DIR")?;
    let pushed = std::path::absolute(git_dir).ok()?.canonicalize().ok()?;
    let ours = app.repo_dir().canonicalize().ok()?;
    (pushed != ours).then_some(pushed)
}

/// Where git keeps a push's objects until pre-receive accepts it, and the repository's own.
fn incoming_object_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["GIT_QUARANTINE_PATH", "GIT_OBJECT_DIRECTORY"] {
        dirs.extend(
            std::env::var_os(var)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        );
    }
    if let Some(value) = std::env::var_os("GIT_ALTERNATE_OBJECT_DIRECTORIES") {
        use std::os::unix::ffi::OsStrExt;
        dirs.extend(refs::parse_object_dirs(value.as_bytes()));
    }
    // Relative values are relative to where git runs the hook: here.
    dirs.into_iter()
        .filter_map(|d| std::path::absolute(d).ok())
        .collect()
}
