//! `apps/NAME/formation.json`: the process counts `ps:scale` keeps.

use std::path::{Path, PathBuf};

use super::app::{App, AppLock};
use super::error::{Error, Result};
use crate::base::files;
use crate::model::formation::Formation;

/// `apps/NAME/formation.json`.
pub fn path(app: &App) -> PathBuf {
    app.dir().join("formation.json")
}

/// Reads the app's formation; a missing file is the default.
pub fn load(app: &App) -> Result<Formation> {
    load_from(&path(app))
}

fn load_from(path: &Path) -> Result<Formation> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Formation::default()),
        Err(e) => return Err(Error::io("read", path)(e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::Settings {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Writes the formation atomically; the caller holds the app lock.
pub fn save(app: &App, _lock: &AppLock, formation: &Formation) -> Result<()> {
    let path = path(app);
    let mut text = serde_json::to_string_pretty(formation).unwrap_or_default();
    text.push('\n');
    files::write_atomic(&path, text.as_bytes(), 0o644).map_err(Error::io("write", &path))
}
