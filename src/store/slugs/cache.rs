//! The local copies of a remote store's slugs in `ROOT/slugs`: when each was last used, and evicting the least recently used.
//!
//! Each use touches `slugs/used/SHA256` (not the slug itself: its times are
//! part of the verification stamp). Eviction never removes a slug in its
//! grace period (used moments ago: a deploy may be about to unpack it) or a
//! pinned one (what a live release runs, which the supervisor restores from
//! disk after a reboot without asking the store).

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::backend::sha_of_name;

/// Slugs used this recently are never evicted.
pub const GRACE: Duration = Duration::from_secs(10 * 60);

/// `slugs/used/SHA256`.
fn marker(dir: &Path, sha256: &str) -> PathBuf {
    dir.join("used").join(sha256)
}

/// Records that the slug `sha256` was used now (best effort: a cache that cannot be touched is only less fair).
pub fn touch(dir: &Path, sha256: &str) {
    let path = marker(dir, sha256);
    let _ = fs::create_dir_all(dir.join("used"));
    if let Ok(file) = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
    {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Forgets when `sha256` was used (its slug was removed).
pub fn forget(dir: &Path, sha256: &str) {
    let _ = fs::remove_file(marker(dir, sha256));
}

/// One slug file in the cache.
#[derive(Debug)]
struct Entry {
    sha256: String,
    size: u64,
    used: SystemTime,
}

/// Removes least recently used slugs from `dir` until they fill at most `cap` bytes; returns the sha256s removed.
///
/// `keep` and `pinned` stay whatever their size; so does anything used
/// within [`GRACE`] of `now`. The cache may therefore stay over `cap` for a while.
pub fn evict(
    dir: &Path,
    cap: u64,
    keep: &str,
    pinned: &HashSet<String>,
    now: SystemTime,
) -> Vec<String> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries: Vec<Entry> = read
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name();
            let sha256 = sha_of_name(name.to_str()?)?.to_owned();
            let meta = entry.metadata().ok().filter(|m| m.is_file())?;
            let used = fs::metadata(marker(dir, &sha256))
                .and_then(|m| m.modified())
                .or_else(|_| meta.modified())
                .unwrap_or(SystemTime::UNIX_EPOCH);
            Some(Entry {
                sha256,
                size: meta.len(),
                used,
            })
        })
        .collect();
    let mut total: u64 = entries.iter().map(|e| e.size).sum();
    entries.sort_by_key(|e| e.used);
    let mut removed = Vec::new();
    for entry in entries {
        if total <= cap {
            break;
        }
        let recent = now.duration_since(entry.used).unwrap_or_default() < GRACE;
        if entry.sha256 == keep || pinned.contains(&entry.sha256) || recent {
            continue;
        }
        let path = dir.join(format!("{}.tar.gz", entry.sha256));
        if fs::remove_file(&path).is_ok() {
            let _ = fs::remove_file(dir.join("verified").join(&entry.sha256));
            forget(dir, &entry.sha256);
            total -= entry.size;
            removed.push(entry.sha256);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(dir: &Path, n: u8, size: usize, used_secs_ago: u64, now: SystemTime) -> String {
        let sha = format!("{n:x}").repeat(64);
        fs::write(dir.join(format!("{sha}.tar.gz")), vec![0u8; size]).unwrap();
        touch(dir, &sha);
        let file = File::options().write(true).open(marker(dir, &sha)).unwrap();
        file.set_modified(now - Duration::from_secs(used_secs_ago))
            .unwrap();
        sha
    }

    #[test]
    fn the_least_recently_used_go_first_but_never_pinned_kept_or_recent_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let now = SystemTime::now();
        let oldest = slug(dir, 1, 100, 5000, now);
        let pinned = slug(dir, 2, 100, 4000, now);
        let older = slug(dir, 3, 100, 3000, now);
        let newer = slug(dir, 4, 100, 2000, now);
        let recent = slug(dir, 5, 100, 10, now);
        let pins: HashSet<String> = [pinned.clone()].into();
        // 500 bytes, room for 250: the two least recently used unpinned ones go.
        let removed = evict(dir, 250, &newer, &pins, now);
        assert_eq!(removed, vec![oldest.clone(), older.clone()]);
        assert!(!dir.join(format!("{oldest}.tar.gz")).exists());
        assert!(!marker(dir, &oldest).exists());
        // Still over: but what is left is pinned, kept or recent.
        assert!(evict(dir, 0, &newer, &pins, now).is_empty());
        for sha in [pinned, newer, recent] {
            assert!(dir.join(format!("{sha}.tar.gz")).exists());
        }
    }
}
