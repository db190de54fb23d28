//! Integration tests: the real slipway binary, the real git client, real files.
#![allow(clippy::unwrap_used)]

mod common;

mod apps;
mod hook;
mod push;
mod robustness;
mod slug;
mod source;
mod ssh;
mod watch;
