//! Everything a user reads: the `----->` lines of a deploy, tables, JSON, times, and errors with their `help:` lines.
//!
//! The library hands over data, [`Event`](crate::model::event::Event)s and
//! errors; this module decides how they look. User-controlled text (commit
//! messages, config values, file names) is escaped here before it reaches a
//! terminal.

pub mod access;
pub mod apps;
pub mod buildpacks;
pub mod config;
pub mod events;
pub mod help;
pub mod hooks;
pub mod ps;
pub mod quickstart;
pub mod releases;
pub mod results;
pub mod shell;
pub mod table;
pub mod upkeep;
pub mod watch;

use std::io::{self, Write};

use serde::Serialize;

pub use self::events::{Sideband, event_lines, rejected_push_lines};
pub use self::table::{table, when};
pub use crate::base::text::{escape, escape_bytes, shell_quote, shell_quote_if_needed};

/// Heroku's step marker.
pub const STEP: &str = "-----> ";
/// Heroku's error marker.
pub const BANG: &str = " !     ";
/// Indentation for detail lines under a step.
pub const INDENT: &str = "       ";

/// "1 slug", "2 slugs": `n` and the noun, singular for one.
pub fn counted(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// Pretty JSON with a trailing newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `text` to stdout; a closed pipe (`slipway releases | head`) is not an error.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
