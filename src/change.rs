//! Releases without new code: config vars, add-ons, rollback and promote.
//!
//! Each change takes the app lock, builds on the base release (see
//! [`deploy::base_release`]), records exactly one new release and launches it.
//! Nothing is recorded when a change is refused or changes nothing.

use crate::addons::{self, Action, Spec};
use crate::app::{App, AppLock};
use crate::config::{Config, Diff, check_key};
use crate::deploy::{self, Context, Outcome};
use crate::error::{Error, Result};
use crate::event::Observer;
use crate::release::{Addon, Kind, Release, Status};
use crate::slug::SlugStore;

/// Sets config vars; `None` when every var already had that value.
pub fn config_set(
    ctx: &Context,
    app: &App,
    vars: &[(String, String)],
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    change(ctx, app, observer, |_, base| {
        let before = config_of(base);
        let mut after = before.clone();
        after.extend(vars.iter().cloned());
        config_release(ctx, base, &before, after, description)
    })
}

/// Removes config vars; `None` when none of them was set.
pub fn config_unset(
    ctx: &Context,
    app: &App,
    keys: &[String],
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    for key in keys {
        check_key(key)?;
    }
    change(ctx, app, observer, |_, base| {
        let before = config_of(base);
        let mut after = before.clone();
        after.retain(|k, _| !keys.contains(k));
        config_release(ctx, base, &before, after, description)
    })
}

fn config_release(
    ctx: &Context,
    base: Option<&Release>,
    before: &Config,
    after: Config,
    description: Option<String>,
) -> Result<Option<Release>> {
    let diff = Diff::between(before, &after);
    if diff.is_empty() {
        return Ok(None);
    }
    let description = description.unwrap_or_else(|| diff.description());
    Ok(Some(Release {
        config: after,
        ..deploy::draft(ctx, base, Kind::Config, description)
    }))
}

/// Attaches an add-on (plan `free` unless named), with the config vars it provides.
///
/// The admin's `hooks/addon` provisions it if present; `extra` vars are added
/// to (and override) what the hook printed.
pub fn addon_add(
    ctx: &Context,
    app: &App,
    spec: &Spec,
    extra: &[(String, String)],
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    let hook = addons::hook_path(ctx.root.dir());
    let plan = spec
        .plan
        .clone()
        .unwrap_or_else(|| addons::DEFAULT_PLAN.to_owned());
    // Undoes the hook's provisioning when what follows it fails.
    let deprovision = |hook: &std::path::Path| {
        let _ = addons::run_hook(hook, &app.name, Action::Deprovision, &spec.name, &plan);
    };
    let mut provisioned = false;
    let outcome = change(ctx, app, observer, |_, base| {
        let addons = addons_of(base);
        if addons.iter().any(|a| a.name == spec.name) {
            return Err(Error::AddonExists {
                app: app.name.to_string(),
                name: spec.name.clone(),
            });
        }
        let mut config = config_of(base);
        let extra: Config = extra.iter().cloned().collect();
        merge_addon_vars(&mut config.clone(), &spec.name, &extra)?;
        let mut vars = match &hook {
            Some(hook) => {
                let vars = addons::run_hook(hook, &app.name, Action::Provision, &spec.name, &plan)?;
                provisioned = true;
                vars
            }
            None => Config::new(),
        };
        vars.extend(extra);
        merge_addon_vars(&mut config, &spec.name, &vars)?;
        let description = description.unwrap_or_else(|| format!("Add {}:{plan} add-on", spec.name));
        let mut addons = addons;
        addons.push(Addon {
            name: spec.name.clone(),
            plan: plan.clone(),
            config: vars,
        });
        Ok(Some(Release {
            config,
            addons,
            ..deploy::draft(ctx, base, Kind::Addon, description)
        }))
    });
    if let Some(hook) = hook.as_deref()
        && provisioned
        && matches!(outcome, Err(_) | Ok(Some(Outcome::Failed(_))))
    {
        deprovision(hook);
    }
    outcome
}

/// Detaches an add-on and removes the config vars it provided.
pub fn addon_remove(
    ctx: &Context,
    app: &App,
    name: &str,
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    change(ctx, app, observer, |_, base| {
        let mut addons = addons_of(base);
        let addon = take_addon(app, &mut addons, name)?;
        if let Some(hook) = addons::hook_path(ctx.root.dir()) {
            addons::run_hook(
                &hook,
                &app.name,
                Action::Deprovision,
                &addon.name,
                &addon.plan,
            )?;
        }
        let mut config = config_of(base);
        config.retain(|k, _| !addon.config.contains_key(k));
        let description = description.unwrap_or_else(|| format!("Remove {name} add-on"));
        Ok(Some(Release {
            config,
            addons,
            ..deploy::draft(ctx, base, Kind::Addon, description)
        }))
    })
}

