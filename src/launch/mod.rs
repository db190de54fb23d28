//! Launchers: what turns a recorded release into running processes.
//!
//! A deploy records a pending release, then asks the app's launcher to start
//! it. Only if that succeeds does `current` move to it; then the launcher is
//! told to switch traffic over ([`Started::switch`]). A launch that fails
//! leaves the live release serving.

pub mod command;
pub mod env;
mod exec;
pub mod formation;
mod local;
mod none;
pub mod procfile;
pub mod serve_static;
pub mod unpack;

use std::fmt;
use std::path::Path;

use serde::Deserialize;

use crate::app::{App, AppLock};
use crate::error::Result;
use crate::event::Observer;
use crate::release::Release;
use crate::root::Root;
use crate::slug::SlugStore;

/// The launcher named by `launcher:` in app.yaml.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// Record only: the release is live as soon as it is recorded.
    None,
    /// Run the Procfile's processes on this host under a per-app supervisor.
    #[default]
    Local,
    /// Run the admin's `ROOT/hooks/launch` with the release in environment variables.
    Exec,
}

impl fmt::Display for LauncherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LauncherKind::None => "none",
            LauncherKind::Local => "local",
            LauncherKind::Exec => "exec",
        })
    }
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
    /// The slipway binary, for the supervisor and `SLIPWAY_BIN`.
    pub exe: &'a Path,
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
