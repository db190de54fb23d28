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
//! It runs with no capabilities, no new privileges, no further user
//! namespaces, and dies with whoever started it. When slipway runs as root
//! the sandbox runs as the [`Identity`] it was given (`Command::uid`/`gid`;
//! supplementary groups dropped), and the `write` directories are handed to
//! that user first.
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
use std::os::unix::process::CommandExt;
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

    /// A directory on the way to one the sandbox needs is closed to its user.
    #[error("the sandbox user {user} cannot reach {}: {} is not searchable by it", path.display(), dir.display())]
    Unreachable {
        user: String,
        path: PathBuf,
        dir: PathBuf,
    },

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
    /// Whether `--unshare-user --disable-userns` work here (not with a setuid bwrap).
    userns: bool,
    /// The slipway root: hidden, and slipway's own to open for the sandbox user.
    root: PathBuf,
    /// Other paths hidden (the owner's home...), never changed.
    hide: Vec<PathBuf>,
    /// Paths in hidden ones shown again, read-only, to every sandbox (the slipway binary, for `SLIPWAY_BIN`).
    reveal: Vec<PathBuf>,
    /// Who the sandbox runs as, when slipway runs as root.
    user: Option<Identity>,
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
        let (program, userns) = probe::probe(user.as_ref())?;
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
            .filter(|p| !p.starts_with(&root) && hidden.iter().any(|h| p.starts_with(h)))
            .collect();
        Ok(Bwrap {
            program,
            userns,
            root,
            hide: hidden,
            reveal,
            user,
        })
    }

    /// Who the sandbox runs as, when not slipway's own user.
    pub fn user(&self) -> Option<&Identity> {
        self.user.as_ref()
    }

    /// The paths `spec` binds, resolved, with the write ones handed to the user and the way to all of them open.
    fn prepare(&self, spec: &Spec) -> Result<(Vec<PathBuf>, Vec<PathBuf>), SandboxError> {
        let write = canonical(&spec.write)?;
        let read = canonical(&spec.read)?;
        if let Some(user) = &self.user {
            for dir in &write {
                files::hand_over_if_needed(dir, user)?;
            }
            for path in write.iter().chain(&read) {
                files::open_the_way(path, &self.root, user)?;
            }
        }
        Ok((write, read))
    }

    /// Every hidden path, each only once: none inside another.
    fn hidden(&self) -> Vec<&Path> {
        let mut all: Vec<&Path> = self.hide.iter().map(PathBuf::as_path).collect();
        all.push(&self.root);
        all.sort();
        let mut out: Vec<&Path> = Vec::new();
        for path in all {
            if !out.iter().any(|h| path.starts_with(h)) {
                out.push(path);
            }
        }
        out
    }
}

/// A command wrapped for its sandbox.
#[derive(Debug)]
pub struct Wrapped {
    /// What to spawn; its stdin, stdout, stderr and process group are the caller's to set.
    pub command: Command,
    /// The memory file `bwrap` reads its options from, inherited at its number: keep it until the command is spawned.
    pub args: Option<OwnedFd>,
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
                args: None,
            });
        };
        let cwd = inner.get_current_dir().ok_or(SandboxError::NoWorkingDir)?;
        let cwd = cwd
            .canonicalize()
            .map_err(SandboxError::io("resolve", cwd))?;
        let (write, read) = bwrap.prepare(spec)?;

        let mut args: Vec<&OsStr> = vec!["--unshare-all".as_ref(), "--share-net".as_ref()];
        if bwrap.userns {
            args.extend(["--unshare-user", "--disable-userns"].map(OsStr::new));
        }
        args.push("--die-with-parent".as_ref());
        if spec.new_session {
            args.push("--new-session".as_ref());
        }
        args.extend(
            [
                "--cap-drop",
                "ALL",
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
            ]
            .map(OsStr::new),
        );
        let hidden = bwrap.hidden();
        for path in &hidden {
            args.extend(["--tmpfs".as_ref(), path.as_os_str()]);
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
        args.extend(["--chdir".as_ref(), cwd.as_os_str()]);
        for (key, value) in inner.get_envs() {
            if let Some(value) = value {
                args.extend(["--setenv".as_ref(), key, value]);
            }
        }
        let file = args_file(&args)?;
        // The command itself must follow on the command line (as it did before the sandbox).
        let mut command = Command::new(&bwrap.program);
        command
            .arg("--args")
            .arg(file.as_raw_fd().to_string())
            .arg("--")
            .arg(inner.get_program())
            .args(inner.get_args())
            .env_clear()
            .current_dir("/");
        if let Some(user) = &bwrap.user {
            command.uid(user.uid).gid(user.gid);
        }
        Ok(Wrapped {
            command,
            args: Some(file),
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
            Sandbox::Bwrap(Bwrap {
                user: Some(user), ..
            }) => hand_over(dir, user),
            _ => Ok(()),
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

/// `args` NUL-terminated in a memory file, at its start, open without close-on-exec at a number above 2.
///
/// Only the command spawned next should inherit it, but another thread's
/// child may too: all it would learn is this app's own environment (a
/// supervisor runs one app; a command's builds run one at a time).
fn args_file(args: &[&OsStr]) -> Result<OwnedFd, SandboxError> {
    let mut bytes = Vec::new();
    for arg in args {
        if arg.as_bytes().contains(&0) {
            return Err(SandboxError::Nul);
        }
        bytes.extend_from_slice(arg.as_bytes());
        bytes.push(0);
    }
    let fd = rustix::fs::memfd_create("slipway-sandbox-args", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| SandboxError::io("create", "a memory file")(e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&bytes)
        .and_then(|()| file.rewind())
        .map_err(SandboxError::io("write", "a memory file"))?;
    let inherited = rustix::io::fcntl_dupfd_cloexec(&file, 3)
        .and_then(|fd| rustix::io::fcntl_setfd(&fd, rustix::io::FdFlags::empty()).map(|()| fd))
        .map_err(|e| SandboxError::io("pass on", "a memory file")(e.into()))?;
    Ok(inherited)
}

#[cfg(test)]
mod tests;
