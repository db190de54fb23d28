//! Launchers: what turns a recorded release into running processes.
//!
//! A deploy records a pending release, then asks the app's launcher to start
//! it. Only if that succeeds does `current` move to it; then the launcher is
//! told to switch traffic over ([`Started::switch`]). A launch that fails
//! leaves the live release serving.

pub mod env;
mod exec;
mod local;
mod none;
pub mod serve_static;
pub mod unpack;

use std::path::{Path, PathBuf};

use crate::base::process::{self, Finished, Job};
use crate::base::span::Span;
use crate::model::event::{Event, Observer};
use crate::model::procfile::Procfile;
use crate::model::release::{Release, SlugRef};
use crate::model::settings::LauncherKind;
use crate::run::error::{Error, Result};
use crate::store::app::{App, AppLock};
use crate::store::root::Root;
use crate::store::slugs::{Downloaded, SlugStore};

/// A release's Procfile, straight out of its slug, checked by the one rule every launcher applies.
///
/// [`Procfile::parse`] is that rule: the `local` launcher reads the unpacked
/// file with it, and the `exec` launcher hands its hook only a Procfile that
/// passed it, so a type such as `../../x/y` or `bad type!` reaches no launcher.
pub fn slug_procfile(slug: &Path) -> Result<Option<(Vec<u8>, Procfile)>> {
    let Some(bytes) = unpack::read_file(slug, "Procfile")? else {
        return Ok(None);
    };
    let procfile = Procfile::parse(&bytes)?;
    Ok(Some((bytes, procfile)))
}

/// Where a launcher gets the app's sandbox: resolving it probes bubblewrap, which a launch that runs no app code (a re-push of a static tree) does not wait for.
pub trait SandboxSource {
    /// The app's sandbox (saying so, through `observer`, when there is none); an error when the one asked for cannot be had.
    fn sandbox(
        &self,
        observer: &mut dyn Observer,
    ) -> std::result::Result<&crate::base::sandbox::Sandbox, crate::base::sandbox::SandboxError>;
}

/// Everything a launcher needs to start a release.
pub struct Launch<'a> {
    /// The root the app lives in.
    pub root: &'a Root,
    /// The app being launched.
    pub app: &'a App,
    /// Proof that the caller holds the app lock.
    pub lock: &'a AppLock,
    /// The release to start (pending, with its slug).
    pub release: &'a Release,
    /// The release that is live now, if any; it keeps running if the launch fails.
    pub previous: Option<&'a Release>,
    /// Where the release's slug is.
    pub slugs: &'a SlugStore,
    /// What now is for this command (its clock), for the slug store's racy-file rule.
    pub now: jiff::Timestamp,
    /// The slipway binary, for the supervisor and `SLIPWAY_BIN`.
    pub exe: &'a Path,
    /// What the release phase runs in (the supervisor finds the processes' own), asked for only when app code is about to run.
    pub sandbox: &'a dyn SandboxSource,
}

impl Launch<'_> {
    /// The checked local file of `slug`, downloaded from the slug store first if this host has no copy.
    pub fn fetch(&self, slug: &SlugRef, observer: &mut dyn Observer) -> Result<PathBuf> {
        let mut downloaded = |d: Downloaded| {
            observer.event(Event::SlugDownloaded {
                size: d.size,
                millis: u64::try_from(d.took.as_millis()).unwrap_or(u64::MAX),
            })
        };
        Ok(self.slugs.fetch(slug, self.now, &mut downloaded)?)
    }
}

/// What makes a started release take over, once `current` names it.
type Switch = Box<dyn FnOnce(&mut dyn Observer)>;

/// A release that started and passed its checks, waiting for `current` to name it.
pub struct Started {
    /// Where the app can be reached, shown after `Launching... done`.
    pub url: Option<String>,
    switch: Option<Switch>,
}

impl Started {
    /// A release that needs nothing more once it is current.
    pub fn ready(url: Option<String>) -> Started {
        Started { url, switch: None }
    }

    /// A release that takes over (traffic, stopping the previous one) when `switch` runs.
    pub fn with_switch(
        url: Option<String>,
        switch: impl FnOnce(&mut dyn Observer) + 'static,
    ) -> Started {
        Started {
            url,
            switch: Some(Box::new(switch)),
        }
    }

    /// Called once `current` names the release. Dropping a `Started` instead abandons the release.
    pub fn switch(self, observer: &mut dyn Observer) {
        if let Some(switch) = self.switch {
            switch(observer);
        }
    }
}

/// Starts releases.
pub trait Launcher {
    /// Starts `launch.release` and checks it; returns once it can take over, or an error if it never will.
    fn launch(&self, launch: &Launch, observer: &mut dyn Observer) -> Result<Started>;
}

/// The launcher of this kind.
pub fn launcher(kind: LauncherKind) -> Box<dyn Launcher> {
    match kind {
        LauncherKind::None => Box::new(none::RecordOnly),
        LauncherKind::Local => Box::new(local::Local),
        LauncherKind::Exec => Box::new(exec::Exec),
    }
}

/// Runs a step of a launch (the release phase, the `exec` launcher's hook), its output going to the client.
///
/// `what` names it in failures ("release command failed (exit 1)"); `cannot_run` in a failure to start it.
fn run_step(
    job: Job,
    what: &str,
    cannot_run: &str,
    timeout: Span,
    observer: &mut dyn Observer,
) -> Result<()> {
    let failed = |reason: String| Error::LaunchFailed {
        reason,
        detail: Vec::new(),
    };
    let finished = job
        .timeout(timeout.get())
        .run(&mut |_, line| observer.event(Event::CommandOutput { line }))
        .map_err(|e| failed(format!("cannot run {cannot_run}: {e}")))?;
    match finished {
        Finished::Exited(status) if status.success() => Ok(()),
        Finished::Exited(status) => Err(failed(format!(
            "{what} failed ({})",
            process::describe(status)
        ))),
        Finished::TimedOut | Finished::Stopped => {
            Err(failed(format!("{what} did not finish within {timeout}")))
        }
    }
}
