//! slipway: a git push receiver for self-hosted deploys.
//!
//! A push to an app's repository becomes a compressed slug, an immutable
//! numbered release and a launch. The library never prints: it reports through
//! [`deploy::Observer`] and returns data that [`output`] renders.

pub mod addons;
pub mod app;
pub mod build;
pub mod change;
pub mod cli;
pub mod clock;
pub mod config;
pub mod deploy;
pub mod error;
pub mod event;
pub mod fsck;
pub mod fsutil;
pub mod gc;
pub mod hook;
pub mod install;
pub mod keys;
pub mod launch;
pub mod output;
pub mod prereceive;
pub mod quickstart;
pub mod release;
pub mod root;
pub mod size;
pub mod slug;
pub mod source;
pub mod span;
pub mod ssh;
pub mod supervisor;
pub mod watch;

pub use error::{Error, Result};
