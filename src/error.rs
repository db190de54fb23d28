//! The errors slipway reports: each names what failed and the value it failed on.

use std::io;
use std::path::PathBuf;

use crate::size::Size;

/// Anything a slipway command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is not a slipway root", root.display())]
    NotARoot { root: PathBuf },

    #[error("invalid app name '{name}': {reason}")]
    BadAppName { name: String, reason: &'static str },

    #[error("no app named '{name}'")]
    UnknownApp { name: String },

    #[error("app '{name}' already exists")]
    AppExists { name: String },

    #[error("refusing to destroy '{name}' without --confirm {name}")]
    NotConfirmed { name: String },

    #[error("app '{app}' has no release v{version}")]
    NoRelease { app: String, version: u32 },

    #[error("'{text}' is not a release version (expected something like v12)")]
    BadVersion { text: String },

    #[error("release record {} is corrupt: {reason}", path.display())]
    CorruptRecord { path: PathBuf, reason: String },

    #[error("settings file {} is invalid: {reason}", path.display())]
    Settings { path: PathBuf, reason: String },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("git: {action}: {}", source.message())]
    Git { action: String, source: git2::Error },

    #[error("malformed hook input on line {line}: '{text}' ({reason})")]
    HookInput {
        line: usize,
        text: String,
        reason: &'static str,
    },

    #[error("'{rev}' does not name a commit in {}", repo.display())]
    UnknownRevision { rev: String, repo: PathBuf },

    #[error("compiled slug is larger than the {max} limit")]
    SlugTooLarge { max: Size },

    #[error("tree entry '{path}' cannot go in a slug: {reason}")]
    BadTreeEntry { path: String, reason: &'static str },

    #[error("slug {sha256} is missing from {}", dir.display())]
    SlugMissing { sha256: String, dir: PathBuf },

    #[error("slug {} is corrupt: its sha256 is {actual}", path.display())]
    SlugCorrupt { path: PathBuf, actual: String },

    #[error("invalid config var name '{key}'")]
    BadConfigKey { key: String },

    #[error("'{arg}' is not KEY=VALUE")]
    BadConfigAssignment { arg: String },

    #[error("invalid add-on '{spec}': {reason}")]
    BadAddon { spec: String, reason: &'static str },

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

    #[error("cannot roll back to v{version}: {reason}")]
    Rollback { version: u32, reason: String },

    #[error("cannot roll back to v{version}: add-ons changed since then ({changes})")]
    RollbackAddons { version: u32, changes: String },

    #[error("app '{app}' has no release to roll back to")]
    NothingToRollBack { app: String },

    #[error("cannot promote v{version}: {reason}")]
    Promote { version: u32, reason: String },

    #[error("no app given")]
    NoApp,

    #[error("{reason}")]
    LaunchFailed { reason: String, detail: Vec<String> },

    #[error("Procfile line {line}: {reason}")]
    BadProcfile { line: usize, reason: String },

    #[error("slug entry '{path}' cannot be unpacked: {reason}")]
    BadSlugEntry { path: String, reason: &'static str },

    #[error("invalid process type '{kind}': {reason}")]
    BadProcessType { kind: String, reason: &'static str },

    #[error("invalid scale '{arg}': {reason}")]
    BadScale { arg: String, reason: &'static str },

    #[error("the Procfile of v{version} has no process type '{kind}'")]
    NoProcessType {
        kind: String,
        version: u32,
        types: String,
    },

    #[error("the supervisor of '{app}' failed: {reason}")]
    Supervisor { app: String, reason: String },

    #[error("app '{app}' has no current release to run")]
    NothingRunning { app: String },

    #[error("app '{app}' is not run by the local launcher")]
    NotLocal { app: String },

    #[error("no free port left in port_range {range}")]
    NoFreePort { range: crate::root::PortRange },

    #[error("the exec launcher needs the executable {}", path.display())]
    NoLaunchHook { path: PathBuf },

    #[error("`{command}` failed ({status})")]
    CommandFailed { command: String, status: String },

    #[error(transparent)]
    Source(#[from] crate::source::SourceError),

    #[error(transparent)]
    Watch(#[from] crate::watch::WatchError),

    #[error(transparent)]
    Build(#[from] crate::build::BuildError),

    #[error("invalid user name '{name}': {reason}")]
    BadUserName { name: String, reason: &'static str },

    #[error("no user named '{name}' has a key")]
    UnknownUser { name: String },

    #[error("not a usable ssh public key: {reason}")]
    BadPublicKey { reason: String },

    #[error("key {fingerprint} is already registered to '{user}'")]
    KeyExists { fingerprint: String, user: String },

    #[error("no key matches {what}")]
    UnknownKey { what: String },

    #[error("'{user}' can already access '{app}'")]
    AlreadyGranted { user: String, app: String },

    #[error("'{user}' was not granted access to '{app}'")]
    NotGranted { user: String, app: String },

    #[error("key store {} is corrupt: {reason}", path.display())]
    CorruptKeys { path: PathBuf, reason: String },

    #[error("cannot put {} in an authorized_keys command: {reason}", path.display())]
    UnsafePath { path: PathBuf, reason: &'static str },

    #[error("{reason}")]
    SshRefused { reason: String },
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
}

/// `Result` with slipway's [`Error`].
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

    /// The obvious next step for the user, printed as a `help:` line.
    pub fn help(&self) -> Option<String> {
        match self {
            Error::NotARoot { root } => Some(format!(
                "create it with `slipway --root {} init`, or point --root / SLIPWAY_ROOT at an existing root",
                root.display()
            )),
            Error::BadAppName { .. } => Some(
                "app names start with a lowercase letter, then lowercase letters, digits or dashes, at most 30 characters"
                    .into(),
            ),
            Error::Source(e) => e.help(),
            Error::Watch(e) => e.help(),
            Error::Build(e) => e.help(),
            Error::UnknownApp { .. } => {
                Some("`slipway apps` lists the apps; `slipway apps:create NAME` makes one".into())
            }
            Error::NotConfirmed { name } => Some(format!(
                "this deletes the app's repository and releases; run `slipway apps:destroy {name} --confirm {name}`"
            )),
            Error::NoRelease { app, .. } => {
                Some(format!("`slipway releases -a {app}` lists its releases"))
            }
            Error::BadConfigKey { .. } => Some(
                "config var names are letters, digits and underscores, not starting with a digit".into(),
            ),
            Error::BadConfigAssignment { .. } => {
                Some("set vars as `slipway config:set KEY=VALUE ...`".into())
            }
            Error::BadAddon { .. } => Some("name an add-on as NAME or NAME:PLAN, such as memcachier:100".into()),
            Error::NoAddon { app, .. } => Some(format!("`slipway addons -a {app}` lists its add-ons")),
            Error::RollbackAddons { version, .. } => Some(format!(
                "rolling back does not change add-ons; make them match v{version} with addons:add/addons:remove first, or roll back to a newer release"
            )),
            Error::CorruptRecord { .. } => Some(
                "`slipway fsck` lists every problem; move the damaged file aside (or restore it from a backup) to go on"
                    .into(),
            ),
            Error::NoApp => Some(
                "pass -a APP, set SLIPWAY_APP, or run this in a checkout whose git remote `slipway` points at the app"
                    .into(),
            ),
            Error::SlugTooLarge { .. } => Some(
                "add large files that the app does not need at run time to .slugignore, or raise max_slug_size in app.yaml"
                    .into(),
            ),
            Error::BadUserName { .. } => Some(
                "user names start with a lowercase letter, then lowercase letters, digits, dots, underscores, dashes or @, at most 64 characters"
                    .into(),
            ),
            Error::UnknownUser { name } => Some(format!(
                "add a key for them first: `slipway keys:add {name} < {name}.pub`"
            )),
            Error::BadPublicKey { .. } => Some(
                "give the one line of a .pub file, such as `slipway keys:add alice < ~/.ssh/id_ed25519.pub`"
                    .into(),
            ),
            Error::KeyExists { .. } | Error::UnknownKey { .. } => {
                Some("`slipway keys` lists the keys and their fingerprints".into())
            }
            Error::NotGranted { app, .. } => {
                Some(format!("`slipway access {app}` lists who can access it"))
            }
            Error::UnsafePath { .. } => Some(
                "move the root or the slipway binary to a path without double quotes or control characters"
                    .into(),
            ),
            Error::NotABareRepo { .. } => Some(
                "pass the repository that pushes go to (a bare repository, such as /srv/git/NAME.git)"
                    .into(),
            ),
            Error::RepoNameNotAppName { .. } => Some("choose the app's name with --app NAME".into()),
            Error::RepoOfOtherApp { app, .. } => Some(format!(
                "a repository deploys one app; `slipway apps:destroy {app}` releases it, `slipway hooks:status` lists them all"
            )),
            Error::AppHasOtherRepo { .. } => {
                Some("an app deploys from one repository; choose another name with --app NAME".into())
            }
            Error::HookExists {
                path,
                chainable: true,
            } => Some(format!(
                "nothing was changed; --chain keeps it (moved to {}) and runs it before slipway",
                crate::install::chained_original(path).display()
            )),
            Error::HookExists { .. } => Some(
                "nothing was changed; rename that file, slipway installs itself under this name".into(),
            ),
            Error::HookInstalled { .. } => Some(
                "`slipway hooks:install --force` rewrites slipway's hook to run this binary".into(),
            ),
            Error::HookOfOtherApp { .. } => Some(
                "several repositories share this hooks directory; install into one of this repository's own with --hooks-dir DIR"
                    .into(),
            ),
            Error::HookElsewhere { repo, .. } => Some(format!(
                "run `slipway hooks:uninstall --git-dir {}` first",
                crate::hook::shell_quote_if_needed(&repo.to_string_lossy())
            )),
            Error::AsideTaken { .. } => {
                Some("move that file away (nothing was changed), then install again".into())
            }
            Error::RelativeSymlinkHook { .. } => Some(
                "make the symlink absolute, or install into a hooks directory with --hooks-dir DIR".into(),
            ),
            Error::SharedHooksPath { .. } => Some(
                "set core.hooksPath in the repository's own config, or install into a hooks directory with --hooks-dir DIR"
                    .into(),
            ),
            Error::NoProcessType { types, .. } if types.is_empty() => {
                Some("that release runs no processes; add a Procfile and deploy".into())
            }
            Error::NoProcessType { types, .. } => Some(format!("its process types: {types}")),
            Error::BadScale { .. } => Some("scale as `slipway ps:scale web=2 worker=1 -a APP`".into()),
            Error::NotLocal { .. } => Some(
                "only `launcher: local` (the default) runs processes on this host; see app.yaml".into(),
            ),
            Error::NothingRunning { app } => Some(format!("deploy first: `git push` to {app}'s repository")),
            Error::NoFreePort { .. } => Some(
                "widen port_range in slipway.yaml, or set `port:` in the app's app.yaml".into(),
            ),
            Error::NoLaunchHook { .. } => Some(
                "write an executable script there (slipway's hooks/launch-systemd.example is one), or set `launcher: local` in app.yaml"
                    .into(),
            ),
            Error::Supervisor { app, .. } => Some(format!(
                "its log is apps/{app}/logs/supervisor.log; `slipway ps:stop -a {app}` then `slipway ps:restart -a {app}` starts it afresh"
            )),
            Error::NoHooks { .. } => {
                Some("`slipway hooks:status` lists the repositories with slipway's hook".into())
            }
            Error::Io { source, .. } if source.raw_os_error() == Some(libc::ENOSPC) => {
                Some("free some disk space and push again".into())
            }
            _ => None,
        }
    }
}
