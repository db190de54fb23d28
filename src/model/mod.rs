//! Plain data and the parsing of outside input: names, releases, settings, Procfiles, config vars, events. No I/O.

pub mod addon;
pub mod base64;
pub mod buildpack;
pub mod config;
pub mod error;
pub mod event;
pub mod formation;
pub mod hook_script;
pub mod name;
pub mod procfile;
pub mod pubkey;
pub mod refs;
pub mod release;
pub mod settings;
pub mod slug_store;

pub use error::{Error, Result};
