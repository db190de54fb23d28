//! Branch watching (Akkeris auto-deploy): fetch a branch of another repository and deploy each new tip as if pushed.
//!
//! `apps/NAME/watch.json` holds what to watch. Each round runs the real
//! `git fetch` into the app's repository, into the private ref
//! `refs/slipway/watch/fetched` (forced, so rewritten history is followed).
//! Then, under the app lock, a tip that differs from the one the previous
//! round handled (`refs/slipway/watch/handled`) and is not already live is
//! deployed as a push would be: the deploy branch is moved to it (so a later
//! `git push` of the same history is a fast-forward) and `deploy_commit` makes
//! the release, described as Akkeris does. Like Heroku's and Akkeris'
//! auto-deploys, it reacts to the branch *moving*: a rollback, a manual push or
//! a failed deploy is not undone or retried until the branch moves again.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use git2::{Commit, Oid, Repository};
use serde::{Deserialize, Serialize};

use super::change::{self, Change, Context, Outcome};
use super::deploy;
use super::error::{Error, Result};
use crate::base::files;
use crate::base::process::{self, Finished, Job};
use crate::base::text::escape;
use crate::build::source::redact_url;
use crate::model::event::{Event, Observer};
use crate::model::name::AppName;
use crate::model::release::{Version, short_sha};
use crate::store::app::{self, App};
use crate::store::root::Root;

/// The file in the app's directory that says what it watches.
pub const SETTINGS_FILE: &str = "watch.json";
/// Where each round fetches the watched branch's tip.
pub const FETCHED_REF: &str = "refs/slipway/watch/fetched";
/// The tip the last round handled (deployed, found live, or failed to deploy).
pub const HANDLED_REF: &str = "refs/slipway/watch/handled";
/// A fetch that takes longer is stopped and counts as failed.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
/// The transports a watched URL may use (git's `GIT_ALLOW_PROTOCOL`).
const PROTOCOLS: &str = "file:git:http:https:ssh";
const URL_SCHEMES: [&str; 7] = ["file", "git", "http", "https", "ssh", "git+ssh", "ssh+git"];

/// What an app watches: a branch of a repository URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchSettings {
    /// Any URL `git fetch` understands over file, git, http(s) or ssh.
    pub repo: String,
    /// The branch, without `refs/heads/`.
    pub branch: String,
}

/// Why watching failed.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("'{url}' cannot be watched: {reason}")]
    BadUrl { url: String, reason: &'static str },

    #[error("'{branch}' is not a valid branch name")]
    BadBranch { branch: String },

    #[error("app '{app}' is not watching a branch")]
    NotWatching { app: String },

    #[error("cannot fetch {branch} from {url}: {reason}")]
    Fetch {
        url: String,
        branch: String,
        reason: String,
    },

    #[error("watch settings {} are corrupt: {reason}", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

impl WatchSettings {
    /// Checks a URL and branch given to `watch:set`; `refs/heads/` in front of the branch is dropped.
    pub fn new(repo: &str, branch: &str) -> Result<WatchSettings> {
        check_url(repo)?;
        let branch = branch.strip_prefix("refs/heads/").unwrap_or(branch);
        if branch.starts_with('-')
            || !git2::Reference::is_valid_name(&format!("refs/heads/{branch}"))
        {
            return Err(WatchError::BadBranch {
                branch: crate::base::text::escape_truncated(branch, crate::base::text::ECHO),
            }
            .into());
        }
        Ok(WatchSettings {
            repo: repo.to_owned(),
            branch: branch.to_owned(),
        })
    }

    /// The URL with any password or token hidden, for output.
    pub fn shown_url(&self) -> String {
        escape(&redact_url(&self.repo)).into_owned()
    }
}

fn check_url(url: &str) -> Result<()> {
    let bad = |reason| -> Result<()> {
        Err(WatchError::BadUrl {
            url: crate::base::text::escape_truncated(&redact_url(url), crate::base::text::ECHO),
            reason,
        }
        .into())
    };
    if url.is_empty() {
        return bad("it is empty");
    }
    if url.starts_with('-') {
        return bad("it starts with '-'");
    }
    if url.chars().any(char::is_control) {
        return bad("it contains control characters");
    }
    // `ext::cmd` and other `transport::address` forms run programs or helpers.
    if let Some((transport, _)) = url.split_once("::")
        && !transport.is_empty()
        && transport
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return bad("transport helpers (TRANSPORT::ADDRESS) are not allowed");
    }
    if let Some((scheme, _)) = url.split_once("://")
        && !URL_SCHEMES.contains(&scheme.to_ascii_lowercase().as_str())
    {
        return bad("only file, git, http, https and ssh URLs are allowed");
    }
    Ok(())
}

