//! Compiling slugs: a commit's tree as a deterministic `.tar.gz` under `app/`, compiled straight from the object database.
//!
//! The tar stream is produced on the calling thread (tree walk, blob reads);
//! gzip, sha256 and the file write run on a second thread, connected by a
//! bounded channel of buffers, so memory stays flat whatever the tree's size.
//! The same tree always gives the same bytes: git tree order, mtime = commit
//! time, uid/gid 0, modes 0644/0755/0777, gzip header without a timestamp.
//! A slug can also be compiled from a directory ([`super::dir::DirPlan`]),
//! through the same tar and gzip pipeline, with every mtime [`SOURCE_MTIME`].

use std::fs::File;
use std::io::{self, BufRead, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

use git2::{Commit, Repository};
use sha2::{Digest, Sha256};

use super::error::{Error, Result};
use super::gzip::{GzipWriter, looks_incompressible};
use super::objects::Objects;
use super::plan::{self, Entry, Kind, Plan, Source};
use super::tarball::TarWriter;
use crate::base::files::{self, TempFile};
use crate::base::size::Size;
use crate::model::event::{Event, Observer};
use crate::model::release::SlugRef;
use crate::store::slugs::SlugStore;

/// Where every entry of a slug lives, as a Heroku slug unpacks to `/app`.
pub const PREFIX: &[u8] = b"app/";

/// The mtime of every entry of a slug compiled from a directory: 1980-01-01T00:00:00Z.
///
/// Fixed, so the same files always make the same bytes (and share one slug file);
/// 1980 rather than 0 because zip, and tools such as Python's zipfile, cannot
/// represent earlier times.
pub const SOURCE_MTIME: u64 = 315_532_800;

/// gzip level for compressible content (already-compressed files are stored; see `gzip`).
const LEVEL: u32 = 6;
/// Files smaller than this are always deflated: too small to be worth a sample.
const STORE_MIN: u64 = 16 * 1024;
/// How much of a file's start decides whether it is stored or deflated.
const SAMPLE: u64 = 64 * 1024;
const CHUNK: usize = 256 * 1024;
const CHANNEL_DEPTH: usize = 4;
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// The slug of `commit`: reused if its tree was compiled before, else compiled now.
pub fn get_or_compile(
    slugs: &SlugStore,
    repo: &Repository,
    commit: &Commit,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    get_or_compile_from(slugs, repo, commit, &[], max, observer)
}

/// Like [`get_or_compile`], also reading objects from `extra_object_dirs` (git's quarantine).
pub fn get_or_compile_from(
    slugs: &SlugStore,
    repo: &Repository,
    commit: &Commit,
    extra_object_dirs: &[PathBuf],
    max: Size,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let key = commit.tree_id().to_string();
    if let Some(slug) = slugs.compiled(&key) {
        observer.event(Event::Compressed {
            size: slug.size,
            reused: true,
        });
        return Ok(slug);
    }
    let tmp = slugs.temp_file()?;
    let (tmp, slug) = compile(repo, commit, extra_object_dirs, tmp, max, observer)?;
    slugs.put(tmp, &slug)?;
    slugs.remember(&key, &slug)?;
    observer.event(Event::Compressed {
        size: slug.size,
        reused: false,
    });
    Ok(slug)
}

/// Compiles `rev` of the repository at `git_dir` into `out` (for `slugs:compile`), outside any root.
pub fn compile_to_file(
    git_dir: &Path,
    rev: &str,
    out: &Path,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<SlugRef> {
    let repo =
        Repository::open(git_dir).map_err(Error::git(format!("open {}", git_dir.display())))?;
    let commit = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|_| Error::UnknownRevision {
            rev: crate::base::text::escape_truncated(rev, crate::base::text::ECHO),
            repo: git_dir.to_path_buf(),
        })?;
    let dir = files::parent(out);
    let tmp = TempFile::new_in(dir, 0o644).map_err(Error::io("write in", dir))?;
    let (tmp, slug) = compile(&repo, &commit, &[], tmp, max, observer)?;
    tmp.persist(out).map_err(Error::io("write", out))?;
    observer.event(Event::Compressed {
        size: slug.size,
        reused: false,
    });
    Ok(slug)
}

/// Compiles `commit` into `tmp`; returns the file (not yet persisted) with its sha256 and size.
pub fn compile(
    repo: &Repository,
    commit: &Commit,
    extra_object_dirs: &[PathBuf],
    tmp: TempFile,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<(TempFile, SlugRef)> {
    let mut objects =
        Objects::new(repo, extra_object_dirs).map_err(Error::git("open the object database"))?;
    let tree = commit
        .tree()
        .map_err(Error::git("read the commit's tree"))?;
    let plan = plan::plan(repo, &objects, &tree, observer)?;
    let mtime = commit.time().seconds().max(0) as u64;
    write_slug(Content::Git(&mut objects), &plan, mtime, tmp, max, observer)
}

/// Where the content of plan entries is read from.
pub(super) enum Content<'a, 'r> {
    /// A repository's object database (and files on disk, if a plan names any).
    Git(&'a mut Objects<'r>),
    /// Files on disk only.
    Disk,
}

impl Content<'_, '_> {
    /// A reader over the `entry.size` bytes of a file entry.
    fn open(&mut self, entry: &Entry) -> io::Result<Box<dyn BufRead + '_>> {
        match (self, &entry.source) {
            (Content::Git(objects), Source::Git(oid)) => objects.open(*oid, entry.size),
            (_, Source::Path(path)) => super::dir::open_planned(path, entry.size),
            _ => Err(io::Error::other("the entry has no content here")),
        }
    }

    /// The target of a symlink entry.
    fn link_target(&mut self, entry: &Entry) -> Result<Vec<u8>> {
        match (self, &entry.source) {
            (Content::Git(objects), Source::Git(oid)) => objects
                .read(*oid)
                .map_err(Error::git(format!("read blob {oid}"))),
            (_, Source::Target(target)) => Ok(target.clone()),
            _ => Err(Error::BadTreeEntry {
                path: crate::base::text::escape_bytes(&entry.path).into_owned(),
                reason: "a symlink without a target",
            }),
        }
    }
}

/// Writes the slug of `plan` into `tmp`: tar on this thread, gzip and sha256 on a second one.
pub(super) fn write_slug(
    mut content: Content,
    plan: &Plan,
    mtime: u64,
    mut tmp: TempFile,
    max: Size,
    observer: &mut dyn Observer,
) -> Result<(TempFile, SlugRef)> {
    let tmp_path = tmp.path().to_path_buf();

    let (tx, rx) = sync_channel::<Chunk>(CHANNEL_DEPTH);
    let (produced, compressed) = std::thread::scope(|scope| {
        let file = tmp.file();
        let compressor = scope.spawn(move || compress(rx, file, max.bytes()));
        let produced = produce(&mut content, plan, mtime, ChunkSender::new(tx), observer);
        let compressed = compressor
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the compression thread panicked")));
        (produced, compressed)
    });
    let slug = match compressed {
        Ok(slug) => slug,
        Err(e) if e.kind() == io::ErrorKind::FileTooLarge => {
            return Err(Error::SlugTooLarge { max });
        }
        Err(e) => {
            return Err(Error::SlugWrite {
                dir: files::parent(&tmp_path).to_path_buf(),
                source: e,
            });
        }
    };
    produced?;
    Ok((tmp, slug))
}

/// Writes the tar stream of `plan` to `out`, reporting progress at most 5 times a second.
fn produce(
    content: &mut Content,
    plan: &Plan,
    mtime: u64,
    out: ChunkSender,
    observer: &mut dyn Observer,
) -> Result<()> {
    let broken = |e: io::Error| Error::io("compress", "the slug")(e);
    let mut tar = TarWriter::new(out, mtime);
    tar.dir(PREFIX).map_err(broken)?;
    let mut done = 0u64;
    let mut last_report = Instant::now();
    let mut path = Vec::with_capacity(256);
    for entry in &plan.entries {
        path.clear();
        path.extend_from_slice(PREFIX);
        path.extend_from_slice(&entry.path);
        let written = match entry.kind {
            Kind::Dir => {
                path.push(b'/');
                tar.dir(&path)
            }
            Kind::Symlink => {
                let target = content.link_target(entry)?;
                tar.symlink(&path, &target)
            }
            Kind::File { executable } => {
                let mut data = content.open(entry).map_err(broken)?;
                done += entry.size;
                tar.file_header(&path, executable, entry.size)
                    .and_then(|()| {
                        // Always the same sample for the same content, however the blob is stored.
                        let mut sample = vec![0u8; SAMPLE.min(entry.size) as usize];
                        data.read_exact(&mut sample)?;
                        let store = entry.size >= STORE_MIN && looks_incompressible(&sample);
                        tar.get_mut().set_storing(store);
                        tar.file_data(entry.size, io::Cursor::new(sample).chain(&mut data))?;
                        tar.get_mut().set_storing(false);
                        Ok(())
                    })
            }
        };
        written.map_err(broken)?;
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            observer.event(Event::Progress {
                done,
                total: plan.total_bytes,
            });
        }
    }
    tar.finish().and_then(ChunkSender::finish).map_err(broken)
}

