//! What every command knows about where and as whom it runs: root, user, clock, binary.
//!
//! Environment variables are read here and nowhere deeper.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::app::{App, AppName};
use crate::clock::Clock;
use crate::deploy::Context;
use crate::root::{self, Root};

/// Options every command takes.
#[derive(Args)]
pub struct GlobalArgs {
    /// The slipway root [default: /var/lib/slipway as root, else ~/.local/share/slipway]
    #[arg(long, global = true, env = "SLIPWAY_ROOT", value_name = "DIR")]
    root: Option<PathBuf>,
}

/// Which app a command is about: `-a APP`, else `SLIPWAY_APP`, else the `slipway` git remote here.
#[derive(Args)]
pub struct AppArg {
    /// The app [default: $SLIPWAY_APP, else the app of this checkout's `slipway` git remote]
    #[arg(short = 'a', long = "app", env = "SLIPWAY_APP", value_name = "APP")]
    pub app: Option<String>,
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
}

impl Env {
    pub(super) fn from_args(args: GlobalArgs) -> anyhow::Result<Env> {
        let fixed = std::env::var("SLIPWAY_NOW").ok();
        let clock =
            Clock::new(fixed.as_deref(), std::env::var("TZ").ok()).map_err(anyhow::Error::msg)?;
        let user = std::env::var("SLIPWAY_USER")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(os_user)
            .unwrap_or_else(|| "unknown".to_owned());
        Ok(Env {
            root_dir: args.root.unwrap_or_else(root::default_dir),
            user,
            clock,
        })
    }

    /// Opens the root, which must have been initialized.
    pub fn root(&self) -> crate::Result<Root> {
        Root::open(&self.root_dir)
    }

    /// The deploy context (who and when) for `root`.
    pub fn context<'a>(&'a self, root: &'a Root) -> Context<'a> {
        Context {
            root,
            user: self.user.clone(),
            clock: &self.clock,
            exe: current_exe().unwrap_or_else(|_| PathBuf::from("slipway")),
        }
    }

    /// Opens the app named `name` in this root.
    pub fn app(&self, root: &Root, name: &str) -> crate::Result<App> {
        let name: AppName = name.parse()?;
        App::open(root, &name)
    }

    /// Opens the app a command is about (see [`AppArg`]).
    pub fn resolve_app(&self, root: &Root, arg: &AppArg) -> crate::Result<App> {
        match &arg.app {
            Some(name) => self.app(root, name),
            None => App::open(root, &app_of_checkout().ok_or(crate::Error::NoApp)?),
        }
    }
}

/// The app named by the `slipway` remote of the git checkout around the current directory.
fn app_of_checkout() -> Option<AppName> {
    let repo = git2::Repository::discover(".").ok()?;
    let remote = repo.find_remote("slipway").ok()?;
    crate::app::name_from_remote_url(remote.url().ok()?)
}

/// The absolute path of this binary, for hook shims.
pub fn current_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the slipway binary's path")?;
    Ok(exe.canonicalize().unwrap_or(exe))
}

/// The name of the effective OS user.
#[allow(unsafe_code)]
fn os_user() -> Option<String> {
    let mut buf = vec![0u8; 4096];
    // SAFETY: passwd is plain old data; getpwuid_r writes into it and `buf`,
    // both live for the call; `result` is either null or points at `pwd`.
    unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return std::env::var("USER").ok();
        }
        let name = std::ffi::CStr::from_ptr(pwd.pw_name);
        Some(name.to_string_lossy().into_owned())
    }
}
