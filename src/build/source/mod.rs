//! Sources other than a git commit (`releases:create`, as Akkeris and Heroku's source API take them): fetched, unpacked and checked.
//!
//! A source is a local directory, a `.tar.gz`/`.tgz`/`.tar`/`.zip` file, or an
//! http(s) URL of one. Archives are unpacked into a private temp directory
//! by a hostile-input-safe extractor, then compiled like any slug (git tree
//! order, fixed mtime [`crate::build::compile::SOURCE_MTIME`]).

mod download;
mod extract;
mod untar;
mod zip;

use std::fs;
use std::path::{Path, PathBuf};

pub use self::download::redact_url;
use super::error::{Error, Result};
use crate::base::files::TempFile;
use crate::base::http::HttpSettings;
use crate::base::size::Size;
use crate::base::tempdir::TempDir;
use crate::base::text::escape;
use crate::model::event::Observer;
use crate::model::settings::RootSettings;

/// An archive that expands more than this many times its compressed size is refused (once past [`RATIO_FLOOR`]).
pub const MAX_RATIO: u64 = 100;
/// Expansion up to this many bytes is never taken for a decompression bomb.
pub const RATIO_FLOOR: u64 = 1024 * 1024;

/// Why a source could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("refusing '{entry}': {reason}")]
    Refused { entry: String, reason: String },

    #[error("{name} expands to more than {max} (at '{entry}')")]
    TooLarge {
        name: String,
        max: Size,
        entry: String,
    },

    #[error("{name} has more than {max} entries")]
    TooManyEntries { name: String, max: u64 },

    #[error(
        "{name} expands more than {MAX_RATIO} times its compressed size (at '{entry}'): a decompression bomb?"
    )]
    Bomb { name: String, entry: String },

    #[error("{name} is not a .tar.gz, .tgz, .tar or .zip archive{detail}")]
    Format { name: String, detail: String },

    #[error("{name} is corrupt: {reason}")]
    Corrupt { name: String, reason: String },

    #[error("cannot download {url}: {reason}")]
    Download {
        url: String,
        #[source]
        reason: DownloadError,
    },

    #[error("'{text}' is not a directory, an archive file or an http(s) URL")]
    BadSource { text: String },
}

/// Why a download failed; URLs and server words in it are already escaped.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("the URL contains spaces, control or non-ASCII characters")]
    UnsafeUrl,
    #[error("not an http(s) URL")]
    NoScheme,
    #[error("'{url}' is not an http(s) URL")]
    NotHttp { url: String },
    #[error("the host is malformed")]
    MalformedHost,
    #[error("the URL has no host")]
    NoHost,
    #[error("'{port}' is not a port")]
    BadPort { port: String },
    #[error("credentials in http:// URLs are not supported (use https://)")]
    CredentialsOverHttp,
    #[error("redirected to '{location}', which is not http(s)")]
    RedirectNotHttp { location: String },
    #[error("redirected from https to '{url}', which is refused")]
    RedirectToHttp { url: String },
    #[error("more than {max} redirects")]
    TooManyRedirects { max: usize },
    #[error("a redirect without a Location")]
    RedirectWithoutLocation,
    #[error(transparent)]
    Agent(#[from] crate::base::http::AgentError),
    #[error("cannot make the request: {0}")]
    Request(#[source] ureq::http::Error),
    #[error("cannot connect: {reason}")]
    Unreachable { reason: String },
    /// A deadline passed after connecting, or the exchange broke off.
    #[error("{reason}")]
    Failed { reason: String },
    #[error("the server answered {code} {reason}")]
    Status { code: u16, reason: String },
    #[error("it is {size} and the limit is {max} (max_source_size)")]
    Announced { size: Size, max: Size },
    #[error("it is larger than {max} (max_source_size)")]
    Larger { max: Size },
    #[error("it took longer than {timeout} (source_timeout)")]
    TookTooLong { timeout: crate::base::span::Span },
    #[error("cannot write the download: {0}")]
    Write(#[source] std::io::Error),
    #[error("the connection closed after {done} of {length} bytes")]
    Truncated { done: u64, length: u64 },
}

/// Caps on what a source may expand to, from the root's settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most a source may download or expand to.
    pub max_size: Size,
    /// The most entries an archive may hold.
    pub max_entries: u64,
    /// The longest a download may take, from connecting to its last byte (`source_timeout`).
    pub timeout: std::time::Duration,
}

impl Limits {
    /// The limits `slipway.yaml` sets.
    pub fn from_settings(settings: &RootSettings) -> Limits {
        Limits {
            max_size: settings.max_source_size,
            max_entries: settings.max_source_files,
            timeout: settings.source_timeout.get(),
        }
    }
}

/// What `releases:create` was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// An `http://` or `https://` URL of an archive.
    Url(String),
    /// A local directory or archive file.
    Path(PathBuf),
}

