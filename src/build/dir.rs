//! Plans a slug from a directory on disk (an extracted source archive, a local tree), in git tree order.
//!
//! What a git tree could hold, and nothing else: regular files (0644, or 0755
//! when the owner may execute them), directories and symlinks that stay inside
//! the directory. `.git` is left out at any depth, as git cannot track it, and
//! `.slugignore` at the top is honoured. Device files, FIFOs and sockets, and
//! symlinks that resolve outside the directory, are refused by name.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::fs::{self, Metadata, OpenOptions};
use std::io::{self, BufRead, BufReader};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::compile::{Content, SOURCE_MTIME, write_slug};
use super::ignore::SlugIgnore;
use super::plan::{Entry, Kind, Plan, Source};
use crate::base::files::{self, TempFile};
use crate::base::size::Size;
use crate::base::text::escape_bytes;
use crate::build::error::{Error, Result};
use crate::build::source::SourceError;
use crate::model::event::{Event, Observer};
use crate::model::release::SlugRef;
use crate::store::slugs::SlugStore;

/// Symlinks followed while checking one link, as Linux's `MAXSYMLINKS`.
const MAX_HOPS: usize = 40;

/// What a slug of a directory holds, checked and in git tree order; compile it with [`compile_dir`].
#[derive(Debug)]
pub struct DirPlan {
    pub(super) plan: Plan,
}

/// The `.slugignore` at the top of `root`, if it has one.
fn slugignore(root: &Path) -> Result<SlugIgnore> {
    match fs::symlink_metadata(root.join(".slugignore")) {
        Ok(meta) if meta.is_file() => {
            let path = root.join(".slugignore");
            Ok(SlugIgnore::parse(
                &fs::read(&path).map_err(Error::io("read", &path))?,
            ))
        }
        _ => Ok(SlugIgnore::default()),
    }
}

/// Deletes what `root`'s `.slugignore` names, as Heroku does before buildpacks run.
pub fn remove_ignored(root: &Path) -> Result<()> {
    let ignore = slugignore(root)?;
    remove_ignored_in(root, &ignore, &mut Vec::new())
}

