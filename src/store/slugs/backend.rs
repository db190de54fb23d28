//! Where slugs are kept for good: the root's own `slugs/` directory, or an S3-compatible bucket.
//!
//! A [`Backend`] knows objects by the slug's sha256 only; verifying bytes,
//! caching and deciding what may be deleted are [`super::SlugStore`]'s.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::super::error::{Error, Result};
use super::super::s3::{self, Client, Clock, Config, Credentials, CredentialsError};
use crate::base::digest::hex;
use crate::base::files::TempFile;
use crate::base::http::HttpSettings;
use crate::model::release::SlugRef;
use crate::model::slug_store::{Endpoint, Location};

/// Where stored slugs live: `slugs/SHA256.tar.gz` under a directory or a bucket prefix.
pub trait Backend: fmt::Debug + Send + Sync {
    /// `ROOT/slugs` or `s3://BUCKET/PREFIX`, for messages.
    fn name(&self) -> String;
    /// Whether this is the local directory itself (nothing to upload or download).
    fn is_local(&self) -> bool;
    /// The size of the stored slug, or `None` when it is not there.
    fn head(&self, sha256: &str) -> Result<Option<u64>>;
    /// Stores `file`, which holds exactly `slug`; `progress` hears the bytes sent so far.
    fn put(&self, slug: &SlugRef, file: &Path, progress: &mut dyn FnMut(u64)) -> Result<()>;
    /// Writes the stored slug to `out` (the file `dest`, named in errors); returns the size and sha256 of what came.
    fn get(&self, sha256: &str, out: &mut dyn Write, dest: &Path) -> Result<(u64, String)>;
    /// Deletes the stored slug; deleting what is not there succeeds.
    fn delete(&self, sha256: &str) -> Result<()>;
    /// Every stored slug: sha256 and size.
    fn list(&self) -> Result<Vec<(String, u64)>>;
    /// A URL a launcher can fetch the slug from, valid `ttl` where it expires at all.
    fn url(&self, sha256: &str, ttl: Duration) -> Result<String>;
}

/// The object name of a slug: `slugs/SHA256.tar.gz`.
pub fn object_name(sha256: &str) -> String {
    format!("slugs/{sha256}.tar.gz")
}

/// The sha256 a file or object name stands for, if it is `SHA256.tar.gz` with 64 lowercase hex digits.
pub fn sha_of_name(name: &str) -> Option<&str> {
    let sha = name.strip_suffix(".tar.gz")?;
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    (sha.len() == 64 && sha.bytes().all(hex)).then_some(sha)
}

/// The root's `slugs/` directory as the store itself.
#[derive(Debug)]
pub struct LocalDir {
    dir: PathBuf,
}

impl LocalDir {
    /// The store in `dir` (`ROOT/slugs`).
    pub fn new(dir: PathBuf) -> LocalDir {
        LocalDir { dir }
    }

    fn path(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.tar.gz"))
    }
}

impl Backend for LocalDir {
    fn name(&self) -> String {
        self.dir.display().to_string()
    }

    fn is_local(&self) -> bool {
        true
    }

    fn head(&self, sha256: &str) -> Result<Option<u64>> {
        let path = self.path(sha256);
        match fs::metadata(&path) {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("read", &path)(e)),
        }
    }

    fn put(&self, slug: &SlugRef, file: &Path, progress: &mut dyn FnMut(u64)) -> Result<()> {
        let dest = self.path(&slug.sha256);
        if file == dest {
            return Ok(());
        }
        let mut from = File::open(file).map_err(Error::io("read", file))?;
        let mut tmp =
            TempFile::new_in(&self.dir, 0o644).map_err(Error::io("write in", &self.dir))?;
        let copied = io::copy(&mut from, tmp.file()).map_err(Error::io("write", tmp.path()))?;
        progress(copied);
        tmp.persist(&dest).map_err(Error::io("write", &dest))
    }

    fn get(&self, sha256: &str, out: &mut dyn Write, dest: &Path) -> Result<(u64, String)> {
        let path = self.path(sha256);
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::SlugMissing {
                sha256: sha256.to_owned(),
                dir: self.dir.clone(),
            },
            _ => Error::io("read", &path)(e),
        })?;
        copy_hashing(file, out).map_err(|e| match e {
            Side::Read(e) => Error::io("read", &path)(e),
            Side::Write(e) => Error::io("write", dest)(e),
        })
    }

    fn delete(&self, sha256: &str) -> Result<()> {
        let path = self.path(sha256);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("remove", &path)(e)),
            _ => Ok(()),
        }
    }

    fn list(&self) -> Result<Vec<(String, u64)>> {
        let mut found = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(Error::io("read", &self.dir))? {
            let entry = entry.map_err(Error::io("read", &self.dir))?;
            let name = entry.file_name();
            let Some(sha) = name.to_str().and_then(sha_of_name) else {
                continue;
            };
            if let Ok(meta) = entry.metadata()
                && meta.is_file()
            {
                found.push((sha.to_owned(), meta.len()));
            }
        }
        Ok(found)
    }

    fn url(&self, sha256: &str, _ttl: Duration) -> Result<String> {
        let path = self.path(sha256);
        let text = path.to_string_lossy();
        Ok(format!("file://{}", s3::encode::uri_encode(&text, true)))
    }
}

