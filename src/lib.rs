//! slipway: a git push receiver for self-hosted deploys.
//!
//! A push to an app's repository becomes a compressed slug, an immutable
//! numbered release and a launch. The modules are layers, each importing only
//! from those below it: [`base`] (leaves), [`model`] (plain data and parsing),
//! [`store`] (persistence), [`build`] (source to slug) and [`run`] (release to
//! processes), [`ops`] (workflows, one change transaction each), then
//! [`output`] (what a user reads) and [`cli`] (the command line). The library
//! below `output` never prints: it reports through
//! [`model::event::Observer`] and returns data that `output` renders.

pub mod base;
pub mod build;
pub mod cli;
pub mod model;
pub mod ops;
pub mod output;
pub mod run;
pub mod store;
