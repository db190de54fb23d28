//! Everything a user reads: the `----->` lines of a deploy, tables, JSON and times.
//!
//! The library hands over data and [`Event`]s; this module decides how they
//! look. User-controlled text (commit messages, config values, file names) is
//! escaped here before it reaches a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

use jiff::Timestamp;
use serde::Serialize;

use crate::clock::Clock;
use crate::event::{Event, Observer, SkipReason};
use crate::release::{Release, Status};
use crate::size::Size;

/// Heroku's step marker.
pub const STEP: &str = "-----> ";
/// Heroku's error marker.
pub const BANG: &str = " !     ";
/// Indentation for detail lines under a step.
pub const INDENT: &str = "       ";

/// Escapes control characters so user text cannot move the cursor or fake lines.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// Like [`escape`], for bytes that may not be UTF-8 (invalid bytes become `\xNN`).
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return escape(text);
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_escaped(&mut out, c);
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    c.is_control()
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if (c as u32) < 0x80 && c.is_control() => {
            let _ = write!(out, "\\x{:02x}", c as u32);
        }
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// The complete lines an event prints (each ending in `\n`); `None` for progress ticks.
pub fn event_lines(event: &Event) -> Option<String> {
    let text = match event {
        Event::Waiting { app } => format!("{STEP}Waiting for another change to {app} to finish\n"),
        Event::Skipped { refname, reason } => {
            let refname = escape(refname);
            match reason {
                SkipReason::NotDeployBranch { deploy_branch } => format!(
                    "{STEP}Pushed {refname}: not deployed (only {} deploys)\n",
                    escape(deploy_branch)
                ),
                SkipReason::Deleted => format!("{STEP}Deleted {refname}: nothing to deploy\n"),
            }
        }
        Event::AlreadyLive { version, short } => {
            format!("{STEP}{short} is already live as v{version}: nothing to deploy\n")
        }
        Event::Compiling { short, refname } => {
            format!("{STEP}Compiling {short} ({})\n", escape(refname))
        }
        Event::SubmoduleSkipped { path, commit } => format!(
            "{BANG}Warning: submodule {path} ({}) skipped: slugs hold only the repository's own files\n",
            crate::release::short_sha(commit)
        ),
        Event::Progress { .. } => return None,
        Event::Compressed { size, reused } => format!(
            "{STEP}Compressing... done, {}{}\n",
            Size(*size),
            if *reused { " (reused)" } else { "" }
        ),
        Event::Downloading { .. } => return None,
        Event::Downloaded { url, size } => {
            format!(
                "{STEP}Downloading {}... done, {}\n",
                escape(url),
                Size(*size)
            )
        }
        Event::Extracted { entries } => format!("{STEP}Extracting... done, {entries} entries\n"),
        Event::CompilingSource { name } => format!("{STEP}Compiling {}\n", escape(name)),
        Event::AutoDeploying {
            app,
            short,
            branch,
            url,
        } => format!(
            "{STEP}Auto-deploying {short} to {app} ({} of {})\n",
            escape(branch),
            escape(url)
        ),
        Event::Launched { version, url } => {
            let mut text = format!("{STEP}Launching... done, v{version}\n");
            if let Some(url) = url {
                let _ = writeln!(text, "{INDENT}{} deployed", escape(url));
            }
            text
        }
        Event::Released { version } => format!(
            "{STEP}Released v{version} (not promoted: `slipway releases:promote v{version}` makes it live)\n"
        ),
        Event::Failed { reason, live } => {
            let live = match live {
                Some(v) => format!("v{v} is still live"),
                None => "nothing is live yet".to_owned(),
            };
            format!("{BANG}{}\n{BANG}Deploy failed; {live}\n", escape(reason))
        }
    };
    Some(text)
}

/// Renders events for a pushing git client: the hook's stderr, which git relays as `remote:` lines.
///
/// Progress redraws one line with `\r` (git passes it through); no cursor movement.
pub struct Sideband<W: Write> {
    out: W,
    partial: bool,
}

impl<W: Write> Sideband<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Sideband<W> {
        Sideband {
            out,
            partial: false,
        }
    }
}

