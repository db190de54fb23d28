//! Pre-receive's notes to post-receive: `apps/NAME/built/COMMIT` names the slug a strict push already built.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::app::{App, AppLock};
use super::error::{Error, Result};
use super::slugs::SlugStore;
use crate::base::files;
use crate::model::config::Config;
use crate::model::release::SlugRef;

/// A note older than this was left by a push that never reached post-receive.
const NOTE_TTL: Duration = Duration::from_secs(60 * 60);

fn notes_dir(app: &App) -> PathBuf {
    app.dir().join("built")
}

/// Notes that `commit` built into `slug` (with the buildpacks' config defaults), and forgets notes of pushes that never reached post-receive.
pub fn write(
    app: &App,
    _lock: &AppLock,
    commit: &str,
    slug: &SlugRef,
    config_defaults: &Config,
) -> Result<()> {
    let dir = notes_dir(app);
    fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    files::remove_stale_temps(&dir).map_err(Error::io("clean", &dir))?;
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| SystemTime::now().duration_since(m).ok())
                .is_some_and(|age| age > NOTE_TTL);
            if old && !files::is_temp_name(entry.file_name().as_encoded_bytes()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    let path = dir.join(commit);
    let defaults = serde_json::to_string(config_defaults).unwrap_or_default();
    let text = format!("{} {}\n{defaults}\n", slug.sha256, slug.size);
    files::write_atomic(&path, text.as_bytes(), 0o644).map_err(Error::io("write", &path))
}

/// The slug (and config defaults) pre-receive built for `commit`, if it noted one and the slug is still there; the note is used up.
pub fn take(app: &App, slugs: &SlugStore, commit: &str) -> Option<(SlugRef, Config)> {
    let path = notes_dir(app).join(commit);
    let text = fs::read_to_string(&path).ok()?;
    let _ = fs::remove_file(&path);
    let mut lines = text.lines();
    let (sha256, size) = lines.next()?.trim().split_once(' ')?;
    let defaults: Config = match lines.next() {
        Some(json) => serde_json::from_str(json).ok()?,
        None => Config::new(),
    };
    let slug = SlugRef {
        sha256: sha256.to_owned(),
        size: size.parse().ok()?,
    };
    let on_disk = fs::metadata(slugs.path(&slug.sha256)).ok()?;
    (on_disk.len() == slug.size).then_some((slug, defaults))
}
