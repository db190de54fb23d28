//! The change transaction: every workflow that changes an app (deploy, config, add-ons, rollback, promote, sources, watch) runs inside one [`Change`].
//!
//! [`Change::begin`] takes the app lock (saying so when it has to wait),
//! settles what a killed change left pending, and reads the release new ones
//! build on. The change then records at most one release, builds its slug if
//! it is a deploy, and launches it: on success `current` moves to it, on
//! failure it is recorded as failed and the live release keeps serving. The
//! lock is held until the `Change` is dropped.

use std::cell::OnceCell;
use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::error::{Error, Result};
use crate::base::clock::Clock;
use crate::base::http::HttpSettings;
use crate::base::sandbox::{Sandbox, SandboxError};
use crate::build::pipeline::Built;
use crate::model::event::{Event, Observer};
use crate::model::release::Version;
use crate::model::release::{Kind, Release, SlugRef, Status};
use crate::model::settings::{LauncherKind, SandboxKind};
use crate::run::launch::{self, Launch, SandboxSource};
use crate::run::sandbox::{self, Choice};
use crate::store::Error as StoreError;
use crate::store::app::{App, AppLock};
use crate::store::releases::Store;
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

/// How often upload progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// Who and when, for every release a command makes.
#[derive(Debug)]
pub struct Context<'a> {
    /// The root the app lives in.
    pub root: &'a Root,
    /// Recorded as the release's "By".
    pub user: String,
    /// Recorded as the release's "When".
    pub clock: &'a Clock,
    /// The slipway binary, which launchers run (the supervisor, `SLIPWAY_BIN`).
    pub exe: PathBuf,
    /// Renders an event as the lines a release's build log keeps (`releases:output`).
    pub log_lines: fn(&Event) -> Option<String>,
    /// The environment a `git` child needs from ours (`HOME`, `PATH`, ssh agent, proxies).
    pub git_env: Vec<(OsString, OsString)>,
    /// The root's slug store, as `slug_store` in slipway.yaml names it.
    pub slugs: SlugStore,
    /// Proxies and deadlines for downloads (sources, buildpack archives).
    pub http: HttpSettings,
}

impl Context<'_> {
    /// The root's slug store.
    pub fn slugs(&self) -> SlugStore {
        self.slugs.clone()
    }
}

/// How a change ended.
#[derive(Debug)]
pub enum Outcome {
    /// No pushed ref deploys (another branch, a tag, a deletion).
    NothingToDeploy,
    /// The deploy branch's tip already runs in this release.
    AlreadyLive(Version),
    /// A new release is live.
    Live(Release),
    /// A new release is recorded but not live: auto-promote is off.
    Recorded(Release),
    /// The release failed to build or launch; it is recorded as failed.
    Failed(Release),
}

/// Where a deploy's code came from, as its release records it.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The full sha of the commit, when the code came from git.
    pub commit: Option<String>,
    /// The ref that was pushed or watched.
    pub refname: Option<String>,
}

/// One change to one app, holding its lock.
pub struct Change<'a> {
    /// Who and when.
    pub ctx: &'a Context<'a>,
    /// The app being changed.
    pub app: &'a App,
    /// The app's release store.
    pub store: Store,
    /// The release new releases build on (see [`base_release`]).
    pub base: Option<Release>,
    lock: AppLock,
    /// The sandbox app code runs in, once something needs it.
    sandbox: OnceCell<Sandbox>,
    /// A repair of a damaged `current`: what it names is taken as nothing live.
    repairing: bool,
}

