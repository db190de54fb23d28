//! The content-addressed slugs of a root: `slugs/SHA256.tar.gz`, `slugs/by-tree/KEY` and the verification stamps.
//!
//! Slugs are shared by every app. A slug file is only ever written whole
//! (a temp file renamed into place), so a name always stands for its bytes.
//!
//! Where slugs are kept for good is a [`Backend`]: the `slugs/` directory
//! itself (`slug_store: local`, the default), or an S3-compatible bucket
//! (`slug_store: s3://BUCKET/PREFIX`), of which `slugs/` is then a cache
//! bounded by `slug_cache_size`. Either way slugs are compiled into
//! `slugs/`; with a bucket, a deploy uploads its slug ([`SlugStore::upload`])
//! before its record names it, and a launch reads through the cache
//! ([`SlugStore::fetch`]), which downloads what is missing and checks its
//! sha256 before anything uses it.

pub mod backend;
pub mod cache;

use std::collections::HashSet;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use jiff::Timestamp;

pub use self::backend::{Backend, LocalDir, S3, S3Access, Unusable};
use super::app::App;
use super::error::{Error, Result};
use super::root::Root;
use crate::base::digest::sha256_of;
use crate::base::files::{self, TempFile};
use crate::model::release::SlugRef;
use crate::model::slug_store::SlugStoreSpec;

/// The content-addressed slugs of a root: `slugs/SHA256.tar.gz` and `slugs/by-tree/TREE`, kept in a [`Backend`].
#[derive(Clone, Debug)]
pub struct SlugStore {
    dir: PathBuf,
    backend: Arc<dyn Backend>,
    /// With a remote backend: the most `dir` may hold, and the root whose live releases' slugs stay in it.
    cache: Option<(u64, Root)>,
}

/// A slug upload that finished.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Uploaded {
    /// Its size.
    pub size: u64,
    /// Whether the store had it already (same sha256 and size), so nothing was sent.
    pub already_stored: bool,
}

/// A slug that had to be downloaded into the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Downloaded {
    /// Its size.
    pub size: u64,
    /// How long the download and its check took.
    pub took: Duration,
}

impl SlugStore {
    /// The local store in `dir` (`ROOT/slugs`): the directory is where slugs are kept.
    pub fn new(dir: PathBuf) -> SlugStore {
        SlugStore {
            backend: Arc::new(LocalDir::new(dir.clone())),
            dir,
            cache: None,
        }
    }

    /// The store `spec` names for `root`: its `slugs/` directory, or a bucket with `slugs/` as the cache.
    ///
    /// `access` is asked for only when the store is remote. Nothing is sent
    /// yet: missing credentials or an unreachable store fail the first
    /// operation that needs the store, and a launch whose slug is cached
    /// needs none.
    pub fn open(root: &Root, spec: &SlugStoreSpec, access: impl FnOnce() -> S3Access) -> SlugStore {
        match spec {
            SlugStoreSpec::Local => SlugStore::new(root.slugs_dir()),
            SlugStoreSpec::S3(location) => {
                let settings = &root.settings;
                let s3 = S3::new(
                    location,
                    settings.s3_endpoint.as_ref(),
                    settings.s3_region.as_deref(),
                    access(),
                );
                SlugStore {
                    dir: root.slugs_dir(),
                    backend: Arc::new(s3),
                    cache: Some((settings.slug_cache_size.bytes(), root.clone())),
                }
            }
        }
    }

    /// The same store, its cache never trimmed (while `slugs:migrate` gathers every slug into it).
    pub fn uncapped(mut self) -> SlugStore {
        if let Some((cap, _)) = &mut self.cache {
            *cap = u64::MAX;
        }
        self
    }

    /// Where slugs are kept for good.
    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    /// `ROOT/slugs` or `s3://BUCKET/PREFIX`, for messages.
    pub fn name(&self) -> String {
        self.backend.name()
    }

