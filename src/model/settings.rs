//! Settings as the admin writes them: `ROOT/slipway.yaml` and `apps/NAME/app.yaml`, parsed into typed values.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::slug_store::{Endpoint, SlugStoreSpec};
use crate::base::size::Size;
use crate::base::span::Span;

/// Heroku's limit on a build.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Heroku's limit on a compiled slug.
pub const DEFAULT_MAX_SLUG_SIZE: Size = Size(500 * 1024 * 1024);

/// How long a `releases:create` download (or a buildpack archive's) may take.
pub const DEFAULT_SOURCE_TIMEOUT: Span = Span::secs(600);

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
    /// How long a `releases:create` download (or a buildpack archive's) may take, headers included.
    pub source_timeout: Span,
    /// Where slugs are kept: `local` (`ROOT/slugs`), or `s3://BUCKET/PREFIX`.
    pub slug_store: SlugStoreSpec,
    /// The S3-compatible server of an `s3://` slug store; AWS when unset.
    pub s3_endpoint: Option<Endpoint>,
    /// The region requests to the slug store are signed for (default `us-east-1`; R2 wants `auto`).
    pub s3_region: Option<String>,
    /// How long the presigned slug URL the `exec` launcher gets stays valid.
    pub slug_url_ttl: Span,
    /// With an `s3://` store: how much of `ROOT/slugs` downloaded and built slugs may fill (least recently used go first).
    pub slug_cache_size: Size,
    /// How app code is confined, unless an app says otherwise (default: bwrap when it works here).
    pub sandbox: Option<SandboxKind>,
    /// Who sandboxed app code runs as when slipway runs as root (a user name, `UID` or `UID:GID`; default `nobody`).
    pub sandbox_user: Option<String>,
}

impl Default for RootSettings {
    fn default() -> RootSettings {
        RootSettings {
            max_slug_size: DEFAULT_MAX_SLUG_SIZE,
            authorized_keys: None,
            port_range: PortRange::default(),
            max_source_size: Size(2 * 1024 * 1024 * 1024),
            max_source_files: 200_000,
            source_timeout: DEFAULT_SOURCE_TIMEOUT,
            slug_store: SlugStoreSpec::Local,
            s3_endpoint: None,
            s3_region: None,
            slug_url_ttl: Span::secs(3600),
            slug_cache_size: Size(4 * 1024 * 1024 * 1024),
            sandbox: None,
            sandbox_user: None,
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
    type Err = super::Error;

    fn from_str(s: &str) -> Result<PortRange, super::Error> {
        let bad = || super::Error::BadPortRange { text: s.to_owned() };
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

/// Per-app settings from `apps/NAME/app.yaml`; every field is optional.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppSettings {
    /// The branch whose pushes deploy; default `main`, else `master`.
    pub deploy_branch: Option<String>,
    /// Shown after `Launching... done, vN`.
    pub url: Option<String>,
    /// Overrides the root's `max_slug_size` for this app.
    pub max_slug_size: Option<Size>,
    /// How releases are started.
    pub launcher: LauncherKind,
    /// Whether a new release goes live at once (else `releases:promote` does it, as Convox).
    pub auto_promote: bool,
    /// The app's git repository when it is not `apps/NAME/repo.git` (adopted by `hooks:install`).
    pub repo: Option<PathBuf>,
    /// The stable port the `local` launcher's forwarder listens on (set by `apps:create` from `port_range`).
    pub port: Option<u16>,
    /// A path that must answer 2xx or 3xx before a new release takes traffic (else accepting TCP is enough).
    pub health_path: Option<String>,
    /// How long a new release has to become healthy.
    pub health_timeout: Span,
    /// How long the Procfile's `release:` command (or the `exec` launcher's hook) may run.
    pub release_timeout: Span,
    /// How long old processes get to finish connections after a switch, and again between SIGTERM and SIGKILL.
    pub stop_grace: Span,
    /// A shell command that builds a checkout of each deployed commit (else `ROOT/hooks/build`, if any).
    pub build: Option<BuildCommand>,
    /// Whether the build runs after refs move (the default) or before, rejecting a push that fails.
    pub build_on: Phase,
    /// Whether the whole deploy (build, release, launch) runs after refs move or before, rejecting a push whose deploy fails.
    pub deploy_on: Phase,
    /// How long a build may run before it is killed (default 15 minutes).
    pub build_timeout: BuildTimeout,
    /// How the app's code is confined (else the root's `sandbox:`).
    pub sandbox: Option<SandboxKind>,
}

impl Default for AppSettings {
    fn default() -> AppSettings {
        AppSettings {
            deploy_branch: None,
            url: None,
            max_slug_size: None,
            launcher: LauncherKind::default(),
            auto_promote: true,
            repo: None,
            port: None,
            health_path: None,
            health_timeout: Span::secs(60),
            release_timeout: Span::secs(3600),
            stop_grace: Span::secs(30),
            build: None,
            build_on: Phase::default(),
            deploy_on: Phase::default(),
            build_timeout: BuildTimeout::default(),
            sandbox: None,
        }
    }
}

/// Which git hook does a step: after refs moved, or before (`build_on:`, `deploy_on:` in app.yaml).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// After refs moved (post-receive): a failure is a failed release, and the push still succeeds.
    #[default]
    PostReceive,
    /// Before refs move (pre-receive): a failure rejects the push.
    PreReceive,
}

/// A `build:` shell command; never empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildCommand(String);

impl BuildCommand {
    /// The command, as `sh -c` runs it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for BuildCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<BuildCommand, D::Error> {
        let text = String::deserialize(d)?;
        if text.trim().is_empty() {
            return Err(serde::de::Error::custom(
                "build must be a shell command (leave it out for no build)",
            ));
        }
        if text.contains('\0') {
            return Err(serde::de::Error::custom("build cannot contain a NUL byte"));
        }
        Ok(BuildCommand(text))
    }
}

/// `build_timeout:`: a [`Span`] of at least one second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildTimeout(pub Span);

impl Default for BuildTimeout {
    fn default() -> BuildTimeout {
        BuildTimeout(Span(DEFAULT_BUILD_TIMEOUT))
    }
}

impl fmt::Display for BuildTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for BuildTimeout {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<BuildTimeout, D::Error> {
        match Span::deserialize(d) {
            Ok(span) if span.get() >= Duration::from_secs(1) => Ok(BuildTimeout(span)),
            _ => Err(serde::de::Error::custom(
                "build_timeout must be a duration of at least one second (try 90s, 15m or 1h)",
            )),
        }
    }
}

/// The launcher named by `launcher:` in app.yaml.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LauncherKind {
    /// Record only: the release is live as soon as it is recorded.
    None,
    /// Run the Procfile's processes on this host under a per-app supervisor.
    #[default]
    Local,
    /// Run the admin's `ROOT/hooks/launch` with the release in environment variables.
    Exec,
}

