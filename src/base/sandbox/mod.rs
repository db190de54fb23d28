//! Running app code under bubblewrap: the system read-only, the slipway root hidden, only the directories one step may touch bound back in, and (as root) an unprivileged user.
//!
//! A [`Sandbox`] wraps a fully configured [`Command`] (program, arguments,
//! environment, working directory) into a `bwrap` command. What the sandbox
//! sees:
//!
//! - the whole system read-only (`--ro-bind / /`), a fresh `/dev` and `/proc`
//!   (its own pid namespace: no other process is visible), a private `/tmp`;
//! - the slipway root as an empty read-only directory, and the other hidden
//!   paths (the owner's home, a key file's directory) the same way;
//! - bound back in at their own paths: the [`Spec`]'s `write` directories
//!   read-write and its `read` paths read-only;
//! - the network of the host (apps listen on their port, builds download).
//!
//! It runs with no capabilities, no new privileges, and dies with whoever
//! started it. How it leaves slipway's user behind is its [`Mode`]: as an
//! unprivileged slipway, `bwrap` runs in a user namespace that allows no
//! further ones; as root, `bwrap` mounts as root (so a root under a directory
//! closed to other users, such as `/root`, is reached) with no user namespace,
//! and `setpriv` drops to the [`Identity`] it was given (supplementary groups
//! and every capability gone) before the command runs. The `write`
//! directories are handed to that user first; closed directories on the way
//! to what is bound are replaced by empty ones, so the user can reach it.
//!
//! The environment never reaches `bwrap` itself (a config var such as
//! `LD_PRELOAD` would otherwise run in it, outside the sandbox): `bwrap`
//! starts with an empty environment and reads its options, `--setenv`
//! included, from a memory file it inherits (`--args FD`), so no secret shows
//! on a command line either (only the command does, as it did unsandboxed).
//! The sandboxed command inherits that descriptor too: it holds nothing but
//! the command's own environment and paths. Stdin, stdout and stderr stay the
//! caller's, so an interactive one-off command can be sandboxed the same way.

mod files;
mod probe;

use std::ffi::OsStr;
use std::io::{self, Seek, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use files::hand_over;
pub use probe::{Identity, home_of};

use super::sys::{self, Signal};

/// Why app code could not be sandboxed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// No `bwrap` in the system's `PATH` directories.
    #[error("bubblewrap (bwrap) is not installed")]
    NotInstalled,

    /// `bwrap` is there but cannot make a sandbox here.
    #[error("bubblewrap ({}) does not work here: {reason}", program.display())]
    NotWorking { program: PathBuf, reason: String },

    /// The user app code should run as does not exist.
    #[error("sandbox_user '{name}' is not a user of this system")]
    UnknownUser { name: String },

    /// The user app code should run as is root, which the sandbox is to keep it from being.
    #[error("sandbox_user '{name}' is root: app code must run as an unprivileged user")]
    RootUser { name: String },

    /// A variable whose name the shell that sets it cannot take.
    #[error(
        "cannot pass the variable '{name}' into the sandbox: its name is not letters, digits and '_'"
    )]
    BadName { name: String },

    /// An argument or variable holds a NUL byte, which `bwrap --args` would split.
    #[error("cannot pass a value holding a NUL byte into the sandbox")]
    Nul,

    /// A command without a working directory.
    #[error("a sandboxed command needs a working directory")]
    NoWorkingDir,

    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
}

impl SandboxError {
    fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> SandboxError {
        let path = path.into();
        move |source| SandboxError::Io {
            action,
            path,
            source,
        }
    }
}

/// How app code is confined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sandbox {
    /// Not at all: it runs as slipway's own user and sees all it sees (`sandbox: none`).
    None,
    /// Under bubblewrap.
    Bwrap(Bwrap),
}

