//! What every command knows about where and as whom it runs: root, user, clock, binary.
//!
//! Environment variables are read here and nowhere deeper.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::base::clock::Clock;
use crate::base::http::{HttpSettings, Proxies};
use crate::model::name::{AppName, name_from_remote_url};
use crate::model::slug_store::SlugStoreSpec;
use crate::ops::change::Context;
use crate::store::app::App;
use crate::store::root::{self, Root};
use crate::store::s3::Credentials;
use crate::store::slugs::{S3Access, SlugStore};

/// Options every command takes.
#[derive(Args)]
pub struct GlobalArgs {
    /// The slipway root [default: /var/lib/slipway as root, else ~/.local/share/slipway]
    #[arg(long, global = true, env = "SLIPWAY_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,
    /// The git remote that names the app and where it lives [default: slipway]; an ssh URL runs the command on that server
    #[arg(short = 'r', long = "remote", global = true, value_name = "NAME")]
    remote: Option<String>,
}

impl GlobalArgs {
    /// Whether `--root` or `SLIPWAY_ROOT` chose the root (then no remote is consulted).
    pub fn root_given(&self) -> bool {
        self.root.is_some()
    }

    /// The remote `-r/--remote` names, if given.
    pub fn remote(&self) -> Option<&str> {
        self.remote.as_deref()
    }
}

/// Which app a command is about: `-a APP`, else `SLIPWAY_APP`, else the `slipway` git remote here.
#[derive(Args)]
pub struct AppArg {
    /// The app [default: $SLIPWAY_APP, else the app of this checkout's `slipway` git remote]
    #[arg(short = 'a', long = "app", env = "SLIPWAY_APP", value_name = "APP")]
    pub app: Option<String>,
}

/// Only the app: the arguments of commands about an app that take nothing else.
#[derive(Args)]
pub struct AppArgs {
    #[command(flatten)]
    pub app: AppArg,
}

/// An app and `--json`: the arguments of the commands that show one app's state.
#[derive(Args)]
pub struct AppJsonArgs {
    #[command(flatten)]
    pub app: AppArg,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

/// The resolved settings of this invocation.
pub struct Env {
    /// The root directory (may not be initialized yet).
    pub root_dir: PathBuf,
    /// Who is acting: `SLIPWAY_USER`, else the OS user.
    pub user: String,
    /// Now, or `SLIPWAY_NOW`.
    pub clock: Clock,
    /// Proxies from `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, trusted roots from `SSL_CERT_FILE`, and the default deadlines.
    pub http: HttpSettings,
    /// Whether a graphical desktop is there to open URLs on (`DISPLAY` or `WAYLAND_DISPLAY`).
    pub desktop: bool,
    /// The git remote that names the app (`-r/--remote`, default `slipway`).
    pub remote: String,
}

impl Env {
    pub(super) fn from_args(args: GlobalArgs) -> anyhow::Result<Env> {
        if args.root.is_none()
            && let Some(name) = &args.remote
            && let Some(known) = super::remote::names()
            && !known.contains(name)
        {
            return Err(crate::ops::Error::NoRemote {
                name: name.clone(),
                known,
            }
            .into());
        }
        let fixed = std::env::var("SLIPWAY_NOW").ok();
        let clock = Clock::new(fixed.as_deref(), std::env::var("TZ").ok())?;
        let user = std::env::var("SLIPWAY_USER")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(os_user)
            .unwrap_or_else(|| "unknown".to_owned());
        let http = HttpSettings {
            proxies: Proxies::from_env(|name| std::env::var(name).ok()),
            // As OpenSSL (and curl) read it: certificates to trust instead of the built-in roots.
            roots_file: std::env::var_os("SSL_CERT_FILE")
                .filter(|f| !f.is_empty())
                .map(PathBuf::from),
            ..HttpSettings::default()
        };
        let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        // A checkout whose remote is a repository inside a root: that root.
        let from_remote =
            || match super::remote::url_of(args.remote.as_deref().unwrap_or("slipway"))
                .as_deref()
                .and_then(super::remote::classify)
            {
                Some(super::remote::Remote::Local { root }) => Some(root),
                _ => None,
            };
        let root_dir = args
            .root
            .clone()
            .or_else(from_remote)
            .unwrap_or_else(root::default_dir);
        Ok(Env {
            root_dir,
            user,
            clock,
            desktop,
            remote: args.remote.unwrap_or_else(|| "slipway".to_owned()),
            http,
        })
    }

