//! Add-ons: `NAME[:PLAN]` specs, the admin's provisioning hook, and how two add-on sets differ.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::app::AppName;
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::release::Addon;

/// The plan an add-on gets when none is named.
pub const DEFAULT_PLAN: &str = "free";

const HOOK_TIMEOUT: Duration = Duration::from_secs(600);

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
            spec: crate::output::escape(spec).into_owned(),
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

/// The admin's executable `ROOT/hooks/addon`, if there is one.
pub fn hook_path(root_dir: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = root_dir.join("hooks").join("addon");
    let meta = std::fs::metadata(&path).ok()?;
    (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(path)
}

/// Runs `hook ACTION NAME PLAN` and returns the `KEY=VALUE` lines it printed.
///
/// Its stderr goes to ours; a non-zero exit, a bad output line or a run longer
/// than ten minutes is an error, and the caller records nothing.
pub fn run_hook(
    hook: &Path,
    app: &AppName,
    action: Action,
    name: &str,
    plan: &str,
) -> Result<Config> {
    let failed = |reason: String| Error::AddonHook {
        action: action.as_str(),
        name: name.to_owned(),
        reason,
    };
    let mut child = Command::new(hook)
        .args([action.as_str(), name, plan])
        .env("SLIPWAY_APP", app.as_str())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| failed(format!("cannot run {}: {e}", hook.display())))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| failed("no stdout".into()))?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let deadline = Instant::now() + HOOK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| failed(e.to_string()))? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(failed("it ran for more than 10 minutes".into()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader
        .join()
        .map_err(|_| failed("reading its output failed".into()))?
        .map_err(|e| failed(e.to_string()))?;
    if !status.success() {
        return Err(failed(format!("it exited with {status}")));
    }
    let text = String::from_utf8(out).map_err(|_| failed("its output is not UTF-8".into()))?;
    let mut vars = Config::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (key, value) = config::parse_assignment(line).map_err(|_| {
            failed(format!(
                "it printed '{}', not KEY=VALUE",
                crate::output::escape(line)
            ))
        })?;
        vars.insert(key, value);
    }
    Ok(vars)
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