    /// Whether slugs are kept in a bucket, with `slugs/` only a cache.
    pub fn is_remote(&self) -> bool {
        !self.backend.is_local()
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
        if on_disk.len() != slug.size {
            return None;
        }
        self.used(&slug.sha256);
        Some(slug)
    }

    /// A new temp file in the store, to compile a slug into; temp files of killed writers are removed first.
    pub fn temp_file(&self) -> Result<TempFile> {
        files::remove_stale_temps(&self.dir).map_err(Error::io("clean", &self.dir))?;
        TempFile::new_in(&self.dir, 0o644).map_err(Error::io("write in", &self.dir))
    }

    /// Gives a compiled slug its name: `tmp` holds exactly the bytes `slug` describes.
    ///
    /// The slug is then in `slugs/`; with a remote store it still has to be
    /// [uploaded](Self::upload) before a record may name it.
    pub fn put(&self, tmp: TempFile, slug: &SlugRef) -> Result<()> {
        let dest = self.path(&slug.sha256);
        tmp.persist(&dest).map_err(Error::io("write", &dest))?;
        self.used(&slug.sha256);
        Ok(())
    }

    /// Makes sure the store keeps `slug`, compiled into `slugs/`: with a remote store it is uploaded, unless the store
    /// already has an object of that sha256 and size. `None` for the local store, where there is nothing to do.
    pub fn upload(
        &self,
        slug: &SlugRef,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Option<Uploaded>> {
        if !self.is_remote() {
            return Ok(None);
        }
        let path = self.path(&slug.sha256);
        let already_stored = self.backend.head(&slug.sha256)? == Some(slug.size);
        if !already_stored {
            // The local copy is what was compiled a moment ago, or checked when it was used.
            self.backend.put(slug, &path, progress)?;
        }
        self.evict(&slug.sha256);
        Ok(Some(Uploaded {
            size: slug.size,
            already_stored,
        }))
    }

    /// The checked local file of `slug`, ready to read: in `slugs/`, downloaded into it first when the store is remote and it is not there.
    ///
    /// The local file must hash to its name ([`Self::check_at`]); a cached copy
    /// that does not is removed and downloaded again. A download is checked
    /// (size and sha256) before it takes the slug's name, so a corrupt or
    /// missing object is an error here and no wrong byte is ever used.
    /// `downloaded` hears of a download.
    pub fn fetch(
        &self,
        slug: &SlugRef,
        now: Timestamp,
        downloaded: &mut dyn FnMut(Downloaded),
    ) -> Result<PathBuf> {
        let path = self.path(&slug.sha256);
        if !self.is_remote() {
            self.check_at(slug, now)?;
            return Ok(path);
        }
        match self.check_at(slug, now) {
            Ok(()) => {
                self.used(&slug.sha256);
                return Ok(path);
            }
            Err(Error::SlugMissing { .. }) => {}
            Err(Error::SlugCorrupt { .. }) => self.forget_local(&slug.sha256)?,
            Err(e) => return Err(e),
        }
        let started = Instant::now();
        let mut tmp = self.temp_file()?;
        let tmp_path = tmp.path().to_path_buf();
        let (size, sha256) = self.backend.get(&slug.sha256, tmp.file(), &tmp_path)?;
        let problem = if size != slug.size {
            Some(format!("it is {size} bytes, not {}", slug.size))
        } else if sha256 != slug.sha256 {
            Some(format!("its sha256 is {sha256}"))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Error::SlugFetchedCorrupt {
                sha256: slug.sha256.clone(),
                store: self.name(),
                problem,
            });
        }
        tmp.persist(&path).map_err(Error::io("write", &path))?;
        self.used(&slug.sha256);
        self.evict(&slug.sha256);
        downloaded(Downloaded {
            size,
            took: started.elapsed(),
        });
        Ok(path)
    }

