//! An app's release store: the records `releases/vN.json` and the `current` pointer.
//!
//! A record is written atomically and created with create-new under the app
//! lock, so two writers never share a number. Only a pending record is ever
//! rewritten (to fill in its slug and final status), except that
//! `releases:prune` moves an old record's slug to `pruned_slug`.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::app::AppLock;
use super::error::{Error, Result};
use crate::base::files;
use crate::base::size::Size;
use crate::base::text::{ECHO, escape_truncated};
use crate::model::release::Version;
use crate::model::release::{Release, Status, parse_version, version_of_file_name};

/// Records hold config vars, which are often secrets.
const RECORD_MODE: u32 = 0o600;
/// The highest version ever given out, in the releases directory.
const HIGH_WATER: &str = ".last";
/// The largest record read: its config vars and add-ons, with room to spare; a bigger file is corrupt and is not read whole.
pub const MAX_RECORD: u64 = 16 * 1024 * 1024;
/// The largest `current` or `.last` file read (they hold one version number).
const MAX_POINTER: u64 = 64;
/// Versions stop here, far below where anything could wrap.
pub const MAX_VERSION: Version = 1 << 53;

fn next_version(after: Version) -> Result<Version> {
    match after.checked_add(1) {
        Some(v) if v <= MAX_VERSION => Ok(v),
        _ => Err(Error::VersionsExhausted),
    }
}

/// An app's releases directory and `current` pointer.
#[derive(Clone, Debug)]
pub struct Store {
    dir: PathBuf,
    current_path: PathBuf,
}

impl Store {
    /// A store over `dir` (`releases/`) and `current_path` (`current`).
    pub fn new(dir: PathBuf, current_path: PathBuf) -> Store {
        Store { dir, current_path }
    }

    /// Every version with a record file, ascending.
    pub fn versions(&self) -> Result<Vec<Version>> {
        self.scan().map(|(versions, _)| versions)
    }

    /// One pass over the directory: the versions (ascending) and the temp files.
    fn scan(&self) -> Result<(Vec<Version>, Vec<PathBuf>)> {
        let mut versions = Vec::new();
        let mut temps = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(Error::io("read", &self.dir))?;
        for entry in entries {
            let entry = entry.map_err(Error::io("read", &self.dir))?;
            let name = entry.file_name();
            if let Some(v) = version_of_file_name(name.as_encoded_bytes()) {
                versions.push(v);
            } else if files::is_temp_name(name.as_encoded_bytes()) {
                temps.push(entry.path());
            }
        }
        versions.sort_unstable();
        Ok((versions, temps))
    }

    /// The highest version recorded, if any.
    pub fn latest_version(&self) -> Result<Option<Version>> {
        Ok(self.versions()?.last().copied())
    }

    /// The path of `vN.json`.
    pub fn record_path(&self, version: Version) -> PathBuf {
        self.dir.join(format!("v{version}.json"))
    }

