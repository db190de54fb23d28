//! What making a slug can fail with: a tree or directory it cannot hold, a build step or a source that failed.

use std::io;
use std::path::PathBuf;

use crate::base::size::Size;

pub use super::source::SourceError;
pub use super::step::StepError;

/// A slug that could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("compiled slug is larger than the {max} limit")]
    SlugTooLarge { max: Size },

    #[error("tree entry '{path}' cannot go in a slug: {reason}")]
    BadTreeEntry { path: String, reason: &'static str },

    #[error("'{rev}' does not name a commit in {}", repo.display())]
    UnknownRevision { rev: String, repo: PathBuf },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("git: {action}: {}", source.message())]
    Git { action: String, source: git2::Error },

    #[error(transparent)]
    Step(#[from] StepError),

    #[error(transparent)]
    Buildpack(#[from] BuildpackError),

    #[error(transparent)]
    Source(#[from] SourceError),

    #[error(transparent)]
    Sandbox(#[from] crate::base::sandbox::SandboxError),

    #[error(transparent)]
    Store(#[from] crate::store::Error),
}

/// Why buildpacks could not build an app.
#[derive(Debug, thiserror::Error)]
pub enum BuildpackError {
    #[error("cannot fetch the buildpack {buildpack}: {reason}")]
    Fetch { buildpack: String, reason: String },

    #[error("{buildpack} is not a buildpack: {reason}")]
    NotABuildpack { buildpack: String, reason: String },

    #[error("App not compatible with buildpack: {buildpack}")]
    NotCompatible { buildpack: String },

    #[error("failed to compile {name} app ({status})")]
    CompileFailed {
        name: String,
        status: String,
        tail: Vec<String>,
    },

    #[error("the buildpack {buildpack} failed in bin/{script} ({status})")]
    ScriptFailed {
        buildpack: String,
        script: &'static str,
        status: String,
    },

    #[error("the buildpack {buildpack}: {source}")]
    BadRelease {
        buildpack: String,
        source: crate::model::Error,
    },

    #[error("the build took longer than {timeout}")]
    TimedOut {
        timeout: crate::model::settings::BuildTimeout,
    },
}

/// `Result` with the build's [`Error`].
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

    /// Wraps a libgit2 error with what was being done.
    pub fn git(action: impl Into<String>) -> impl FnOnce(git2::Error) -> Error {
        let action = action.into();
        move |source| Error::Git { action, source }
    }
}
