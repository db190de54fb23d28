//! Lengths of time in settings: `60s`, `500ms`, `5m`, `1h` or a number of seconds.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// A duration read from a settings file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    /// `secs` seconds.
    pub const fn secs(secs: u64) -> Span {
        Span(Duration::from_secs(secs))
    }

    /// The duration.
    pub fn get(self) -> Duration {
        self.0
    }
}

impl FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Span, String> {
        let t = s.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(digits);
        let bad = || format!("'{s}' is not a duration (try 500ms, 60s, 5m or 1h)");
        let number: u64 = number.parse().map_err(|_| bad())?;
        let millis = match unit.trim() {
            "ms" => Some(number),
            "" | "s" => number.checked_mul(1_000),
            "m" | "min" => number.checked_mul(60_000),
            "h" => number.checked_mul(3_600_000),
            _ => return Err(bad()),
        };
        // A day is far beyond any sensible timeout, and keeps Instant arithmetic safe.
        match millis {
            Some(ms) if ms <= 86_400_000 => Ok(Span(Duration::from_millis(ms))),
            _ => Err(format!("'{s}' is longer than a day")),
        }
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Secs(n) => n.to_string(),
            Raw::Text(s) => s,
        };
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Span {
    /// The largest unit that divides it exactly: `60s` stays `60s`, `3600s` is `1h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1_000) {
            write!(f, "{ms}ms")
        } else if ms >= 3_600_000 && ms.is_multiple_of(3_600_000) {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms >= 600_000 && ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else {
            write!(f, "{}s", ms / 1_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_prints_the_natural_one() {
        assert_eq!("60s".parse::<Span>(), Ok(Span::secs(60)));
        assert_eq!("90".parse::<Span>(), Ok(Span::secs(90)));
        assert_eq!("1h".parse::<Span>(), Ok(Span::secs(3600)));
        assert_eq!("5m".parse::<Span>(), Ok(Span::secs(300)));
        assert_eq!(
            "250ms".parse::<Span>(),
            Ok(Span(Duration::from_millis(250)))
        );
        for bad in ["", "s", "1d", "-1s", "2x", "25h"] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
        assert_eq!(Span::secs(60).to_string(), "60s");
        assert_eq!(Span::secs(3600).to_string(), "1h");
        assert_eq!(Span::secs(1800).to_string(), "30m");
        assert_eq!(Span(Duration::from_millis(1500)).to_string(), "1500ms");
    }
}
