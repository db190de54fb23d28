//! The per-app supervisor of the `local` launcher, and what commands ask of it (`ps`, `ps:scale`, `restart`, `boot`).
//!
//! The supervisor is a detached process (`slipway supervise --app NAME`, its
//! own session, stdio away from git's pipes) holding `apps/NAME/supervisor.lock`
//! and answering on `apps/NAME/supervisor.sock`; see [`protocol`]. Starting it
//! is idempotent: a second one finds the lock taken and exits.

mod client;
mod commands;
mod control;
pub mod forward;
pub mod health;
mod info;
pub mod logs;
mod machine;
mod pages;
mod prepare;
mod process;
pub mod protocol;
pub mod server;
mod status;
mod traffic;

use std::path::PathBuf;

pub use self::client::{Client, Start};
pub use self::commands::{
    Booted, Scaled, boot, clear_stopped, in_maintenance, kill_all, restart, scale, set_maintenance,
    shut_down, stop, stop_process,
};
pub use self::info::{Info, current_procfile, info, processes, status};
use crate::model::release::Version;
use crate::store::app::App;

/// The files of an app's supervisor.
#[derive(Clone, Debug)]
pub struct Paths {
    /// `supervisor.lock`: flock()ed by the running supervisor, holding its pid.
    pub lock: PathBuf,
    /// `supervisor.sock`: the control socket.
    pub socket: PathBuf,
    /// `stopped`: present after `ps:stop`, so `boot` leaves the app stopped.
    pub stopped: PathBuf,
    /// `maintenance`: present while maintenance mode is on (the stable port answers 503).
    pub maintenance: PathBuf,
}

impl Paths {
    /// The paths for `app`.
    pub fn of(app: &App) -> Paths {
        Paths {
            lock: app.dir().join("supervisor.lock"),
            socket: app.dir().join("supervisor.sock"),
            stopped: app.dir().join("stopped"),
            maintenance: app.dir().join("maintenance"),
        }
    }
}

/// `apps/NAME/run/vN`: where release vN is unpacked (its code is in `app/` inside).
pub fn run_dir(app: &App, version: Version) -> PathBuf {
    app.dir().join("run").join(format!("v{version}"))
}
