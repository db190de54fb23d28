//! `run:detached`: starting the runner (`slipway one-off`) that waits for a one-off in its own session, and hearing its name back.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::base::process::describe;
use crate::base::sys;
use crate::run::error::{Error, Result};
use crate::run::launch::env;
use crate::store::app::App;
use crate::store::root::Root;

/// How long the detached runner may take to say it started (unpacking a large slug included).
const RUNNER_START: Duration = Duration::from_secs(300);

/// Starts `command` detached: a runner (`slipway one-off`) in its own session runs it with its output in the app's logs; its name once it runs.
pub fn start_detached(
    root: &Root,
    app: &App,
    exe: &Path,
    command: &str,
    user: &str,
) -> Result<String> {
    let store = app.store();
    let nothing = || Error::NothingRunning {
        app: app.name.to_string(),
    };
    let version = store.current()?.ok_or_else(nothing)?;
    store
        .find(version)?
        .and_then(|r| r.slug)
        .ok_or_else(nothing)?;
    let mut cmd = Command::new(exe);
    cmd.arg("--root")
        .arg(root.dir())
        .args(["one-off", "--app", app.name.as_str(), "--user", user])
        .args(["--release", &version.to_string(), "--", command])
        .current_dir(app.dir())
        .env_clear()
        .env("PATH", env::DEFAULT_PATH)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    sys::detach(&mut cmd);
    let failed = |reason: String| Error::OneOff { reason };
    let mut child = cmd
        .spawn()
        .map_err(|e| failed(format!("cannot run {}: {e}", exe.display())))?;
    let Some(stdout) = child.stdout.take() else {
        return Err(failed("its runner has no output".into()));
    };
    // Its first line says how it went; the runner then lives on by itself.
    let (tx, rx) = std::sync::mpsc::channel();
    let _ = std::thread::Builder::new().spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).take(4096).read_line(&mut line);
        let _ = tx.send(read.map(|_| line));
    });
    let line = match rx.recv_timeout(RUNNER_START) {
        Ok(Ok(line)) => line,
        Ok(Err(e)) => return Err(failed(format!("cannot read from its runner: {e}"))),
        Err(_) => {
            return Err(failed(format!(
                "its runner did not start it within {}s",
                RUNNER_START.as_secs()
            )));
        }
    };
    match line.trim_end().split_once(' ') {
        Some(("ok", name)) => Ok(name.to_owned()),
        Some(("error", reason)) => Err(failed(reason.to_owned())),
        _ => {
            let status = child.wait().map(describe).unwrap_or_default();
            Err(failed(format!("its runner exited at once ({status})")))
        }
    }
}
