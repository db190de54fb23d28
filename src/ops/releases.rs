//! Reading an app's releases: the listing, one release with its commit's subject, and what its deploy printed.

use super::error::{Error, Result};
use crate::model::release::Release;
use crate::model::release::Version;
use crate::store::Error as StoreError;
use crate::store::app::App;

/// The newest releases of an app, and which is current.
#[derive(Debug)]
pub struct Listing {
    /// Newest first.
    pub releases: Vec<Release>,
    /// The version `current` names.
    pub current: Option<Version>,
    /// How many releases the app has in all.
    pub total: usize,
}

/// The newest `limit` releases of `app`, newest first.
///
/// Releases a killed change left pending are settled first, unless a change is running.
pub fn list(app: &App, limit: usize) -> Result<Listing> {
    // Best effort: a read never fails because it could not write (a full disk, a read-only root).
    let _ = app.recover_if_idle();
    let store = app.store();
    Ok(Listing {
        releases: store.newest(limit)?,
        current: store.current()?,
        total: store.versions()?.len(),
    })
}

/// One release, for `releases:info`.
#[derive(Debug)]
pub struct Info {
    /// The record.
    pub release: Release,
    /// The version `current` names.
    pub current: Option<Version>,
    /// The subject line of its commit, if the repository still has it.
    pub commit_subject: Option<String>,
}

/// Release `version` of `app` (default: the current one).
pub fn info(app: &App, version: Option<Version>) -> Result<Info> {
    // Best effort: a read never fails because it could not write (a full disk, a read-only root).
    let _ = app.recover_if_idle();
    let store = app.store();
    let current = store.current()?;
    let Some(version) = version.or(current) else {
        return Err(Error::NoCurrentRelease {
            app: app.name.to_string(),
        });
    };
    let release = store.find(version)?.ok_or_else(|| StoreError::NoRelease {
        app: app.name.to_string(),
        version,
    })?;
    let commit_subject = commit_subject(app, &release);
    Ok(Info {
        release,
        current,
        commit_subject,
    })
}

/// The subject line of the release's commit, if the app's repository still has it.
fn commit_subject(app: &App, release: &Release) -> Option<String> {
    let repo = git2::Repository::open_bare(app.repo_dir()).ok()?;
    subject_in(&repo, release)
}

fn subject_in(repo: &git2::Repository, release: &Release) -> Option<String> {
    let oid = git2::Oid::from_str(release.commit.as_deref()?).ok()?;
    let commit = repo.find_commit(oid).ok()?;
    commit.summary().ok().flatten().map(str::to_owned)
}

/// The subject lines of the releases' commits, in their order (`None` where there is none).
pub fn commit_subjects(app: &App, releases: &[Release]) -> Vec<Option<String>> {
    let repo = git2::Repository::open_bare(app.repo_dir()).ok();
    releases
        .iter()
        .map(|r| repo.as_ref().and_then(|repo| subject_in(repo, r)))
        .collect()
}

/// What the push (build and launch) of release `version` (default: the current one) printed.
pub fn build_output(app: &App, version: Option<Version>) -> Result<String> {
    let version = match version {
        Some(v) => v,
        None => app
            .store()
            .current()?
            .ok_or_else(|| Error::NoCurrentRelease {
                app: app.name.to_string(),
            })?,
    };
    if app.store().find(version)?.is_none() {
        return Err(StoreError::NoRelease {
            app: app.name.to_string(),
            version,
        }
        .into());
    }
    let path = app.logs_dir().join(format!("v{version}.log"));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NoBuildOutput {
            app: app.name.to_string(),
            version,
        }),
        Err(e) => Err(Error::io("read", path)(e)),
    }
}