/// A piece of the tar stream, and whether to store it rather than deflate it.
type Chunk = (Vec<u8>, bool);

/// The second thread: gzip (on every core), hash and write what the tar thread sends.
fn compress(rx: Receiver<Chunk>, file: &mut File, max: u64) -> io::Result<SlugRef> {
    let sink = HashingWriter {
        inner: BufWriter::with_capacity(CHUNK, file),
        hasher: Sha256::new(),
        written: 0,
        max,
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut sink = std::thread::scope(|scope| {
        let mut gz = GzipWriter::new(scope, sink, LEVEL, workers)?;
        for (chunk, store) in rx {
            gz.set_storing(store)?;
            gz.write_all(&chunk)?;
        }
        gz.finish()
    })?;
    sink.inner.flush()?;
    Ok(SlugRef {
        sha256: crate::base::digest::hex(&sink.hasher.finalize()),
        size: sink.written,
    })
}

/// Passes bytes to the compression thread in chunks of at most [`CHUNK`].
struct ChunkSender {
    buf: Vec<u8>,
    store: bool,
    tx: SyncSender<Chunk>,
}

impl ChunkSender {
    fn new(tx: SyncSender<Chunk>) -> ChunkSender {
        ChunkSender {
            buf: Vec::with_capacity(CHUNK),
            store: false,
            tx,
        }
    }

    /// Marks the bytes written from now on as incompressible (or not).
    fn set_storing(&mut self, store: bool) {
        if store != self.store && !self.buf.is_empty() {
            // A failed send resurfaces as an error on the next write.
            let _ = self.send();
        }
        self.store = store;
    }

    fn send(&mut self) -> io::Result<()> {
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK));
        self.tx.send((chunk, self.store)).map_err(|_| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the compression thread stopped")
        })
    }

    fn finish(mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.send()?;
        }
        Ok(())
    }
}

impl Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = data.len().min(CHUNK - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts and hashes what passes through, failing once more than `max` bytes were written.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
    max: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.written + data.len() as u64 > self.max {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "slug too large",
            ));
        }
        let n = self.inner.write(data)?;
        self.hasher.update(&data[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Tunes libgit2 for streaming slugs: small pack windows (mapped pack pages count
/// towards RSS) and no re-hashing of objects git already verified on receipt.
///
/// Call once at start-up, before any other thread uses libgit2.
pub fn tune_libgit2() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        #[allow(unsafe_code)]
        // SAFETY: git2 offers these only as `unsafe` because libgit2's global
        // options are not synchronized (there is no safe wrapper to use
        // instead). This runs once, from the main thread, before any
        // repository is opened or any other thread exists.
        unsafe {
            let _ = git2::opts::set_mwindow_size(4 * 1024 * 1024);
            let _ = git2::opts::set_mwindow_mapped_limit(32 * 1024 * 1024);
        }
        // Objects were hashed by git when they were received; re-hashing every
        // blob with collision-detecting SHA-1 would cost a fifth of a compile.
        git2::opts::strict_hash_verification(false);
    });
}
