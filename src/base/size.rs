//! Byte sizes: parsed from settings (`500MB`, `1GB`, `4096`) and printed as Heroku does (`8.3MB`), or in KB below a megabyte (`50KB`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// A number of bytes; units in settings are binary (1MB = 1024 × 1024 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    /// The number of bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

/// Why a size setting does not parse; each variant quotes the text as given.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SizeError {
    /// No number to start with.
    #[error("'{text}' is not a size (try 500MB, 2GB or a number of bytes)")]
    NotASize { text: String },
    /// A unit other than B, KB, MB or GB.
    #[error("'{text}' has an unknown unit '{unit}' (use KB, MB or GB)")]
    UnknownUnit { text: String, unit: String },
    /// More bytes than fit in 64 bits.
    #[error("'{text}' is too large")]
    TooLarge { text: String },
}

impl FromStr for Size {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Size, SizeError> {
        let t = s.trim();
        let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (number, unit) = t.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| SizeError::NotASize { text: s.to_owned() })?;
        let multiplier = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 1,
            "K" | "KB" => KIB,
            "M" | "MB" => MIB,
            "G" | "GB" => GIB,
            other => {
                return Err(SizeError::UnknownUnit {
                    text: s.to_owned(),
                    unit: other.to_owned(),
                });
            }
        };
        number
            .checked_mul(multiplier)
            .map(Size)
            .ok_or_else(|| SizeError::TooLarge { text: s.to_owned() })
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bytes(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Bytes(n) => Ok(Size(n)),
            Raw::Text(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

impl fmt::Display for Size {
    /// One decimal and `MB`, as Heroku prints slug sizes; whole KB (rounded up) below 1MB, so a small limit does not read "0.0MB".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 < MIB {
            write!(f, "{}KB", self.0.div_ceil(KIB))
        } else {
            write!(f, "{:.1}MB", self.0 as f64 / MIB as f64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_prints_heroku_style() {
        assert_eq!("500MB".parse::<Size>(), Ok(Size(500 * MIB)));
        assert_eq!("2 gb".parse::<Size>(), Ok(Size(2 * GIB)));
        assert_eq!("4096".parse::<Size>(), Ok(Size(4096)));
        assert!("12XB".parse::<Size>().is_err());
        assert!("MB".parse::<Size>().is_err());
        assert_eq!(
            "12XB".parse::<Size>().unwrap_err().to_string(),
            "'12XB' has an unknown unit 'XB' (use KB, MB or GB)"
        );
        assert_eq!(
            "MB".parse::<Size>().unwrap_err().to_string(),
            "'MB' is not a size (try 500MB, 2GB or a number of bytes)"
        );
        assert_eq!(
            "99999999999GB".parse::<Size>().unwrap_err().to_string(),
            "'99999999999GB' is too large"
        );
        assert_eq!(Size(8_703_181).to_string(), "8.3MB");
        assert_eq!(Size(MIB).to_string(), "1.0MB");
    }

    #[test]
    fn sizes_below_a_megabyte_print_in_kb() {
        assert_eq!(Size(50 * KIB).to_string(), "50KB");
        assert_eq!(Size(300).to_string(), "1KB");
        assert_eq!(Size(0).to_string(), "0KB");
        assert_eq!(Size(MIB - 1).to_string(), "1024KB");
    }
}