fn settings_path(app: &App) -> PathBuf {
    app.dir().join(SETTINGS_FILE)
}

/// What `app` watches, if anything.
pub fn settings(app: &App) -> Result<Option<WatchSettings>> {
    let path = settings_path(app);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        WatchError::Corrupt {
            path,
            reason: e.to_string(),
        }
        .into()
    })
}

/// Makes `app` watch `settings` (replacing what it watched); a new repository or branch starts afresh.
pub fn set(app: &App, settings: &WatchSettings, observer: &mut dyn Observer) -> Result<()> {
    let _lock = change::lock_app(app, observer)?;
    if self::settings(app)?.as_ref() != Some(settings) {
        forget_refs(app)?;
    }
    let mut bytes = serde_json::to_vec_pretty(settings).unwrap_or_default();
    bytes.push(b'\n');
    let path = settings_path(app);
    // The URL may hold a token.
    files::write_atomic(&path, &bytes, 0o600).map_err(Error::io("write", &path))
}

/// Stops `app` watching; returns what it watched.
pub fn unset(app: &App, observer: &mut dyn Observer) -> Result<WatchSettings> {
    let _lock = change::lock_app(app, observer)?;
    let Some(settings) = self::settings(app)? else {
        return Err(WatchError::NotWatching {
            app: app.name.to_string(),
        }
        .into());
    };
    let path = settings_path(app);
    fs::remove_file(&path).map_err(Error::io("remove", &path))?;
    files::sync_dir(app.dir()).map_err(Error::io("sync", app.dir()))?;
    forget_refs(app)?;
    Ok(settings)
}

fn forget_refs(app: &App) -> Result<()> {
    let repo_dir = app.repo_dir();
    let repo = Repository::open_bare(&repo_dir)
        .map_err(Error::git(format!("open {}", repo_dir.display())))?;
    for name in [FETCHED_REF, HANDLED_REF] {
        if let Ok(mut reference) = repo.find_reference(name) {
            reference
                .delete()
                .map_err(Error::git(format!("delete {name}")))?;
        }
    }
    Ok(())
}

/// The apps that watch a branch, sorted.
pub fn watching(root: &Root) -> Result<Vec<AppName>> {
    Ok(app::list(root)?
        .into_iter()
        .filter(|name| {
            root.apps_dir()
                .join(name.as_str())
                .join(SETTINGS_FILE)
                .is_file()
        })
        .collect())
}

/// What one round did for one app.
#[derive(Debug)]
pub enum Watched {
    /// The branch has not moved since the last round handled it.
    Unchanged { short: String },
    /// The branch moved to a commit that is already live.
    AlreadyLive { short: String, version: Version },
    /// The branch moved and its tip was deployed (the outcome says whether it launched).
    Deployed(Box<Outcome>),
    /// `stop` was raised during the fetch; nothing changed.
    Stopped,
}

