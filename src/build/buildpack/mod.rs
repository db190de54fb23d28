//! Buildpacks: the classic Heroku contract (`bin/detect`, `bin/compile`, `bin/release`), run on a checkout to make it a runnable slug.
//!
//! A [`Buildpack`] is resolved to a directory on this host ([`fetch`]): a
//! built-in is written out of the binary, a git URL cloned with the real git
//! client, a `.tgz` downloaded and unpacked, a directory used as it is. Each
//! runs through the one process runner with a clean environment; config vars
//! reach `bin/compile` only through `ENV_DIR`, one file per var.

mod builtin;
mod fetch;
mod run;

pub use builtin::{MARKERS, builtin_version};
pub use fetch::{Fetched, fetch};
pub use run::{Compiled, Options, compile_all, detect, merge_process_types};

use crate::model::buildpack::Buildpack;

/// Which buildpacks a deploy runs, and why those.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    /// Chosen for the app (`buildpacks:set`), by `BUILDPACK_URL` or by the repository's `.buildpacks`: all run, in order.
    Chosen {
        /// The buildpacks.
        buildpacks: Vec<Buildpack>,
        /// Where the choice came from, for messages.
        from: &'static str,
    },
    /// None chosen: the built-ins' `bin/detect` run in a fixed order and the first that matches builds.
    Detect,
}
