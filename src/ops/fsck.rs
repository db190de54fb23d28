//! `fsck`: checks an app's store and reports every problem in one line.
//!
//! It reads every record and hashes every slug of the local store in full (no
//! stamps), so it also finds bit rot. With a remote slug store it checks that
//! every slug is there with its size (one listing), and with `--deep`
//! downloads and hashes each. It changes nothing.

use std::collections::HashMap;
use std::fs;

use super::change::{Change, Context, Outcome};
use crate::base::files::is_temp_name;
use crate::model::event::Observer;
use crate::model::name::AppName;
use crate::model::release::{Kind, Release, Status, Version, version_of_file_name};
use crate::ops::error::{Error, Result};
use crate::store::Error as StoreError;
use crate::store::app::App;
use crate::store::root::Root;
use crate::store::slugs::SlugStore;

/// What `fsck` found in one app.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Records read.
    pub releases: usize,
    /// Distinct slugs checked.
    pub slugs: usize,
    /// One line per problem.
    pub problems: Vec<String>,
}

/// Checks `app`: every record parses and names its own version, every slug
/// exists and matches its sha256, `current` names a succeeded release, and no
/// record is left pending by a killed process.
///
/// `verified` remembers slugs already checked (they are shared between apps);
/// `listed` is what a remote store holds (sha256 and size), unless `deep`.
pub fn check(
    app: &App,
    slugs: &SlugStore,
    verified: &mut HashMap<String, Option<String>>,
    listed: Option<&[(String, u64)]>,
) -> Result<Report> {
    let store = app.store();
    let mut report = Report::default();
    let dir = store.dir();
    let mut records: Vec<Release> = Vec::new();
    for entry in fs::read_dir(dir).map_err(Error::io("read", dir))? {
        let name = entry.map_err(Error::io("read", dir))?.file_name();
        let bytes = name.as_encoded_bytes();
        if is_temp_name(bytes) || bytes == b".last" {
            continue;
        }
        let Some(version) = version_of_file_name(bytes) else {
            report.problems.push(format!(
                "releases/{}: not a release record",
                name.to_string_lossy()
            ));
            continue;
        };
        match store.find(version) {
            Ok(Some(release)) => records.push(release),
            Ok(None) => {}
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    records.sort_by_key(|r| r.version);
    report.releases = records.len();
    let running = app.try_lock()?.is_none();
    for release in &records {
        if release.status == Status::Pending && !running {
            report.problems.push(format!(
                "v{} is pending but no change is running (the next command on the app marks it failed)",
                release.version
            ));
        }
        let Some(slug) = &release.slug else {
            continue;
        };
        let outcome = verified.entry(slug.sha256.clone()).or_insert_with(|| {
            report.slugs += 1;
            let checked = match (slugs.is_remote(), listed) {
                (false, _) => slugs.verify(slug),
                (true, None) => slugs.verify_stored(slug),
                (true, Some(listed)) => slugs.check_stored(slug, Some(listed)),
            };
            checked.err().map(|e| e.to_string())
        });
        if let Some(problem) = outcome {
            report
                .problems
                .push(format!("v{}: {problem}", release.version));
        }
    }
    match store.current() {
        Ok(Some(v)) => match records.iter().find(|r| r.version == v) {
            None => report
                .problems
                .push(format!("current names v{v}, which has no readable record")),
            Some(r) if r.status != Status::Succeeded => {
                let status = if r.status == Status::Pending {
                    "pending"
                } else {
                    "failed"
                };
                report
                    .problems
                    .push(format!("current names v{v}, which is {status}"));
            }
            Some(r) if r.pruned_slug.is_some() => {
                report
                    .problems
                    .push(format!("current names v{v}, whose slug was pruned"));
            }
            Some(_) => {}
        },
        Ok(None) => {
            if records.iter().any(|r| r.status == Status::Succeeded) && app.settings.auto_promote {
                report
                    .problems
                    .push("no current release, though some succeeded".into());
            }
        }
        Err(e) => report.problems.push(e.to_string()),
    }
    Ok(report)
}

/// Checks `only` that app, or every app; slugs shared between apps are checked once.
///
/// With a remote store, `deep` downloads and hashes every slug; otherwise their presence and size are checked.
pub fn check_all(
    root: &Root,
    slugs: &SlugStore,
    only: Option<&AppName>,
    deep: bool,
) -> Result<Vec<(AppName, Report)>> {
    let names = match only {
        Some(name) => vec![name.clone()],
        None => {
            let mut names = crate::store::app::list(root)?;
            names.extend(crate::store::app::damaged(root)?);
            names.sort();
            names
        }
    };
    let listed = match slugs.is_remote() && !deep {
        true => Some(slugs.backend().list()?),
        false => None,
    };
    let mut verified = HashMap::new();
    let mut reports = Vec::new();
    for name in names {
        let report = match App::open(root, &name) {
            Ok(app) => check(&app, slugs, &mut verified, listed.as_deref())?,
            // An app directory without its settings: a problem of that app, not a failed check.
            Err(e @ StoreError::NoSettings { .. }) => Report {
                problems: vec![format!(
                    "{e}: restore it from a backup, or create it empty to give every setting its default"
                )],
                ..Report::default()
            },
            Err(e) => return Err(e.into()),
        };
        reports.push((name, report));
    }
    Ok(reports)
}

/// What `fsck --repair` did.
#[derive(Debug)]
pub enum Repaired {
    /// `current` names an intact, succeeded release: nothing to do.
    NothingToRepair,
    /// A new release copying `from` went live (or failed to start: the outcome says).
    Restored {
        from: Version,
        outcome: Box<Outcome>,
    },
}

/// Repairs an app whose `current` names a missing, unreadable or failed record: the newest
/// intact succeeded release is copied into a new release that goes live.
///
/// Nothing is lost: damaged records stay where they are for inspection, and
/// the new version is above every number ever given out.
pub fn repair(ctx: &Context, app: &App, observer: &mut dyn Observer) -> Result<Repaired> {
    let change = Change::begin_repair(ctx, app, observer)?;
    let store = &change.store;
    let current = store.current();
    if let Ok(Some(v)) = current
        && let Ok(Some(release)) = store.find(v)
        && release.status == Status::Succeeded
    {
        return Ok(Repaired::NothingToRepair);
    }
    if let Ok(None) = current {
        return Ok(Repaired::NothingToRepair);
    }
    let slugs = ctx.slugs();
    let mut source = None;
    for v in store.versions()?.into_iter().rev() {
        let Ok(Some(release)) = store.find(v) else {
            continue;
        };
        let intact = release.status == Status::Succeeded
            && release
                .slug
                .as_ref()
                .is_none_or(|slug| match slugs.is_remote() {
                    true => slugs.available(slug, ctx.clock.now).is_ok(),
                    false => slugs.verify(slug).is_ok(),
                });
        if intact {
            source = Some(release);
            break;
        }
    }
    let Some(source) = source else {
        return Err(Error::NothingToRepairFrom {
            app: app.name.to_string(),
        });
    };
    let damaged = match current {
        Ok(Some(v)) => format!("v{v} was damaged"),
        _ => "current was unreadable".to_owned(),
    };
    let description = format!("Repair: copy of v{} ({damaged})", source.version);
    let draft = Release {
        rollback_of: Some(source.version),
        ..change.draft_from(Some(&source), Kind::Rollback, description)
    };
    let outcome = change.record_live(draft, observer)?;
    Ok(Repaired::Restored {
        from: source.version,
        outcome: Box::new(outcome),
    })
}
