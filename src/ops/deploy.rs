//! Deploying a push: from the pushed refs to a live release, in one [`Change`].
//!
//! Once it holds the lock, a deploy takes the deploy branch's tip as it is
//! *then*, so concurrent pushes can never leave an older commit live: the last
//! push wins, and a tip that is already live is not deployed twice.

use git2::{Commit, Repository};

use super::change::{self, Change, Context, Origin, Outcome};
use super::error::{Error, Result};
use super::hooks;
use crate::build::compile;
use crate::build::step::{self, Build, Step};
use crate::model::event::{Event, Observer, SkipReason};
use crate::model::refs::{HookKind, RefUpdate};
use crate::model::release::{SlugRef, short_sha};
use crate::model::settings::BuildOn;
use crate::store::app::App;
use crate::store::notes;

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
        slug_of_commit(change, repo, commit, observer)
    })
}

/// The app's build step: `build:` in app.yaml, else the admin's `ROOT/hooks/build`; `None` without either.
pub fn build_step(change: &Change) -> Option<Step> {
    let settings = &change.app.settings;
    Step::new(
        settings.build.as_ref(),
        step::hook_path(change.ctx.root.dir()),
        settings.build_timeout,
    )
}

/// Builds `commit` with `step` in `change`'s app, reading objects also from `incoming`.
pub fn build_with_step(
    change: &Change,
    step: &Step,
    repo: &Repository,
    commit: &Commit,
    incoming: &[std::path::PathBuf],
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let scratch = change.ctx.root.scratch_dir()?;
    let cache = change.app.dir().join("cache");
    let slugs = change.ctx.slugs();
    let build = Build {
        app: &change.app.name,
        config: change
            .base
            .as_ref()
            .map_or(&EMPTY_CONFIG, |base| &base.config),
        scratch: &scratch,
        cache: &cache,
        slugs: &slugs,
        max_size: change.app.max_slug_size(change.ctx.root),
    };
    Ok(step::build_commit(
        &build, step, repo, commit, incoming, observer,
    )?)
}

/// The slug a deploy of `commit` runs: built if the app has a build step, else compiled (or reused by tree).
///
/// With `build_on: pre-receive` the slug the pre-receive hook built is taken
/// instead of building again.
pub fn slug_of_commit(
    change: &Change,
    repo: &Repository,
    commit: &Commit,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let (ctx, app) = (change.ctx, change.app);
    let slugs = ctx.slugs();
    let Some(step) = build_step(change) else {
        return Ok(compile::get_or_compile(
            &slugs,
            repo,
            commit,
            app.max_slug_size(ctx.root),
            observer,
        )?);
    };
    if app.settings.build_on == BuildOn::PreReceive {
        if let Some(slug) = notes::take(app, &slugs, &commit.id().to_string()) {
            observer.event(Event::Compressed {
                size: slug.size,
                reused: true,
            });
            return Ok(slug);
        }
        if !has_pre_receive_hook(app) {
            observer.event(Event::NotStrict {
                repo: app.repo_dir().display().to_string(),
            });
        }
    }
    build_with_step(change, &step, repo, commit, &[], observer)
}

fn has_pre_receive_hook(app: &App) -> bool {
    hooks::installed_hooks(app)
        .is_ok_and(|hooks| hooks.iter().any(|h| h.hook == HookKind::PreReceive))
}

/// The config a build sees before any release set one.
static EMPTY_CONFIG: crate::model::config::Config = crate::model::config::Config::new();
