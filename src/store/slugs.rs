//! The content-addressed slugs of a root: `slugs/SHA256.tar.gz`, `slugs/by-tree/KEY` and the verification stamps.
//!
//! Slugs are shared by every app. A slug file is only ever written whole
//! (a temp file renamed into place), so a name always stands for its bytes.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::error::{Error, Result};
use crate::base::digest::sha256_of;
use crate::base::files::{self, TempFile};
use crate::model::release::SlugRef;

/// The content-addressed slugs of a root: `slugs/SHA256.tar.gz` and `slugs/by-tree/TREE`.
#[derive(Clone, Debug)]
pub struct SlugStore {
    dir: PathBuf,
}

impl SlugStore {
    /// The store in `dir` (`ROOT/slugs`).
    pub fn new(dir: PathBuf) -> SlugStore {
        SlugStore { dir }
    }

    /// The file of the slug with this sha256.
    pub fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.tar.gz"))
    }

    fn by_tree_path(&self, key: &str) -> PathBuf {
        self.dir.join("by-tree").join(key)
    }

    /// The slug compiled earlier from the tree (or build input) named `key`, if it is still on disk.
    pub fn compiled(&self, key: &str) -> Option<SlugRef> {
        let text = fs::read_to_string(self.by_tree_path(key)).ok()?;
        let (sha256, size) = text.trim().split_once(' ')?;
        let slug = SlugRef {
            sha256: sha256.to_owned(),
            size: size.parse().ok()?,
        };
        let on_disk = fs::metadata(self.path(&slug.sha256)).ok()?;
        (on_disk.len() == slug.size).then_some(slug)
    }

    /// A new temp file in the store, to compile a slug into; temp files of killed writers are removed first.
    pub fn temp_file(&self) -> Result<TempFile> {
        files::remove_stale_temps(&self.dir).map_err(Error::io("clean", &self.dir))?;
        TempFile::new_in(&self.dir, 0o644).map_err(Error::io("write in", &self.dir))
    }

    /// Gives a compiled slug its name: `tmp` holds exactly the bytes `slug` describes.
    pub fn put(&self, tmp: TempFile, slug: &SlugRef) -> Result<()> {
        let dest = self.path(&slug.sha256);
        tmp.persist(&dest).map_err(Error::io("write", &dest))
    }

    /// Remembers that the tree (or build input) named `key` compiled into `slug`.
    pub fn remember(&self, key: &str, slug: &SlugRef) -> Result<()> {
        let by_tree = self.by_tree_path(key);
        let record = format!("{} {}\n", slug.sha256, slug.size);
        files::write_atomic(&by_tree, record.as_bytes(), 0o644)
            .map_err(Error::io("write", &by_tree))
    }

    /// Checks that the slug's file exists and hashes to its name, reading every byte.
    pub fn verify(&self, slug: &SlugRef) -> Result<()> {
        let path = self.path(&slug.sha256);
        let file = self.open_slug(slug)?;
        let actual = sha256_of(file).map_err(Error::io("read", &path))?;
        if actual != slug.sha256 {
            return Err(Error::SlugCorrupt { path, actual });
        }
        Ok(())
    }

    /// Like [`Self::verify`], but trusts a file that has not changed since it was last verified.
    ///
    /// A stamp in `slugs/verified/` keeps the file's inode, size, mtime and
    /// ctime from the last full check. Any write to the file changes its ctime,
    /// which no program can set back, so an unchanged stamp proves unchanged
    /// bytes and a rollback to a 1 GB slug need not hash it. (Bit rot with no
    /// write is for `fsck`, which always hashes.) A file changed less than two
    /// seconds before `now` (the command's [`Clock`](crate::base::clock::Clock))
    /// is "racy": its stamp could miss a write in the same clock tick, so it
    /// is not stamped yet.
    pub fn check_at(&self, slug: &SlugRef, now: Timestamp) -> Result<()> {
        let path = self.path(&slug.sha256);
        let meta = self
            .open_slug(slug)?
            .metadata()
            .map_err(Error::io("read", &path))?;
        let stamp_path = self.dir.join("verified").join(&slug.sha256);
        let stamp = stamp_of(&meta);
        if fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp) {
            return Ok(());
        }
        self.verify(slug)?;
        if now.as_second() - meta.ctime() >= 2 {
            // Best effort: without a stamp the next check hashes again.
            let _ = fs::create_dir_all(self.dir.join("verified"));
            let _ = files::write_atomic(&stamp_path, stamp.as_bytes(), 0o644);
        }
        Ok(())
    }

    /// [`Self::check_at`] the system clock's now.
    ///
    /// Only for the supervisor daemon, which restores releases outside any
    /// command and so has no command clock to pass.
    pub fn check(&self, slug: &SlugRef) -> Result<()> {
        self.check_at(slug, Timestamp::now())
    }

    fn open_slug(&self, slug: &SlugRef) -> Result<File> {
        let path = self.path(&slug.sha256);
        File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::SlugMissing {
                sha256: slug.sha256.clone(),
                dir: self.dir.clone(),
            },
            _ => Error::io("read", &path)(e),
        })
    }

    /// The directory holding the slugs.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn stamp_of(meta: &fs::Metadata) -> String {
    format!(
        "{} {} {} {}.{} {}.{}\n",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    )
}
