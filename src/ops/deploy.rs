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
use crate::store::app::App;

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
    if let Some(version) = change::already_deployed(change.base.as_ref(), &sha) {
        observer.event(Event::AlreadyLive {
            version,
            short: short_sha(&sha).to_owned(),
            live: change.store.current()? == Some(version),
        });
        return Ok(Outcome::AlreadyLive(version));
    }
    let description = format!("Deploy {}", short_sha(&sha));
    deploy_commit(&change, &repo, &commit, &deploy_ref, description, observer)
}

/// Opens the app's bare repository.
pub fn open_repo(app: &App) -> Result<Repository> {
    let repo_dir = app.repo_dir();
    Repository::open_bare(&repo_dir).map_err(Error::git(format!("open {}", repo_dir.display())))
}

/// Builds `commit` into a new release of `change` and launches it.
pub fn deploy_commit(
    change: &Change,
    repo: &Repository,
    commit: &Commit,
    refname: &str,
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
        super::build::slug_of_commit(change, repo, commit, observer)
    })
}
