//! Pre-receive: what runs before git moves any ref, so that a push whose deploy (or build) fails is rejected.
//!
//! With `deploy_on: pre-receive` the whole deploy runs here: build, record,
//! launch, health check; a failure rejects the push and no ref moves. With
//! `build_on: pre-receive` only the build runs here, and post-receive
//! launches it. Otherwise, in a repository adopted with `hooks:install --hook
//! pre-receive`, the tree is compiled, to reject a push that cannot be a slug
//! (an app whose build runs after the push is not checked).
//!
//! Until every pre-receive hook accepts a push, git keeps its objects in a
//! quarantine directory; the caller passes those directories in. The slug is
//! kept in the store, so post-receive reuses it instead of compiling again.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use git2::{Oid, Repository};

use super::build;
use super::change::{self, Change, Context, Outcome};
use super::deploy;
use super::error::{Error, Result};
use crate::build::compile;
use crate::model::event::{Event, Observer};
use crate::model::refs::RefUpdate;
use crate::model::release::{SlugRef, short_sha};
use crate::model::settings::Phase;
use crate::store::app::App;
use crate::store::{inflight, notes};

/// What pre-receive decided.
#[derive(Debug)]
pub enum Verdict {
    /// The push does not update the deploy branch: nothing to compile.
    NothingToCheck,
    /// The pushed deploy-branch commit compiles into this slug.
    Compiled(SlugRef),
    /// The pushed commit was deployed (`deploy_on: pre-receive`), or already runs.
    Deployed,
    /// It does not compile or did not deploy; the push must be rejected (the reason was reported).
    Rejected,
}

/// Compiles the commit a push would put on the deploy branch, reading new objects from `incoming`.
///
/// `pusher` is the `git receive-pack` serving the push, for strict deploys:
/// the next push waits until this one's ref update landed.
pub fn check(
    ctx: &Context,
    app: &App,
    updates: &[RefUpdate],
    incoming: &[PathBuf],
    pusher: Option<u32>,
    observer: &mut dyn Observer,
) -> Result<Verdict> {
    let repo_dir = app.repo_dir();
    let repo = Repository::open_bare(&repo_dir)
        .map_err(Error::git(format!("open {}", repo_dir.display())))?;
    let incoming = extra_dirs(&repo, incoming);
    let odb = repo.odb().map_err(Error::git("open the object database"))?;
    for dir in &incoming {
        odb.add_disk_alternate(&dir.to_string_lossy())
            .map_err(Error::git(format!("read objects in {}", dir.display())))?;
    }
    // Refs have not moved yet: a branch this push creates counts as existing.
    let exists_after = |branch: &str| {
        let refname = format!("refs/heads/{branch}");
        match updates.iter().rev().find(|u| u.refname == refname) {
            Some(update) => !update.is_delete(),
            None => repo.find_reference(&refname).is_ok(),
        }
    };
    let deploy_ref = format!("refs/heads/{}", app.deploy_branch_where(exists_after));
    let Some(update) = updates
        .iter()
        .rev()
        .find(|u| u.refname == deploy_ref && !u.is_delete())
    else {
        return Ok(Verdict::NothingToCheck);
    };
    let short = short_sha(&update.new).to_owned();
    let commit = Oid::from_str(&update.new)
        .and_then(|oid| repo.find_commit(oid))
        .map_err(Error::git(format!("read the pushed commit {short}")))?;
    if app.settings.deploy_on == Phase::PreReceive {
        let change = begin_strict(ctx, app, &repo, &update.refname, observer)?;
        if let Some(notice) = deploy::branch_change(app, &repo, updates) {
            observer.event(notice);
        }
        let verdict = deploy_now(&change, &repo, &commit, update, &incoming, observer)?;
        if let (Verdict::Deployed, Some(pid)) = (&verdict, pusher) {
            inflight::write(app, change.lock(), &update.new, pid)?;
        }
        return Ok(verdict);
    }
    let change = Change::begin(ctx, app, observer)?;
    let strict_build = app.settings.build_on == Phase::PreReceive;
    if !strict_build && app.adopted_repo().is_none() {
        // `apps:create` installs pre-receive for `deploy_on`: with the deploy after the push, it checks nothing.
        return Ok(Verdict::NothingToCheck);
    }
    let plan = match build::plan_for_commit(&change, &repo, &commit) {
        Ok(plan) => plan,
        // Not building here: the deploy after the push says what is wrong, as a failed release.
        Err(_) if !strict_build => return Ok(Verdict::NothingToCheck),
        Err(e) => return Err(e),
    };
    if plan.is_some() && !strict_build {
        // The build runs after the push: compiling the bare tree would check nothing that deploys.
        return Ok(Verdict::NothingToCheck);
    }
    observer.event(Event::Compiling {
        short: short.clone(),
        refname: update.refname.clone(),
    });
    let built = match plan {
        Some((choice, step)) => {
            build::build_commit(&change, choice, step, &repo, &commit, &incoming, observer)
                .and_then(|built| {
                    let sha = commit.id().to_string();
                    notes::write(
                        app,
                        change.lock(),
                        &sha,
                        &built.slug,
                        &built.config_defaults,
                    )?;
                    Ok(built)
                })
        }
        None => {
            let max = app.max_slug_size(ctx.root);
            compile::get_or_compile_from(&ctx.slugs(), &repo, &commit, &incoming, max, observer)
                .map(|slug| crate::build::pipeline::Built {
                    slug,
                    config_defaults: Default::default(),
                })
                .map_err(Error::from)
        }
    };
    match built {
        Ok(built) => Ok(Verdict::Compiled(built.slug)),
        Err(e) => {
            observer.event(Event::Rejected {
                short,
                error: e.into(),
            });
            Ok(Verdict::Rejected)
        }
    }
}

