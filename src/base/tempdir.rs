//! Private temp directories under `ROOT/tmp`: unguessable names, mode 0700, removed on drop.
//!
//! Each is `flock`ed by its owner for as long as it exists, so one nobody
//! holds a lock on was left by a killed process and is removed by the next
//! `releases:create` ([`remove_stale`]).

use std::fs::{self, DirBuilder, File};
use std::hash::{BuildHasher, Hasher, RandomState};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

const PREFIX: &str = ".src-";
/// A directory younger than this may be between its creation and its lock.
const GRACE: Duration = Duration::from_secs(60);

/// A locked, private temp directory; removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
    _lock: File,
    keep: bool,
}

impl TempDir {
    /// Creates `DIR/.src-RANDOM` with mode 0700.
    pub fn new_in(dir: &Path) -> io::Result<TempDir> {
        loop {
            let path = dir.join(format!("{PREFIX}{}", random_hex()));
            match DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let lock = File::open(&path)?;
                    lock.lock()?;
                    return Ok(TempDir {
                        path,
                        _lock: lock,
                        keep: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the directory in place (it was renamed to where it belongs).
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes temp directories in `dir` whose owner is gone.
pub fn remove_stale(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if !entry
            .file_name()
            .as_encoded_bytes()
            .starts_with(PREFIX.as_bytes())
        {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let young = meta
            .modified()
            .ok()
            .and_then(|m| SystemTime::now().duration_since(m).ok())
            .is_none_or(|age| age < GRACE);
        if !meta.is_dir() || young {
            continue;
        }
        let Ok(lock) = File::open(&path) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            fs::remove_dir_all(&path)?;
        }
    }
    Ok(())
}

/// 64 unpredictable bits: std's randomly keyed SipHash over the time, pid and a counter.
fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("{:016x}", hasher.finish())
}