/// One round for one app: fetch the watched branch and deploy its tip if it moved.
///
/// The fetch runs without the app lock (pushes are not held up by a slow
/// remote); deciding and deploying run under it.
pub fn check(
    ctx: &Context,
    app: &App,
    settings: &WatchSettings,
    stop: &Arc<AtomicBool>,
    observer: &mut dyn Observer,
) -> Result<Watched> {
    let repo_dir = app.repo_dir();
    match fetch(&repo_dir, settings, &ctx.git_env, stop) {
        Ok(()) => {}
        Err(FetchFailed::Stopped) => return Ok(Watched::Stopped),
        Err(FetchFailed::Failed(reason)) => {
            return Err(WatchError::Fetch {
                url: settings.shown_url(),
                branch: escape(&settings.branch).into_owned(),
                reason,
            }
            .into());
        }
    }
    let repo = deploy::open_repo(app)?;
    let change = Change::begin(ctx, app, observer)?;
    let tip = repo
        .refname_to_id(FETCHED_REF)
        .map_err(Error::git(format!("read {FETCHED_REF}")))?;
    let short = short_sha(&tip.to_string()).to_owned();
    if repo.refname_to_id(HANDLED_REF).ok() == Some(tip) {
        return Ok(Watched::Unchanged { short });
    }
    if let Some(version) = change::already_deployed(change.base.as_ref(), &tip.to_string()) {
        mark_handled(&repo, tip)?;
        return Ok(Watched::AlreadyLive { short, version });
    }
    let commit = repo
        .find_commit(tip)
        .map_err(Error::git(format!("read commit {tip}")))?;
    let deploy_ref = format!("refs/heads/{}", app.deploy_branch(&repo));
    // As if pushed: the deploy branch holds what runs, so pushing the same history fast-forwards.
    let message = format!(
        "slipway watch: {} of {}",
        settings.branch,
        redact_url(&settings.repo)
    );
    repo.reference(&deploy_ref, tip, true, &message)
        .map_err(Error::git(format!("update {deploy_ref}")))?;
    observer.event(Event::AutoDeploying {
        app: app.name.to_string(),
        short,
        branch: settings.branch.clone(),
        url: redact_url(&settings.repo),
    });
    let outcome = deploy::deploy_commit(
        &change,
        &repo,
        &commit,
        &deploy_ref,
        &[],
        description(&commit),
        observer,
    )?;
    // Handled even when the deploy failed: a broken commit is not redeployed every round.
    mark_handled(&repo, tip)?;
    Ok(Watched::Deployed(Box::new(outcome)))
}

/// What a watch round says about one app.
#[derive(Debug)]
pub enum Report {
    /// The app's branch was checked (`watched` says what happened).
    Checked {
        app: AppName,
        settings: WatchSettings,
        watched: Watched,
    },
    /// Checking the app failed; the next round tries again.
    Failed { app: Option<AppName>, error: Error },
}

/// `watch`: every `interval` (or once), checks every watching app and deploys what moved, until `stop` is raised.
///
/// Apps are listed every round, so `watch:set` and `watch:unset` take effect
/// without a restart. Deploy events go to `observer`, one report per app to
/// `report`. Returns whether any fetch or deploy failed.
pub fn run(
    ctx: &Context,
    interval: Option<Duration>,
    stop: &Arc<AtomicBool>,
    observer: &mut dyn Observer,
    report: &mut dyn FnMut(Report),
) -> bool {
    let mut failed = false;
    loop {
        let names = watching(ctx.root).unwrap_or_else(|error| {
            report(Report::Failed { app: None, error });
            failed = true;
            Vec::new()
        });
        for name in names {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let checked = App::open(ctx.root, &name)
                .map_err(Error::from)
                .and_then(|app| match settings(&app)? {
                    Some(settings) => {
                        let watched = check(ctx, &app, &settings, stop, observer)?;
                        Ok(Some((settings, watched)))
                    }
                    None => Ok(None),
                });
            match checked {
                Ok(None) => {}
                Ok(Some((settings, watched))) => {
                    if let Watched::Deployed(outcome) = &watched {
                        failed |= matches!(**outcome, Outcome::Failed(_));
                    }
                    report(Report::Checked {
                        app: name,
                        settings,
                        watched,
                    });
                }
                Err(error) => {
                    failed = true;
                    report(Report::Failed {
                        app: Some(name),
                        error,
                    });
                }
            }
        }
        let Some(interval) = interval else {
            return failed;
        };
        if !sleep(interval, stop) {
            return failed;
        }
    }
}

/// Sleeps for `interval` in short steps; false if `stop` was raised.
fn sleep(interval: Duration, stop: &AtomicBool) -> bool {
    let until = Instant::now() + interval;
    while Instant::now() < until {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(
            Duration::from_millis(100).min(until.saturating_duration_since(Instant::now())),
        );
    }
    !stop.load(Ordering::SeqCst)
}

/// `30s`, `5m`, `1h30m`, ISO 8601 (`PT30S`) or a number of seconds; at least one second.
pub fn parse_interval(text: &str) -> Result<Duration> {
    let seconds = match text.trim().parse::<u64>() {
        Ok(n) => Some(n),
        Err(_) => text
            .parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| u64::try_from(d.as_secs()).ok()),
    };
    match seconds {
        Some(n) if n >= 1 => Ok(Duration::from_secs(n)),
        _ => Err(Error::BadInterval {
            text: crate::base::text::escape_truncated(text, crate::base::text::ECHO),
        }),
    }
}

