//! Walks a commit's tree in git order and lists what goes into the slug, honouring `.slugignore`.

use std::collections::HashSet;
use std::path::PathBuf;

use git2::{ObjectType, Oid, Repository, Tree};

use super::ignore::SlugIgnore;
use super::objects::Objects;
use crate::build::error::{Error, Result};
use crate::model::event::{Event, Observer};

const MODE_TREE: i32 = 0o040000;
const MODE_SYMLINK: i32 = 0o120000;
const MODE_GITLINK: i32 = 0o160000;

/// What one slug entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory (its entries follow it).
    Dir,
    /// A regular file.
    File {
        /// Whether git records it as executable (mode 100755).
        executable: bool,
    },
    /// A symbolic link; its source holds the target.
    Symlink,
}

/// Where an entry's content comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A blob (or, for directories, a tree) in the repository's object database.
    Git(Oid),
    /// A file or directory on disk, by absolute path.
    Path(PathBuf),
    /// A symbolic link's target, read from disk when the plan was made.
    Target(Vec<u8>),
}

/// One entry, in the order it goes into the tar.
#[derive(Clone, Debug)]
pub struct Entry {
    /// Path relative to the app root, `/`-separated, raw bytes.
    pub path: Vec<u8>,
    /// Where its content comes from.
    pub source: Source,
    /// What it is.
    pub kind: Kind,
    /// Blob size in bytes (0 for directories).
    pub size: u64,
}

/// Everything that goes into a slug, and how many bytes of content that is.
#[derive(Debug, Default)]
pub struct Plan {
    /// Entries in git tree order, each directory before its contents.
    pub entries: Vec<Entry>,
    /// Sum of file sizes, for progress.
    pub total_bytes: u64,
}

/// Lists the entries of `tree` that the slug will hold.
pub fn plan(
    repo: &Repository,
    objects: &Objects,
    tree: &Tree,
    observer: &mut dyn Observer,
) -> Result<Plan> {
    let ignore = match tree.get_name(".slugignore") {
        Some(entry) if entry.kind() == Some(ObjectType::Blob) => SlugIgnore::parse(
            &objects
                .read(entry.id())
                .map_err(Error::git("read .slugignore"))?,
        ),
        _ => SlugIgnore::default(),
    };
    plan_ignoring(repo, objects, tree, ignore, observer)
}

/// Lists every entry of `tree` but those `ignore` leaves out (submodules are always skipped).
pub fn plan_ignoring(
    repo: &Repository,
    objects: &Objects,
    tree: &Tree,
    ignore: SlugIgnore,
    observer: &mut dyn Observer,
) -> Result<Plan> {
    let mut walk = Walk {
        repo,
        objects,
        ignore,
        observer,
        plan: Plan::default(),
    };
    walk.tree(tree, &mut Vec::new())?;
    Ok(walk.plan)
}

struct Walk<'a> {
    repo: &'a Repository,
    objects: &'a Objects<'a>,
    ignore: SlugIgnore,
    observer: &'a mut dyn Observer,
    plan: Plan,
}

impl Walk<'_> {
    fn tree(&mut self, tree: &Tree, prefix: &mut Vec<u8>) -> Result<()> {
        // git's fsck refuses a tree holding a name twice (a symlink `a` and a
        // directory `a/`), but a repository that does not check pushes keeps it:
        // a slug of it would let `a/x` be written through the symlink.
        let mut names = HashSet::new();
        for entry in tree.iter() {
            let depth = prefix.len();
            let name = entry.name_bytes();
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(name);
            if !names.insert(name.to_vec()) {
                return Err(Error::BadTreeEntry {
                    path: crate::base::text::escape_bytes(prefix).into_owned(),
                    reason: "its tree holds this name twice",
                });
            }
            let result = self.entry(&entry, name, prefix);
            prefix.truncate(depth);
            result?;
        }
        Ok(())
    }

    fn entry(&mut self, entry: &git2::TreeEntry, name: &[u8], path: &mut Vec<u8>) -> Result<()> {
        if name.is_empty() || name == b"." || name == b".." || name.contains(&b'/') {
            return Err(Error::BadTreeEntry {
                path: crate::base::text::escape_bytes(path).into_owned(),
                reason: "not a valid file name",
            });
        }
        let mode = entry.filemode();
        let is_dir = mode == MODE_TREE;
        if self.ignore.is_ignored(path, is_dir) {
            return Ok(());
        }
        let oid = entry.id();
        match mode {
            MODE_TREE => {
                let tree = self
                    .repo
                    .find_tree(oid)
                    .map_err(Error::git(format!("read tree {oid}")))?;
                self.push(path, oid, Kind::Dir, 0);
                self.tree(&tree, path)?;
            }
            MODE_GITLINK => self.observer.event(Event::SubmoduleSkipped {
                path: crate::base::text::escape_bytes(path).into_owned(),
                commit: oid.to_string(),
            }),
            MODE_SYMLINK => {
                let size = self.blob_size(oid)?;
                self.push(path, oid, Kind::Symlink, size);
            }
            _ => {
                let size = self.blob_size(oid)?;
                let executable = mode & 0o111 != 0;
                self.push(path, oid, Kind::File { executable }, size);
                self.plan.total_bytes += size;
            }
        }
        Ok(())
    }

    fn blob_size(&self, oid: Oid) -> Result<u64> {
        self.objects
            .size(oid)
            .map_err(Error::git(format!("read blob {oid}")))
    }

    fn push(&mut self, path: &[u8], oid: Oid, kind: Kind, size: u64) {
        self.plan.entries.push(Entry {
            path: path.to_vec(),
            source: Source::Git(oid),
            kind,
            size,
        });
    }
}
