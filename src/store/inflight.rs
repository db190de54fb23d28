//! `apps/NAME/inflight`: a strict push whose pre-receive deployed a commit, while git has not yet moved the branch to it.
//!
//! With `deploy_on: pre-receive`, a release goes live before git updates the
//! branch. Until that push's post-receive (or its end) clears the note, the
//! next push waits, so releases and the branch move in the same order.

use std::fs;
use std::path::PathBuf;

use super::app::{App, AppLock};
use super::error::{Error, Result};
use crate::base::{files, sys};

/// The push a note stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inflight {
    /// The commit it deployed.
    pub commit: String,
    /// The `git receive-pack` serving the push.
    pub pid: u32,
    boot: String,
}

impl Inflight {
    /// Whether the push may still move the branch: its receive-pack still runs (in this boot).
    pub fn is_running(&self) -> bool {
        self.boot == sys::boot_id() && sys::alive(self.pid)
    }
}

fn path(app: &App) -> PathBuf {
    app.dir().join("inflight")
}

/// The note, if there is a readable one.
pub fn read(app: &App) -> Option<Inflight> {
    let text = fs::read_to_string(path(app)).ok()?;
    let mut words = text.split_whitespace();
    let commit = words.next()?.to_owned();
    let pid = words.next()?.parse().ok()?;
    let boot = words.next().unwrap_or_default().to_owned();
    Some(Inflight { commit, pid, boot })
}

/// Notes that the push served by `pid` deployed `commit`; the caller holds the app lock.
pub fn write(app: &App, _lock: &AppLock, commit: &str, pid: u32) -> Result<()> {
    let path = path(app);
    let text = format!("{commit} {pid} {}\n", sys::boot_id());
    files::write_atomic(&path, text.as_bytes(), 0o644).map_err(Error::io("write", &path))
}

/// Forgets the note; the caller holds the app lock.
pub fn clear(app: &App, _lock: &AppLock) -> Result<()> {
    let path = path(app);
    match fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("remove", &path)(e)),
    }
}