impl<'a> Change<'a> {
    /// Takes the app lock, settles releases a killed change left pending, and reads the base release.
    pub fn begin(
        ctx: &'a Context<'a>,
        app: &'a App,
        observer: &mut dyn Observer,
    ) -> Result<Change<'a>> {
        let lock = lock_app(app, observer)?;
        check_slug_store(ctx)?;
        let store = app.store();
        store.recover(&lock)?;
        let base = base_release(app, &store)?;
        Ok(Change {
            ctx,
            app,
            store,
            base,
            lock,
            sandbox: OnceCell::new(),
            repairing: false,
        })
    }

    /// Like [`Change::begin`], without reading the base release: for repairing an app whose `current` is damaged.
    pub fn begin_repair(
        ctx: &'a Context<'a>,
        app: &'a App,
        observer: &mut dyn Observer,
    ) -> Result<Change<'a>> {
        let lock = lock_app(app, observer)?;
        check_slug_store(ctx)?;
        let store = app.store();
        // The repair is what fixes an unreadable `current`: it must not stop at it.
        store.recover_assuming(&lock, store.current().ok().flatten())?;
        Ok(Change {
            ctx,
            app,
            store,
            base: None,
            lock,
            sandbox: OnceCell::new(),
            repairing: true,
        })
    }

    /// The sandbox the app's code runs in: resolved once (with a warning when there is none), an error when `sandbox: bwrap` cannot be had.
    pub fn sandbox(&self, observer: &mut dyn Observer) -> Result<&Sandbox> {
        Ok(self
            .resolve_sandbox(observer)
            .map_err(crate::run::Error::from)?)
    }

    fn resolve_sandbox(
        &self,
        observer: &mut dyn Observer,
    ) -> std::result::Result<&Sandbox, SandboxError> {
        if let Some(sandbox) = self.sandbox.get() {
            return Ok(sandbox);
        }
        let resolved = sandbox::resolve(self.ctx.root, self.app, &self.ctx.exe)?;
        match resolved.choice {
            Choice::Off => observer.event(Event::Unsandboxed { missing: None }),
            Choice::Missing { reason } => observer.event(Event::Unsandboxed {
                missing: Some(reason),
            }),
            Choice::Bwrap { .. } | Choice::Broken { .. } => {}
        }
        Ok(self.sandbox.get_or_init(|| resolved.sandbox))
    }

    /// With `sandbox: bwrap` asked for, a change whose launch (or, `building`, whose build) would need it fails before anything is recorded when bubblewrap cannot be had.
    ///
    /// Otherwise the sandbox is resolved when app code is about to run: a
    /// change that runs none (a re-push of a static tree) never probes for it.
    fn require_sandbox(&self, building: bool, observer: &mut dyn Observer) -> Result<()> {
        let asked = self.app.settings.sandbox.or(self.ctx.root.settings.sandbox);
        if asked == Some(SandboxKind::Bwrap) {
            if building {
                self.sandbox(observer)?;
            } else {
                SandboxSource::sandbox(self, observer).map_err(crate::run::Error::from)?;
            }
        }
        Ok(())
    }

    /// Proof that this change holds the app lock.
    pub fn lock(&self) -> &AppLock {
        &self.lock
    }

    /// The release `current` points at, if any.
    pub fn current(&self) -> Result<Option<Release>> {
        match current_release(&self.store, self.app) {
            Err(_) if self.repairing => Ok(None),
            other => other,
        }
    }

    /// The version `current` names (none while repairing a damaged one).
    fn live(&self) -> Result<Option<Version>> {
        match self.store.current() {
            Err(_) if self.repairing => Ok(None),
            other => Ok(other?),
        }
    }

    /// A pending release that copies the base (slug, config, add-ons, commit) with a new kind and description.
    pub fn draft(&self, kind: Kind, description: String) -> Release {
        self.draft_from(self.base.as_ref(), kind, description)
    }

    /// A pending release that copies `from` with a new kind and description.
    pub fn draft_from(&self, from: Option<&Release>, kind: Kind, description: String) -> Release {
        Release {
            version: 0,
            description,
            user: self.ctx.user.clone(),
            created_at: self.ctx.clock.now,
            commit: from.and_then(|b| b.commit.clone()),
            refname: from.and_then(|b| b.refname.clone()),
            slug: from.and_then(|b| b.slug.clone()),
            config: from.map(|b| b.config.clone()).unwrap_or_default(),
            addons: from.map(|b| b.addons.clone()).unwrap_or_default(),
            status: Status::Pending,
            kind,
            rollback_of: None,
            pruned_slug: None,
        }
    }

    /// Records `draft` as the next version and launches it (or only records it, with auto-promote off).
    pub fn record(&self, draft: Release, observer: &mut dyn Observer) -> Result<Outcome> {
        if self.app.settings.auto_promote && draft.slug.is_some() {
            self.require_sandbox(false, observer)?;
        }
        let release = self.store.create(&self.lock, draft)?;
        let mut observer = self.build_log(release.version, observer);
        self.launch(release, &mut observer)
    }

    /// Records `draft` and makes it live whatever `auto_promote` says (a rollback is the fix for a bad release).
    pub fn record_live(&self, draft: Release, observer: &mut dyn Observer) -> Result<Outcome> {
        if draft.slug.is_some() {
            self.require_sandbox(false, observer)?;
        }
        let release = self.store.create(&self.lock, draft)?;
        let mut observer = self.build_log(release.version, observer);
        self.go_live(release, &mut observer)
    }

    /// Records a pending deploy, makes its slug with `build`, and launches it.
    ///
    /// Config and add-ons carry over from the base release. What `build`
    /// reports goes to `observer` and into the release's build log; if it
    /// fails, the release is recorded as failed and the live release stays.
    pub fn deploy(
        &self,
        origin: Origin,
        description: String,
        observer: &mut dyn Observer,
        build: impl FnOnce(&Change, &mut dyn Observer) -> Result<Built>,
    ) -> Result<Outcome> {
        let draft = Release {
            commit: origin.commit,
            refname: origin.refname,
            slug: None,
            ..self.draft(Kind::Deploy, description)
        };
        // A build that runs app code asks for the sandbox when it starts; one that
        // was asked for by name and cannot be had fails before anything is recorded.
        self.require_sandbox(true, observer)?;
        let mut release = self.store.create(&self.lock, draft)?;
        let mut observer = self.build_log(release.version, observer);
        // The slug is in the store before the record names it: a record never
        // refers to a slug that is half uploaded, or only on this host.
        let built = build(self, &mut observer).and_then(|built| {
            self.upload(&built.slug, &mut observer)?;
            Ok(built)
        });
        match built {
            Ok(built) => {
                release.slug = Some(built.slug);
                // Buildpacks' defaults never override what the app set.
                for (key, value) in built.config_defaults {
                    release.config.entry(key).or_insert(value);
                }
            }
            Err(e) => return self.fail(release, e, &mut observer),
        }
        self.launch(release, &mut observer)
    }

    /// Uploads `slug` to a remote slug store (nothing for the local one), reporting progress.
    fn upload(&self, slug: &SlugRef, observer: &mut dyn Observer) -> Result<()> {
        let total = slug.size;
        let mut last = Instant::now();
        let mut progress = |done: u64| {
            if last.elapsed() >= PROGRESS_EVERY {
                last = Instant::now();
                observer.event(Event::Uploading { done, total });
            }
        };
        let uploaded = self.ctx.slugs.upload(slug, &mut progress)?;
        if let Some(uploaded) = uploaded {
            observer.event(Event::Uploaded {
                size: uploaded.size,
                already_stored: uploaded.already_stored,
            });
        }
        Ok(())
    }

    /// Finishes a pending release: launches it and makes it current, unless auto-promote is off.
    fn launch(&self, mut release: Release, observer: &mut dyn Observer) -> Result<Outcome> {
        if self.app.settings.auto_promote {
            return self.go_live(release, observer);
        }
        release.status = Status::Succeeded;
        self.store.update(&self.lock, &release)?;
        observer.event(Event::Released {
            version: release.version,
        });
        Ok(Outcome::Recorded(release))
    }

    /// Starts `release` with the app's launcher and makes it current; on failure the live release stays.
    ///
    /// A release without a slug (config set before the first deploy) has
    /// nothing to start and goes live at once. `release` may be pending (it is
    /// then marked succeeded or failed) or an earlier succeeded release being
    /// promoted.
    pub fn go_live(&self, mut release: Release, observer: &mut dyn Observer) -> Result<Outcome> {
        let store = &self.store;
        let mut started = None;
        if release.slug.is_some() {
            let previous = self.current()?;
            let slugs = self.ctx.slugs();
            let launched = launch::launcher(self.app.settings.launcher).launch(
                &Launch {
                    root: self.ctx.root,
                    app: self.app,
                    lock: &self.lock,
                    release: &release,
                    previous: previous.as_ref(),
                    slugs: &slugs,
                    now: self.ctx.clock.now,
                    exe: &self.ctx.exe,
                    sandbox: self,
                },
                observer,
            );
            match launched {
                Ok(s) => started = Some(s),
                Err(e) => {
                    // An older release that fails to start again keeps its record as it was.
                    if release.status == Status::Pending {
                        release.status = Status::Failed;
                        store.update(&self.lock, &release)?;
                    }
                    let live = self.live()?;
                    observer.event(match e {
                        crate::run::Error::LaunchFailed { reason, detail } => Event::LaunchFailed {
                            app: self.app.name.to_string(),
                            reason,
                            detail,
                            live,
                        },
                        other => Event::Failed {
                            app: self.app.name.to_string(),
                            error: Error::from(other).into(),
                            live,
                        },
                    });
                    return Ok(Outcome::Failed(release));
                }
            }
        }
        // `current` first: a crash between the two writes leaves a pending release
        // that `current` names, which recovery knows to have gone live.
        store.set_current(&self.lock, release.version)?;
        if release.status == Status::Pending {
            release.status = Status::Succeeded;
            store.update(&self.lock, &release)?;
        }
        let url = match started {
            Some(started) => {
                let url = started.url.clone();
                started.switch(observer);
                url
            }
            None => self.app.settings.url.clone(),
        };
        observer.event(Event::Launched {
            version: release.version,
            url,
        });
        Ok(Outcome::Live(release))
    }

    /// Marks a pending release failed and says why; the live release stays.
    fn fail(
        &self,
        mut release: Release,
        error: Error,
        observer: &mut dyn Observer,
    ) -> Result<Outcome> {
        release.status = Status::Failed;
        self.store.update(&self.lock, &release)?;
        observer.event(Event::Failed {
            app: self.app.name.to_string(),
            error: error.into(),
            live: self.live()?,
        });
        Ok(Outcome::Failed(release))
    }

    fn build_log<'o>(&self, version: Version, observer: &'o mut dyn Observer) -> BuildLog<'o> {
        BuildLog::open(
            self.app.logs_dir().join(format!("v{version}.log")),
            self.ctx.log_lines,
            observer,
        )
    }
}