/// A working bubblewrap, and what it hides and runs as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bwrap {
    program: PathBuf,
    mode: Mode,
    /// The slipway root: hidden.
    root: PathBuf,
    /// Other paths hidden (the owner's home...), never changed.
    hide: Vec<PathBuf>,
    /// Paths in hidden ones (or in the host's /tmp) shown again, read-only, to every sandbox (the slipway binary, for `SLIPWAY_BIN`).
    reveal: Vec<PathBuf>,
}

/// What every sandbox sees first: the system read-only, its own `/dev` and `/proc`, and a `/tmp` that is everyone's, as /tmp is (bwrap would make it the owner's: root's, as root).
const BASE_MOUNTS: [&str; 11] = [
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--proc",
    "/proc",
    "--perms",
    "01777",
    "--tmpfs",
    "/tmp",
];

/// How `bwrap` is started, and how the command it runs leaves slipway's user behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// As slipway's own (unprivileged) user; `locked`: in a user namespace that allows no further ones (not with a setuid bwrap).
    Unprivileged { locked: bool },
    /// As root, with no user namespace (one would map the sandbox's user to root outside); `setpriv` becomes `user` before the command runs.
    Root { setpriv: PathBuf, user: Identity },
}

impl Mode {
    /// The namespaces and capabilities: everything unshared but the network; no capability left to the command.
    fn isolation(&self) -> Vec<&'static str> {
        let mut args = match self {
            Mode::Unprivileged { locked } => {
                let mut args = vec!["--unshare-all", "--share-net"];
                if *locked {
                    args.extend(["--unshare-user", "--disable-userns"]);
                }
                args.extend(["--cap-drop", "ALL"]);
                args
            }
            // setpriv needs these three to drop to the user and empty the
            // bounding set; changing uid from root clears them all.
            Mode::Root { .. } => vec![
                "--unshare-ipc",
                "--unshare-pid",
                "--unshare-uts",
                "--unshare-cgroup-try",
                "--cap-drop",
                "ALL",
                "--cap-add",
                "CAP_SETUID",
                "--cap-add",
                "CAP_SETGID",
                "--cap-add",
                "CAP_SETPCAP",
            ],
        };
        args.push("--die-with-parent");
        args
    }

    /// What runs before the command inside the sandbox: as root, `setpriv` drops to the user, then `sh` takes the command's environment from `env_script` and runs it; nothing otherwise.
    ///
    /// The environment must not reach `setpriv`, which runs as root: a config
    /// var such as `LD_PRELOAD` would run the app's code there.
    fn prefix(&self, env_script: &str) -> Vec<std::ffi::OsString> {
        match self {
            Mode::Unprivileged { .. } => Vec::new(),
            Mode::Root { setpriv, user } => vec![
                setpriv.into(),
                format!("--reuid={}", user.uid).into(),
                format!("--regid={}", user.gid).into(),
                "--clear-groups".into(),
                "--inh-caps=-all".into(),
                "--bounding-set=-all".into(),
                "--".into(),
                "/bin/sh".into(),
                "-c".into(),
                format!(". {env_script} && exec \"$@\"").into(),
                "sh".into(),
            ],
        }
    }

    fn user(&self) -> Option<&Identity> {
        match self {
            Mode::Unprivileged { .. } => None,
            Mode::Root { user, .. } => Some(user),
        }
    }
}

/// What one piece of app code may touch besides the read-only system.
#[derive(Clone, Debug, Default)]
pub struct Spec {
    /// Directories bound read-write (the release or build directory, the cache, `HOME`); handed to the sandbox user.
    pub write: Vec<PathBuf>,
    /// Paths bound read-only (`ENV_DIR`, a buildpack, the build hook); left as they are.
    pub read: Vec<PathBuf>,
    /// A new session (`setsid`), for commands run to completion: no controlling terminal to write into.
    ///
    /// Long-running processes keep the supervisor's session (it has no
    /// terminal), which is how a new supervisor finds what an old one left.
    pub new_session: bool,
}

