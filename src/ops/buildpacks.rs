//! `buildpacks`, `buildpacks:set`, `buildpacks:add`, `buildpacks:remove`, `buildpacks:clear`, `buildpacks:clear-cache`.
//!
//! As on Heroku, a change is recorded for the app, not released: the next
//! deploy uses it.

use std::fs;

use super::change::lock_app;
use super::error::{Error, Result};
use crate::model::buildpack::Buildpack;
use crate::model::event::Quiet;
use crate::store::app::App;
use crate::store::buildpacks;

/// Where a buildpack goes or comes from: a 1-based position in the list.
pub type Index = usize;

/// The app's chosen buildpacks, in order.
pub fn list(app: &App) -> Result<Vec<Buildpack>> {
    Ok(buildpacks::load(app)?)
}

/// The `BUILDPACK_URL` config var the next deploy would see, which chooses when `buildpacks:set` has not.
pub fn config_url(app: &App) -> Result<Option<String>> {
    let release = super::change::base_release(app, &app.store())?;
    Ok(release.and_then(|r| r.config.get("BUILDPACK_URL").cloned()))
}

/// Sets the buildpack at `index` (default: the only one); returns the new list.
pub fn set(app: &App, buildpack: Buildpack, index: Option<Index>) -> Result<Vec<Buildpack>> {
    change(app, |list| {
        match index {
            None if list.len() > 1 => return Err(Error::SeveralBuildpacks { count: list.len() }),
            None => *list = vec![buildpack],
            Some(i) => {
                refuse_duplicate(list, &buildpack, Some(i))?;
                let slot = position(list, i, true)?;
                if slot == list.len() {
                    list.push(buildpack);
                } else {
                    list[slot] = buildpack;
                }
            }
        }
        Ok(())
    })
}

/// Adds a buildpack at `index` (default: last); returns the new list.
pub fn add(app: &App, buildpack: Buildpack, index: Option<Index>) -> Result<Vec<Buildpack>> {
    change(app, |list| {
        refuse_duplicate(list, &buildpack, None)?;
        let slot = match index {
            Some(i) => position(list, i, true)?,
            None => list.len(),
        };
        list.insert(slot, buildpack);
        Ok(())
    })
}

/// Removes a buildpack, by name or by `index`; returns the new list.
pub fn remove(
    app: &App,
    buildpack: Option<&Buildpack>,
    index: Option<Index>,
) -> Result<Vec<Buildpack>> {
    change(app, |list| {
        let slot = match (buildpack, index) {
            (_, Some(i)) => position(list, i, false)?,
            (Some(b), None) => list
                .iter()
                .position(|x| x.as_str() == b.as_str())
                .ok_or_else(|| Error::NoSuchBuildpack {
                    buildpack: b.to_string(),
                })?,
            (None, None) => {
                return Err(Error::NoSuchBuildpack {
                    buildpack: String::new(),
                });
            }
        };
        list.remove(slot);
        Ok(())
    })
}

/// Forgets the app's chosen buildpacks: the next deploy detects them again.
pub fn clear(app: &App) -> Result<()> {
    change(app, |list| {
        list.clear();
        Ok(())
    })
    .map(|_| ())
}

/// Empties the app's build caches (buildpacks' `CACHE_DIR`s and `SLIPWAY_CACHE_DIR`); returns whether there was one.
pub fn clear_cache(app: &App) -> Result<bool> {
    let _lock = lock_app(app, &mut Quiet)?;
    let cache = app.dir().join("cache");
    match fs::remove_dir_all(&cache) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("remove", &cache)(e)),
    }
}

fn change(
    app: &App,
    edit: impl FnOnce(&mut Vec<Buildpack>) -> Result<()>,
) -> Result<Vec<Buildpack>> {
    let lock = lock_app(app, &mut Quiet)?;
    let mut list = buildpacks::load(app)?;
    edit(&mut list)?;
    buildpacks::save(app, &lock, &list)?;
    Ok(list)
}

fn refuse_duplicate(
    list: &[Buildpack],
    buildpack: &Buildpack,
    except: Option<Index>,
) -> Result<()> {
    let clash = list
        .iter()
        .enumerate()
        .any(|(i, b)| b.as_str() == buildpack.as_str() && except != Some(i + 1));
    if clash {
        return Err(Error::BuildpackExists {
            buildpack: buildpack.to_string(),
        });
    }
    Ok(())
}

/// The slot of 1-based `index` in `list`; one past the end is allowed for inserting.
fn position(list: &[Buildpack], index: Index, may_append: bool) -> Result<usize> {
    let last = if may_append {
        list.len() + 1
    } else {
        list.len()
    };
    if index == 0 || index > last {
        return Err(Error::BuildpackIndex {
            index,
            count: list.len(),
        });
    }
    Ok(index - 1)
}
