//! The slipway root: where apps and slugs live, and the admin settings in `slipway.yaml`.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::size::Size;

/// Heroku's limit on a compiled slug.
pub const DEFAULT_MAX_SLUG_SIZE: Size = Size(500 * 1024 * 1024);

/// Admin settings from `ROOT/slipway.yaml`; every field has a default.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RootSettings {
    /// The largest compressed slug a deploy may produce.
    pub max_slug_size: Size,
    /// The authorized_keys file slipway writes for ssh pushes (default `ROOT/authorized_keys`; relative to the root).
    pub authorized_keys: Option<PathBuf>,
    /// Where `apps:create` picks each app's stable port from (`5000-5999`).
    pub port_range: PortRange,
    /// The most a `releases:create` source may download or expand to.
    pub max_source_size: Size,
    /// The most entries a `releases:create` archive may hold.
    pub max_source_files: u64,
}

impl Default for RootSettings {
    fn default() -> RootSettings {
        RootSettings {
            max_slug_size: DEFAULT_MAX_SLUG_SIZE,
            authorized_keys: None,
            port_range: PortRange::default(),
            max_source_size: Size(2 * 1024 * 1024 * 1024),
            max_source_files: 200_000,
        }
    }
}

/// An inclusive range of TCP ports, written `5000-5999`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// The first port.
    pub first: u16,
    /// The last port (inclusive).
    pub last: u16,
}

impl Default for PortRange {
    fn default() -> PortRange {
        PortRange {
            first: 5000,
            last: 5999,
        }
    }
}

impl std::fmt::Display for PortRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl std::str::FromStr for PortRange {
    type Err = String;

    fn from_str(s: &str) -> Result<PortRange, String> {
        let bad = || format!("'{s}' is not a port range (try 5000-5999)");
        let (first, last) = s.trim().split_once('-').unwrap_or((s.trim(), s.trim()));
        let first: u16 = first.trim().parse().map_err(|_| bad())?;
        let last: u16 = last.trim().parse().map_err(|_| bad())?;
        if first == 0 || last < first {
            return Err(bad());
        }
        Ok(PortRange { first, last })
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<PortRange, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(u16),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::One(n) => n.to_string(),
            Raw::Text(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

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
        let settings = read_yaml(&dir.join("slipway.yaml"))?.unwrap_or_default();
        Ok(Root { dir, settings })
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
}

/// The default root: `/var/lib/slipway` for root, else the user's data directory.
pub fn default_dir() -> PathBuf {
    if is_superuser() {
        return PathBuf::from("/var/lib/slipway");
    }
    directories::ProjectDirs::from("", "", "slipway")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("/var/lib/slipway"))
}

#[allow(unsafe_code)]
fn is_superuser() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn absolute(dir: &Path) -> Result<PathBuf> {
    std::path::absolute(dir).map_err(Error::io("resolve", dir))
}

/// Reads a YAML settings file; a missing file is `None`.
pub fn read_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read", path)(e)),
    };
    let invalid = |e: serde_yaml::Error| Error::Settings {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    // A file holding only comments is an empty mapping, not an error.
    let mut value: serde_yaml::Value = serde_yaml::from_str(&text).map_err(invalid)?;
    if value.is_null() {
        value = serde_yaml::Value::Mapping(Default::default());
    }
    serde_yaml::from_value(value).map(Some).map_err(invalid)
}
