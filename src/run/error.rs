//! What starting and running a release can fail with.

use std::io;
use std::path::PathBuf;

use crate::model::release::Version;

/// A release that could not be started or controlled.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{reason}")]
    LaunchFailed { reason: String, detail: Vec<String> },

    #[error("slug entry '{path}' cannot be unpacked: {reason}")]
    BadSlugEntry { path: String, reason: &'static str },

    #[error("the Procfile of v{version} has no process type '{kind}'")]
    NoProcessType {
        kind: String,
        version: Version,
        types: String,
    },

    #[error("the supervisor of '{app}' failed: {reason}")]
    Supervisor { app: String, reason: String },

    #[error("app '{app}' has no current release to run")]
    NothingRunning { app: String },

    #[error("app '{app}' is not run by the local launcher")]
    NotLocal { app: String },

    #[error("the exec launcher needs the executable {}", path.display())]
    NoLaunchHook { path: PathBuf },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error(transparent)]
    Sandbox(#[from] crate::base::sandbox::SandboxError),

    #[error(transparent)]
    Store(#[from] crate::store::Error),

    #[error(transparent)]
    Model(#[from] crate::model::Error),
}

/// `Result` with the runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with what was being done and to which path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}
