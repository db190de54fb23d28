//! Add-ons: `NAME[:PLAN]` specs, what the provisioning hook is asked, and how two add-on sets differ.

use std::str::FromStr;

use super::error::{Error, Result};
use super::release::Addon;

/// The plan an add-on gets when none is named.
pub const DEFAULT_PLAN: &str = "free";

/// An add-on named on the command line: `memcachier` or `memcachier:100`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// The add-on's name.
    pub name: String,
    /// The plan, if one was named.
    pub plan: Option<String>,
}

impl FromStr for Spec {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Spec> {
        let bad = |reason| Error::BadAddon {
            spec: crate::base::text::escape_truncated(spec, crate::base::text::ECHO),
            reason,
        };
        let (name, plan) = match spec.split_once(':') {
            Some((name, plan)) => (name, Some(plan)),
            None => (spec, None),
        };
        let word = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && s.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.')
                })
                && s.len() <= 64
        };
        if !word(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(bad(
                "names are lowercase letters, digits, '-', '_' and '.', starting with a letter",
            ));
        }
        if let Some(plan) = plan
            && !word(plan)
        {
            return Err(bad("plans are lowercase letters, digits, '-', '_' and '.'"));
        }
        Ok(Spec {
            name: name.to_owned(),
            plan: plan.map(str::to_owned),
        })
    }
}

/// What the provisioning hook is asked to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Create the resource.
    Provision,
    /// Delete the resource.
    Deprovision,
    /// Move the resource to a bigger plan.
    Upgrade,
    /// Move the resource to a smaller plan.
    Downgrade,
}

impl Action {
    /// The word passed to the hook.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Provision => "provision",
            Action::Deprovision => "deprovision",
            Action::Upgrade => "upgrade",
            Action::Downgrade => "downgrade",
        }
    }
}

/// How `current` differs from `target`, as "memcachier added", "redis removed", "pg changed plan".
pub fn changes_since(target: &[Addon], current: &[Addon]) -> Vec<String> {
    let mut changes = Vec::new();
    for now in current {
        match target.iter().find(|a| a.name == now.name) {
            None => changes.push(format!("{} added", now.name)),
            Some(then) if then.plan != now.plan => {
                changes.push(format!(
                    "{} changed plan from {} to {}",
                    now.name, then.plan, now.plan
                ));
            }
            Some(_) => {}
        }
    }
    for then in target {
        if !current.iter().any(|a| a.name == then.name) {
            changes.push(format!("{} removed", then.name));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::config::Config;

    fn addon(name: &str, plan: &str) -> Addon {
        Addon {
            name: name.into(),
            plan: plan.into(),
            config: Config::new(),
        }
    }

    #[test]
    fn specs_parse_name_and_optional_plan() {
        assert_eq!(
            "memcachier".parse::<Spec>().unwrap(),
            Spec {
                name: "memcachier".into(),
                plan: None
            }
        );
        assert_eq!(
            "memcachier:100".parse::<Spec>().unwrap().plan.as_deref(),
            Some("100")
        );
        for bad in ["", ":free", "Mem", "a:b:c", "a b", "x:"] {
            assert!(bad.parse::<Spec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn changes_name_added_removed_and_replanned_addons() {
        let then = [addon("redis", "free"), addon("pg", "hobby")];
        let now = [addon("pg", "standard"), addon("memcachier", "free")];
        assert_eq!(
            changes_since(&then, &now),
            [
                "pg changed plan from hobby to standard",
                "memcachier added",
                "redis removed"
            ]
        );
        assert!(changes_since(&then, &then).is_empty());
    }
}