impl Spec {
    /// Reads a SOURCE argument: an http(s) URL, else a local path.
    pub fn parse(text: &str) -> Result<Spec> {
        let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return Ok(Spec::Url(text.to_owned()));
        }
        if text.is_empty() || text.contains("://") {
            return Err(SourceError::BadSource {
                text: crate::base::text::escape_truncated(text, crate::base::text::ECHO),
            }
            .into());
        }
        Ok(Spec::Path(PathBuf::from(text)))
    }

    /// A short name for descriptions and messages: the URL's or path's last component, escaped.
    pub fn name(&self) -> String {
        let name = match self {
            Spec::Url(url) => {
                let url = redact_url(url);
                let bare = url.split(['?', '#']).next().unwrap_or(&url);
                let after_scheme = bare.split_once("://").map_or(bare, |(_, rest)| rest);
                after_scheme
                    .rsplit('/')
                    .find(|s| !s.is_empty())
                    .unwrap_or(after_scheme)
                    .to_owned()
            }
            Spec::Path(path) => {
                let absolute = std::path::absolute(path).unwrap_or_else(|_| path.clone());
                let normal: PathBuf = absolute.components().collect();
                normal.file_name().map_or_else(
                    || normal.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            }
        };
        escape(&name).into_owned()
    }
}

/// Unpacks the archive at `path` into `dest` with the hostile-input-safe extractor; returns the root of what it held.
pub fn extract_archive(path: &Path, name: &str, dest: &Path, limits: Limits) -> Result<PathBuf> {
    extract::extract(path, name, dest, limits, &mut crate::model::event::Quiet)
}

/// Downloads `url` into `out`, at most `limits.max_size` bytes within `limits.timeout`; returns the number of bytes.
pub fn download_to(
    url: &str,
    out: &mut TempFile,
    limits: Limits,
    http: &HttpSettings,
    observer: &mut dyn Observer,
) -> Result<u64> {
    download::download(url, out, limits, http, observer)
}

/// A source, fetched and unpacked: the directory to compile, and the temp files that hold it.
#[derive(Debug)]
pub struct Fetched {
    /// The directory whose files the slug holds.
    pub dir: PathBuf,
    _unpacked: Option<TempDir>,
    _download: Option<TempFile>,
}

/// Fetches and unpacks `spec` under `tmp_root` (a private scratch directory), checking it against `limits`.
pub fn fetch(
    spec: &Spec,
    tmp_root: &Path,
    limits: Limits,
    http: &HttpSettings,
    observer: &mut dyn Observer,
) -> Result<Fetched> {
    let name = spec.name();
    match spec {
        Spec::Path(path) => {
            let meta = fs::metadata(path).map_err(Error::io("read", path))?;
            if meta.is_dir() {
                return Ok(Fetched {
                    dir: path.clone(),
                    _unpacked: None,
                    _download: None,
                });
            }
            let dir = TempDir::new_in(tmp_root).map_err(Error::io("create in", tmp_root))?;
            let root = extract::extract(path, &name, dir.path(), limits, observer)?;
            Ok(Fetched {
                dir: root,
                _unpacked: Some(dir),
                _download: None,
            })
        }
        Spec::Url(url) => {
            let mut file =
                TempFile::new_in(tmp_root, 0o600).map_err(Error::io("create in", tmp_root))?;
            download::download(url, &mut file, limits, http, observer)?;
            let dir = TempDir::new_in(tmp_root).map_err(Error::io("create in", tmp_root))?;
            let root = extract::extract(file.path(), &name, dir.path(), limits, observer)?;
            Ok(Fetched {
                dir: root,
                _unpacked: Some(dir),
                _download: Some(file),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_name_themselves() {
        let url = Spec::parse("https://user:secret@example.com/a/app.tar.gz?sig=1").ok();
        assert_eq!(url.as_ref().map(Spec::name).as_deref(), Some("app.tar.gz"));
        assert_eq!(
            Spec::parse("HTTP://example.com")
                .ok()
                .map(|s| s.name())
                .as_deref(),
            Some("example.com")
        );
        assert_eq!(
            Spec::parse("/srv/src/app.zip").ok(),
            Some(Spec::Path("/srv/src/app.zip".into()))
        );
        assert_eq!(
            Spec::parse("/srv/src/myapp/")
                .ok()
                .map(|s| s.name())
                .as_deref(),
            Some("myapp")
        );
        assert!(Spec::parse("ftp://example.com/app.tgz").is_err());
        assert!(Spec::parse("").is_err());
    }
}