/// Refuses to go on when `slug_store` changed since the command read slipway.yaml (`slugs:migrate` switched it while this one waited for the lock).
fn check_slug_store(ctx: &Context) -> Result<()> {
    let now = ctx.root.settings_now()?;
    if now.slug_store != ctx.root.settings.slug_store {
        return Err(StoreError::SlugStoreMoved {
            now: now.slug_store.to_string(),
        }
        .into());
    }
    Ok(())
}

/// The release that already runs `commit` (the base release), if any.
///
/// A tip deployed there is not deployed again: with auto-promote off the
/// base is the newest release, not the live one, so racing pushes of one tip
/// make one release either way.
pub fn already_deployed(base: Option<&Release>, commit: &str) -> Option<Version> {
    base.filter(|base| base.commit.as_deref() == Some(commit))
        .map(|b| b.version)
}

/// The release new releases build on: the live one, or with auto-promote off the newest succeeded.
///
/// With auto-promote on this is Heroku's model (the app's state is what runs);
/// with it off, Convox's (new releases build on the latest, promote picks what runs).
pub fn base_release(app: &App, store: &Store) -> Result<Option<Release>> {
    if app.settings.auto_promote {
        current_release(store, app)
    } else {
        Ok(store.latest_succeeded(None)?)
    }
}

