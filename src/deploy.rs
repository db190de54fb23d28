//! Deploying: from a pushed ref to a live release, under the app lock.
//!
//! Once it holds the lock, a deploy takes the deploy branch's tip as it is
//! *then*, so concurrent pushes can never leave an older commit live: the last
//! push wins, and a tip that is already live is not deployed twice.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;

use git2::{Commit, Repository};

use crate::app::{App, AppLock};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::event::{Event, Observer, SkipReason};
use crate::hook::RefUpdate;
use crate::launch::{self, Launch};
use crate::output;
use crate::release::{Kind, Release, SlugRef, Status, Store, short_sha};
use crate::root::Root;
use crate::slug::SlugStore;

/// Who and when, for every release a command makes.
pub struct Context<'a> {
    /// The root the app lives in.
    pub root: &'a Root,
    /// Recorded as the release's "By".
    pub user: String,
    /// Recorded as the release's "When".
    pub clock: &'a Clock,
}

/// How a push ended.
#[derive(Debug)]
pub enum Outcome {
    /// No pushed ref deploys (another branch, a tag, a deletion).
    NothingToDeploy,
    /// The deploy branch's tip already runs in this release.
    AlreadyLive(u32),
    /// A new release is live (or recorded, when it is not promoted).
    Deployed(Release),
    /// The release failed to build or launch; it is recorded as failed.
    Failed(Release),
}

/// Handles the ref updates of one push: deploys the deploy branch if it was pushed.
pub fn push(
    ctx: &Context,
    app: &App,
    updates: &[RefUpdate],
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let repo_dir = app.repo_dir();
    let repo = Repository::open_bare(&repo_dir)
        .map_err(Error::git(format!("open {}", repo_dir.display())))?;
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

    let lock = lock_app(app, observer)?;
    let store = app.store();
    store.recover(&lock)?;
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
    if let Some(live) = current_release(&store)?
        && live.commit.as_deref() == Some(&commit.id().to_string())
    {
        observer.event(Event::AlreadyLive {
            version: live.version,
            short: short_sha(&live.commit.unwrap_or_default()).to_owned(),
        });
        return Ok(Outcome::AlreadyLive(live.version));
    }
    let short = short_sha(&commit.id().to_string()).to_owned();
    deploy_commit(
        ctx,
        app,
        &lock,
        &repo,
        &commit,
        &deploy_ref,
        format!("Deploy {short}"),
        observer,
    )
}

/// Builds `commit` into a new release and launches it; the caller holds the app lock.
#[allow(clippy::too_many_arguments)]
pub fn deploy_commit(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
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
    deploy_with(ctx, app, lock, origin, description, observer, |observer| {
        observer.event(Event::Compiling {
            short: short_sha(&sha).to_owned(),
            refname: refname.to_owned(),
        });
        SlugStore::new(ctx.root.slugs_dir()).get_or_compile(
            repo,
            commit,
            app.max_slug_size(ctx.root),
            observer,
        )
    })
}

/// Where a deploy's code came from, as its release records it.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The full sha of the commit, when the code came from git.
    pub commit: Option<String>,
    /// The ref that was pushed or watched.
    pub refname: Option<String>,
}

/// Records a pending deploy, makes its slug with `build`, and launches it; the caller holds the app lock.
///
/// Config and add-ons carry over from the newest succeeded release. What
/// `build` reports goes to `observer` and into the release's build log; if it
/// fails, the release is recorded as failed and the live release stays live.
pub fn deploy_with(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
    origin: Origin,
    description: String,
    observer: &mut dyn Observer,
    build: impl FnOnce(&mut dyn Observer) -> Result<SlugRef>,
) -> Result<Outcome> {
    let store = app.store();
    let base = store.latest_succeeded()?;
    let draft = Release {
        version: 0,
        description,
        user: ctx.user.clone(),
        created_at: ctx.clock.now,
        commit: origin.commit,
        refname: origin.refname,
        slug: None,
        config: base.as_ref().map(|b| b.config.clone()).unwrap_or_default(),
        addons: base.as_ref().map(|b| b.addons.clone()).unwrap_or_default(),
        status: Status::Pending,
        kind: Kind::Deploy,
        rollback_of: None,
    };
    let mut release = store.create(lock, draft)?;
    let mut observer = BuildLog::open(
        app.logs_dir().join(format!("v{}.log", release.version)),
        observer,
    );
    match build(&mut observer) {
        Ok(slug) => release.slug = Some(slug),
        Err(e) => return fail(&store, lock, release, &e, &mut observer),
    }
    launch_release(ctx, app, lock, release, &mut observer)
}

/// Starts a recorded pending release; on success it becomes current.
pub fn launch_release(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
    mut release: Release,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let store = app.store();
    let previous = current_release(&store)?;
    let slugs = SlugStore::new(ctx.root.slugs_dir());
    let launched = launch::launcher(app.settings.launcher).launch(
        &Launch {
            app,
            release: &release,
            previous: previous.as_ref(),
            slugs: &slugs,
        },
        observer,
    );
    if let Err(e) = launched {
        return fail(&store, lock, release, &e, observer);
    }
    release.status = Status::Succeeded;
    store.update(lock, &release)?;
    store.set_current(lock, release.version)?;
    observer.event(Event::Launched {
        version: release.version,
        url: app.settings.url.clone(),
    });
    Ok(Outcome::Deployed(release))
}

fn fail(
    store: &Store,
    lock: &AppLock,
    mut release: Release,
    error: &Error,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    release.status = Status::Failed;
    store.update(lock, &release)?;
    observer.event(Event::Failed {
        reason: error.to_string(),
        live: store.current()?,
    });
    Ok(Outcome::Failed(release))
}

/// The release `current` points at, if any.
pub fn current_release(store: &Store) -> Result<Option<Release>> {
    match store.current()? {
        Some(v) => store.find(v),
        None => Ok(None),
    }
}

/// Takes the app lock, saying so if it has to wait for another change to finish.
pub fn lock_app(app: &App, observer: &mut dyn Observer) -> Result<AppLock> {
    if let Some(lock) = app.try_lock()? {
        return Ok(lock);
    }
    observer.event(Event::Waiting {
        app: app.name.to_string(),
    });
    app.lock()
}

/// Passes events on and keeps their text in the release's build log (`releases:output`).
struct BuildLog<'a> {
    file: Option<File>,
    inner: &'a mut dyn Observer,
}

impl<'a> BuildLog<'a> {
    fn open(path: PathBuf, inner: &'a mut dyn Observer) -> BuildLog<'a> {
        // The log is a convenience: a deploy does not fail because it cannot be written.
        let file = OpenOptions::new().create(true).append(true).open(path).ok();
        BuildLog { file, inner }
    }
}

impl Observer for BuildLog<'_> {
    fn event(&mut self, event: Event) {
        if let (Some(file), Some(text)) = (&mut self.file, output::event_lines(&event)) {
            let _ = file.write_all(text.as_bytes());
        }
        self.inner.event(event);
    }
}
