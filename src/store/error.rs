//! What reading and writing the root can fail with: each variant names the file or record and why.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use super::slugs::Unusable;

use crate::model::release::Version;
use crate::model::settings::PortRange;

/// A failure of the store: a missing or damaged record, a file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{} is not a slipway root", root.display())]
    NotARoot { root: PathBuf },

    #[error("no app named '{name}'")]
    UnknownApp { name: String },

    #[error("app '{name}' exists, but its settings file {} is missing", path.display())]
    NoSettings { name: String, path: PathBuf },

    #[error("app '{name}' already exists")]
    AppExists { name: String },

    #[error("app '{app}' has no release v{version}")]
    NoRelease { app: String, version: Version },

    #[error("release record {} is corrupt: {reason}", path.display())]
    CorruptRecord { path: PathBuf, reason: String },

    #[error("the current pointer {} is corrupt: {reason}", path.display())]
    CorruptCurrent { path: PathBuf, reason: String },

    #[error("the version high-water mark {} is corrupt: it does not hold a version number", path.display())]
    CorruptHighWater { path: PathBuf },

    #[error("settings file {} is invalid: {reason}", path.display())]
    Settings { path: PathBuf, reason: String },

    #[error("no more release versions: the next would pass the limit")]
    VersionsExhausted,

    #[error("app '{app}' has no record of v{version}, the release `current` names")]
    CurrentMissing { app: String, version: Version },

    #[error("slug {sha256} is missing from {}", dir.display())]
    SlugMissing { sha256: String, dir: PathBuf },

    #[error("slug {} is corrupt: its sha256 is {actual}", path.display())]
    SlugCorrupt { path: PathBuf, actual: String },

    #[error("slug {sha256} is missing from {store}")]
    SlugNotStored { sha256: String, store: String },

    #[error("slug {sha256} in {store} is {actual} bytes, not {expected}")]
    SlugWrongSize {
        sha256: String,
        store: String,
        actual: u64,
        expected: u64,
    },

    #[error("slug {sha256} from {store} is corrupt: {problem}")]
    SlugFetchedCorrupt {
        sha256: String,
        store: String,
        problem: String,
    },

    #[error("cannot use the slug store {store}: {reason}")]
    SlugStoreUnusable {
        store: String,
        #[source]
        reason: Arc<Unusable>,
    },

    #[error(
        "the slug store moved to {now} while this command waited for the app; nothing was changed"
    )]
    SlugStoreMoved { now: String },

    #[error(transparent)]
    S3(#[from] super::s3::Error),

    #[error("no free port left in port_range {range}")]
    NoFreePort { range: PortRange },

    #[error("no user named '{name}' has a key")]
    UnknownUser { name: String },

    #[error("key {fingerprint} is already registered to '{user}'")]
    KeyExists { fingerprint: String, user: String },

    #[error("no key matches {what}")]
    UnknownKey { what: String },

    #[error("'{user}' can already access '{app}'")]
    AlreadyGranted { user: String, app: String },

    #[error("'{user}' was not granted access to '{app}'")]
    NotGranted { user: String, app: String },

    #[error("key store {} is corrupt: {reason}", path.display())]
    CorruptKeys { path: PathBuf, reason: String },

    #[error("cannot put {} in an authorized_keys command: {reason}", path.display())]
    UnsafePath { path: PathBuf, reason: &'static str },

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    #[error("git: {action}: {}", source.message())]
    Git { action: String, source: git2::Error },

    #[error(transparent)]
    Model(#[from] crate::model::Error),
}

/// `Result` with the store's [`Error`].
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
