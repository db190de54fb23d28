//! The time slipway works with: the current instant and the time zone to show it in.
//!
//! Read once at the edge (`SLIPWAY_NOW` fixes the clock for tests and demos),
//! then passed down; nothing deeper asks the system for the time.

use std::sync::OnceLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The instant a command runs at, and the zone absolute times are shown in.
#[derive(Clone, Debug)]
pub struct Clock {
    /// What "now" is for this command.
    pub now: Timestamp,
    tz_setting: Option<String>,
    tz: OnceLock<TimeZone>,
}

/// A fixed instant (`SLIPWAY_NOW`) that is not a time.
#[derive(Debug, thiserror::Error)]
#[error("SLIPWAY_NOW '{text}' is not an RFC 3339 time: {source}")]
pub struct ClockError {
    /// The setting as given.
    pub text: String,
    /// What jiff found wrong with it.
    pub source: jiff::Error,
}

impl Clock {
    /// The system clock, or a fixed instant when `fixed` is given (RFC 3339);
    /// `tz` is the `TZ` setting, if any.
    pub fn new(fixed: Option<&str>, tz: Option<String>) -> Result<Clock, ClockError> {
        let now = match fixed {
            Some(text) => text.parse::<Timestamp>().map_err(|source| ClockError {
                text: text.to_owned(),
                source,
            })?,
            None => Timestamp::now(),
        };
        Ok(Clock {
            now,
            tz_setting: tz.filter(|t| !t.is_empty()),
            tz: OnceLock::new(),
        })
    }

    /// A clock fixed at `now` in the zone `tz`.
    pub fn fixed(now: Timestamp, tz: TimeZone) -> Clock {
        Clock {
            now,
            tz_setting: None,
            tz: OnceLock::from(tz),
        }
    }

    /// The zone for absolute timestamps (`2010-09-12 15:32:17 -0700`): `TZ`, else `/etc/localtime`.
    ///
    /// Looked up only when needed, and from the one file that defines it:
    /// jiff's general lookup indexes the whole zoneinfo tree first, which
    /// would cost a `releases` run more than everything else it does.
    pub fn tz(&self) -> &TimeZone {
        self.tz
            .get_or_init(|| self.load_tz().unwrap_or_else(TimeZone::system))
    }

    fn load_tz(&self) -> Option<TimeZone> {
        let Some(setting) = &self.tz_setting else {
            let data = std::fs::read("/etc/localtime").ok()?;
            return TimeZone::tzif("Local", &data).ok();
        };
        let name = setting.strip_prefix(':').unwrap_or(setting);
        let file = if name.starts_with('/') {
            std::path::PathBuf::from(name)
        } else if name.split('/').all(|part| !part.is_empty() && part != "..") {
            std::path::Path::new("/usr/share/zoneinfo").join(name)
        } else {
            return None;
        };
        match std::fs::read(file) {
            Ok(data) => TimeZone::tzif(name, &data).ok(),
            Err(_) => TimeZone::posix(name).ok(),
        }
    }
}