    /// The root's slug store, as `slug_store` in its slipway.yaml names it.
    pub fn slugs(&self, root: &Root) -> SlugStore {
        self.slug_store(root, &root.settings.slug_store)
    }

    /// The slug store `spec` names, reached with this invocation's credentials and proxies.
    pub fn slug_store(&self, root: &Root, spec: &SlugStoreSpec) -> SlugStore {
        SlugStore::open(root, spec, || S3Access {
            credentials: Credentials::from_env(
                |name| std::env::var(name).ok(),
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(PathBuf::from)
                    .as_deref(),
            ),
            http: self.http.clone(),
            // Requests are signed with the real time: a fixed SLIPWAY_NOW would be refused as skewed.
            clock: std::sync::Arc::new(jiff::Timestamp::now),
        })
    }

    /// Opens the root, which must have been initialized.
    pub fn root(&self) -> crate::store::Result<Root> {
        Root::open(&self.root_dir)
    }

    /// The deploy context (who and when) for `root`.
    pub fn context<'a>(&'a self, root: &'a Root) -> Context<'a> {
        Context {
            root,
            user: self.user.clone(),
            clock: &self.clock,
            exe: current_exe().unwrap_or_else(|_| PathBuf::from("slipway")),
            log_lines: crate::output::event_lines,
            git_env: git_env(),
            slugs: self.slugs(root),
            http: self.http.clone(),
        }
    }

    /// Opens the app named `name` in this root.
    pub fn app(&self, root: &Root, name: &str) -> crate::ops::Result<App> {
        let name: AppName = name.parse()?;
        Ok(App::open(root, &name)?)
    }

    /// When run over ssh (`SSH_CONNECTION`), how clients reach this account: `git@203.0.113.5` or `ssh://git@203.0.113.5:2222`.
    pub fn ssh_origin(&self) -> Option<String> {
        ssh_origin(
            std::env::var("SSH_CONNECTION").ok().as_deref(),
            os_user().as_deref(),
        )
    }

    /// The app a command names: `named` (a positional name), else `-a APP`, else this checkout's.
    pub fn app_name(&self, named: Option<&str>, arg: &AppArg) -> anyhow::Result<AppName> {
        match named.or(arg.app.as_deref()) {
            Some(name) => Ok(name.parse()?),
            None => Ok(app_of_checkout(&self.remote).ok_or(crate::ops::Error::NoApp)?),
        }
    }

    /// Opens the app a command is about (see [`AppArg`]).
    pub fn resolve_app(&self, root: &Root, arg: &AppArg) -> crate::ops::Result<App> {
        match &arg.app {
            Some(name) => self.app(root, name),
            None => Ok(App::open(
                root,
                &app_of_checkout(&self.remote).ok_or(crate::ops::Error::NoApp)?,
            )?),
        }
    }
}

/// The app named by remote `remote` of the git checkout around the current directory.
fn app_of_checkout(remote: &str) -> Option<AppName> {
    name_from_remote_url(&super::remote::url_of(remote)?)
}

/// The absolute path of this binary, for hook shims.
pub fn current_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the slipway binary's path")?;
    Ok(exe.canonicalize().unwrap_or(exe))
}

/// `user@server` as an ssh client reached it, from `SSH_CONNECTION` ("client port server port").
fn ssh_origin(connection: Option<&str>, user: Option<&str>) -> Option<String> {
    let fields: Vec<&str> = connection?.split_whitespace().collect();
    let (server, port) = (*fields.get(2)?, *fields.get(3)?);
    let host = match server.contains(':') {
        true => format!("[{server}]"),
        false => server.to_owned(),
    };
    let user = user?;
    Some(match port {
        "22" => format!("{user}@{host}"),
        port => format!("ssh://{user}@{host}:{port}"),
    })
}

/// The name of the effective OS user.
fn os_user() -> Option<String> {
    crate::base::sys::user_name().or_else(|| std::env::var("USER").ok())
}

/// What a `git` child (watch's fetch) needs from our environment: home, path, ssh agent, proxies, git's own settings.
fn git_env() -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    const PASSED: &[&str] = &[
        "HOME",
        "PATH",
        "LANG",
        "SSH_AUTH_SOCK",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_CONFIG_GLOBAL",
        "GIT_CONFIG_NOSYSTEM",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "ALL_PROXY",
    ];
    PASSED
        .iter()
        .filter_map(|name| Some((name.into(), std::env::var_os(name)?)))
        .collect()
}
