//! Workflows: each command that changes an app is one transaction on it ([`change::Change`]), built from the layers below.

pub mod access;
pub mod addons;
pub mod apps;
pub mod build;
pub mod buildpacks;
pub mod change;
pub mod config;
pub mod deploy;
pub mod error;
pub mod fsck;
pub mod gc;
pub mod hooks;
pub mod migrate;

pub mod prereceive;
pub mod ps;
pub mod quickstart;
pub mod releases;
pub mod rollback;
pub mod run;
pub mod source;
pub mod ssh;
pub mod watch;

pub use error::{Error, Result};
