//! Release to processes: the launchers (none, local, exec), the per-app supervisor, its forwarder and health checks, and the sandbox app code runs in.

pub mod error;
pub mod launch;
pub mod sandbox;
pub mod supervisor;

pub use error::{Error, Result};

use std::path::Path;

use crate::model::procfile::Procfile;

/// Reads a release's Procfile; a missing file is an empty Procfile (the release runs nothing).
///
/// A symlinked Procfile is followed only while it stays in its directory:
/// slipway may run as root, and the file's words may end up in messages.
pub fn read_procfile(path: &Path) -> Result<Procfile> {
    if let (Some(dir), Ok(real)) = (path.parent(), path.canonicalize())
        && dir.canonicalize().is_ok_and(|dir| !real.starts_with(dir))
    {
        return Err(Error::BadSlugEntry {
            path: "app/Procfile".into(),
            reason: "it is a symlink pointing outside the app",
        });
    }
    match std::fs::read(path) {
        Ok(bytes) => Ok(Procfile::parse(&bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Procfile::default()),
        Err(e) => Err(Error::io("read", path)(e)),
    }
}
