//! The `none` launcher: records releases and starts nothing (processes are managed elsewhere).

use super::{Launch, Launcher, Started};
use crate::model::event::Observer;
use crate::run::error::Result;

/// Starts nothing; every release launches at once.
pub struct RecordOnly;

impl Launcher for RecordOnly {
    fn launch(&self, launch: &Launch, _observer: &mut dyn Observer) -> Result<Started> {
        Ok(Started::ready(launch.app.settings.url.clone()))
    }
}