fn remove_ignored_in(dir: &Path, ignore: &SlugIgnore, prefix: &mut Vec<u8>) -> Result<()> {
    for entry in fs::read_dir(dir).map_err(Error::io("read", dir))? {
        let entry = entry.map_err(Error::io("read", dir))?;
        let path = entry.path();
        let is_dir = entry
            .file_type()
            .map_err(Error::io("read", &path))?
            .is_dir();
        let depth = prefix.len();
        if !prefix.is_empty() {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(entry.file_name().as_bytes());
        let result = if ignore.is_ignored(prefix, is_dir) {
            if is_dir {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            }
            .map_err(Error::io("remove", &path))
        } else if is_dir {
            remove_ignored_in(&path, ignore, prefix)
        } else {
            Ok(())
        };
        prefix.truncate(depth);
        result?;
    }
    Ok(())
}

impl DirPlan {
    /// Lists the entries of `root` that the slug will hold, refusing what a slug cannot contain.
    pub fn scan(root: &Path) -> Result<DirPlan> {
        let ignore = slugignore(root)?;
        let mut walk = Walk {
            root,
            ignore,
            plan: Plan::default(),
        };
        walk.dir(root, &mut Vec::new())?;
        Ok(DirPlan { plan: walk.plan })
    }
}

/// Compiles the directory planned in `plan` into a slug in `slugs` (mtime [`SOURCE_MTIME`]).
pub fn compile_dir(
    slugs: &SlugStore,
    plan: &DirPlan,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    compile_dir_at(slugs, plan, SOURCE_MTIME, max, observer)
}

/// Like [`compile_dir`], with every entry's mtime `mtime` (a build's: its commit's time).
pub fn compile_dir_at(
    slugs: &SlugStore,
    plan: &DirPlan,
    mtime: u64,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let tmp = slugs.temp_file()?;
    let (tmp, slug) = write_slug(Content::Disk, &plan.plan, mtime, tmp, max, observer)?;
    slugs.put(tmp, &slug)?;
    observer.event(Event::Compressed {
        size: slug.size,
        reused: false,
    });
    Ok(slug)
}

/// Compiles the directory `source` into the slug file `out` (for `slugs:compile --dir`), outside any root.
pub fn compile_dir_to_file(
    source: &Path,
    out: &Path,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let plan = DirPlan::scan(source)?;
    let dir = files::parent(out);
    let tmp = TempFile::new_in(dir, 0o644).map_err(Error::io("write in", dir))?;
    let (tmp, slug) = write_slug(Content::Disk, &plan.plan, SOURCE_MTIME, tmp, max, observer)?;
    tmp.persist(out).map_err(Error::io("write", out))?;
    observer.event(Event::Compressed {
        size: slug.size,
        reused: false,
    });
    Ok(slug)
}

/// Copies the directory `source` into the existing, empty `dest`: what a slug of it would hold, checked the same way.
pub fn copy_tree(source: &Path, dest: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, symlink};
    let plan = DirPlan::scan(source)?;
    for entry in &plan.plan.entries {
        let target = dest.join(OsStr::from_bytes(&entry.path));
        match (&entry.kind, &entry.source) {
            (Kind::Dir, _) => fs::DirBuilder::new()
                .mode(0o755)
                .create(&target)
                .map_err(Error::io("create", &target))?,
            (Kind::Symlink, Source::Target(link)) => {
                symlink(OsStr::from_bytes(link), &target).map_err(Error::io("create", &target))?
            }
            (Kind::File { executable }, Source::Path(path)) => {
                let mut from = open_planned(path, entry.size).map_err(Error::io("read", path))?;
                let mode = if *executable { 0o755 } else { 0o644 };
                let mut to = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .custom_flags(libc::O_NOFOLLOW)
                    .open(&target)
                    .map_err(Error::io("create", &target))?;
                io::copy(&mut from, &mut to).map_err(Error::io("write", &target))?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// Opens a planned file without following symlinks; it must still have the planned size.
pub(super) fn open_planned(path: &Path, size: u64) -> io::Result<Box<dyn BufRead>> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() != size {
        return Err(io::Error::other(format!(
            "{} changed while the slug was compiled",
            path.display()
        )));
    }
    Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
}

struct Walk<'a> {
    root: &'a Path,
    ignore: SlugIgnore,
    plan: Plan,
}

impl Walk<'_> {
    fn dir(&mut self, dir: &Path, prefix: &mut Vec<u8>) -> Result<()> {
        let mut children: Vec<(Vec<u8>, Metadata)> = Vec::new();
        for entry in fs::read_dir(dir).map_err(Error::io("read", dir))? {
            let entry = entry.map_err(Error::io("read", dir))?;
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(Error::io("read", &path))?;
            children.push((entry.file_name().into_vec(), meta));
        }
        // Git tree order: by bytes, a directory's name compared as if it ended in '/'.
        children.sort_by_cached_key(|(name, meta)| {
            let mut key = name.clone();
            if meta.is_dir() {
                key.push(b'/');
            }
            key
        });
        for (name, meta) in children {
            if name == b".git" {
                continue;
            }
            let depth = prefix.len();
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(&name);
            let result = self.entry(&dir.join(OsStr::from_bytes(&name)), &meta, prefix);
            prefix.truncate(depth);
            result?;
        }
        Ok(())
    }

    fn entry(&mut self, path: &Path, meta: &Metadata, rel: &mut Vec<u8>) -> Result<()> {
        let kind = meta.file_type();
        if self.ignore.is_ignored(rel, kind.is_dir()) {
            return Ok(());
        }
        let refuse = |reason: String| SourceError::Refused {
            entry: escape_bytes(rel).into_owned(),
            reason,
        };
        if kind.is_dir() {
            self.push(rel, Source::Path(path.to_path_buf()), Kind::Dir, 0);
            self.dir(path, rel)
        } else if kind.is_symlink() {
            if let Some(reason) = symlink_escape(self.root, rel) {
                return Err(refuse(reason).into());
            }
            let target = fs::read_link(path)
                .map_err(Error::io("read", path))?
                .into_os_string()
                .into_vec();
            let size = target.len() as u64;
            self.push(rel, Source::Target(target), Kind::Symlink, size);
            Ok(())
        } else if kind.is_file() {
            let executable = meta.permissions().mode() & 0o100 != 0;
            self.push(
                rel,
                Source::Path(path.to_path_buf()),
                Kind::File { executable },
                meta.len(),
            );
            self.plan.total_bytes += meta.len();
            Ok(())
        } else {
            Err(refuse(format!(
                "it is {}, which a slug cannot hold",
                special_kind(meta)
            ))
            .into())
        }
    }

    fn push(&mut self, path: &[u8], source: Source, kind: Kind, size: u64) {
        self.plan.entries.push(Entry {
            path: path.to_vec(),
            source,
            kind,
            size,
        });
    }
}

fn special_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let kind = meta.file_type();
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Why the symlink at `link` (a `/`-separated path relative to `root`) resolves outside `root`, if it does.
///
/// Resolves the target one component at a time inside `root`, following the
/// symlinks it passes through as the kernel would, so `d/up/..` escapes when
/// `d/up` is itself a link to `..`. Targets that do not exist are fine.
pub(crate) fn symlink_escape(root: &Path, link: &[u8]) -> Option<String> {
    let mut stack: Vec<Vec<u8>> = components(link).collect();
    stack.pop();
    let target = match read_link(root, link) {
        Ok(target) => target,
        Err(e) => return Some(format!("cannot read the link: {e}")),
    };
    if target.is_empty() {
        return Some("its target is empty".into());
    }
    if target.starts_with(b"/") {
        return Some(format!(
            "it points to the absolute path '{}'",
            escape_bytes(&target)
        ));
    }
    let mut queue: VecDeque<Vec<u8>> = components(&target).collect();
    let mut hops = 0;
    while let Some(part) = queue.pop_front() {
        if part == b"." {
            continue;
        }
        if part == b".." {
            if stack.pop().is_none() {
                return Some(format!(
                    "it points outside the app ('{}')",
                    escape_bytes(&target)
                ));
            }
            continue;
        }
        stack.push(part);
        let here = stack.join(&b'/');
        let is_link = fs::symlink_metadata(root.join(OsStr::from_bytes(&here)))
            .is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            continue;
        }
        hops += 1;
        if hops > MAX_HOPS {
            return Some("it is part of a symlink loop".into());
        }
        let next = match read_link(root, &here) {
            Ok(next) => next,
            Err(e) => {
                return Some(format!(
                    "cannot read the link '{}': {e}",
                    escape_bytes(&here)
                ));
            }
        };
        if next.starts_with(b"/") {
            return Some(format!(
                "it points outside the app through '{}'",
                escape_bytes(&here)
            ));
        }
        stack.pop();
        for part in components(&next).collect::<Vec<_>>().into_iter().rev() {
            queue.push_front(part);
        }
    }
    None
}

