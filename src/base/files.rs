//! Crash-safe files: temp file + fsync + rename (or link, for create-new) + fsync of the directory.
//!
//! Every temp file is `flock`ed by its writer for as long as it exists, so a
//! temp file nobody holds a lock on was left by a killed process and can be
//! removed by anyone ([`remove_stale_temps`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const TEMP_PREFIX: &str = ".tmp-";

/// A locked temp file in the directory of its final path; removed on drop unless persisted.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl TempFile {
    /// Creates `DIR/.tmp-PID-N` with exactly `mode`, locked for the life of this value.
    pub fn new_in(dir: &Path, mode: u32) -> io::Result<TempFile> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!("{TEMP_PREFIX}{}-{n}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
            {
                Ok(file) => {
                    // Exactly `mode`, whatever the umask: records must be 0600, hooks 0755.
                    file.set_permissions(fs::Permissions::from_mode(mode))?;
                    file.lock()?;
                    // A cleaner may have taken the file for stale between its
                    // creation and our lock, and unlinked it: then start over.
                    if !is_same_file(&file, &path)? {
                        continue;
                    }
                    return Ok(TempFile {
                        path,
                        file,
                        persisted: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The open file.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Where the temp file is now.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes to disk and renames over `dest` (replacing it), then syncs the directory.
    pub fn persist(mut self, dest: &Path) -> io::Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.path, dest)?;
        self.persisted = true;
        sync_parent(dest)
    }

    /// Flushes to disk and links to `dest` only if nothing is there yet.
    ///
    /// Returns `AlreadyExists` when `dest` exists; the temp file is then removed on drop.
    pub fn persist_new(mut self, dest: &Path) -> io::Result<()> {
        self.file.sync_all()?;
        fs::hard_link(&self.path, dest)?;
        // The link is the record; the temp name is only scaffolding.
        self.persisted = true;
        fs::remove_file(&self.path)?;
        sync_parent(dest)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn is_same_file(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match fs::symlink_metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces `path` with `bytes` atomically: readers see the old or the new content, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut tmp = TempFile::new_in(parent(path), mode)?;
    tmp.file().write_all(bytes)?;
    tmp.persist(path)
}

/// Creates `path` with `bytes` atomically; fails with `AlreadyExists` if it exists.
pub fn create_new_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut tmp = TempFile::new_in(parent(path), mode)?;
    tmp.file().write_all(bytes)?;
    tmp.persist_new(path)
}

/// Fsyncs a directory so a rename or link in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn sync_parent(path: &Path) -> io::Result<()> {
    sync_dir(parent(path))
}

/// The directory `path` is in (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Removes temp files in `dir` whose writer is gone (nobody holds their lock).
pub fn remove_stale_temps(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for temp in temp_files(dir)? {
        if remove_if_stale(&temp)? {
            removed += 1;
        }
    }
    Ok(removed)
}

/// The temp files in `dir` (none if `dir` does not exist).
pub fn temp_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut temps = Vec::new();
    for entry in entries {
        let entry = entry?;
        if is_temp_name(entry.file_name().as_encoded_bytes()) {
            temps.push(entry.path());
        }
    }
    Ok(temps)
}

/// Removes the temp file at `path` if its writer is gone; returns whether it did.
pub fn remove_if_stale(path: &Path) -> io::Result<bool> {
    let Ok(file) = File::open(path) else {
        return Ok(false);
    };
    if file.try_lock().is_err() {
        return Ok(false);
    }
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether `name` is one of the temp files made here (listings skip them).
pub fn is_temp_name(name: &[u8]) -> bool {
    name.starts_with(TEMP_PREFIX.as_bytes())
}

/// The bytes of the file at `path`, or `None` when it holds more than `max` (without reading more than that).
pub fn read_at_most(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = fs::File::open(path)?;
    if file.metadata()?.len() > max {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}
