//! `apps/NAME/buildpacks.json`: the buildpacks `buildpacks:set` and friends chose for an app (used from its next deploy).

use std::path::PathBuf;

use super::app::{App, AppLock};
use super::error::{Error, Result};
use crate::base::files;
use crate::model::buildpack::Buildpack;

fn path(app: &App) -> PathBuf {
    app.dir().join("buildpacks.json")
}

/// The app's chosen buildpacks, in order; empty when none were chosen (detection decides).
pub fn load(app: &App) -> Result<Vec<Buildpack>> {
    let path = path(app);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", &path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::Settings {
        path,
        reason: e.to_string(),
    })
}

/// Replaces the app's chosen buildpacks; an empty list removes the file. The caller holds the app lock.
pub fn save(app: &App, _lock: &AppLock, buildpacks: &[Buildpack]) -> Result<()> {
    let path = path(app);
    if buildpacks.is_empty() {
        return match std::fs::remove_file(&path) {
            Ok(()) => files::sync_dir(app.dir()).map_err(Error::io("sync", app.dir())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove", &path)(e)),
        };
    }
    let mut bytes = serde_json::to_vec_pretty(buildpacks).unwrap_or_default();
    bytes.push(b'\n');
    files::write_atomic(&path, &bytes, 0o644).map_err(Error::io("write", &path))
}
