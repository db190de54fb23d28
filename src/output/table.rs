//! Plain-text tables and Heroku's "5 minutes ago" times.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::base::clock::Clock;

/// "just now", "5 minutes ago", "3 hours ago", "2 days ago"; beyond a week `2010-09-12 15:32:17 -0700`.
pub fn when(then: Timestamp, clock: &Clock) -> String {
    let secs = clock.now.as_second() - then.as_second();
    let ago = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match secs {
        ..60 => "just now".to_owned(),
        60..3_600 => ago(secs / 60, "minute"),
        3_600..86_400 => ago(secs / 3_600, "hour"),
        86_400..604_800 => ago(secs / 86_400, "day"),
        _ => then
            .to_zoned_datetime(clock.tz().clone())
            .strftime("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
    }
}

/// Lays out rows under a header, each column as wide as its widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(now: &str) -> Clock {
        Clock::fixed(
            now.parse().unwrap(),
            jiff::tz::TimeZone::fixed(jiff::tz::offset(-7)),
        )
    }

    #[test]
    fn when_reads_like_heroku() {
        let c = clock("2010-09-20T12:00:00Z");
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(when(at("2010-09-20T11:59:30Z"), &c), "just now");
        assert_eq!(when(at("2010-09-20T11:59:00Z"), &c), "1 minute ago");
        assert_eq!(when(at("2010-09-20T11:55:00Z"), &c), "5 minutes ago");
        assert_eq!(when(at("2010-09-20T09:00:00Z"), &c), "3 hours ago");
        assert_eq!(when(at("2010-09-18T12:00:00Z"), &c), "2 days ago");
        assert_eq!(
            when(at("2010-09-12T22:32:17Z"), &c),
            "2010-09-12 15:32:17 -0700"
        );
    }

    #[test]
    fn table_pads_columns_without_trailing_space() {
        let rows = vec![vec![
            "v1".to_owned(),
            "Deploy 3f2c1a9".to_owned(),
            "alice".to_owned(),
            "1 minute ago".to_owned(),
        ]];
        assert_eq!(
            table(&["Rel", "Change", "By", "When"], &rows),
            "Rel  Change          By     When\nv1   Deploy 3f2c1a9  alice  1 minute ago\n"
        );
    }
}
