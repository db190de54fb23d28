//! Which one-offs run: their names, taken with a lock file that holds their record, and the cleanup of those whose owner died.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{POLL, STOP_GRACE, oneoff_dir};
use crate::base::sys;
use crate::model::release::Version;
use crate::run::error::{Error, Result};
use crate::run::supervisor::protocol::ProcessStatus;
use crate::store::app::App;

/// What `ps` needs of a running one-off, kept in its lock file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) command: String,
    pub(super) user: String,
    pub(super) release: Version,
    pub(super) pid: u32,
    /// Whether `pid` leads a process group of its own (detached), or shares its owner's (attached).
    pub(super) group: bool,
    /// Whether `pid` is `bwrap`, which passes no signal on.
    #[serde(default)]
    pub(super) sandboxed: bool,
    /// Unix seconds.
    pub(super) started: i64,
    /// `pid`'s start time in clock ticks, and the boot it started in: a pid reused by another process is never signalled.
    pub(super) start_ticks: u64,
    pub(super) boot: String,
}

impl Record {
    /// Whether `pid` is still the process this record is about.
    fn is_alive(&self) -> bool {
        self.boot == sys::boot_id()
            && sys::session_and_start(self.pid).is_some_and(|(_, start)| start == self.start_ticks)
    }

    /// Sends `signal` to it (and its group, when it leads one), if it is still the same process.
    fn signal(&self, signal: sys::Signal) {
        if !self.is_alive() {
            return;
        }
        super::signal_process(self.pid, self.group, self.sandboxed, signal);
    }
}

/// The one-offs running now, as `ps` shows processes, by name.
pub fn list(app: &App) -> Vec<ProcessStatus> {
    let now = jiff::Timestamp::now().as_second();
    let mut out: Vec<ProcessStatus> = running(&oneoff_dir(app))
        .into_iter()
        .filter_map(|(name, record)| {
            let index = name.strip_prefix("run.")?.parse().ok()?;
            Some(ProcessStatus {
                kind: "run".into(),
                index,
                pid: Some(record.pid),
                state: "up".into(),
                uptime_secs: u64::try_from(now - record.started).unwrap_or(0),
                release: record.release,
                live: true,
                command: record.command,
                port: None,
                restarts: 0,
            })
        })
        .collect();
    out.sort_by_key(|p| p.index);
    out
}

/// Whether a one-off called `name` runs.
pub fn exists(app: &App, name: &str) -> bool {
    read_running(&oneoff_dir(app).join(format!("{name}.lock"))).is_some()
}

/// Stops the one-off `name`: SIGTERM (SIGKILL after a grace), or SIGKILL at once; waits until its owner saw it go. False if none runs.
pub fn stop(app: &App, name: &str, kill: bool) -> Result<bool> {
    let path = oneoff_dir(app).join(format!("{name}.lock"));
    let Some(record) = read_running(&path) else {
        return Ok(false);
    };
    let signal = |signal| record.signal(signal);
    signal(match kill {
        true => sys::Signal::KILL,
        false => sys::Signal::TERM,
    });
    let deadline = Instant::now() + STOP_GRACE;
    let mut killed = kill;
    while read_running(&path).is_some() {
        if Instant::now() >= deadline {
            if killed {
                break;
            }
            signal(sys::Signal::KILL);
            killed = true;
        }
        std::thread::sleep(POLL);
    }
    Ok(true)
}

/// Kills every one-off of the app (for `apps:destroy`).
pub fn kill_all(app: &App) {
    for (name, _) in running(&oneoff_dir(app)) {
        let _ = stop(app, &name, true);
    }
}

/// Every one-off whose owner holds its lock, with its record.
fn running(base: &Path) -> Vec<(String, Record)> {
    let Ok(entries) = fs::read_dir(base) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let file = entry.file_name();
            let name = file.to_str()?.strip_suffix(".lock")?;
            if name.starts_with('.') {
                return None;
            }
            Some((name.to_owned(), read_running(&entry.path())?))
        })
        .collect()
}

/// The record in a one-off's lock file, if its owner holds the lock and has started it.
fn read_running(path: &Path) -> Option<Record> {
    let file = File::open(path).ok()?;
    if file.try_lock_shared().is_ok() {
        return None;
    }
    let mut text = Vec::new();
    (&file).take(64 * 1024).read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Takes a free `run.N`: its lock file, created locked under a temporary name and linked into place (so nobody ever sees it unlocked).
pub(super) fn take_name(base: &Path) -> Result<(String, File, PathBuf)> {
    let seed = jiff::Timestamp::now().subsec_nanosecond().unsigned_abs() ^ sys::pid();
    for attempt in 0..200u32 {
        let n = 1000 + (seed.wrapping_add(attempt.wrapping_mul(7919))) % 9000;
        let name = format!("run.{n}");
        let temp = base.join(format!(".{name}.{}.lock", sys::pid()));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)
            .map_err(Error::io("create", &temp))?;
        if file.try_lock().is_err() {
            continue;
        }
        let path = base.join(format!("{name}.lock"));
        let linked = fs::hard_link(&temp, &path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => return Ok((name, file, path)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("create", &path)(e)),
        }
    }
    Err(Error::OneOff {
        reason: format!("no free run.N name in {}", base.display()),
    })
}

/// Removes the one-offs whose owner died: what their group left running, their code, their lock file.
pub(super) fn clean_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        let path = entry.path();
        let Ok(file) = OpenOptions::new().read(true).write(true).open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        let mut text = Vec::new();
        let _ = (&file).take(64 * 1024).read_to_end(&mut text);
        // A detached one-off outlives a runner killed with SIGKILL.
        if let Ok(record) = serde_json::from_slice::<Record>(&text)
            && record.group
        {
            record.signal(sys::Signal::KILL);
        }
        if !name.starts_with('.') {
            let _ = fs::remove_dir_all(base.join(name));
        }
        let _ = fs::remove_file(&path);
    }
}