/// Moves an add-on to another plan (`upgrade` and `downgrade` differ only in their words).
pub fn addon_change_plan(
    ctx: &Context,
    app: &App,
    spec: &Spec,
    action: Action,
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    let Some(plan) = spec.plan.clone() else {
        return Err(Error::BadAddon {
            spec: spec.name.clone(),
            reason: "name the new plan, as NAME:PLAN",
        });
    };
    change(ctx, app, observer, |_, base| {
        let mut addons = addons_of(base);
        let mut addon = take_addon(app, &mut addons, &spec.name)?;
        if addon.plan == plan {
            return Err(Error::SamePlan {
                name: addon.name,
                plan,
            });
        }
        let mut config = config_of(base);
        if let Some(hook) = addons::hook_path(ctx.root.dir()) {
            let vars = addons::run_hook(&hook, &app.name, action, &addon.name, &plan)?;
            // New vars from the hook replace the add-on's old ones; none means they stay.
            if !vars.is_empty() {
                config.retain(|k, _| !addon.config.contains_key(k));
                merge_addon_vars(&mut config, &addon.name, &vars)?;
                addon.config = vars;
            }
        }
        let verb = if action == Action::Downgrade {
            "Downgrade"
        } else {
            "Upgrade"
        };
        let description = description
            .unwrap_or_else(|| format!("{verb} {} to {}:{plan}", addon.name, addon.name));
        addon.plan = plan;
        addons.push(addon);
        addons.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Some(Release {
            config,
            addons,
            ..deploy::draft(ctx, base, Kind::Addon, description)
        }))
    })
}

/// Makes a new release that copies `target`'s slug and config (default: the newest succeeded release before the live one).
///
/// Refused, with nothing recorded, when the target is missing, live, failed,
/// has no slug, its slug is missing or corrupt, or add-ons changed since it.
/// The app's git repository is never touched.
pub fn rollback(
    ctx: &Context,
    app: &App,
    target: Option<u32>,
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let lock = deploy::lock_app(app, observer)?;
    let store = app.store();
    store.recover(&lock)?;
    let Some(current) = deploy::current_release(&store)? else {
        return Err(Error::NothingToRollBack {
            app: app.name.to_string(),
        });
    };
    let target = match target {
        Some(v) => store.find(v)?.ok_or_else(|| Error::NoRelease {
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
    SlugStore::new(ctx.root.slugs_dir())
        .check(slug)
        .map_err(|e| refuse(e.to_string()))?;
    let changes = addons::changes_since(&target.addons, &current.addons);
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
    for addon in &current.addons {
        config.extend(addon.config.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    let draft = Release {
        config,
        addons: current.addons.clone(),
        rollback_of: Some(target.version),
        ..deploy::draft(ctx, Some(&target), Kind::Rollback, description)
    };
    // A rollback is the fix for a bad release: it goes live whatever auto_promote says.
    let release = store.create(&lock, draft)?;
    deploy::go_live(ctx, app, &lock, release, observer)
}

/// Launches an existing succeeded release and makes it current (no new release, as Convox).
pub fn promote(
    ctx: &Context,
    app: &App,
    version: u32,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let lock = deploy::lock_app(app, observer)?;
    let store = app.store();
    store.recover(&lock)?;
    let release = store.find(version)?.ok_or_else(|| Error::NoRelease {
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
        (Some(slug), _) => SlugStore::new(ctx.root.slugs_dir())
            .check(slug)
            .map_err(|e| refuse(e.to_string()))?,
        (None, Some(_)) => return Err(refuse("its slug was pruned".into())),
        // Config set before the first deploy: there is nothing to start, but
        // going back to it would stop code that runs now.
        (None, None) if deploy::current_release(&store)?.is_some_and(|c| c.slug.is_some()) => {
            return Err(refuse(
                "it has no slug, and the live release runs code".into(),
            ));
        }
        (None, None) => {}
    }
    deploy::go_live(ctx, app, &lock, release, observer)
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Pending => "is still pending",
        Status::Failed => "failed",
        Status::Succeeded => "succeeded",
    }
}

/// The common frame: lock, recover, build the new release from the base, record and launch it.
fn change(
    ctx: &Context,
    app: &App,
    observer: &mut dyn Observer,
    make: impl FnOnce(&AppLock, Option<&Release>) -> Result<Option<Release>>,
) -> Result<Option<Outcome>> {
    let lock = deploy::lock_app(app, observer)?;
    let store = app.store();
    store.recover(&lock)?;
    let base = deploy::base_release(app, &store)?;
    let Some(draft) = make(&lock, base.as_ref())? else {
        return Ok(None);
    };
    deploy::record(ctx, app, &lock, draft, observer).map(Some)
}

fn config_of(base: Option<&Release>) -> Config {
    base.map(|b| b.config.clone()).unwrap_or_default()
}

fn addons_of(base: Option<&Release>) -> Vec<Addon> {
    base.map(|b| b.addons.clone()).unwrap_or_default()
}

fn take_addon(app: &App, addons: &mut Vec<Addon>, name: &str) -> Result<Addon> {
    let Some(i) = addons.iter().position(|a| a.name == name) else {
        return Err(Error::NoAddon {
            app: app.name.to_string(),
            name: crate::output::escape(name).into_owned(),
        });
    };
    Ok(addons.remove(i))
}

fn merge_addon_vars(config: &mut Config, name: &str, vars: &Config) -> Result<()> {
    if let Some(key) = vars.keys().find(|k| config.contains_key(*k)) {
        return Err(Error::AddonConfigConflict {
            name: name.to_owned(),
            key: key.clone(),
        });
    }
    config.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(())
}