impl Spec {
    /// What a command of a release may touch: its unpacked directory, read-write, in a session of its own (the release phase, a one-off `run`).
    ///
    /// An interactive command on a terminal wants `new_session: false`, to
    /// keep the terminal (and with it the chance to type into it).
    pub fn release(app_dir: &Path) -> Spec {
        Spec {
            write: vec![app_dir.to_path_buf()],
            read: Vec::new(),
            new_session: true,
        }
    }
}

impl Bwrap {
    /// The installed bubblewrap, checked to work as `user`, hiding `root` and `hide` (those that exist) but for `reveal` outside the root.
    ///
    /// The check runs once per process and user.
    pub fn find(
        root: &Path,
        hide: &[PathBuf],
        reveal: &[PathBuf],
        user: Option<Identity>,
    ) -> Result<Bwrap, SandboxError> {
        let (program, mode) = probe::probe(user)?;
        let root = root
            .canonicalize()
            .map_err(SandboxError::io("resolve", root))?;
        let mut hidden: Vec<PathBuf> = hide
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .filter(|p| p.parent().is_some() && *p != root)
            .collect();
        hidden.sort();
        hidden.dedup();
        let reveal = reveal
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .filter(|p| {
                // The sandbox's /tmp is its own: a binary built in the host's /tmp is shown too.
                !p.starts_with(&root)
                    && (p.starts_with("/tmp") || hidden.iter().any(|h| p.starts_with(h)))
            })
            .collect();
        Ok(Bwrap {
            program,
            mode,
            root,
            hide: hidden,
            reveal,
        })
    }

    /// Who the sandbox runs as, when not slipway's own user.
    pub fn user(&self) -> Option<&Identity> {
        self.mode.user()
    }

    /// The paths `spec` binds, resolved, with the write ones handed to the user.
    fn prepare(&self, spec: &Spec) -> Result<(Vec<PathBuf>, Vec<PathBuf>), SandboxError> {
        let write = canonical(&spec.write)?;
        let read = canonical(&spec.read)?;
        if let Some(user) = self.user() {
            for dir in &write {
                files::hand_over_if_needed(dir, user)?;
            }
        }
        Ok((write, read))
    }

    /// Every path replaced by an empty directory, each only once (none inside another): the root, the other hidden ones, and the directories on the way to `bound` that the user may not search.
    fn hidden(&self, bound: &[&Path]) -> Vec<PathBuf> {
        let mut all: Vec<PathBuf> = self.hide.clone();
        all.push(self.root.clone());
        if let Some(user) = self.user() {
            all.extend(bound.iter().filter_map(|p| files::closed_ancestor(p, user)));
        }
        all.sort();
        let mut out: Vec<PathBuf> = Vec::new();
        for path in all {
            if !out.iter().any(|h| path.starts_with(h)) {
                out.push(path);
            }
        }
        out
    }
}

/// The directories between each of `paths` and the innermost of the `empty` directories (tmpfs) it lies in, parents first, each once.
fn ways_in<'a>(empty: &[&Path], paths: &[&'a Path]) -> Vec<&'a Path> {
    let mut dirs: Vec<&Path> = Vec::new();
    for path in paths {
        let Some(top) = empty
            .iter()
            .filter(|e| path.starts_with(e) && path != *e)
            .max_by_key(|e| e.as_os_str().len())
        else {
            continue;
        };
        let mut between: Vec<&Path> = path.ancestors().skip(1).take_while(|a| a != top).collect();
        between.reverse();
        dirs.extend(between);
    }
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(*d));
    dirs
}

/// A command wrapped for its sandbox.
#[derive(Debug)]
pub struct Wrapped {
    /// What to spawn; its stdin, stdout, stderr and process group are the caller's to set.
    pub command: Command,
    /// The memory files `bwrap` reads its options from (and, as root, the command its environment), inherited at their numbers: keep them until the command is spawned.
    pub args: Vec<OwnedFd>,
}

impl Sandbox {
    /// Whether app code runs under bubblewrap.
    pub fn is_bwrap(&self) -> bool {
        matches!(self, Sandbox::Bwrap(_))
    }

