//! What a workflow can fail with: its own refusals, and the errors of the layers below, wrapped.

use std::io;
use std::path::PathBuf;

use crate::model::release::Version;

/// Anything a slipway command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("refusing to destroy '{name}' without --confirm {name}{}", given.as_ref().map(|g| format!(" (--confirm names '{}')", crate::base::text::escape_truncated(g, 60))).unwrap_or_default())]
    NotConfirmed { name: String, given: Option<String> },

    #[error("cannot roll back to v{version}: {reason}")]
    Rollback { version: Version, reason: String },

    #[error("cannot roll back to v{version}: add-ons changed since then ({changes})")]
    RollbackAddons { version: Version, changes: String },

    #[error("app '{app}' has no release to roll back to")]
    NothingToRollBack { app: String },

    #[error("cannot promote v{version}: {reason}")]
    Promote { version: Version, reason: String },

    #[error("cannot promote v{version}: add-ons changed since then ({changes})")]
    PromoteAddons {
        version: Version,
        base: Version,
        changes: String,
    },

    #[error("no app given")]
    NoApp,

    #[error(
        "this checkout has no git remote named '{}'",
        crate::base::text::escape_truncated(name, 60)
    )]
    NoRemote { name: String, known: Vec<String> },

    #[error("{name} is a one-off process: one-off processes are not restarted")]
    OneOffRestart { app: String, name: String },

    #[error("{app} has no URL: it serves no web process and app.yaml sets no url")]
    NoUrl { app: String },

    #[error("another push to '{app}' is still finishing")]
    PushInFlight { app: String },

    #[error("app '{app}' has no intact succeeded release to repair from")]
    NothingToRepairFrom { app: String },

    #[error("the quickstart's checkout {} has changes of yours ({files}), which its sample commits would overwrite", checkout.display())]
    CheckoutEdited { checkout: PathBuf, files: String },

    #[error("{app} has nothing to deploy: its {branch} branch was never pushed")]
    NothingPushed { app: String, branch: String },

    #[error("{refname} moved while this push was on its way")]
    BranchMoved { refname: String },

    #[error("the app has {count} buildpacks; say which to replace with --index")]
    SeveralBuildpacks { count: usize },

    #[error("the buildpack {buildpack} is already set on the app")]
    BuildpackExists { buildpack: String },

    #[error("the app has no buildpack {buildpack}")]
    NoSuchBuildpack { buildpack: String },

    #[error("there is no buildpack at index {index} (the app has {count})")]
    BuildpackIndex { index: usize, count: usize },

    #[error("{app} has no current release")]
    NoCurrentRelease { app: String },

    #[error("v{version} of {app} has no stored output (it was not built or launched here)")]
    NoBuildOutput { app: String, version: Version },

    #[error("'{text}' is not an interval of at least one second (try 30s, 5m or 1h)")]
    BadInterval { text: String },

    #[error("app '{app}' has no add-on '{name}'")]
    NoAddon { app: String, name: String },

    #[error("app '{app}' already has the add-on '{name}'")]
    AddonExists { app: String, name: String },

    #[error("{name} is already on the plan {plan}")]
    SamePlan { name: String, plan: String },

    #[error("add-on {name} would set {key}, which is already set")]
    AddonConfigConflict { name: String, key: String },

    #[error("the add-on hook failed to {action} {name}: {reason}")]
    AddonHook {
        action: &'static str,
        name: String,
        reason: String,
    },

    #[error("{reason}")]
    SshRefused { reason: String },

    #[error("'{command}': {reason}")]
    SshCommandRefused {
        command: String,
        #[source]
        reason: SshCommandError,
    },

    #[error("{} is not a bare git repository: {reason}", path.display())]
    NotABareRepo { path: PathBuf, reason: String },

    #[error("cannot name an app after the repository {}: {reason}", repo.display())]
    RepoNameNotAppName { repo: PathBuf, reason: &'static str },

    #[error("the repository {} already deploys app '{app}'", repo.display())]
    RepoOfOtherApp { repo: PathBuf, app: String },

    #[error("app '{app}' already deploys from {}", repo.display())]
    AppHasOtherRepo { app: String, repo: PathBuf },

    #[error("{} already exists and is not slipway's hook", path.display())]
    HookExists { path: PathBuf, chainable: bool },

    #[error("slipway's hook is already installed at {} (for another binary or root)", path.display())]
    HookInstalled { path: PathBuf },

    #[error("{} is slipway's hook for app '{app}'", path.display())]
    HookOfOtherApp { path: PathBuf, app: String },

    #[error("slipway's {hook} hook for app '{app}' is installed at {}", path.display())]
    HookElsewhere {
        hook: String,
        app: String,
        path: PathBuf,
        repo: PathBuf,
    },

    #[error("cannot move the existing hook aside: {} already exists", path.display())]
    AsideTaken { path: PathBuf },

    #[error("{} is a relative symlink, which moving it aside would break", path.display())]
    RelativeSymlinkHook { path: PathBuf },

    #[error("core.hooksPath of {} comes from {level} git config, so it is shared with other repositories", repo.display())]
    SharedHooksPath { repo: PathBuf, level: &'static str },

    #[error("hooks directory {} does not exist", path.display())]
    NoHooksDir { path: PathBuf },

    #[error("slipway has no hook installed in {}", repo.display())]
    NoHooks { repo: PathBuf },

    #[error("`{command}` failed ({status})")]
    CommandFailed { command: String, status: String },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("git: {action}: {}", source.message())]
    Git { action: String, source: git2::Error },

    #[error(transparent)]
    Watch(#[from] super::watch::WatchError),

    #[error(transparent)]
    Model(#[from] crate::model::Error),

    #[error(transparent)]
    Store(#[from] crate::store::Error),

    #[error(transparent)]
    Build(#[from] crate::build::Error),

    #[error(transparent)]
    Run(#[from] crate::run::Error),
}

/// Why the words of an ssh command are refused: shell syntax, or not exactly one plain `-a APP`.
#[derive(Debug, thiserror::Error)]
pub enum SshCommandError {
    #[error("unterminated {quote} quote")]
    UnterminatedQuote { quote: char },
    #[error("control characters are not allowed")]
    ControlCharacter,
    #[error("'{c}' inside double quotes is not allowed")]
    InDoubleQuotes { c: char },
    #[error("'{c}' is a shell metacharacter, and no shell runs here")]
    Metacharacter { c: char },
    #[error("{option} needs an app name")]
    NoAppName { option: String },
    /// `word` is escaped and shortened for the terminal.
    #[error("unknown option '{word}'")]
    UnknownOption { word: String },
    /// `word` is escaped and shortened for the terminal.
    #[error("write short options separately (not '{word}')")]
    ShortCluster { word: String },
    #[error("app commands over ssh need -a APP")]
    NoApp,
    #[error("give -a APP once")]
    AppTwice,
}

/// `Result` with the workflows' [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// Wraps a libgit2 error with what was being done.
    pub fn git(action: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let action = action.into();
        move |source| Error::Git { action, source }
    }
}

impl From<crate::build::StepError> for Error {
    fn from(e: crate::build::StepError) -> Error {
        Error::Build(e.into())
    }
}

impl From<crate::build::SourceError> for Error {
    fn from(e: crate::build::SourceError) -> Error {
        Error::Build(e.into())
    }
}
