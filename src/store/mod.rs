//! Persistence without policy: the root and its settings, apps, release records and `current`, slugs (on disk or in S3), keys, hook files.
//!
//! Every write is a temp file, fsync, rename and fsync of the directory;
//! every change to one app happens under its lock ([`app::AppLock`]).

pub mod app;
pub mod buildpacks;
pub mod error;
pub mod formation;
pub mod hooks;
pub mod inflight;
pub mod keys;
pub mod notes;
pub mod releases;
pub mod root;
pub mod s3;
pub mod slugs;

pub use error::{Error, Result};