/// The release `current` points at, if any.
///
/// A `current` that names a missing record is an error, never "no release":
/// building on nothing would make a release without the app's config.
pub fn current_release(store: &Store, app: &App) -> Result<Option<Release>> {
    let Some(version) = store.current()? else {
        return Ok(None);
    };
    match store.find(version)? {
        Some(release) => Ok(Some(release)),
        None => Err(StoreError::CurrentMissing {
            app: app.name.to_string(),
            version,
        }
        .into()),
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
    Ok(app.lock()?)
}

/// Passes events on and keeps their text in the release's build log (`releases:output`).
struct BuildLog<'a> {
    file: Option<File>,
    lines: fn(&Event) -> Option<String>,
    inner: &'a mut dyn Observer,
}

impl<'a> BuildLog<'a> {
    fn open(
        path: PathBuf,
        lines: fn(&Event) -> Option<String>,
        inner: &'a mut dyn Observer,
    ) -> BuildLog<'a> {
        // The log is a convenience: a deploy does not fail because it cannot be written.
        let file = OpenOptions::new().create(true).append(true).open(path).ok();
        BuildLog { file, lines, inner }
    }
}

impl Observer for BuildLog<'_> {
    fn event(&mut self, event: Event) {
        if let (Some(file), Some(text)) = (&mut self.file, (self.lines)(&event)) {
            let _ = file.write_all(text.as_bytes());
        }
        self.inner.event(event);
    }
}

/// The launcher asks for the sandbox only when app code is about to run (the `local` launcher's; the others run none here).
impl SandboxSource for Change<'_> {
    fn sandbox(&self, observer: &mut dyn Observer) -> std::result::Result<&Sandbox, SandboxError> {
        match self.app.settings.launcher {
            LauncherKind::Local => self.resolve_sandbox(observer),
            LauncherKind::Exec | LauncherKind::None => Ok(&Sandbox::None),
        }
    }
}
