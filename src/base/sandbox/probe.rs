//! Finding bubblewrap and checking, once per process and user, that it can make a sandbox here; and the users from the password file.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use super::{BASE_MOUNTS, Mode, SandboxError};
use crate::base::text::escape;

/// Where `bwrap` is looked for: the `PATH` app code gets, never the caller's.
const DIRS: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// A user (and group) app code runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Its name, for messages (the number when it has none).
    pub name: String,
    /// Its uid.
    pub uid: u32,
    /// Its primary gid, the only group it keeps.
    pub gid: u32,
}

impl Identity {
    /// The user `name` of /etc/passwd with its primary group, or `UID` or `UID:GID` in numbers.
    pub fn lookup(name: &str) -> Result<Identity, SandboxError> {
        let unknown = || SandboxError::UnknownUser {
            name: escape(name).into_owned(),
        };
        let entries = passwd();
        let identity = if let Some((uid, gid)) = name.split_once(':') {
            Identity {
                name: name.to_owned(),
                uid: uid.parse().map_err(|_| unknown())?,
                gid: gid.parse().map_err(|_| unknown())?,
            }
        } else if let Ok(uid) = name.parse::<u32>() {
            let entry = entries.iter().find(|e| e.uid == uid);
            Identity {
                name: entry.map_or_else(|| name.to_owned(), |e| e.name.clone()),
                uid,
                gid: entry.map_or(uid, |e| e.gid),
            }
        } else {
            let entry = entries
                .into_iter()
                .find(|e| e.name == name)
                .ok_or_else(unknown)?;
            Identity {
                name: entry.name,
                uid: entry.uid,
                gid: entry.gid,
            }
        };
        // -1 means "unchanged" to chown and setuid.
        if identity.uid == u32::MAX || identity.gid == u32::MAX {
            return Err(unknown());
        }
        if identity.uid == 0 {
            return Err(SandboxError::RootUser {
                name: escape(name).into_owned(),
            });
        }
        Ok(identity)
    }
}

/// The home directory /etc/passwd gives the user `uid`.
pub fn home_of(uid: u32) -> Option<PathBuf> {
    passwd()
        .into_iter()
        .find(|e| e.uid == uid)
        .map(|e| e.home)
        .filter(|home| home.is_absolute())
}

struct Entry {
    name: String,
    uid: u32,
    gid: u32,
    home: PathBuf,
}

/// The entries of /etc/passwd (`name:password:uid:gid:gecos:home:shell`); unreadable is none.
fn passwd() -> Vec<Entry> {
    let text = fs::read_to_string("/etc/passwd").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            Some(Entry {
                name: (*fields.first()?).to_owned(),
                uid: fields.get(2)?.parse().ok()?,
                gid: fields.get(3)?.parse().ok()?,
                home: PathBuf::from(fields.get(5)?),
            })
        })
        .collect()
}

/// What a probe found: the program and how it runs, or why it cannot.
type Probed = Result<(PathBuf, Mode), Failed>;

/// Why bubblewrap cannot be used, kept to be told again.
#[derive(Clone, Debug)]
enum Failed {
    NotInstalled,
    NotWorking { program: PathBuf, reason: String },
}

impl From<Failed> for SandboxError {
    fn from(failed: Failed) -> SandboxError {
        match failed {
            Failed::NotInstalled => SandboxError::NotInstalled,
            Failed::NotWorking { program, reason } => SandboxError::NotWorking { program, reason },
        }
    }
}

/// Probes already made by this process, by the uid they ran as.
static PROBED: Mutex<Vec<(Option<u32>, Probed)>> = Mutex::new(Vec::new());

/// The working `bwrap` and how it runs: as root (slipway is root) dropping to `user`, else unprivileged, its user namespace locked when that works.
pub(super) fn probe(user: Option<Identity>) -> Result<(PathBuf, Mode), SandboxError> {
    let key = user.as_ref().map(|u| u.uid);
    let found = {
        let cache = PROBED.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, p)| p.clone())
    };
    let probed = match found {
        Some(probed) => probed,
        None => {
            let probed = run_probe(user);
            PROBED
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((key, probed.clone()));
            probed
        }
    };
    Ok(probed?)
}

/// The first executable `name` in the system's `PATH` directories.
fn find(name: &str) -> Option<PathBuf> {
    DIRS.iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| {
            fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

fn run_probe(user: Option<Identity>) -> Probed {
    let program = find("bwrap").ok_or(Failed::NotInstalled)?;
    if let Some(user) = user {
        let setpriv = find("setpriv").ok_or_else(|| Failed::NotWorking {
            program: program.clone(),
            reason: "setpriv (util-linux), which drops root before app code runs, is not installed"
                .into(),
        })?;
        let mode = Mode::Root { setpriv, user };
        return try_once(&program, &mode).map(|()| (program, mode));
    }
    let locked = Mode::Unprivileged { locked: true };
    match try_once(&program, &locked) {
        Ok(()) => Ok((program, locked)),
        Err(_) => {
            let open = Mode::Unprivileged { locked: false };
            try_once(&program, &open).map(|()| (program, open))
        }
    }
}

/// Makes a sandbox as `wrap` does and runs `sh -c :` in it.
fn try_once(program: &Path, mode: &Mode) -> Result<(), Failed> {
    let failed = |reason: String| Failed::NotWorking {
        program: program.to_path_buf(),
        reason,
    };
    let mut cmd = Command::new(program);
    cmd.args(mode.isolation())
        .arg("--new-session")
        .args(BASE_MOUNTS)
        .arg("--")
        .args(mode.prefix("/dev/null"))
        .args(["/bin/sh", "-c", ":"])
        .env_clear()
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let out = cmd.output().map_err(|e| failed(e.to_string()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().map(str::trim).find(|l| !l.is_empty());
    Err(failed(match line {
        Some(line) => escape(line.strip_prefix("bwrap: ").unwrap_or(line)).into_owned(),
        None => crate::base::process::describe(out.status),
    }))
}
