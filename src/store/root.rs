//! The slipway root: where apps and slugs live, and reading the admin settings in `slipway.yaml`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::{Error, Result};
use crate::base::{files, tempdir};
use crate::model::settings::RootSettings;

/// An initialized root directory.
#[derive(Clone, Debug)]
pub struct Root {
    dir: PathBuf,
    /// Settings read from `slipway.yaml`.
    pub settings: RootSettings,
}

impl Root {
    /// Creates the root's directories (idempotent) and opens it.
    pub fn init(dir: &Path) -> Result<Root> {
        let dir = absolute(dir)?;
        for sub in [dir.join("apps"), dir.join("slugs").join("by-tree")] {
            fs::create_dir_all(&sub).map_err(Error::io("create", &sub))?;
        }
        Root::open(&dir)
    }

    /// Opens an existing root, reading its settings.
    pub fn open(dir: &Path) -> Result<Root> {
        let dir = absolute(dir)?;
        if !dir.join("apps").is_dir() || !dir.join("slugs").is_dir() {
            return Err(Error::NotARoot { root: dir });
        }
        let settings = read_settings(&dir)?;
        Ok(Root { dir, settings })
    }

    /// `ROOT/slipway.yaml`.
    pub fn settings_path(&self) -> PathBuf {
        self.dir.join("slipway.yaml")
    }

    /// The settings as `slipway.yaml` says now (another command may have changed them since this one opened the root).
    pub fn settings_now(&self) -> Result<RootSettings> {
        read_settings(&self.dir)
    }

    /// Sets `key: value` at the top level of `slipway.yaml`, keeping every other line (comments included) as it is.
    ///
    /// The line that sets `key` is replaced (a value continued on further
    /// lines is not supported: `value` must be a plain scalar), or one is
    /// added at the end. The result must still be valid settings.
    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        let path = self.settings_path();
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        let line = format!("{key}: {value}");
        let mut found = false;
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| {
                let sets_key = l
                    .strip_prefix(key)
                    .is_some_and(|rest| rest.trim_start().starts_with(':'));
                if sets_key && !found {
                    found = true;
                    line.clone()
                } else {
                    l.to_owned()
                }
            })
            .collect();
        if !found {
            lines.push(line);
        }
        let new = lines.join("\n") + "\n";
        let settings = parse_settings(&path, &new)?;
        files::write_atomic(&path, new.as_bytes(), 0o644).map_err(Error::io("write", &path))?;
        self.settings = settings;
        Ok(())
    }

    /// The root directory itself (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `ROOT/apps`.
    pub fn apps_dir(&self) -> PathBuf {
        self.dir.join("apps")
    }

    /// `ROOT/keys.json`: ssh keys and app access.
    pub fn keys_path(&self) -> PathBuf {
        self.dir.join("keys.json")
    }

    /// The authorized_keys file slipway maintains: `authorized_keys` from `slipway.yaml`, else `ROOT/authorized_keys`.
    pub fn authorized_keys_path(&self) -> PathBuf {
        match &self.settings.authorized_keys {
            Some(path) => self.dir.join(path),
            None => self.dir.join("authorized_keys"),
        }
    }

    /// `ROOT/slugs`, content-addressed slugs shared by every app.
    pub fn slugs_dir(&self) -> PathBuf {
        self.dir.join("slugs")
    }

    /// `ROOT/tmp`, private to the root's owner, created if needed and cleared of what killed commands left there.
    pub fn scratch_dir(&self) -> Result<PathBuf> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = self.dir.join("tmp");
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::io("create", &dir)(e)),
        }
        files::remove_stale_temps(&dir).map_err(Error::io("clean", &dir))?;
        tempdir::remove_stale(&dir).map_err(Error::io("clean", &dir))?;
        Ok(dir)
    }
}

/// The default root: `/var/lib/slipway` for root, else the user's data directory.
pub fn default_dir() -> PathBuf {
    if crate::base::sys::is_superuser() {
        return PathBuf::from("/var/lib/slipway");
    }
    directories::ProjectDirs::from("", "", "slipway")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/var/lib/slipway"))
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    std::path::absolute(dir).map_err(Error::io("resolve", dir))
}

/// The largest settings file read: far more than any real one, and never read whole past it.
pub const MAX_SETTINGS: u64 = 1024 * 1024;

