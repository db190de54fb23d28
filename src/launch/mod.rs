//! Launchers: what turns a recorded release into running processes.
//!
//! A deploy records a pending release, then asks the app's launcher to start
//! it; only if that succeeds does the release become current.

mod none;

use serde::Deserialize;

use crate::app::App;
use crate::error::Result;
use crate::event::Observer;
use crate::release::Release;
use crate::slug::SlugStore;

/// The launcher named by `launcher:` in app.yaml.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// Record only: the release is live as soon as it is recorded.
    #[default]
    None,
}

/// Everything a launcher needs to start a release.
pub struct Launch<'a> {
    /// The app being launched.
    pub app: &'a App,
    /// The release to start (pending, with its slug).
    pub release: &'a Release,
    /// The release that is live now, if any; it keeps running if the launch fails.
    pub previous: Option<&'a Release>,
    /// Where the release's slug is.
    pub slugs: &'a SlugStore,
}

/// Starts releases.
pub trait Launcher {
    /// Starts `launch.release`; returns once it serves, or an error if it never will.
    fn launch(&self, launch: &Launch, observer: &mut dyn Observer) -> Result<()>;
}

/// The launcher of this kind.
pub fn launcher(kind: LauncherKind) -> Box<dyn Launcher> {
    match kind {
        LauncherKind::None => Box::new(none::RecordOnly),
    }
}
