//! The time slipway works with: the current instant and the time zone to show it in.
//!
//! Read once at the edge (`SLIPWAY_NOW` fixes the clock for tests and demos),
//! then passed down; nothing deeper asks the system for the time.

use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The instant a command runs at, and the zone absolute times are shown in.
#[derive(Clone, Debug)]
pub struct Clock {
    /// What "now" is for this command.
    pub now: Timestamp,
    /// The zone for absolute timestamps (`2010-09-12 15:32:17 -0700`).
    pub tz: TimeZone,
}

impl Clock {
    /// The system clock and zone, or a fixed instant when `fixed` is given (RFC 3339).
    pub fn new(fixed: Option<&str>) -> Result<Clock, String> {
        let now = match fixed {
            Some(text) => text
                .parse::<Timestamp>()
                .map_err(|e| format!("SLIPWAY_NOW '{text}' is not an RFC 3339 time: {e}"))?,
            None => Timestamp::now(),
        };
        Ok(Clock {
            now,
            tz: TimeZone::system(),
        })
    }
}
