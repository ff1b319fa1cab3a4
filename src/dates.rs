//! Dates: parsing the formats exports contain, and the formats reports write. Rules never
//! read the wall clock; they compare against the audit instant (`--as-of`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};

/// Parses the date formats seen in Graph, az CLI, Graph PowerShell and Windows PowerShell
/// exports. Dates without a zone are UTC, as Graph documents its timestamps.
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Some(ms) = powershell_date(s) {
        return Utc.timestamp_millis_opt(ms).single();
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    // "2024-05-01 10:00:00Z", "+00:00" offsets and the like.
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.fZ",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(s, fmt) {
            return Some(dt.with_timezone(&Utc));
        }
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc());
        }
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(dt.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
}

/// `/Date(1733343742000)/`, also with escaped slashes or an offset suffix
/// (`/Date(1733343742000+0100)/`): milliseconds since the Unix epoch, in UTC.
fn powershell_date(s: &str) -> Option<i64> {
    let inner = s
        .trim_matches(|c| c == '\\' || c == '/')
        .strip_prefix("Date(")?
        .strip_suffix(')')?;
    let digits_end = inner
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '+' || *c == '-')
        .map_or(inner.len(), |(i, _)| i);
    inner[..digits_end].parse().ok()
}

/// RFC 3339 in UTC with a `Z`, as reports write instants: `2026-11-22T00:00:00Z`.
pub fn rfc3339(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The calendar date: `2026-11-22`.
pub fn ymd(d: DateTime<Utc>) -> String {
    use chrono::Datelike;
    // Evidence of a large scan holds hundreds of thousands of dates: skip the format-string
    // interpreter for the years it writes as four plain digits.
    match d.year() {
        year @ 0..=9999 => format!("{year:04}-{:02}-{:02}", d.month(), d.day()),
        _ => d.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path writes what chrono's `%Y-%m-%d` writes, at the edges of four digits.
    #[test]
    fn ymd_is_the_format_string() {
        for text in [
            "0000-01-01T00:00:00Z",
            "0999-12-31T23:59:59Z",
            "2026-02-28T12:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let d = parse_datetime(text).expect(text);
            assert_eq!(ymd(d), d.format("%Y-%m-%d").to_string(), "{text}");
        }
        for d in [
            DateTime::<Utc>::MAX_UTC,
            DateTime::<Utc>::MIN_UTC,
            chrono::NaiveDate::from_ymd_opt(10000, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
            chrono::NaiveDate::from_ymd_opt(-1, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc(),
        ] {
            assert_eq!(ymd(d), d.format("%Y-%m-%d").to_string(), "{d:?}");
        }
    }

    fn ymd_hms(s: &str) -> String {
        parse_datetime(s)
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
            .unwrap_or_else(|| "none".into())
    }

    #[test]
    fn parses_the_date_shapes_exports_contain() {
        assert_eq!(ymd_hms("2026-01-31T12:00:00Z"), "2026-01-31T12:00:00.000Z");
        assert_eq!(
            ymd_hms("2023-10-05T12:12:56.8324948Z"),
            "2023-10-05T12:12:56.832Z"
        );
        assert_eq!(
            ymd_hms("2026-01-31T12:00:00+02:00"),
            "2026-01-31T10:00:00.000Z"
        );
        assert_eq!(ymd_hms("2026-01-31T12:00:00"), "2026-01-31T12:00:00.000Z");
        assert_eq!(ymd_hms("2026-01-31"), "2026-01-31T00:00:00.000Z");
        assert_eq!(ymd_hms("/Date(1733343742000)/"), "2024-12-04T20:22:22.000Z");
        assert_eq!(
            ymd_hms("\\/Date(1733343742000)\\/"),
            "2024-12-04T20:22:22.000Z"
        );
        assert_eq!(
            ymd_hms("/Date(1733343742000+0100)/"),
            "2024-12-04T20:22:22.000Z"
        );
        assert_eq!(ymd_hms("/Date(-1000)/"), "1969-12-31T23:59:59.000Z");
        assert_eq!(ymd_hms("31/01/2026"), "none");
        assert_eq!(ymd_hms("soon"), "none");
    }
}
