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

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use git2::{Commit, Oid, Repository};
use serde::{Deserialize, Serialize};

use crate::app::{self, App, AppName};
use crate::deploy::{self, Context, Outcome};
use crate::error::{Error, Result};
use crate::event::{Event, Observer};
use crate::fsutil;
use crate::output::escape;
use crate::release::short_sha;
use crate::root::Root;
use crate::source::redact_url;

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
const POLL: Duration = Duration::from_millis(50);

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

impl WatchError {
    /// The obvious next step, printed as a `help:` line.
    pub fn help(&self) -> Option<String> {
        match self {
            WatchError::BadUrl { .. } => Some(
                "use an https://, ssh://, git:// or file:// URL, user@host:path, or an absolute path"
                    .into(),
            ),
            WatchError::NotWatching { app } => Some(format!(
                "`slipway watch:set -a {app} --repo URL --branch BRANCH` starts watching"
            )),
            _ => None,
        }
    }
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
                branch: escape(branch).into_owned(),
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
            url: escape(&redact_url(url)).into_owned(),
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
    let _lock = deploy::lock_app(app, observer)?;
    if self::settings(app)?.as_ref() != Some(settings) {
        forget_refs(app)?;
    }
    let mut bytes = serde_json::to_vec_pretty(settings).unwrap_or_default();
    bytes.push(b'\n');
    let path = settings_path(app);
    // The URL may hold a token.
    fsutil::write_atomic(&path, &bytes, 0o600).map_err(Error::io("write", &path))
}

/// Stops `app` watching; returns what it watched.
pub fn unset(app: &App, observer: &mut dyn Observer) -> Result<WatchSettings> {
    let _lock = deploy::lock_app(app, observer)?;
    let Some(settings) = self::settings(app)? else {
        return Err(WatchError::NotWatching {
            app: app.name.to_string(),
        }
        .into());
    };
    let path = settings_path(app);
    fs::remove_file(&path).map_err(Error::io("remove", &path))?;
    fsutil::sync_dir(app.dir()).map_err(Error::io("sync", app.dir()))?;
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
    AlreadyLive { short: String, version: u32 },
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
    stop: &AtomicBool,
    observer: &mut dyn Observer,
) -> Result<Watched> {
    let repo_dir = app.repo_dir();
    match fetch(&repo_dir, settings, stop) {
        Ok(()) => {}
        Err(_) if stop.load(Ordering::SeqCst) => return Ok(Watched::Stopped),
        Err(reason) => {
            return Err(WatchError::Fetch {
                url: settings.shown_url(),
                branch: escape(&settings.branch).into_owned(),
                reason,
            }
            .into());
        }
    }
    let repo = Repository::open_bare(&repo_dir)
        .map_err(Error::git(format!("open {}", repo_dir.display())))?;
    let lock = deploy::lock_app(app, observer)?;
    let store = app.store();
    store.recover(&lock)?;
    let tip = repo
        .refname_to_id(FETCHED_REF)
        .map_err(Error::git(format!("read {FETCHED_REF}")))?;
    let short = short_sha(&tip.to_string()).to_owned();
    if repo.refname_to_id(HANDLED_REF).ok() == Some(tip) {
        return Ok(Watched::Unchanged { short });
    }
    if let Some(live) = deploy::already_deployed(app, &store, &tip.to_string())? {
        mark_handled(&repo, tip)?;
        return Ok(Watched::AlreadyLive {
            short,
            version: live.version,
        });
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
        ctx,
        app,
        &lock,
        &repo,
        &commit,
        &deploy_ref,
        description(&commit),
        observer,
    )?;
    // Handled even when the deploy failed: a broken commit is not redeployed every round.
    mark_handled(&repo, tip)?;
    Ok(Watched::Deployed(Box::new(outcome)))
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

/// Runs `git fetch` of the watched branch into [`FETCHED_REF`]; on failure, git's last message.
fn fetch(repo_dir: &Path, settings: &WatchSettings, stop: &AtomicBool) -> Result<(), String> {
    let refspec = format!("+refs/heads/{}:{FETCHED_REF}", settings.branch);
    let mut child = Command::new("git")
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
        // Never wait for a password, and never run ext:: or other transports.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", PROTOCOLS)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let stderr = child.stderr.take();
    let messages = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_end(&mut text);
        }
        text
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) => {}
            Err(e) => break Err(format!("cannot wait for git: {e}")),
        }
        if stop.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            break Err("stopped".to_owned());
        }
        if started.elapsed() > FETCH_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break Err(format!(
                "it took longer than {} seconds",
                FETCH_TIMEOUT.as_secs()
            ));
        }
        std::thread::sleep(POLL);
    };
    let text = String::from_utf8_lossy(&messages.join().unwrap_or_default()).into_owned();
    let status = status?;
    if status.success() {
        return Ok(());
    }
    // git's first `fatal:` line says what went wrong; the lines after it are advice.
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
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
    Err(escape(&line).into_owned())
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
