//! Releases from a source archive or directory (`releases:create`), as Akkeris and Heroku's source API make them.
//!
//! Nothing is recorded until the source has been fetched, unpacked and
//! checked, so a refused source leaves no release, no slug and no temp files.

use super::build;
use super::change::{Change, Context, Origin, Outcome};
use super::error::Result;
use crate::build::dir::DirPlan;
use crate::build::source::{self, Limits, Spec};
use crate::model::event::{Event, Observer};
use crate::store::app::App;

/// Makes a release of `app` from `spec`: fetch, unpack and check it, then record, compile and launch.
///
/// `description` defaults to `Deploy from NAME`. A refused source records nothing.
pub fn create_release(
    ctx: &Context,
    app: &App,
    spec: &Spec,
    description: Option<String>,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let limits = Limits::from_settings(&ctx.root.settings);
    let name = spec.name();
    let scratch = ctx.root.scratch_dir()?;
    // Held until the release is made: the unpacked tree and the download live in it.
    let fetched = source::fetch(spec, &scratch, limits, &ctx.http, observer)?;
    // Refused here, before anything is recorded, if it holds what a slug cannot.
    DirPlan::scan_source(&fetched.dir)?;
    let description = description.unwrap_or_else(|| format!("Deploy from {name}"));
    let change = Change::begin(ctx, app, observer)?;
    change.deploy(
        Origin::default(),
        description,
        observer,
        |change, observer| {
            observer.event(Event::CompilingSource { name: name.clone() });
            build::build_dir(change, &fetched.dir, observer)
        },
    )
}