    /// `inner` (program, arguments, environment, working directory set; nothing else) as it runs in this sandbox; without one, `inner` itself.
    pub fn wrap(&self, inner: Command, spec: &Spec) -> Result<Wrapped, SandboxError> {
        let Sandbox::Bwrap(bwrap) = self else {
            return Ok(Wrapped {
                command: inner,
                args: Vec::new(),
            });
        };
        let cwd = inner.get_current_dir().ok_or(SandboxError::NoWorkingDir)?;
        let cwd = cwd
            .canonicalize()
            .map_err(SandboxError::io("resolve", cwd))?;
        let (write, read) = bwrap.prepare(spec)?;
        let bound: Vec<&Path> = write
            .iter()
            .chain(&read)
            .chain(&bwrap.reveal)
            .map(PathBuf::as_path)
            .collect();
        let hidden = bwrap.hidden(&bound);

        let mut args: Vec<&OsStr> = bwrap.mode.isolation().into_iter().map(OsStr::new).collect();
        if spec.new_session {
            args.push("--new-session".as_ref());
        }
        args.extend(BASE_MOUNTS.map(OsStr::new));
        // Every mount point in an empty directory is reached through
        // directories made searchable first: bwrap would make them closed to
        // the user it drops to.
        let mut empty: Vec<&Path> = vec![Path::new("/tmp")];
        for path in &hidden {
            for dir in ways_in(&empty, &[path.as_path()]) {
                args.extend(["--perms", "0755", "--dir"].map(OsStr::new));
                args.push(dir.as_os_str());
            }
            args.extend(["--tmpfs".as_ref(), path.as_os_str()]);
            empty.push(path);
        }
        for dir in ways_in(&empty, &bound) {
            args.extend(["--perms", "0755", "--dir"].map(OsStr::new));
            args.push(dir.as_os_str());
        }
        for dir in &write {
            args.extend(["--bind".as_ref(), dir.as_os_str(), dir.as_os_str()]);
        }
        for path in read.iter().chain(&bwrap.reveal) {
            args.extend(["--ro-bind".as_ref(), path.as_os_str(), path.as_os_str()]);
        }
        for path in &hidden {
            args.extend(["--remount-ro".as_ref(), path.as_os_str()]);
        }
        let env: Vec<(&OsStr, &OsStr)> = inner
            .get_envs()
            .filter_map(|(key, value)| Some((key, value?)))
            .collect();
        let mut files = Vec::new();
        let env_script = match bwrap.mode {
            Mode::Unprivileged { .. } => {
                args.extend(["--chdir".as_ref(), cwd.as_os_str()]);
                for (key, value) in &env {
                    args.extend(["--setenv".as_ref(), *key, *value]);
                }
                String::new()
            }
            // bwrap would change directory as root, to which an app's own directory is closed.
            Mode::Root { .. } => {
                let file = memory_file(&start_script(&cwd, &env)?)?;
                let path = format!("/proc/self/fd/{}", file.as_raw_fd());
                files.push(file);
                path
            }
        };
        let options = memory_file(&nul_separated(&args)?)?;
        // The command itself must follow on the command line (as it did before the sandbox).
        let mut command = Command::new(&bwrap.program);
        command
            .arg("--args")
            .arg(options.as_raw_fd().to_string())
            .arg("--")
            .args(bwrap.mode.prefix(&env_script))
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .current_dir("/");
        files.push(options);
        Ok(Wrapped {
            command,
            args: files,
        })
    }

    /// Makes what `spec` binds usable by the sandbox's user, as [`Sandbox::wrap`] does: an early, clear error when it cannot be.
    pub fn prepare(&self, spec: &Spec) -> Result<(), SandboxError> {
        match self {
            Sandbox::Bwrap(bwrap) => bwrap.prepare(spec).map(drop),
            Sandbox::None => Ok(()),
        }
    }