impl<W: Write> Observer for Sideband<W> {
    fn event(&mut self, event: Event) {
        // A client that hung up must not stop the deploy: write errors are ignored.
        if let Event::Progress { done, total } = event {
            let percent = (done * 100).checked_div(total).unwrap_or(100);
            let _ = write!(self.out, "\r{STEP}Compressing... {percent}%");
            let _ = self.out.flush();
            self.partial = true;
            return;
        }
        let Some(text) = event_lines(&event) else {
            return;
        };
        if std::mem::take(&mut self.partial) {
            let lead = if matches!(event, Event::Compressed { .. }) {
                "\r"
            } else {
                "\n"
            };
            let _ = self.out.write_all(lead.as_bytes());
        }
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.flush();
    }
}

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago"; beyond a week `2010-09-12 15:32:17 -0700`.
pub fn when(then: Timestamp, clock: &Clock) -> String {
    let secs = clock.now.as_second() - then.as_second();
    let ago = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match secs {
        ..60 => "just now".to_owned(),
        60..3_600 => ago(secs / 60, "minute"),
        3_600..86_400 => ago(secs / 3_600, "hour"),
        86_400..604_800 => ago(secs / 86_400, "day"),
        _ => then
            .to_zoned_datetime(clock.tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
    }
}

/// Lays out rows under a header, each column as wide as its widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The `releases` table: Rel, Change, By, When; newest first as given.
pub fn releases_table(releases: &[Release], clock: &Clock) -> String {
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            let mut change = escape(&r.description).into_owned();
            match r.status {
                Status::Succeeded => {}
                Status::Pending => change.push_str(" (pending)"),
                Status::Failed => change.push_str(" (failed)"),
            }
            vec![
                r.name(),
                change,
                escape(&r.user).into_owned(),
                when(r.created_at, clock),
            ]
        })
        .collect();
    table(&["Rel", "Change", "By", "When"], &rows)
}

/// A release as `--json` shows it: the record plus whether it is current.
#[derive(Serialize)]
pub struct ReleaseJson<'a> {
    #[serde(flatten)]
    release: &'a Release,
    current: bool,
}

/// Records as a JSON array, each with `current: true|false`.
pub fn releases_json(releases: &[Release], current: Option<u32>) -> String {
    let items: Vec<ReleaseJson> = releases
        .iter()
        .map(|release| ReleaseJson {
            release,
            current: current == Some(release.version),
        })
        .collect();
    json(&items)
}

/// Pretty JSON with a trailing newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes `text` to stdout; a closed pipe (`slipway releases | head`) is not an error.
pub fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(now: &str) -> Clock {
        Clock {
            now: now.parse().unwrap(),
            tz: jiff::tz::TimeZone::fixed(jiff::tz::offset(-7)),
        }
    }

    #[test]
    fn when_reads_like_heroku() {
        let c = clock("2010-09-20T12:00:00Z");
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(when(at("2010-09-20T11:59:30Z"), &c), "just now");
        assert_eq!(when(at("2010-09-20T11:59:00Z"), &c), "1 minute ago");
        assert_eq!(when(at("2010-09-20T11:55:00Z"), &c), "5 minutes ago");
        assert_eq!(when(at("2010-09-20T09:00:00Z"), &c), "3 hours ago");
        assert_eq!(when(at("2010-09-18T12:00:00Z"), &c), "2 days ago");
        assert_eq!(
            when(at("2010-09-12T22:32:17Z"), &c),
            "2010-09-12 15:32:17 -0700"
        );
    }

    #[test]
    fn escape_neutralizes_control_characters() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[2Jb\nc"), "a\\x1b[2Jb\\nc");
        assert_eq!(escape_bytes(b"caf\xe9"), "caf\\xe9");
    }

    #[test]
    fn table_pads_columns_without_trailing_space() {
        let rows = vec![vec![
            "v1".to_owned(),
            "Deploy 3f2c1a9".to_owned(),
            "alice".to_owned(),
            "1 minute ago".to_owned(),
        ]];
        assert_eq!(
            table(&["Rel", "Change", "By", "When"], &rows),
            "Rel  Change          By     When\nv1   Deploy 3f2c1a9  alice  1 minute ago\n"
        );
    }
}