/// What reaching an S3 slug store takes, from the command line's edge.
pub struct S3Access {
    /// The keys, or why there are none.
    pub credentials: std::result::Result<Credentials, CredentialsError>,
    /// Proxies and deadlines.
    pub http: HttpSettings,
    /// The real time, to sign with (never a fixed `SLIPWAY_NOW`: S3 refuses skewed requests).
    pub clock: Clock,
}

impl fmt::Debug for S3Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Access")
            .field("credentials", &self.credentials)
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// Why an S3 slug store cannot be used at all: no credentials, or settings no client can work with.
#[derive(Debug, thiserror::Error)]
pub enum Unusable {
    /// No keys could be found.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// The client refused the settings (region, endpoint, proxy, trusted certificates).
    #[error(transparent)]
    Settings(#[from] s3::Error),
}

/// An S3-compatible bucket as the store.
pub struct S3 {
    location: Location,
    /// The client, or why there is none (shared: every operation reports it).
    client: std::result::Result<Client, Arc<Unusable>>,
    clock: Clock,
}

impl fmt::Debug for S3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3")
            .field("location", &self.location)
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl S3 {
    /// The bucket at `location` on `endpoint` (AWS when `None`). Nothing is sent yet;
    /// unusable settings or missing credentials fail the first operation.
    pub fn new(
        location: &Location,
        endpoint: Option<&Endpoint>,
        region: Option<&str>,
        access: S3Access,
    ) -> S3 {
        let client = access
            .credentials
            .map_err(Unusable::from)
            .and_then(|credentials| {
                let mut config = Config::new(location.clone(), credentials, jiff::Timestamp::now);
                config.endpoint = endpoint.cloned();
                config.region = region.map(str::to_owned);
                config.http = access.http;
                config.clock = access.clock.clone();
                Ok(Client::new(config)?)
            })
            .map_err(Arc::new);
        S3 {
            location: location.clone(),
            client,
            clock: access.clock,
        }
    }

    fn client(&self) -> Result<&Client> {
        self.client
            .as_ref()
            .map_err(|reason| Error::SlugStoreUnusable {
                store: self.location.to_string(),
                reason: reason.clone(),
            })
    }

    /// Creates the bucket (for tests and first setups); one that is already ours is fine.
    pub fn create_bucket(&self) -> Result<()> {
        Ok(self.client()?.create_bucket()?)
    }
}

impl Backend for S3 {
    fn name(&self) -> String {
        self.location.to_string()
    }

    fn is_local(&self) -> bool {
        false
    }

    fn head(&self, sha256: &str) -> Result<Option<u64>> {
        Ok(self.client()?.head(&object_name(sha256))?)
    }

    fn put(&self, slug: &SlugRef, file: &Path, progress: &mut dyn FnMut(u64)) -> Result<()> {
        Ok(self.client()?.put_file(
            &object_name(&slug.sha256),
            file,
            &slug.sha256,
            slug.size,
            progress,
        )?)
    }

    fn get(&self, sha256: &str, out: &mut dyn Write, dest: &Path) -> Result<(u64, String)> {
        let client = self.client()?;
        match client.get(&object_name(sha256), out, dest) {
            Err(e) if e.code() == Some("NoSuchKey") || e.status() == Some(404) => {
                Err(Error::SlugNotStored {
                    sha256: sha256.to_owned(),
                    store: self.name(),
                })
            }
            other => Ok(other?),
        }
    }

    fn delete(&self, sha256: &str) -> Result<()> {
        Ok(self.client()?.delete(&object_name(sha256))?)
    }

    fn list(&self) -> Result<Vec<(String, u64)>> {
        let listed = self.client()?.list("slugs/")?;
        Ok(listed
            .into_iter()
            .filter_map(|(name, size)| {
                let sha = sha_of_name(name.strip_prefix("slugs/")?)?;
                Some((sha.to_owned(), size))
            })
            .collect())
    }

    fn url(&self, sha256: &str, ttl: Duration) -> Result<String> {
        let now = (self.clock)();
        Ok(self.client()?.presign_get(&object_name(sha256), ttl, now))
    }
}

/// Which side of a copy failed.
enum Side {
    Read(io::Error),
    Write(io::Error),
}

/// Copies `from` to `out`, hashing on the way; the size and hex sha256 of what was copied.
fn copy_hashing(
    mut from: impl Read,
    out: &mut dyn Write,
) -> std::result::Result<(u64, String), Side> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Side::Read(e)),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        out.write_all(chunk).map_err(Side::Write)?;
        hasher.update(chunk);
        size += n as u64;
    }
    Ok((size, hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slug_names_are_slugs() {
        let sha = "a".repeat(64);
        assert_eq!(sha_of_name(&format!("{sha}.tar.gz")), Some(sha.as_str()));
        assert_eq!(sha_of_name("x.tar.gz"), None);
        assert_eq!(sha_of_name(&format!("{}.tar.gz", "A".repeat(64))), None);
        assert_eq!(sha_of_name(&sha), None);
        assert_eq!(object_name("ab"), "slugs/ab.tar.gz");
    }
}
