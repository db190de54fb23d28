//! `slugs:migrate`: copies every slug a release refers to into another store, checks it there, then switches `slug_store`.
//!
//! First every slug is copied without holding any lock (deploys go on);
//! then, holding the root lock and every app's lock, the slugs recorded
//! meanwhile are copied and `slug_store` in slipway.yaml is switched. A
//! change that waited for an app's lock meanwhile sees the switch and stops
//! ([`crate::store::Error::SlugStoreMoved`]) rather than use the old store.
//! Copies already in the target (same sha256 and size) are kept, so an
//! interrupted migration is finished by running it again. The old store is
//! left as it was.

use std::collections::{BTreeMap, HashSet};

use super::error::Result;
use crate::base::clock::Clock;
use crate::model::event::{Event, Observer};
use crate::model::release::{Release, SlugRef};
use crate::model::slug_store::SlugStoreSpec;
use crate::store::app::{self, App, AppLock};
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

/// What a migration did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// `slug_store` before.
    pub from: String,
    /// `slug_store` now.
    pub to: String,
    /// Slugs copied.
    pub copied: usize,
    /// Their total size.
    pub bytes: u64,
    /// Slugs the target had already (from an earlier, interrupted run, or shared with it).
    pub present: usize,
}

/// Copies every referenced slug from `from` (the root's store) to `to` (the store `spec` names), checks each, then sets `slug_store: spec`.
pub fn migrate(
    root: &mut Root,
    from: &SlugStore,
    to: &SlugStore,
    spec: &SlugStoreSpec,
    clock: &Clock,
    observer: &mut dyn Observer,
) -> Result<Migrated> {
    let mut migrated = Migrated {
        from: root.settings.slug_store.to_string(),
        to: spec.to_string(),
        ..Migrated::default()
    };
    // Downloads for the copy must not be evicted before the switch.
    let from = from.clone().uncapped();
    let mut done = HashSet::new();
    for slug in referenced(root)?.values() {
        copy(&from, to, slug, clock, observer, &mut migrated)?;
        done.insert(slug.sha256.clone());
    }
    // The same order as gc and apps:destroy: the root lock, then app locks.
    let _root_lock = app::lock_apps(root)?;
    let apps = open_apps(root)?;
    let _locks: Vec<AppLock> = apps
        .iter()
        .map(App::lock)
        .collect::<crate::store::Result<_>>()?;
    for slug in referenced(root)?.values() {
        if !done.contains(&slug.sha256) {
            copy(&from, to, slug, clock, observer, &mut migrated)?;
        }
    }
    root.set_setting("slug_store", &spec.to_string())?;
    Ok(migrated)
}

/// Every slug a record of any app names (pruned ones are gone), by sha256.
fn referenced(root: &Root) -> Result<BTreeMap<String, SlugRef>> {
    let mut slugs = BTreeMap::new();
    for app in open_apps(root)? {
        let store = app.store();
        for v in store.versions()? {
            // A record that cannot be read might name any slug: stop rather than leave it behind.
            if let Some(Release {
                slug: Some(slug), ..
            }) = store.find(v)?
            {
                slugs.insert(slug.sha256.clone(), slug);
            }
        }
    }
    Ok(slugs)
}

fn open_apps(root: &Root) -> Result<Vec<App>> {
    Ok(app::list(root)?
        .iter()
        .map(|name| App::open(root, name))
        .collect::<crate::store::Result<_>>()?)
}

/// Makes sure `to` keeps `slug`: copied from a checked local copy of it unless `to` has it, then checked there.
fn copy(
    from: &SlugStore,
    to: &SlugStore,
    slug: &SlugRef,
    clock: &Clock,
    observer: &mut dyn Observer,
    migrated: &mut Migrated,
) -> Result<()> {
    let present = match to.is_remote() {
        true => to.check_stored(slug, None).is_ok(),
        // A local target is checked byte for byte: it is cheap, and a bad copy is replaced.
        false => to.verify(slug).is_ok(),
    };
    if !present {
        let path = from.fetch(slug, clock.now, &mut |_| {})?;
        to.backend().put(slug, &path, &mut |_| {})?;
        match to.is_remote() {
            true => to.check_stored(slug, None)?,
            false => to.verify(slug)?,
        }
    }
    observer.event(Event::SlugCopied {
        sha256: slug.sha256.clone(),
        size: slug.size,
        already_there: present,
    });
    if present {
        migrated.present += 1;
    } else {
        migrated.copied += 1;
        migrated.bytes += slug.size;
    }
    Ok(())
}
