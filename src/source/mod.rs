//! Releases from a source archive or directory (`releases:create`), as Akkeris and Heroku's source API make them.
//!
//! A source is a local directory, a `.tar.gz`/`.tgz`/`.tar`/`.zip` file, or an
//! http(s) URL of one. Archives are unpacked into a private temp directory
//! under `ROOT/tmp` by a hostile-input-safe extractor, then compiled like any
//! slug (git tree order, fixed mtime [`crate::slug::SOURCE_MTIME`]). Nothing is
//! recorded until the source has been fetched, unpacked and checked, so a
//! refused source leaves no release, no slug and no temp files.

mod download;
mod extract;
mod tempdir;
mod zip;

use std::fs;
use std::path::{Path, PathBuf};

use crate::app::App;
use crate::deploy::{self, Context, Origin, Outcome};
use crate::error::{Error, Result};
use crate::event::{Event, Observer};
use crate::fsutil::{self, TempFile};
use crate::output::escape;
use crate::root::RootSettings;
use crate::size::Size;
use crate::slug::{DirPlan, SlugStore};

pub use self::download::redact_url;
pub(crate) use self::tempdir::TempDir;

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
    Download { url: String, reason: String },

    #[error("cannot download {url}: https needs curl, which is not installed")]
    NeedsCurl { url: String },

    #[error("'{text}' is not a directory, an archive file or an http(s) URL")]
    BadSource { text: String },
}

impl SourceError {
    /// The obvious next step, printed as a `help:` line.
    pub fn help(&self) -> Option<String> {
        match self {
            SourceError::Refused { .. } => Some(
                "sources may hold only regular files, directories and symlinks that stay inside them"
                    .into(),
            ),
            SourceError::TooLarge { .. } => Some(
                "if the source is genuine, raise max_source_size in the root's slipway.yaml".into(),
            ),
            SourceError::TooManyEntries { .. } => Some(
                "if the source is genuine, raise max_source_files in the root's slipway.yaml"
                    .into(),
            ),
            SourceError::Format { .. } | SourceError::BadSource { .. } => Some(
                "give a directory, or a .tar.gz, .tgz, .tar or .zip file or http(s) URL".into(),
            ),
            SourceError::NeedsCurl { .. } => Some(
                "install curl, or download the archive yourself and pass the file".into(),
            ),
            _ => None,
        }
    }
}

/// Caps on what a source may expand to, from the root's settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most a source may download or expand to.
    pub max_size: Size,
    /// The most entries an archive may hold.
    pub max_entries: u64,
}

impl Limits {
    /// The limits `slipway.yaml` sets.
    pub fn from_settings(settings: &RootSettings) -> Limits {
        Limits {
            max_size: settings.max_source_size,
            max_entries: settings.max_source_files,
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
                text: escape(text).into_owned(),
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

/// Makes a release of `app` from `spec`: fetch, unpack and check it, then record, compile and launch.
///
/// `description` defaults to `Deploy from NAME`. A refused source records nothing.
pub fn create_release(
    ctx: &Context,
    app: &App,
    spec: &Spec,
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let limits = Limits::from_settings(&ctx.root.settings);
    let name = spec.name();
    let tmp_root = ctx.root.dir().join("tmp");
    prepare_tmp(&tmp_root)?;
    // Held until the release is made: the unpacked tree and the download live in them.
    let mut unpacked: Option<TempDir> = None;
    let mut _download: Option<TempFile> = None;
    let app_root = match spec {
        Spec::Path(path) => {
            let meta = fs::metadata(path).map_err(Error::io("read", path))?;
            if meta.is_dir() {
                path.clone()
            } else {
                let dir = TempDir::new_in(&tmp_root).map_err(Error::io("create in", &tmp_root))?;
                let root = extract::extract(path, &name, dir.path(), limits, observer)?;
                unpacked = Some(dir);
                root
            }
        }
        Spec::Url(url) => {
            let mut file =
                TempFile::new_in(&tmp_root, 0o600).map_err(Error::io("create in", &tmp_root))?;
            download::download(url, &mut file, limits.max_size, observer)?;
            let dir = TempDir::new_in(&tmp_root).map_err(Error::io("create in", &tmp_root))?;
            let root = extract::extract(file.path(), &name, dir.path(), limits, observer)?;
            _download = Some(file);
            unpacked = Some(dir);
            root
        }
    };
    let plan = DirPlan::scan(&app_root)?;
    let description = description.unwrap_or_else(|| format!("Deploy from {name}"));
    let lock = deploy::lock_app(app, observer)?;
    app.store().recover(&lock)?;
    let outcome = deploy::deploy_with(
        ctx,
        app,
        &lock,
        Origin::default(),
        description,
        observer,
        |observer| {
            observer.event(Event::CompilingSource { name: name.clone() });
            SlugStore::new(ctx.root.slugs_dir()).compile_dir(
                &plan,
                app.max_slug_size(ctx.root),
                observer,
            )
        },
    );
    drop(unpacked);
    outcome
}

/// Creates `ROOT/tmp` (private to the root's owner) and removes what killed commands left there.
pub(crate) fn prepare_tmp(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::io("create", dir)(e)),
    }
    fsutil::remove_stale_temps(dir).map_err(Error::io("clean", dir))?;
    tempdir::remove_stale(dir).map_err(Error::io("clean", dir))?;
    Ok(())
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
