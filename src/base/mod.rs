//! The leaves: atomic files, temp dirs, the child-process runner and its sandbox, the HTTP agent, OS calls, text escaping, sizes, durations and the clock.
//!
//! Nothing here knows about apps, releases or slugs.

pub mod clock;
pub mod digest;
pub mod files;
pub mod http;
pub mod process;
pub mod procfs;
pub mod sandbox;
pub mod size;
pub mod span;
pub mod sys;
pub mod tempdir;
pub mod text;
