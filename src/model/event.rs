//! What long-running work (a deploy, a slug compile) reports while it runs.
//!
//! The library sends [`Event`]s to an [`Observer`]; `output` decides how they
//! look on a terminal, through git's sideband, or in a release's build log.

use super::release::Version;

use std::fmt;
use std::sync::Arc;

/// Something a user may want to see while a deploy or compile runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Another change to the app holds its lock; this one waits.
    Waiting { app: String },
    /// A pushed ref that does not deploy.
    Skipped { refname: String, reason: SkipReason },
    /// With no `deploy_branch` set, pushing `to` (main) made it the deploy branch instead of `from` (master).
    DeployBranchChanged { from: String, to: String },
    /// The deploy branch's tip is already what runs.
    AlreadyLive {
        version: Version,
        short: String,
        /// Whether that release is current (with auto-promote off it may only be recorded).
        live: bool,
    },
    /// Compiling this commit, pushed to this ref.
    Compiling { short: String, refname: String },
    /// A submodule (gitlink) that the slug cannot contain.
    SubmoduleSkipped { path: String, commit: String },
    /// Bytes of the tree written into the slug so far, of `total`.
    Progress { done: u64, total: u64 },
    /// The slug is ready: compressed size, and whether an earlier compile of the tree was reused.
    Compressed { size: u64, reused: bool },
    /// Bytes of the slug uploaded to the slug store so far, of `total`.
    Uploading { done: u64, total: u64 },
    /// The slug is in the slug store: its size, and whether the store had it already.
    Uploaded { size: u64, already_stored: bool },
    /// A slug not on this host was downloaded from the slug store and checked: its size and how long that took.
    SlugDownloaded { size: u64, millis: u64 },
    /// `slugs:migrate` made sure the target store keeps this slug: copied, or already there.
    SlugCopied {
        sha256: String,
        size: u64,
        already_there: bool,
    },
    /// Bytes of a source archive downloaded so far, of `total` when the server said.
    Downloading { done: u64, total: Option<u64> },
    /// A source archive was downloaded (`url` without credentials).
    Downloaded { url: String, size: u64 },
    /// A source archive was unpacked into this many entries.
    Extracted { entries: u64 },
    /// Compiling a source archive or directory, by name.
    CompilingSource { name: String },
    /// The app's build step starts, on a checkout of the commit.
    Building,
    /// A buildpack is being fetched (cloned or downloaded) for the first time.
    FetchingBuildpack { buildpack: String },
    /// Buildpacks will build the app: what exactly runs, in order.
    UsingBuildpacks { resolved: Vec<String> },
    /// The buildpack that detected the app, by the name its `bin/detect` printed.
    AppDetected { name: String },
    /// One line a buildpack's `bin/compile` printed.
    BuildpackOutput { line: String },
    /// The process types the slug runs: from its Procfile, and defaults from buildpacks.
    ProcessTypes {
        declared: Vec<String>,
        defaults: Vec<String>,
    },
    /// One line the build printed (stdout or stderr, without its newline).
    BuildOutput { line: String },
    /// `build_on` or `deploy_on` (`setting`) is pre-receive, but no pre-receive hook ran: it happens now, after the push.
    NotStrict { repo: String, setting: &'static str },
    /// A watched branch moved: its new tip deploys to the app.
    AutoDeploying {
        app: String,
        short: String,
        branch: String,
        url: String,
    },
    /// The release is live.
    Launched {
        version: Version,
        url: Option<String>,
    },
    /// The release was recorded but, with auto-promote off, is not live.
    Released { version: Version },
    /// A release of `app` failed; `live` is the release that stays current.
    Failed {
        app: String,
        error: Failure,
        live: Option<Version>,
    },
    /// The pushed commit did not compile, so the push is rejected (pre-receive).
    Rejected { short: String, error: Failure },
    /// The Procfile's `release:` command is starting.
    ReleaseCommand { command: String },
    /// A line of output from the release command or the `exec` launcher's hook.
    CommandOutput { line: String },
    /// A release of `app` did not start; `live` is the release that stays current.
    LaunchFailed {
        app: String,
        reason: String,
        detail: Vec<String>,
        live: Option<Version>,
    },
    /// Something went wrong that did not stop the deploy.
    Warning { message: String },
    /// App code runs unsandboxed: `sandbox: none` says so, or (with `missing`, why) no bubblewrap works here.
    Unsandboxed { missing: Option<String> },
}

/// An error carried by an event, for `output` to show (and find a `help:` line for).
#[derive(Clone, Debug)]
pub struct Failure(pub Arc<dyn std::error::Error + Send + Sync + 'static>);

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Failure {
    fn from(error: E) -> Failure {
        Failure(Arc::new(error))
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Failure {
    fn eq(&self, other: &Failure) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Failure {}

/// Why a pushed ref did not deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// Pushes to this ref do not deploy; the deploy branch is named.
    NotDeployBranch { deploy_branch: String },
    /// The ref was deleted.
    Deleted,
}

/// Receives events as they happen.
pub trait Observer {
    /// Called for each event, in order.
    fn event(&mut self, event: Event);
}

/// Ignores every event.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _: Event) {}
}