    /// Reads one record; `Ok(None)` if there is none with that version.
    pub fn find(&self, version: Version) -> Result<Option<Release>> {
        let path = self.record_path(version);
        let bytes = match files::read_at_most(&path, MAX_RECORD) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => {
                return Err(Error::CorruptRecord {
                    path,
                    reason: format!(
                        "it is larger than {}, the most a record may hold",
                        Size(MAX_RECORD)
                    ),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        let release: Release =
            serde_json::from_slice(&bytes).map_err(|e| Error::CorruptRecord {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        if release.version != version {
            return Err(Error::CorruptRecord {
                path,
                reason: format!("it says it is v{}", release.version),
            });
        }
        // A slug's sha256 is also its file name: nothing else may reach a path.
        let slugs = [&release.slug, &release.pruned_slug];
        if let Some(slug) = slugs.into_iter().flatten().find(|s| !is_sha256(&s.sha256)) {
            return Err(Error::CorruptRecord {
                path,
                reason: format!(
                    "its slug '{}' is not a sha256",
                    escape_truncated(&slug.sha256, ECHO)
                ),
            });
        }
        Ok(Some(release))
    }

    /// The newest `limit` records, newest first.
    pub fn newest(&self, limit: usize) -> Result<Vec<Release>> {
        let versions = self.versions()?;
        versions
            .iter()
            .rev()
            .take(limit)
            .filter_map(|&v| self.find(v).transpose())
            .collect()
    }

    /// The newest succeeded release, or the newest older than `before`.
    pub fn latest_succeeded(&self, before: Option<Version>) -> Result<Option<Release>> {
        let versions = self.versions()?;
        for v in versions
            .into_iter()
            .rev()
            .filter(|&v| before.is_none_or(|b| v < b))
        {
            if let Some(r) = self.find(v)?
                && r.status == Status::Succeeded
            {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// The version `current` points at, if any release is live.
    pub fn current(&self) -> Result<Option<Version>> {
        let corrupt = |reason| Error::CorruptCurrent {
            path: self.current_path.clone(),
            reason,
        };
        let bytes = match files::read_at_most(&self.current_path, MAX_POINTER) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Err(corrupt("it is too long to hold a version".into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &self.current_path)(e)),
        };
        let text = String::from_utf8_lossy(&bytes);
        parse_version(text.trim()).map(Some).map_err(|_| {
            corrupt(format!(
                "'{}' is not a version",
                escape_truncated(text.trim(), ECHO)
            ))
        })
    }

    /// Records a new release with the next version number and returns it as stored.
    ///
    /// The version is allocated under the app lock and the file created with
    /// create-new, so even a writer that bypassed the lock could not take it.
    /// The number is above every number ever given out: the records there are,
    /// `current`, and the high-water mark `releases/.last` (written before the
    /// record, so a number survives its record being lost or moved aside).
    pub fn create(&self, _lock: &AppLock, mut release: Release) -> Result<Release> {
        let highest = [
            self.latest_version()?,
            self.high_water()?,
            self.current().ok().flatten(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        let mut version = next_version(highest)?;
        loop {
            release.version = version;
            let mark = self.dir.join(HIGH_WATER);
            files::write_atomic(&mark, format!("{version}\n").as_bytes(), 0o644)
                .map_err(Error::io("write", &mark))?;
            let path = self.record_path(version);
            match files::create_new_atomic(&path, &encode(&release)?, RECORD_MODE) {
                Ok(()) => return Ok(release),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    version = next_version(version)?
                }
                Err(e) => return Err(Error::io("write", &path)(e)),
            }
        }
    }

    /// The highest version ever given out, as `releases/.last` remembers it.
    fn high_water(&self) -> Result<Option<Version>> {
        let path = self.dir.join(HIGH_WATER);
        match files::read_at_most(&path, MAX_POINTER) {
            Ok(bytes) => bytes
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|text| text.trim().parse().ok())
                .map(Some)
                .ok_or(Error::CorruptHighWater { path }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &path)(e)),
        }
    }

    /// Rewrites a record that is still pending (its slug and final status).
    pub fn update(&self, _lock: &AppLock, release: &Release) -> Result<()> {
        let path = self.record_path(release.version);
        files::write_atomic(&path, &encode(release)?, RECORD_MODE)
            .map_err(Error::io("write", &path))
    }

    /// Makes `version` the live release.
    pub fn set_current(&self, _lock: &AppLock, version: Version) -> Result<()> {
        files::write_atomic(
            &self.current_path,
            format!("v{version}\n").as_bytes(),
            0o644,
        )
        .map_err(Error::io("write", &self.current_path))
    }

    /// Settles releases left pending by a killed process; returns their versions.
    ///
    /// Holding the lock proves nobody is working on them. A pending release
    /// that `current` names had gone live (see `deploy::go_live`) and is marked
    /// succeeded; any other is marked failed. Every change starts with this, so
    /// a stale pending record can only be at the top of the store. Temp files
    /// of killed writers are removed too.
    pub fn recover(&self, lock: &AppLock) -> Result<Vec<Version>> {
        self.recover_assuming(lock, self.current()?)
    }

    /// [`Store::recover`] with `current` as given, for a repair that cannot read the pointer:
    /// with `None`, a pending release cannot be shown to have gone live and is marked failed.
    pub fn recover_assuming(
        &self,
        lock: &AppLock,
        current: Option<Version>,
    ) -> Result<Vec<Version>> {
        let (versions, mut temps) = self.scan()?;
        if let Some(app_dir) = self.current_path.parent() {
            temps.extend(files::temp_files(app_dir).map_err(Error::io("read", app_dir))?);
        }
        for temp in temps {
            files::remove_if_stale(&temp).map_err(Error::io("clean", &temp))?;
        }
        let mut settled = Vec::new();
        for v in versions.into_iter().rev() {
            let Some(mut release) = self.find(v)? else {
                continue;
            };
            if release.status != Status::Pending {
                break;
            }
            release.status = if current == Some(v) {
                Status::Succeeded
            } else {
                Status::Failed
            };
            self.update(lock, &release)?;
            settled.push(v);
        }
        Ok(settled)
    }

    /// The releases directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Whether `text` is 64 lowercase hex digits.
fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn encode(release: &Release) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(release).map_err(|e| Error::Io {
        action: "encode",
        path: format!("v{}.json", release.version).into(),
        source: e.into(),
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
