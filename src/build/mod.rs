//! Source to slug: git trees and directories read into a deterministic `.tar.gz`, the build step, and sources fetched from archives.
//!
//! Knows nothing of releases: it is given a tree or a directory and the
//! limits to honour, and returns the slug it stored.

pub mod buildpack;
mod checkout;
pub mod compile;
pub mod dir;
pub mod error;
mod gzip;
mod ignore;
mod objects;
pub mod pipeline;
mod plan;
pub mod source;
pub mod step;
mod tarball;

pub use checkout::checkout;
pub use error::{BuildpackError, Error, Result, SourceError, StepError};
