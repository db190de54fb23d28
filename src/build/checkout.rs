//! Writes a commit's tree into a directory, straight from the object database (for a build step).
//!
//! Every file of the tree, `.slugignore`d or not (the build may need them;
//! the slug of its result honours `.slugignore`); submodules are skipped with
//! a warning, as in slugs. Nothing is ever written through a symlink: files
//! are created new with `O_NOFOLLOW`, so a tree naming one path twice fails.

use std::ffi::OsStr;
use std::fs::{DirBuilder, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use git2::{Commit, Repository};

use super::ignore::SlugIgnore;
use super::objects::Objects;
use super::plan::{self, Kind, Source};
use crate::build::error::{Error, Result};
use crate::model::event::Observer;

/// Writes the tree of `commit` into the existing, empty directory `dest`, reading objects also from `extra_object_dirs`.
pub fn checkout(
    repo: &Repository,
    commit: &Commit,
    extra_object_dirs: &[PathBuf],
    dest: &Path,
    observer: &mut dyn Observer,
) -> Result<()> {
    let mut objects =
        Objects::new(repo, extra_object_dirs).map_err(Error::git("open the object database"))?;
    let tree = commit
        .tree()
        .map_err(Error::git("read the commit's tree"))?;
    let plan = plan::plan_ignoring(repo, &objects, &tree, SlugIgnore::default(), observer)?;
    for entry in &plan.entries {
        let path = dest.join(OsStr::from_bytes(&entry.path));
        let Source::Git(oid) = entry.source else {
            continue;
        };
        let written = match entry.kind {
            Kind::Dir => DirBuilder::new().mode(0o755).create(&path),
            Kind::Symlink => {
                let target = objects
                    .read(oid)
                    .map_err(Error::git(format!("read blob {oid}")))?;
                std::os::unix::fs::symlink(OsStr::from_bytes(&target), &path)
            }
            Kind::File { executable } => {
                let mode = if executable { 0o755 } else { 0o644 };
                write_file(&mut objects, oid, entry.size, &path, mode)
            }
        };
        written.map_err(Error::io("write", &path))?;
    }
    Ok(())
}

fn write_file(
    objects: &mut Objects,
    oid: git2::Oid,
    size: u64,
    path: &Path,
    mode: u32,
) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(path)?;
    let mut data = objects.open(oid, size)?;
    io::copy(&mut data, &mut file)?;
    Ok(())
}