impl fmt::Display for LauncherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LauncherKind::None => "none",
            LauncherKind::Local => "local",
            LauncherKind::Exec => "exec",
        })
    }
}

/// `sandbox:` in slipway.yaml or app.yaml: how app code (builds, buildpacks, the release phase, processes) is confined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SandboxKind {
    /// Under bubblewrap: the system read-only, the root hidden, its own directories only.
    Bwrap,
    /// Not at all: app code runs with slipway's own rights.
    None,
}

impl fmt::Display for SandboxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SandboxKind::Bwrap => "bwrap",
            SandboxKind::None => "none",
        })
    }
}

impl RootSettings {
    /// What is wrong with settings that parsed but cannot be used, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        if self.slug_url_ttl.get() < Duration::from_secs(1) {
            return Some("slug_url_ttl must be at least one second");
        }
        if self.s3_region.as_deref().is_some_and(|r| {
            r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        }) {
            return Some("s3_region must be a region name such as us-east-1 (or auto)");
        }
        if self.source_timeout.get() < Duration::from_secs(1) {
            return Some("source_timeout must be at least one second");
        }
        None
    }
}

impl AppSettings {
    /// What is wrong with settings that parsed but cannot be used, if anything.
    pub fn problem(&self) -> Option<&'static str> {
        if self.repo.as_ref().is_some_and(|r| !r.is_absolute()) {
            return Some("repo must be an absolute path");
        }
        if let Some(health) = &self.health_path
            && (!health.starts_with('/') || !health.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Some("health_path must start with / and hold no spaces or control characters");
        }
        if self.port == Some(0) {
            return Some("port must be between 1 and 65535");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_and_print_as_written() {
        let parse = |yaml: &str| serde_yaml::from_str::<BuildTimeout>(yaml).ok();
        assert_eq!(parse("2s"), Some(BuildTimeout(Span::secs(2))));
        assert_eq!(parse("90"), Some(BuildTimeout(Span::secs(90))));
        assert_eq!(parse("1h30m"), Some(BuildTimeout(Span::secs(5400))));
        assert_eq!(parse("0s"), None);
        assert_eq!(parse("soon"), None);
        assert_eq!(BuildTimeout(Span::secs(5400)).to_string(), "1h30m");
        assert_eq!(BuildTimeout::default().to_string(), "15m");
        assert!(serde_yaml::from_str::<BuildCommand>("'  '").is_err());
    }

    #[test]
    fn port_ranges_parse_or_say_how_to_write_one() {
        assert_eq!(
            "6000-6099".parse::<PortRange>().ok(),
            Some(PortRange {
                first: 6000,
                last: 6099
            })
        );
        assert_eq!(
            "9-1".parse::<PortRange>().unwrap_err().to_string(),
            "'9-1' is not a port range (try 5000-5999)"
        );
    }

    #[test]
    fn sandbox_is_bwrap_or_none_and_the_app_may_set_it_too() {
        let root: RootSettings =
            serde_yaml::from_str("sandbox: none\nsandbox_user: slipway-app\n").unwrap();
        assert_eq!(root.sandbox, Some(SandboxKind::None));
        assert_eq!(root.sandbox_user.as_deref(), Some("slipway-app"));
        let app: AppSettings = serde_yaml::from_str("sandbox: bwrap\n").unwrap();
        assert_eq!(app.sandbox, Some(SandboxKind::Bwrap));
        assert_eq!(AppSettings::default().sandbox, None);
        assert!(serde_yaml::from_str::<AppSettings>("sandbox: docker\n").is_err());
        // Who app code runs as is the admin's to say, never an app's.
        assert!(serde_yaml::from_str::<AppSettings>("sandbox_user: root\n").is_err());
    }
}
