//! Releases, config vars and add-ons: tables, `releases:info`, JSON.

use std::fmt::Write as _;

use serde::Serialize;

use super::{escape, json, table, when};
use crate::base::clock::Clock;
use crate::base::size::Size;
use crate::model::name::AppName;
use crate::model::release::Version;
use crate::model::release::{Release, Status};
use crate::ops::gc::Reclaimed;
use crate::ops::releases::{Info, Listing};

/// The `releases` table: Rel, Change, By, When; newest first as given.
///
/// Failed and pending releases say so; the live release is marked when it is
/// not the newest (after a promote, or while auto-promote is off).
pub fn releases_table(releases: &[Release], current: Option<Version>, clock: &Clock) -> String {
    let newest = releases.iter().map(|r| r.version).max();
    let rows: Vec<Vec<String>> = releases
        .iter()
        .map(|r| {
            let mut change = escape(&r.description).into_owned();
            match r.status {
                Status::Succeeded if current == Some(r.version) && newest != current => {
                    change.push_str(" (current)");
                }
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

/// The `releases:info` block, as Heroku prints it, plus status and commit.
pub fn release_info(
    release: &Release,
    current: Option<Version>,
    subject: Option<&str>,
    clock: &Clock,
) -> String {
    const LABEL: usize = 13;
    let mut out = format!("=== Release v{}\n", release.version);
    let mut field = |label: &str, value: &str| {
        let label = format!("{label}:");
        let _ = writeln!(out, "{label:<LABEL$}{value}");
    };
    field("Change", &escape(&release.description));
    field("By", &escape(&release.user));
    field("When", &when(release.created_at, clock));
    let status = match release.status {
        Status::Succeeded if current == Some(release.version) => "succeeded (current)",
        Status::Succeeded => "succeeded",
        Status::Pending => "pending",
        Status::Failed => "failed",
    };
    field("Status", status);
    if let Some(short) = release.short_commit() {
        let commit = match subject {
            Some(subject) => format!("{short} {}", escape(subject)),
            None => short.to_owned(),
        };
        field("Commit", &commit);
    }
    if !release.addons.is_empty() {
        let names: Vec<String> = release
            .addons
            .iter()
            .map(|a| format!("{}:{}", a.name, a.plan))
            .collect();
        field("Addons", &escape(&names.join(", ")));
    }
    if !release.config.is_empty() {
        let pairs: Vec<(&str, &str)> = release
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let first = format!("{:<LABEL$}", "Config:");
        out.push_str(&arrows(&first, &" ".repeat(LABEL), &pairs));
    }
    out
}

/// Said after a release that auto-promote did not make live.
pub fn not_promoted(app: &AppName, version: Version) -> String {
    format!(
        "v{version} is not live yet (auto_promote is off): `slipway releases:promote v{version} -a {app}` makes it live\n"
    )
}

/// A release as `--json` shows it: the record, whether it is current, and its commit's subject.
#[derive(Serialize)]
pub struct ReleaseJson<'a> {
    #[serde(flatten)]
    release: &'a Release,
    current: bool,
    commit_subject: Option<&'a str>,
}

/// Records as a JSON array, each with `current: true|false` and `commit_subject` (as `releases:info --json`).
pub fn releases_json(
    releases: &[Release],
    current: Option<Version>,
    subjects: &[Option<String>],
) -> String {
    let items: Vec<ReleaseJson> = releases
        .iter()
        .zip(subjects.iter().chain(std::iter::repeat(&None)))
        .map(|(release, subject)| ReleaseJson {
            release,
            current: current == Some(release.version),
            commit_subject: subject.as_deref(),
        })
        .collect();
    json(&items)
}

/// `releases`: the table, or a line saying there are none.
pub fn listing(app: &AppName, listing: &Listing, clock: &Clock) -> String {
    if listing.total == 0 {
        format!("{app} has no releases yet\n")
    } else if listing.releases.is_empty() {
        // `releases -n 0`: none asked for.
        String::new()
    } else {
        releases_table(&listing.releases, listing.current, clock)
    }
}

/// `releases:info --json`: the record, whether it is current, and its commit's subject.
pub fn info_json(info: &Info) -> String {
    #[derive(Serialize)]
    struct InfoJson<'a> {
        #[serde(flatten)]
        release: &'a Release,
        current: bool,
        commit_subject: Option<&'a str>,
    }
    json(&InfoJson {
        release: &info.release,
        current: info.current == Some(info.release.version),
        commit_subject: info.commit_subject.as_deref(),
    })
}

/// `rollback`'s line.
pub fn rolled_back(release: &Release) -> String {
    format!(
        "Rolled back to v{}\n",
        release.rollback_of.unwrap_or_default()
    )
}

/// `releases:promote`'s line.
pub fn promoted(app: &AppName, version: Version) -> String {
    format!("Promoting v{version} on {app}... done, v{version} is live\n")
}

/// `releases:prune`'s line.
pub fn pruned(app: &AppName, reclaimed: &Reclaimed) -> String {
    let releases = match reclaimed.pruned.as_slice() {
        [] => "no release's slug".to_owned(),
        [one] => format!("the slug of v{one}"),
        many => format!("the slugs of {} releases", many.len()),
    };
    format!(
        "Pruned {releases} of {app}; deleted {} ({})\n",
        super::counted(reclaimed.slugs, "slug file", "slug files"),
        Size(reclaimed.bytes)
    )
}

/// `slugs:gc`'s line.
pub fn collected(reclaimed: &Reclaimed) -> String {
    format!(
        "Deleted {} ({})\n",
        super::counted(
            reclaimed.slugs,
            "unreferenced slug file",
            "unreferenced slug files"
        ),
        Size(reclaimed.bytes)
    )
}

/// `slugs:compile`'s line: sha256, size and file, for scripts.
pub fn compiled(slug: &crate::model::release::SlugRef, path: &std::path::Path) -> String {
    format!("{} {} {}\n", slug.sha256, slug.size, path.display())
}

/// `KEY => value` lines, the arrows aligned, each line starting with `indent` (the first with `first`).
pub(super) fn arrows(first: &str, indent: &str, pairs: &[(&str, &str)]) -> String {
    let width = pairs
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        let lead = if i == 0 { first } else { indent };
        let _ = writeln!(out, "{lead}{key:<width$} => {}", escape(value));
    }
    out
}
