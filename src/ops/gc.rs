//! Reclaiming disk: `releases:prune` (drop old releases' slugs) and `slugs:gc` (delete unreferenced slugs).
//!
//! Slugs are shared by every app, so a slug is deleted only when no record of
//! any app refers to it, and only while the root lock (no app can be created
//! meanwhile) and every app's lock are held: a deploy holds its app's lock from
//! compiling a slug until its record names it (uploading it in between), so
//! none can be in between. With a remote slug store, unreferenced objects are
//! deleted from the bucket, and unreferenced copies from the local cache.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::change::{Change, Context};
use super::error::{Error, Result};
use crate::base::files;
use crate::model::event::Observer;
use crate::model::release::Version;
use crate::model::release::{Release, Status};
use crate::store::app::{self, App, AppLock};
use crate::store::root::Root;
use crate::store::slugs::{Backend, LocalDir, SlugStore};

/// What a prune or gc removed.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reclaimed {
    /// Versions whose slug was pruned.
    pub pruned: Vec<Version>,
    /// Slug files deleted.
    pub slugs: usize,
    /// Their total size in bytes.
    pub bytes: u64,
}

/// Drops the slugs of `app`'s releases other than the newest `keep` succeeded ones (the current one counts), the current one and the base.
///
/// The records stay, with the slug moved to `pruned_slug`; slug files that no
/// release of any app still uses are then deleted.
pub fn prune(
    ctx: &Context,
    app: &App,
    keep: usize,
    observer: &mut dyn Observer,
) -> Result<Reclaimed> {
    let pruned = {
        let change = Change::begin(ctx, app, observer)?;
        let (store, lock) = (&change.store, change.lock());
        let current = store.current()?;
        // The release new ones build on keeps its slug too (with auto-promote off it need not be current).
        let base = change.base.as_ref().map(|r| r.version);
        let versions = store.versions()?;
        // Newest first: the first `keep` succeeded ones keep their slugs (the
        // current one counts, as in Capistrano's keep_releases); a failed
        // release can never be live again and does not use up a place.
        let mut kept: HashSet<Version> = current.into_iter().chain(base).collect();
        let mut targets = 0;
        let mut releases = Vec::new();
        for &v in versions.iter().rev() {
            let Some(release) = store.find(v)? else {
                continue;
            };
            if targets < keep && release.status == Status::Succeeded && release.slug.is_some() {
                targets += 1;
                kept.insert(v);
            }
            releases.push(release);
        }
        let mut pruned = Vec::new();
        for mut release in releases.into_iter().rev() {
            let v = release.version;
            if kept.contains(&v) {
                continue;
            }
            if let Some(slug) = release.slug.take() {
                release.pruned_slug = Some(slug);
                store.update(lock, &release)?;
                pruned.push(v);
            }
        }
        pruned
    };
    let mut reclaimed = gc(ctx.root, &ctx.slugs)?;
    reclaimed.pruned = pruned;
    Ok(reclaimed)
}

/// Deletes every slug no release of any app refers to, with its by-tree and verified entries.
pub fn gc(root: &Root, store: &SlugStore) -> Result<Reclaimed> {
    // The same order as apps:destroy: the root lock, then app locks.
    let _root_lock = app::lock_apps(root)?;
    // A damaged app's records might name any slug: stop rather than guess.
    if let Some(name) = app::damaged(root)?.first() {
        App::open(root, name)?;
    }
    let apps: Vec<App> = app::list(root)?
        .iter()
        .map(|name| App::open(root, name))
        .collect::<crate::store::Result<_>>()?;
    // Sorted order; deploys hold one lock at a time, so this cannot deadlock.
    let _locks: Vec<AppLock> = apps
        .iter()
        .map(App::lock)
        .collect::<crate::store::Result<_>>()?;
    // slugs:migrate may have switched the store while this waited: deleting by the old one's references would be wrong.
    let now = root.settings_now()?.slug_store;
    if now != root.settings.slug_store {
        return Err(crate::store::Error::SlugStoreMoved {
            now: now.to_string(),
        }
        .into());
    }
    let mut used = HashSet::new();
    for app in &apps {
        let records = app.store();
        for v in records.versions()? {
            // A record that cannot be read might name any slug: stop rather than guess.
            if let Some(Release {
                slug: Some(slug), ..
            }) = records.find(v)?
            {
                used.insert(slug.sha256);
            }
        }
    }
    let mut reclaimed = Reclaimed::default();
    if store.is_remote() {
        for (sha, size) in store.backend().list()? {
            if !used.contains(&sha) {
                store.backend().delete(&sha)?;
                reclaimed.slugs += 1;
                reclaimed.bytes += size;
            }
        }
    }
    let slugs = store.dir().to_path_buf();
    for dir in [slugs.clone(), slugs.join("by-tree"), slugs.join("verified")] {
        files::remove_stale_temps(&dir).map_err(Error::io("clean", &dir))?;
    }
    // The local copies: the store itself, or with a remote store its cache.
    for (sha, size) in LocalDir::new(slugs.clone()).list()? {
        if used.contains(&sha) {
            continue;
        }
        store.forget_local(&sha)?;
        if !store.is_remote() {
            reclaimed.slugs += 1;
            reclaimed.bytes += size;
        }
    }
    remove_dangling_tree_entries(&slugs)?;
    files::sync_dir(&slugs).map_err(Error::io("sync", &slugs))?;
    Ok(reclaimed)
}

/// Removes `slugs/by-tree/TREE` entries whose slug file is gone.
fn remove_dangling_tree_entries(slugs: &Path) -> Result<()> {
    let by_tree = slugs.join("by-tree");
    let Ok(entries) = fs::read_dir(&by_tree) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry.map_err(Error::io("read", &by_tree))?.path();
        let target = fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.split_whitespace().next().map(str::to_owned));
        let present = target.is_some_and(|sha| slugs.join(format!("{sha}.tar.gz")).is_file());
        if !present {
            remove_if_present(&path)?;
        }
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}
