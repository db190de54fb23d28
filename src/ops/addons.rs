//! The admin's add-on provisioning hook, `ROOT/hooks/addon`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::addon::Action;
use crate::model::config::{self, Config};
use crate::model::name::AppName;
use crate::ops::error::{Error, Result};

const HOOK_TIMEOUT: Duration = Duration::from_secs(600);

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
                crate::base::text::escape_truncated(line, crate::base::text::ECHO)
            ))
        })?;
        vars.insert(key, value);
    }
    Ok(vars)
}
