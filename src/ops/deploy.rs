//! Deploying a push: from the pushed refs to a live release, in one [`Change`].
//!
//! Once it holds the lock, a deploy takes the deploy branch's tip as it is
//! *then*, so concurrent pushes can never leave an older commit live: the last
//! push wins, and a tip that is already live is not deployed twice.

use git2::{Commit, Repository};

use super::change::{self, Change, Context, Origin, Outcome};
use super::error::{Error, Result};
use crate::model::event::{Event, Observer, SkipReason};
use crate::model::refs::RefUpdate;
use crate::model::release::short_sha;
use crate::model::settings::Phase;
use crate::store::app::App;
use crate::store::inflight;

/// Handles the ref updates of one push: deploys the deploy branch if it was pushed.
pub fn push(
    ctx: &Context,
    app: &App,
    updates: &[RefUpdate],
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let repo = open_repo(app)?;
    let branch = app.deploy_branch(&repo);
    let deploy_ref = format!("refs/heads/{branch}");
    if app.settings.deploy_on != Phase::PreReceive
        && let Some(notice) = branch_change(app, &repo, updates)
    {
        observer.event(notice);
    }
    let mut deploy = false;
    for update in updates {
        let reason = if update.is_delete() {
            SkipReason::Deleted
        } else if update.refname != deploy_ref {
            SkipReason::NotDeployBranch {
                deploy_branch: branch.clone(),
            }
        } else {
            deploy = true;
            continue;
        };
        observer.event(Event::Skipped {
            refname: update.refname.clone(),
            reason,
        });
    }
    if !deploy {
        return Ok(Outcome::NothingToDeploy);
    }

    let change = Change::begin(ctx, app, observer)?;
    // The tip now, not the one pushed: a newer push may have moved it while we waited.
    let Ok(reference) = repo.find_reference(&deploy_ref) else {
        observer.event(Event::Skipped {
            refname: deploy_ref,
            reason: SkipReason::Deleted,
        });
        return Ok(Outcome::NothingToDeploy);
    };
    let commit = reference
        .peel_to_commit()
        .map_err(Error::git(format!("read the tip of {deploy_ref}")))?;
    let sha = commit.id().to_string();
    let strict = app.settings.deploy_on == Phase::PreReceive;
    if let Some(version) = change::already_deployed(change.base.as_ref(), &sha) {
        if strict {
            // Deployed by this push's pre-receive hook, which said so; the branch now holds it.
            if inflight::read(app).is_some_and(|note| note.commit == sha) {
                inflight::clear(app, change.lock())?;
            }
            return Ok(Outcome::AlreadyLive(version));
        }
        observer.event(Event::AlreadyLive {
            version,
            short: short_sha(&sha).to_owned(),
            live: change.store.current()? == Some(version),
        });
        return Ok(Outcome::AlreadyLive(version));
    }
    if strict {
        observer.event(Event::NotStrict {
            repo: app.repo_dir().display().to_string(),
            setting: "deploy_on",
        });
    }
    let description = format!("Deploy {}", short_sha(&sha));
    deploy_commit(
        &change,
        &repo,
        &commit,
        &deploy_ref,
        &[],
        description,
        observer,
    )
}

/// The notice that this push made `main` the deploy branch instead of `master`, if it did.
///
/// With no `deploy_branch` set, an app deploys `main`, or `master` while only
/// it exists: a push that creates `main` moves the deploys over, which is news.
pub fn branch_change(app: &App, repo: &Repository, updates: &[RefUpdate]) -> Option<Event> {
    let created_main = updates
        .iter()
        .any(|u| u.refname == "refs/heads/main" && u.old.bytes().all(|b| b == b'0'));
    let changed = app.settings.deploy_branch.is_none()
        && created_main
        && repo.find_reference("refs/heads/master").is_ok();
    changed.then(|| Event::DeployBranchChanged {
        from: "master".into(),
        to: "main".into(),
    })
}

/// Opens the app's bare repository.
pub fn open_repo(app: &App) -> Result<Repository> {
    let repo_dir = app.repo_dir();
    Repository::open_bare(&repo_dir).map_err(Error::git(format!("open {}", repo_dir.display())))
}

/// Builds `commit` (objects also in `incoming`) into a new release of `change` and launches it.
pub fn deploy_commit(
    change: &Change,
    repo: &Repository,
    commit: &Commit,
    refname: &str,
    incoming: &[std::path::PathBuf],
    description: String,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let sha = commit.id().to_string();
    let origin = Origin {
        commit: Some(sha.clone()),
        refname: Some(refname.to_owned()),
    };
    change.deploy(origin, description, observer, |change, observer| {
        observer.event(Event::Compiling {
            short: short_sha(&sha).to_owned(),
            refname: refname.to_owned(),
        });
        super::build::slug_of_commit(change, repo, commit, incoming, observer)
    })
}

/// `deploy`: builds and releases `rev` (default: the deploy branch's tip) again, as a new release, without a push.
///
/// For a deploy that failed for reasons outside the code (config, add-ons, a
/// port, a dependency server), or to rebuild with changed buildpacks; the
/// repository's refs are never changed.
pub fn redeploy(
    ctx: &Context,
    app: &App,
    rev: Option<&str>,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let repo = open_repo(app)?;
    let deploy_ref = format!("refs/heads/{}", app.deploy_branch(&repo));
    let (refname, commit) = match rev {
        None => {
            let commit = repo
                .find_reference(&deploy_ref)
                .and_then(|r| r.peel_to_commit())
                .map_err(|_| Error::NothingPushed {
                    app: app.name.to_string(),
                    branch: deploy_ref.trim_start_matches("refs/heads/").to_owned(),
                })?;
            (deploy_ref, commit)
        }
        Some(rev) => {
            let object = repo
                .revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map_err(|_| crate::build::Error::UnknownRevision {
                    rev: crate::base::text::escape_truncated(rev, crate::base::text::ECHO),
                    repo: app.repo_dir(),
                })?;
            let refname = repo
                .resolve_reference_from_short_name(rev)
                .ok()
                .and_then(|r| r.name().ok().map(str::to_owned))
                .unwrap_or_else(|| rev.to_owned());
            (refname, object)
        }
    };
    let change = Change::begin(ctx, app, observer)?;
    let description = format!("Deploy {}", short_sha(&commit.id().to_string()));
    deploy_commit(
        &change,
        &repo,
        &commit,
        &refname,
        &[],
        description,
        observer,
    )
}
