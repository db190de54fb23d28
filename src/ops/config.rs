//! Releases without new code: config vars and add-ons.
//!
//! Each is one [`Change`]: it builds on the base release, records exactly one
//! new release and launches it. Nothing is recorded when a change is refused
//! or changes nothing.

use super::addons;
use super::change::{Change, Context, Outcome, base_release};
use super::error::{Error, Result};
use crate::model::addon::{Action, DEFAULT_PLAN, Spec};
use crate::model::config::{Config, Diff, check_key};
use crate::model::event::Observer;
use crate::model::release::{Addon, Kind, Release};
use crate::store::app::App;

/// Sets config vars; `None` when every var already had that value.
pub fn config_set(
    ctx: &Context,
    app: &App,
    vars: &[(String, String)],
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Option<Outcome>> {
    change(ctx, app, observer, |change| {
        let base = change.base.as_ref();
        let before = config_of(base);
        let mut after = before.clone();
        after.extend(vars.iter().cloned());
        config_release(change, &before, after, description)
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
    change(ctx, app, observer, |change| {
        let base = change.base.as_ref();
        let before = config_of(base);
        let mut after = before.clone();
        after.retain(|k, _| !keys.contains(k));
        config_release(change, &before, after, description)
    })
}

fn config_release(
    change: &Change,
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
        ..change.draft(Kind::Config, description)
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
    let plan = spec.plan.clone().unwrap_or_else(|| DEFAULT_PLAN.to_owned());
    // Undoes the hook's provisioning when what follows it fails.
    let deprovision = |hook: &std::path::Path| {
        let _ = addons::run_hook(hook, &app.name, Action::Deprovision, &spec.name, &plan);
    };
    let mut provisioned = false;
    let outcome = change(ctx, app, observer, |change| {
        let base = change.base.as_ref();
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
            ..change.draft(Kind::Addon, description)
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
    change(ctx, app, observer, |change| {
        let base = change.base.as_ref();
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
            ..change.draft(Kind::Addon, description)
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
        return Err(crate::model::Error::BadAddon {
            spec: spec.name.clone(),
            reason: "name the new plan, as NAME:PLAN",
        }
        .into());
    };
    change(ctx, app, observer, |change| {
        let base = change.base.as_ref();
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
            ..change.draft(Kind::Addon, description)
        }))
    })
}

/// The common frame: one change that builds the new release from the base, records and launches it.
fn change(
    ctx: &Context,
    app: &App,
    observer: &mut dyn Observer,
    make: impl FnOnce(&Change) -> Result<Option<Release>>,
) -> Result<Option<Outcome>> {
    let change = Change::begin(ctx, app, observer)?;
    let Some(draft) = make(&change)? else {
        return Ok(None);
    };
    change.record(draft, observer).map(Some)
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
            name: crate::base::text::escape_truncated(name, crate::base::text::ECHO),
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

/// The config vars new releases of `app` build on (the live release's, or with auto-promote off the newest).
pub fn config_vars(app: &App) -> Result<Config> {
    let base = base_release(app, &app.store())?;
    Ok(config_of(base.as_ref()))
}

/// The add-ons new releases of `app` build on.
pub fn attached_addons(app: &App) -> Result<Vec<Addon>> {
    let base = base_release(app, &app.store())?;
    Ok(addons_of(base.as_ref()))
}
