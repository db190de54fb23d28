//! Integration tests: the real slipway binary, the real git client, real files.
#![allow(clippy::unwrap_used)]

mod common;

mod addons;
mod apps;
mod build;
mod buildpacks;
mod builtins;
mod config;
mod damage;
mod download;
mod habits;
mod hook;
mod hooks;
mod hostile;
mod json;
mod launch;
mod maintenance;
mod oneoff;
mod ports;
mod ps;
mod push;
mod robustness;
mod rollback;
mod s3;
mod sandbox;
mod shell;
mod slug;
mod source;
mod ssh;
mod store;
mod templates;
mod watch;
#[path = "../weed/mod.rs"]
mod weed;