    /// Hands `dir` (and all in it) to the sandbox user, so sandboxed code can read it; nothing to do without one.
    pub fn hand_over(&self, dir: &Path) -> Result<(), SandboxError> {
        match self {
            Sandbox::Bwrap(bwrap) => match bwrap.user() {
                Some(user) => hand_over(dir, user),
                None => Ok(()),
            },
            Sandbox::None => Ok(()),
        }
    }
}

/// Sends `signal` to what runs in the process group `pgid` that a sandboxed command leads.
///
/// `bwrap` passes no signal on and dies of SIGTERM at once, taking the
/// sandbox with it (`--die-with-parent`): so a signal other than SIGKILL goes
/// to every other member of the group, which share it with the sandboxed
/// processes, and `bwrap` exits with the command's status once it is gone.
pub fn signal_group(pgid: u32, signal: Signal) {
    if signal == Signal::KILL {
        sys::kill_group(pgid, signal);
        return;
    }
    for pid in sys::group_members(pgid) {
        if pid != pgid {
            sys::kill(pid, signal);
        }
    }
}

fn canonical(paths: &[PathBuf]) -> Result<Vec<PathBuf>, SandboxError> {
    paths
        .iter()
        .map(|p| p.canonicalize().map_err(SandboxError::io("resolve", p)))
        .collect()
}

/// `args`, each NUL-terminated, as `bwrap --args` reads them.
fn nul_separated(args: &[&OsStr]) -> Result<Vec<u8>, SandboxError> {
    let mut bytes = Vec::new();
    for arg in args {
        if arg.as_bytes().contains(&0) {
            return Err(SandboxError::Nul);
        }
        bytes.extend_from_slice(arg.as_bytes());
        bytes.push(0);
    }
    Ok(bytes)
}

/// What `sh` reads once it runs as the sandbox's user: `cd 'CWD'`, then `env` as `export NAME='value'` lines (`'` written `'\''`).
fn start_script(cwd: &Path, env: &[(&OsStr, &OsStr)]) -> Result<Vec<u8>, SandboxError> {
    let mut script = b"cd ".to_vec();
    quoted(&mut script, cwd.as_os_str())?;
    script.extend_from_slice(b" || exit 126\n");
    for (key, value) in env {
        let name = key.as_bytes();
        let shell_name = name
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
            && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
        if !shell_name {
            return Err(SandboxError::BadName {
                name: String::from_utf8_lossy(name).into_owned(),
            });
        }
        script.extend_from_slice(b"export ");
        script.extend_from_slice(name);
        script.push(b'=');
        quoted(&mut script, value)?;
        script.push(b'\n');
    }
    Ok(script)
}

/// `value` in single quotes for `sh`.
fn quoted(script: &mut Vec<u8>, value: &OsStr) -> Result<(), SandboxError> {
    if value.as_bytes().contains(&0) {
        return Err(SandboxError::Nul);
    }
    script.push(b'\'');
    for &byte in value.as_bytes() {
        match byte {
            b'\'' => script.extend_from_slice(b"'\\''"),
            _ => script.push(byte),
        }
    }
    script.push(b'\'');
    Ok(())
}

/// `bytes` in a memory file, at its start, open without close-on-exec at a number above 2.
///
/// Only the command spawned next should inherit it, but another thread's
/// child may too: all it would learn is this app's own environment (a
/// supervisor runs one app; a command's builds run one at a time).
fn memory_file(bytes: &[u8]) -> Result<OwnedFd, SandboxError> {
    let fd = rustix::fs::memfd_create("slipway-sandbox", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| SandboxError::io("create", "a memory file")(e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(bytes)
        .and_then(|()| file.rewind())
        .map_err(SandboxError::io("write", "a memory file"))?;
    let inherited = rustix::io::fcntl_dupfd_cloexec(&file, 3)
        .and_then(|fd| rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty()).map(|()| fd))
        .map_err(|e| SandboxError::io("pass on", "a memory file")(e.into()))?;
    Ok(inherited)
}

#[cfg(test)]
mod tests;