/// `Auto-Deploy 3f2c1a9 - alice - Fix the header - 3f2c1a9`, as Akkeris describes auto-deploys.
pub fn description(commit: &Commit) -> String {
    let short = short_sha(&commit.id().to_string()).to_owned();
    let author = commit.author();
    let name = String::from_utf8_lossy(author.name_bytes());
    let subject = String::from_utf8_lossy(commit.summary_bytes().unwrap_or_default());
    format!("Auto-Deploy {short} - {name} - {subject} - {short}")
}

fn mark_handled(repo: &Repository, tip: Oid) -> Result<()> {
    repo.reference(HANDLED_REF, tip, true, "slipway watch: handled")
        .map(|_| ())
        .map_err(Error::git(format!("update {HANDLED_REF}")))
}

/// Why a fetch did not bring the branch.
enum FetchFailed {
    /// The stop flag was raised.
    Stopped,
    /// git's last message, or what went wrong running it.
    Failed(String),
}

/// Runs `git fetch` of the watched branch into [`FETCHED_REF`], with the environment git needs (`git_env`).
fn fetch(
    repo_dir: &Path,
    settings: &WatchSettings,
    git_env: &[(OsString, OsString)],
    stop: &Arc<AtomicBool>,
) -> Result<(), FetchFailed> {
    let refspec = format!("+refs/heads/{}:{FETCHED_REF}", settings.branch);
    let mut text = Vec::new();
    let finished = Job::new("git")
        .arg("--git-dir")
        .arg(repo_dir)
        .args([
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            "--no-recurse-submodules",
            "--",
        ])
        .arg(&settings.repo)
        .arg(&refspec)
        .envs(git_env.iter().map(|(k, v)| (k, v)))
        // Never wait for a password, and never run ext:: or other transports.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", PROTOCOLS)
        .timeout(FETCH_TIMEOUT)
        .stop_when(Arc::clone(stop))
        .run(&mut |_, line| {
            // git's messages are a few lines; a remote that talks forever is cut short.
            if text.len() < 64 {
                text.push(line);
            }
        })
        .map_err(|e| FetchFailed::Failed(format!("cannot run git: {e}")))?;
    let status = match finished {
        Finished::Exited(status) if status.success() => return Ok(()),
        Finished::Exited(status) => process::describe(status),
        Finished::Stopped => return Err(FetchFailed::Stopped),
        Finished::TimedOut => {
            return Err(FetchFailed::Failed(format!(
                "it took longer than {} seconds",
                FETCH_TIMEOUT.as_secs()
            )));
        }
    };
    // git's first `fatal:` line says what went wrong; the lines after it are advice.
    let lines: Vec<&str> = text
        .iter()
        .map(|l| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    let line = lines
        .iter()
        .find_map(|l| {
            l.strip_prefix("fatal: ")
                .or_else(|| l.strip_prefix("error: "))
        })
        .or_else(|| lines.last().copied())
        .map_or_else(|| format!("git fetch failed ({status})"), str::to_owned);
    // git may quote the URL, token and all.
    let line = line.replace(&settings.repo, &redact_url(&settings.repo));
    Err(FetchFailed::Failed(escape(&line).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_branches_are_checked() {
        for ok in [
            "https://github.com/a/b.git",
            "ssh://git@host:22/a.git",
            "ssh://git@[::1]/a.git",
            "git@github.com:a/b.git",
            "/srv/git/app.git",
            "file:///srv/git/app.git",
        ] {
            assert!(WatchSettings::new(ok, "main").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-uhoh",
            "ext::sh -c touch% /tmp/pwned",
            "fd::3",
            "ftp://host/a.git",
            "https://host/a\n.git",
        ] {
            assert!(WatchSettings::new(bad, "main").is_err(), "{bad}");
        }
        for bad in ["", "-x", "a..b", "a b", "a~1", "x.lock"] {
            assert!(WatchSettings::new("/srv/a.git", bad).is_err(), "{bad}");
        }
        assert_eq!(
            WatchSettings::new("/srv/a.git", "refs/heads/release/1")
                .ok()
                .map(|s| s.branch),
            Some("release/1".to_owned())
        );
    }
}
