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
    /// The slipway binary, which launchers run (the supervisor, `SLIPWAY_BIN`).
    pub exe: PathBuf,
}

/// How a push ended.
#[derive(Debug)]
pub enum Outcome {
    /// No pushed ref deploys (another branch, a tag, a deletion).
    NothingToDeploy,
    /// The deploy branch's tip already runs in this release.
    AlreadyLive(u32),
    /// A new release is live.
    Live(Release),
    /// A new release is recorded but not live: auto-promote is off.
    Recorded(Release),
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
    if let Some(done) = already_deployed(app, &store, &commit.id().to_string())? {
        observer.event(Event::AlreadyLive {
            version: done.version,
            short: short_sha(&commit.id().to_string()).to_owned(),
            live: store.current()? == Some(done.version),
        });
        return Ok(Outcome::AlreadyLive(done.version));
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
        crate::build::slug_of_commit(ctx, app, lock, repo, commit, observer)
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
    let base = base_release(app, &store)?;
    let draft = Release {
        commit: origin.commit,
        refname: origin.refname,
        slug: None,
        ..draft(ctx, base.as_ref(), Kind::Deploy, description)
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

/// The release that already runs `commit` (the base release, see [`base_release`]), if any.
///
/// A tip deployed there is not deployed again: with auto-promote off the
/// base is the newest release, not the live one, so racing pushes of one tip
/// make one release either way.
pub fn already_deployed(app: &App, store: &Store, commit: &str) -> Result<Option<Release>> {
    Ok(base_release(app, store)?.filter(|base| base.commit.as_deref() == Some(commit)))
}

/// The release new releases build on: the live one, or with auto-promote off the newest succeeded.
///
/// With auto-promote on this is Heroku's model (the app's state is what runs);
/// with it off, Convox's (new releases build on the latest, promote picks what runs).
pub fn base_release(app: &App, store: &Store) -> Result<Option<Release>> {
    if app.settings.auto_promote {
        current_release(store)
    } else {
        store.latest_succeeded(None)
    }
}

/// A pending release that copies `base` (slug, config, add-ons, commit) with a new kind and description.
pub fn draft(ctx: &Context, base: Option<&Release>, kind: Kind, description: String) -> Release {
    Release {
        version: 0,
        description,
        user: ctx.user.clone(),
        created_at: ctx.clock.now,
        commit: base.and_then(|b| b.commit.clone()),
        refname: base.and_then(|b| b.refname.clone()),
        slug: base.and_then(|b| b.slug.clone()),
        config: base.map(|b| b.config.clone()).unwrap_or_default(),
        addons: base.map(|b| b.addons.clone()).unwrap_or_default(),
        status: Status::Pending,
        kind,
        rollback_of: None,
        pruned_slug: None,
    }
}

/// Records `draft` as the next version and launches it (or only records it, with auto-promote off).
pub fn record(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
    draft: Release,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let release = app.store().create(lock, draft)?;
    let mut observer = BuildLog::open(
        app.logs_dir().join(format!("v{}.log", release.version)),
        observer,
    );
    launch_release(ctx, app, lock, release, &mut observer)
}

/// Finishes a pending release: launches it and makes it current, unless auto-promote is off.
pub fn launch_release(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
    mut release: Release,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    if app.settings.auto_promote {
        return go_live(ctx, app, lock, release, observer);
    }
    release.status = Status::Succeeded;
    app.store().update(lock, &release)?;
    observer.event(Event::Released {
        version: release.version,
    });
    Ok(Outcome::Recorded(release))
}

/// Starts `release` with the app's launcher and makes it current; on failure the live release stays.
///
/// A release without a slug (config set before the first deploy) has nothing
/// to start and goes live at once. `release` may be pending (it is then marked
/// succeeded or failed) or an earlier succeeded release being promoted.
pub fn go_live(
    ctx: &Context,
    app: &App,
    lock: &AppLock,
    mut release: Release,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let store = app.store();
    let mut started = None;
    if release.slug.is_some() {
        let previous = current_release(&store)?;
        let slugs = SlugStore::new(ctx.root.slugs_dir());
        let launched = launch::launcher(app.settings.launcher).launch(
            &Launch {
                root: ctx.root,
                app,
                lock,
                release: &release,
                previous: previous.as_ref(),
                slugs: &slugs,
                exe: &ctx.exe,
            },
            observer,
        );
        match launched {
            Ok(s) => started = Some(s),
            Err(e) => {
                // An older release that fails to start again keeps its record as it was.
                if release.status == Status::Pending {
                    release.status = Status::Failed;
                    store.update(lock, &release)?;
                }
                let live = store.current()?;
                observer.event(match e {
                    Error::LaunchFailed { reason, detail } => Event::LaunchFailed {
                        reason,
                        detail,
                        live,
                    },
                    other => Event::Failed {
                        reason: other.to_string(),
                        help: other.help(),
                        live,
                    },
                });
                return Ok(Outcome::Failed(release));
            }
        }
    }
    // `current` first: a crash between the two writes leaves a pending release
    // that `current` names, which recovery knows to have gone live.
    store.set_current(lock, release.version)?;
    if release.status == Status::Pending {
        release.status = Status::Succeeded;
        store.update(lock, &release)?;
    }
    let url = match started {
        Some(started) => {
            let url = started.url.clone();
            started.switch(observer);
            url
        }
        None => app.settings.url.clone(),
    };
    observer.event(Event::Launched {
        version: release.version,
        url,
    });
    Ok(Outcome::Live(release))
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
        help: error.help(),
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
