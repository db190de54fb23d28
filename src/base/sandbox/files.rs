//! Making the directories a sandbox binds usable by its user: handing them over, and finding what is closed on the way to them.
//!
//! Handing over walks the tree by descriptors (`openat` with `O_NOFOLLOW`,
//! `fchownat` with `AT_SYMLINK_NOFOLLOW`), never by path: a directory that
//! sandboxed code swapped for a symlink meanwhile is refused, not followed.

use std::ffi::{CStr, OsStr};
use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, CWD, Dir, FileType, Gid, Mode, OFlags, Uid};

use super::{Identity, SandboxError};

/// Directories nested deeper than this are not handed over.
const MAX_DEPTH: usize = 256;

/// Makes `user` the owner of `dir` and of everything in it (symlinks themselves, never what they point to).
pub fn hand_over(dir: &Path, user: &Identity) -> Result<(), SandboxError> {
    let fd = open_dir(CWD, dir.as_os_str(), dir)?;
    let stat = rustix::fs::fstat(&fd).map_err(io_error("read", dir))?;
    if stat.st_uid != user.uid || stat.st_gid != user.gid {
        rustix::fs::fchown(&fd, Some(uid(user)), Some(gid(user)))
            .map_err(io_error("hand over", dir))?;
    }
    hand_over_in(&fd, dir, user, 0)
}

/// Hands `dir` over unless its owner already is `user` (it was handed over when it was made).
pub(super) fn hand_over_if_needed(dir: &Path, user: &Identity) -> Result<(), SandboxError> {
    let meta = fs::symlink_metadata(dir).map_err(SandboxError::io("read", dir))?;
    if meta.uid() == user.uid && meta.gid() == user.gid {
        return Ok(());
    }
    hand_over(dir, user)
}

fn hand_over_in(
    dir: &OwnedFd,
    path: &Path,
    user: &Identity,
    depth: usize,
) -> Result<(), SandboxError> {
    if depth > MAX_DEPTH {
        return Err(SandboxError::Io {
            action: "hand over",
            path: path.to_path_buf(),
            source: std::io::Error::other("directories nested too deep"),
        });
    }
    let mut subdirs = Vec::new();
    for entry in Dir::read_from(dir).map_err(io_error("read", path))? {
        let entry = entry.map_err(io_error("read", path))?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let stat = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .map_err(io_error("read", path.join(os(name))))?;
        if stat.st_uid != user.uid || stat.st_gid != user.gid {
            rustix::fs::chownat(
                dir,
                name,
                Some(uid(user)),
                Some(gid(user)),
                AtFlags::SYMLINK_NOFOLLOW,
            )
            .map_err(io_error("hand over", path.join(os(name))))?;
        }
        if FileType::from_raw_mode(stat.st_mode) == FileType::Directory {
            subdirs.push(name.to_owned());
        }
    }
    for name in subdirs {
        let sub = path.join(os(&name));
        let fd = open_dir(dir, os(&name), &sub)?;
        hand_over_in(&fd, &sub, user, depth + 1)?;
    }
    Ok(())
}

/// The topmost directory on the way to `path` that `user` may not search (`/root`...): the sandbox replaces it with an empty one, so nothing on the host changes.
pub(super) fn closed_ancestor(path: &Path, user: &Identity) -> Option<PathBuf> {
    let ancestors: Vec<&Path> = path.ancestors().skip(1).collect();
    ancestors
        .into_iter()
        .rev()
        .filter(|dir| dir.parent().is_some())
        .find(|dir| fs::metadata(dir).is_ok_and(|meta| !searchable(&meta, user)))
        .map(Path::to_path_buf)
}

/// Whether `user` (with no group but its own) may search the directory `meta` describes.
fn searchable(meta: &fs::Metadata, user: &Identity) -> bool {
    let mode = meta.permissions().mode();
    if meta.uid() == user.uid {
        mode & 0o100 != 0
    } else if meta.gid() == user.gid {
        mode & 0o010 != 0
    } else {
        mode & 0o001 != 0
    }
}

fn open_dir(at: impl AsFd, name: &OsStr, path: &Path) -> Result<OwnedFd, SandboxError> {
    rustix::fs::openat(
        at,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_error("open", path))
}

fn os(name: &CStr) -> &OsStr {
    OsStr::from_bytes(name.to_bytes())
}

fn uid(user: &Identity) -> Uid {
    Uid::from_raw(user.uid)
}

fn gid(user: &Identity) -> Gid {
    Gid::from_raw(user.gid)
}

fn io_error(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(rustix::io::Errno) -> SandboxError {
    let path = path.into();
    move |errno| SandboxError::Io {
        action,
        path,
        source: errno.into(),
    }
}
