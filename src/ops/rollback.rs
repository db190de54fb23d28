//! Going back: `rollback` makes a new release from an older one; `releases:promote` makes a recorded release live.
//!
//! Neither touches the app's git repository.

use super::change::{Change, Context, Outcome};
use super::error::{Error, Result};
use crate::model::addon;
use crate::model::event::Observer;
use crate::model::release::Version;
use crate::model::release::{Kind, Release, Status};
use crate::store::Error as StoreError;
use crate::store::app::App;

/// Makes a new release that copies `target`'s slug and config (default: the newest succeeded release before the live one).
///
/// Refused, with nothing recorded, when the target is missing, live, failed,
/// has no slug, its slug is missing or corrupt, or add-ons changed since it.
/// The app's git repository is never touched.
pub fn rollback(
    ctx: &Context,
    app: &App,
    target: Option<Version>,
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let change = Change::begin(ctx, app, observer)?;
    let store = &change.store;
    let Some(current) = change.current()? else {
        return Err(Error::NothingToRollBack {
            app: app.name.to_string(),
        });
    };
    let target = match target {
        Some(v) => store.find(v)?.ok_or_else(|| StoreError::NoRelease {
            app: app.name.to_string(),
            version: v,
        })?,
        None => store
            .latest_succeeded(Some(current.version))?
            .ok_or_else(|| Error::NothingToRollBack {
                app: app.name.to_string(),
            })?,
    };
    let refuse = |reason: String| Error::Rollback {
        version: target.version,
        reason,
    };
    if target.version == current.version {
        return Err(refuse("it is the current release".into()));
    }
    if target.status != Status::Succeeded {
        return Err(refuse(format!("it {}", status_word(target.status))));
    }
    let Some(slug) = &target.slug else {
        return Err(refuse(
            "it has no slug (it was made before the first deploy, or its slug was pruned)".into(),
        ));
    };
    ctx.slugs
        .available(slug, ctx.clock.now)
        .map_err(|e| refuse(e.to_string()))?;
    // The add-ons provisioned now are the base release's (with auto_promote
    // off, a newer release than the live one may have added some).
    let provisioned = change.base.as_ref().unwrap_or(&current);
    let changes = addon::changes_since(&target.addons, &provisioned.addons);
    if !changes.is_empty() {
        return Err(Error::RollbackAddons {
            version: target.version,
            changes: changes.join(", "),
        });
    }
    let description = description.unwrap_or_else(|| format!("Rollback to v{}", target.version));
    // The target's own vars, but the add-ons' vars as they are now: add-on
    // state (rotated credentials included) is not the rollback's to change.
    let mut config = target.config.clone();
    for addon in &target.addons {
        config.retain(|k, _| !addon.config.contains_key(k));
    }
    for addon in &provisioned.addons {
        config.extend(addon.config.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let draft = Release {
        config,
        addons: provisioned.addons.clone(),
        rollback_of: Some(target.version),
        ..change.draft_from(Some(&target), Kind::Rollback, description)
    };
    // A rollback is the fix for a bad release: it goes live whatever auto_promote says.
    change.record_live(draft, observer)
}

/// Launches an existing succeeded release and makes it current (no new release, as Convox).
pub fn promote(
    ctx: &Context,
    app: &App,
    version: Version,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let change = Change::begin(ctx, app, observer)?;
    let store = &change.store;
    let release = store.find(version)?.ok_or_else(|| StoreError::NoRelease {
        app: app.name.to_string(),
        version,
    })?;
    let refuse = |reason: String| Error::Promote { version, reason };
    if store.current()? == Some(version) {
        return Err(refuse("it is already live".into()));
    }
    if release.status != Status::Succeeded {
        return Err(refuse(format!("it {}", status_word(release.status))));
    }
    match (&release.slug, &release.pruned_slug) {
        (Some(slug), _) => ctx
            .slugs
            .available(slug, ctx.clock.now)
            .map_err(|e| refuse(e.to_string()))?,
        (None, Some(_)) => return Err(refuse("its slug was pruned".into())),
        // Config set before the first deploy: there is nothing to start, but
        // going back to it would stop code that runs now.
        (None, None) if change.current()?.is_some_and(|c| c.slug.is_some()) => {
            return Err(refuse(
                "it has no slug, and the live release runs code".into(),
            ));
        }
        (None, None) => {}
    }
    // Add-ons live outside releases: the base release holds the ones provisioned
    // now, and making another set live would drop or revive some (and their vars)
    // without the add-on hook hearing of it.
    if let Some(base) = &change.base {
        let mut changes = addon::changes_since(&release.addons, &base.addons);
        // Same add-on, new vars (removed and added again, say): the release's are stale.
        for then in &release.addons {
            if base.addons.iter().any(|now| {
                now.name == then.name && now.plan == then.plan && now.config != then.config
            }) {
                changes.push(format!("{}'s config vars changed", then.name));
            }
        }
        if !changes.is_empty() {
            return Err(Error::PromoteAddons {
                version,
                base: base.version,
                changes: changes.join(", "),
            });
        }
    }
    change.go_live(release, observer)
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pending => "is still pending",
        Status::Failed => "failed",
        Status::Succeeded => "succeeded",
    }
}