/// How long a strict push waits for the one before it to move the branch.
const INFLIGHT_WAIT: Duration = Duration::from_secs(120);

/// Takes the app for a strict deploy once no earlier strict push is between its deploy and its ref update.
///
/// Releases then go live in the order the branch moves: the earlier push's
/// post-receive (or its end) clears its note, and this one goes on.
fn begin_strict<'a>(
    ctx: &'a Context<'a>,
    app: &'a App,
    repo: &Repository,
    refname: &str,
    observer: &mut dyn Observer,
) -> Result<Change<'a>> {
    let deadline = Instant::now() + INFLIGHT_WAIT;
    loop {
        let change = Change::begin(ctx, app, observer)?;
        let Some(note) = inflight::read(app) else {
            return Ok(change);
        };
        let landed = repo
            .refname_to_id(refname)
            .is_ok_and(|oid| oid.to_string() == note.commit);
        if landed || !note.is_running() {
            inflight::clear(app, change.lock())?;
            return Ok(change);
        }
        if Instant::now() >= deadline {
            return Err(Error::PushInFlight {
                app: app.name.to_string(),
            });
        }
        // The earlier push's post-receive needs the lock to finish.
        drop(change);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `deploy_on: pre-receive`: deploys the pushed commit now; the push goes through only if it went live (or was recorded).
fn deploy_now(
    change: &Change,
    repo: &Repository,
    commit: &git2::Commit,
    update: &RefUpdate,
    incoming: &[PathBuf],
    observer: &mut dyn Observer,
) -> Result<Verdict> {
    // Another push may have moved the branch since this one was made: git would refuse
    // it after the deploy, leaving a release live for a commit the branch does not hold.
    let now = repo
        .refname_to_id(&update.refname)
        .map_or_else(|_| "0".repeat(update.old.len()), |oid| oid.to_string());
    if now != update.old {
        observer.event(Event::Rejected {
            short: short_sha(&update.new).to_owned(),
            error: Error::BranchMoved {
                refname: update.refname.clone(),
            }
            .into(),
        });
        return Ok(Verdict::Rejected);
    }
    if change::already_deployed(change.base.as_ref(), &update.new).is_some() {
        return Ok(Verdict::Deployed);
    }
    let description = format!("Deploy {}", short_sha(&update.new));
    let outcome = deploy::deploy_commit(
        change,
        repo,
        commit,
        &update.refname,
        incoming,
        description,
        observer,
    )?;
    Ok(match outcome {
        Outcome::Failed(_) => Verdict::Rejected,
        _ => Verdict::Deployed,
    })
}

/// The object directories that are not already the repository's own, each once.
fn extra_dirs(repo: &Repository, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let canonical = |p: &std::path::Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let mut seen = vec![canonical(&repo.path().join("objects"))];
    let mut extra = Vec::new();
    for dir in dirs {
        let key = canonical(dir);
        if !seen.contains(&key) {
            seen.push(key);
            extra.push(dir.clone());
        }
    }
    extra
}