fn components(path: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
}

fn read_link(root: &Path, rel: &[u8]) -> std::io::Result<Vec<u8>> {
    let path: PathBuf = root.join(OsStr::from_bytes(rel));
    Ok(fs::read_link(path)?.into_os_string().into_vec())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn symlinks_are_resolved_through_other_symlinks() {
        let tmp = std::env::temp_dir().join(format!("slipway-dir-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir_all(tmp.join("d/e")).unwrap();
        symlink("..", tmp.join("d/up")).unwrap();
        symlink("d/up/../x", tmp.join("sneaky")).unwrap();
        symlink("d/e/../../x", tmp.join("fine")).unwrap();
        symlink("../../..", tmp.join("d/e/out")).unwrap();
        symlink("/etc/passwd", tmp.join("abs")).unwrap();
        symlink("loop2", tmp.join("loop1")).unwrap();
        symlink("loop1/x", tmp.join("loop2")).unwrap();
        symlink("missing/../../x", tmp.join("d/dangling")).unwrap();
        assert_eq!(symlink_escape(&tmp, b"d/up"), None);
        assert_eq!(symlink_escape(&tmp, b"fine"), None);
        assert_eq!(symlink_escape(&tmp, b"d/dangling"), None);
        assert!(symlink_escape(&tmp, b"sneaky").unwrap().contains("outside"));
        assert!(
            symlink_escape(&tmp, b"d/e/out")
                .unwrap()
                .contains("outside")
        );
        assert!(symlink_escape(&tmp, b"abs").unwrap().contains("absolute"));
        assert!(symlink_escape(&tmp, b"loop1").unwrap().contains("loop"));
        fs::remove_dir_all(&tmp).unwrap();
    }
}
