//! Release to processes: the launchers (none, local, exec), the per-app supervisor, its forwarder and health checks, and one-off processes.

pub mod error;
pub mod launch;
pub mod oneoff;
pub mod supervisor;

pub use error::{Error, Result};

use std::path::Path;

use crate::model::procfile::Procfile;

/// Reads a release's Procfile; a missing file is an empty Procfile (the release runs nothing).
pub fn read_procfile(path: &Path) -> Result<Procfile> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Procfile::parse(&bytes)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Procfile::default()),
        Err(e) => Err(Error::io("read", path)(e)),
    }
}
