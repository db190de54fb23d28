//! Config vars and add-ons: listings, and the result lines of the commands that change them.

use std::fmt::Write as _;

use super::releases::{arrows, not_promoted};
use super::{escape, shell_quote, table};
use crate::model::addon::{DEFAULT_PLAN, Spec};
use crate::model::config::Config;
use crate::model::name::AppName;
use crate::model::release::Addon;
use crate::ops::change::Outcome;

/// `heroku config`: a `=== APP Config Vars` header and aligned `KEY: value` lines.
pub fn config_listing(app: &str, config: &Config) -> String {
    if config.is_empty() {
        return format!("{app} has no config vars\n");
    }
    let width = config.keys().map(|k| k.len() + 1).max().unwrap_or(0);
    let mut out = format!("=== {app} Config Vars\n");
    for (key, value) in config {
        let label = format!("{key}:");
        let _ = writeln!(out, "{label:<width$} {}", escape(value));
    }
    out
}

/// `KEY='value'` lines that a POSIX shell reads back exactly.
pub fn config_shell(config: &Config) -> String {
    let safe = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@%+=".contains(c))
    };
    config
        .iter()
        .map(|(k, v)| {
            if safe(v) {
                format!("{k}={v}\n")
            } else {
                format!("{k}={}\n", shell_quote(v))
            }
        })
        .collect()
}

/// The lines `config:set` prints before its result: `  KEY => value`, aligned.
pub fn config_assignments(vars: &[(String, String)], current: &Config) -> String {
    if vars.iter().all(|(k, v)| current.get(k) == Some(v)) {
        // Nothing changes: the result line alone says so.
        return String::new();
    }
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    format!("Adding config vars:\n{}", arrows("  ", "  ", &pairs))
}

/// The `addons` table: Add-on, Plan, Config vars.
pub fn addons_table(app: &str, addons: &[Addon]) -> String {
    if addons.is_empty() {
        return format!("{app} has no add-ons\n");
    }
    let rows: Vec<Vec<String>> = addons
        .iter()
        .map(|a| {
            let vars: Vec<&str> = a.config.keys().map(String::as_str).collect();
            vec![a.name.clone(), a.plan.clone(), vars.join(", ")]
        })
        .collect();
    table(&["Add-on", "Plan", "Config vars"], &rows)
}

/// The result line of a change that made a release: "Updating vars and restarting myapp... done, v11" (`doing` is "Updating vars").
///
/// `None` when nothing changed (`unchanged` says why); an error when the release failed (already reported).
fn changed(
    app: &AppName,
    outcome: &Option<Outcome>,
    doing: &str,
    unchanged: &str,
) -> Option<String> {
    Some(match outcome {
        None => format!("{unchanged}; no new release\n"),
        Some(Outcome::Live(r)) => format!("{doing} and restarting {app}... done, v{}\n", r.version),
        // Recorded, not live: nothing restarts until it is promoted.
        Some(Outcome::Recorded(r)) => format!(
            "{doing} on {app}... done, v{}\n{}",
            r.version,
            not_promoted(app, r.version)
        ),
        Some(_) => return None,
    })
}

/// "Adding memcachier to myapp... done, v12 (free)"; `None` when the release failed (already reported).
fn addon_changed(
    app: &AppName,
    outcome: &Option<Outcome>,
    doing: &str,
    suffix: &str,
) -> Option<String> {
    match outcome {
        Some(Outcome::Live(r)) => Some(format!("{doing} done, v{}{suffix}\n", r.version)),
        Some(Outcome::Recorded(r)) => Some(format!(
            "{doing} done, v{}{suffix}\n{}",
            r.version,
            not_promoted(app, r.version)
        )),
        _ => None,
    }
}

/// `config:set`'s result line; `None` when the release failed (already reported).
pub fn set_result(app: &AppName, outcome: &Option<Outcome>) -> Option<String> {
    changed(
        app,
        outcome,
        "Updating vars",
        "No config vars changed: each already had that value",
    )
}

/// `config:unset`'s result line; `None` when the release failed (already reported).
pub fn unset_result(app: &AppName, keys: &[String], outcome: &Option<Outcome>) -> Option<String> {
    let doing = format!("Unsetting {}", keys.join(", "));
    changed(
        app,
        outcome,
        &doing,
        "No config vars changed: none of them was set",
    )
}

/// `addons:add`'s result line: "Adding memcachier to myapp... done, v12 (free)".
pub fn addon_added(app: &AppName, spec: &Spec, outcome: &Option<Outcome>) -> Option<String> {
    let plan = spec.plan.as_deref().unwrap_or(DEFAULT_PLAN);
    addon_changed(
        app,
        outcome,
        &format!("Adding {} to {app}...", spec.name),
        &format!(" ({plan})"),
    )
}

/// `addons:remove`'s result line.
pub fn addon_removed(app: &AppName, name: &str, outcome: &Option<Outcome>) -> Option<String> {
    let doing = format!("Removing {} from {app}...", escape(name));
    addon_changed(app, outcome, &doing, "")
}

/// `addons:upgrade` / `addons:downgrade`'s result line.
pub fn plan_changed(
    app: &AppName,
    spec: &Spec,
    downgrade: bool,
    outcome: &Option<Outcome>,
) -> Option<String> {
    let verb = if downgrade {
        "Downgrading"
    } else {
        "Upgrading"
    };
    let plan = spec.plan.as_deref().unwrap_or_default();
    addon_changed(
        app,
        outcome,
        &format!("{verb} {0} to {0}:{plan} on {app}...", spec.name),
        "",
    )
}
