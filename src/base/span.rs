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

/// Why a duration setting does not parse; each variant quotes the text as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpanError {
    /// Not numbers with units.
    #[error("'{text}' is not a duration (try 500ms, 60s, 5m, 1h or 1h30m)")]
    NotADuration { text: String },
    /// Past the one-day ceiling.
    #[error("'{text}' is longer than a day")]
    LongerThanADay { text: String },
}

impl FromStr for Span {
    type Err = SpanError;

    /// `90` (seconds), or numbers with units: `500ms`, `60s`, `5m`, `1h`, `1h30m`.
    fn from_str(s: &str) -> Result<Span, SpanError> {
        let bad = || SpanError::NotADuration { text: s.to_owned() };
        let mut rest = s.trim();
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            let secs: u64 = rest.parse().map_err(|_| bad())?;
            return within_a_day(s, secs.checked_mul(1_000));
        }
        let mut millis: Option<u64> = Some(0);
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            let number: u64 = rest[..digits].parse().map_err(|_| bad())?;
            let after = &rest[digits..];
            let units = after
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(after.len());
            let scale = match &after[..units] {
                "ms" => 1,
                "s" => 1_000,
                "m" | "min" => 60_000,
                "h" => 3_600_000,
                _ => return Err(bad()),
            };
            millis = number
                .checked_mul(scale)
                .and_then(|n| millis?.checked_add(n));
            rest = &after[units..];
        }
        if s.trim().is_empty() {
            return Err(bad());
        }
        within_a_day(s, millis)
    }
}

/// A day is far beyond any sensible timeout, and keeps `Instant` arithmetic safe.
fn within_a_day(text: &str, millis: Option<u64>) -> Result<Span, SpanError> {
    match millis {
        Some(ms) if ms <= 86_400_000 => Ok(Span(Duration::from_millis(ms))),
        _ => Err(SpanError::LongerThanADay {
            text: text.to_owned(),
        }),
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
    /// As an admin would write it: `60s` stays `60s`, `3600s` is `1h`, `5400s` is `1h30m`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if !ms.is_multiple_of(1_000) {
            return write!(f, "{ms}ms");
        }
        let secs = ms / 1_000;
        if secs < 600 {
            return write!(f, "{secs}s");
        }
        for (n, unit) in [(secs / 3_600, "h"), (secs / 60 % 60, "m"), (secs % 60, "s")] {
            if n > 0 {
                write!(f, "{n}{unit}")?;
            }
        }
        Ok(())
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
        assert_eq!("1h30m".parse::<Span>(), Ok(Span::secs(5400)));
        assert_eq!("2m30s".parse::<Span>(), Ok(Span::secs(150)));
        for bad in ["", "s", "1d", "-1s", "2x", "25h", "1h 30m", "m5"] {
            assert!(bad.parse::<Span>().is_err(), "{bad}");
        }
        assert_eq!(
            "2x".parse::<Span>().unwrap_err().to_string(),
            "'2x' is not a duration (try 500ms, 60s, 5m, 1h or 1h30m)"
        );
        assert_eq!(
            "25h".parse::<Span>().unwrap_err().to_string(),
            "'25h' is longer than a day"
        );
        assert_eq!(Span::secs(60).to_string(), "60s");
        assert_eq!(Span::secs(3600).to_string(), "1h");
        assert_eq!(Span::secs(1800).to_string(), "30m");
        assert_eq!(Span(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Span::secs(90).to_string(), "90s");
        assert_eq!(Span::secs(900).to_string(), "15m");
        assert_eq!(Span::secs(5400).to_string(), "1h30m");
        assert_eq!(Span::secs(0).to_string(), "0s");
    }
}