fn read_settings(dir: &Path) -> Result<RootSettings> {
    let path = dir.join("slipway.yaml");
    let settings: RootSettings = read_yaml(&path)?.unwrap_or_default();
    check_settings(&path, settings)
}

fn parse_settings(path: &Path, text: &str) -> Result<RootSettings> {
    check_settings(path, parse_yaml(path, text)?)
}

fn check_settings(path: &Path, settings: RootSettings) -> Result<RootSettings> {
    match settings.problem() {
        Some(reason) => Err(Error::Settings {
            path: path.to_path_buf(),
            reason: reason.into(),
        }),
        None => Ok(settings),
    }
}

/// Reads a YAML settings file; a missing file is `None`.
pub fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    let settings_error = |reason: String| Error::Settings {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = match files::read_at_most(path, MAX_SETTINGS) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Err(settings_error(format!(
                "it is larger than {}",
                crate::base::size::Size(MAX_SETTINGS)
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path)(e)),
    };
    let text = String::from_utf8(bytes).map_err(|_| settings_error("it is not UTF-8".into()))?;
    parse_yaml(path, &text).map(Some)
}

fn parse_yaml<T: for<'de> Deserialize<'de>>(path: &Path, text: &str) -> Result<T> {
    let invalid = |e: serde_yaml::Error| Error::Settings {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // A file holding only comments is an empty mapping, not an error.
    let mut value: serde_yaml::Value = serde_yaml::from_str(text).map_err(invalid)?;
    if value.is_null() {
        value = serde_yaml::Value::Mapping(Default::default());
    }
    serde_yaml::from_value(value).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::slug_store::SlugStoreSpec;

    #[test]
    fn setting_a_key_keeps_every_other_line_and_refuses_what_would_not_parse() {
        let tmp = tempfile::tempdir().unwrap();
        let mut root = Root::init(tmp.path()).unwrap();
        let path = root.settings_path();
        fs::write(
            &path,
            "# slugs\nslug_store: local   # for now\nmax_slug_size: 1GB\n",
        )
        .unwrap();
        root.set_setting("slug_store", "s3://slugs/prod").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# slugs\nslug_store: s3://slugs/prod\nmax_slug_size: 1GB\n"
        );
        assert!(matches!(root.settings.slug_store, SlugStoreSpec::S3(_)));
        assert_eq!(
            root.settings_now().unwrap().slug_store,
            root.settings.slug_store
        );
        // A key not there yet is added at the end.
        fs::write(&path, "max_slug_size: 1GB").unwrap();
        root.set_setting("slug_store", "local").unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "max_slug_size: 1GB\nslug_store: local\n"
        );
        // A value that does not parse changes nothing.
        assert!(matches!(
            root.set_setting("slug_store", "/srv/slugs"),
            Err(Error::Settings { .. })
        ));
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "max_slug_size: 1GB\nslug_store: local\n"
        );
    }

    #[test]
    fn the_slug_store_settings_are_checked_when_the_root_opens() {
        let tmp = tempfile::tempdir().unwrap();
        Root::init(tmp.path()).unwrap();
        let path = tmp.path().join("slipway.yaml");
        for (yaml, reason) in [
            (
                "slug_store: /srv/slugs\n",
                "neither `local` nor s3://BUCKET/PREFIX",
            ),
            ("s3_endpoint: ftp://h\n", "the scheme must be http or https"),
            ("s3_region: us east\n", "s3_region must be a region name"),
            (
                "slug_url_ttl: 0s\n",
                "slug_url_ttl must be at least one second",
            ),
        ] {
            fs::write(&path, yaml).unwrap();
            let e = Root::open(tmp.path()).unwrap_err().to_string();
            assert!(e.contains(reason), "{yaml}: {e}");
        }
        fs::write(
            &path,
            "slug_store: s3://slugs/prod\ns3_endpoint: http://127.0.0.1:8333\nslug_cache_size: 1GB\nslug_url_ttl: 2h\n",
        )
        .unwrap();
        let settings = Root::open(tmp.path()).unwrap().settings;
        assert_eq!(settings.slug_store.to_string(), "s3://slugs/prod");
        assert_eq!(
            settings.s3_endpoint.map(|e| e.to_string()).as_deref(),
            Some("http://127.0.0.1:8333")
        );
        assert_eq!(settings.slug_cache_size.bytes(), 1 << 30);
        assert_eq!(settings.slug_url_ttl.get().as_secs(), 7200);
    }
}