    /// Whether `slug` can be launched, without downloading it: a checked local copy, or an object of the right size in the store.
    pub fn available(&self, slug: &SlugRef, now: Timestamp) -> Result<()> {
        if !self.is_remote() {
            return self.check_at(slug, now);
        }
        match self.check_at(slug, now) {
            Ok(()) => return Ok(()),
            Err(Error::SlugMissing { .. }) => {}
            Err(Error::SlugCorrupt { .. }) => self.forget_local(&slug.sha256)?,
            Err(e) => return Err(e),
        }
        self.check_stored(slug, None)
    }

    /// Checks the stored copy of `slug` by its size, as `listed` (sha256 and size of every stored slug) or a HEAD says.
    pub fn check_stored(&self, slug: &SlugRef, listed: Option<&[(String, u64)]>) -> Result<()> {
        let size = match listed {
            Some(listed) => listed
                .iter()
                .find(|(sha, _)| *sha == slug.sha256)
                .map(|(_, size)| *size),
            None => self.backend.head(&slug.sha256)?,
        };
        match size {
            None => Err(Error::SlugNotStored {
                sha256: slug.sha256.clone(),
                store: self.name(),
            }),
            Some(actual) if actual != slug.size => Err(Error::SlugWrongSize {
                sha256: slug.sha256.clone(),
                store: self.name(),
                actual,
                expected: slug.size,
            }),
            Some(_) => Ok(()),
        }
    }

    /// Reads every byte of the stored copy of `slug` and checks its size and sha256 (`fsck --deep`).
    pub fn verify_stored(&self, slug: &SlugRef) -> Result<()> {
        if !self.is_remote() {
            return self.verify(slug);
        }
        let (size, sha256) =
            self.backend
                .get(&slug.sha256, &mut io::sink(), Path::new("/dev/null"))?;
        if size != slug.size || sha256 != slug.sha256 {
            return Err(Error::SlugFetchedCorrupt {
                sha256: slug.sha256.clone(),
                store: self.name(),
                problem: format!("it is {size} bytes with the sha256 {sha256}"),
            });
        }
        Ok(())
    }

    /// A URL a launcher can fetch `slug` from: presigned for `ttl` with a bucket, `file://` for the local store.
    pub fn url(&self, slug: &SlugRef, ttl: Duration) -> Result<String> {
        self.backend.url(&slug.sha256, ttl)
    }

    /// Removes the local copy of `sha256`, with its stamp and last use (its own file for the local store: that deletes it).
    pub fn forget_local(&self, sha256: &str) -> Result<()> {
        let path = self.path(sha256);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                return Err(Error::io("remove", &path)(e));
            }
            _ => {}
        }
        let _ = fs::remove_file(self.dir.join("verified").join(sha256));
        cache::forget(&self.dir, sha256);
        Ok(())
    }

    fn used(&self, sha256: &str) {
        if self.cache.is_some() {
            cache::touch(&self.dir, sha256);
        }
    }

    /// Trims the cache to `slug_cache_size`, never removing `keep` or a live release's slug.
    fn evict(&self, keep: &str) {
        let Some((cap, root)) = &self.cache else {
            return;
        };
        // Without knowing every live slug, nothing is evicted this time.
        let Some(pinned) = live_slugs(root) else {
            return;
        };
        cache::evict(&self.dir, *cap, keep, &pinned, SystemTime::now());
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

/// The sha256 of the slug each app's live release runs; `None` if one cannot be read.
fn live_slugs(root: &Root) -> Option<HashSet<String>> {
    let mut live = HashSet::new();
    for name in super::app::list(root).ok()? {
        let app = App::open(root, &name).ok()?;
        let store = app.store();
        let Some(version) = store.current().ok()? else {
            continue;
        };
        if let Some(slug) = store.find(version).ok()?.and_then(|r| r.slug) {
            live.insert(slug.sha256);
        }
    }
    Some(live)
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
