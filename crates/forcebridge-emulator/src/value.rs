//! Field values as the local org stores them, and their text forms on the wire.
//!
//! One compact enum (24 bytes) covers every describe type: text-like types (string, picklist,
//! email, ...) are `Text`, numeric ones (`double`, `currency`, `percent`) are `Double`, `int` is
//! `Int`, dates are days since 1970-01-01, datetimes milliseconds since the epoch (UTC), times
//! milliseconds since midnight, references are [`RecordId`]s. The conversions to and from JSON
//! and CSV text live here so REST, Bulk and SOQL agree on them.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

use crate::ids::RecordId;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Text(Box<str>),
    /// Days since 1970-01-01.
    Date(i32),
    /// Milliseconds since the epoch, UTC.
    DateTime(i64),
    /// Milliseconds since midnight.
    Time(u32),
    Ref(RecordId),
}

impl Value {
    pub(crate) fn text(s: impl Into<Box<str>>) -> Value {
        Value::Text(s.into())
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub(crate) fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub(crate) fn as_ref_id(&self) -> Option<RecordId> {
        match self {
            Value::Ref(id) => Some(*id),
            _ => None,
        }
    }

    /// Compares two non-null values of the same kind the way SOQL does: text without case,
    /// numbers numerically (ints and doubles together), dates and times chronologically.
    /// Values of different kinds, and nulls, are unordered.
    pub(crate) fn compare(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => Some(cmp_ignore_case(a, b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
            (Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
            (Value::Time(a), Value::Time(b)) => Some(a.cmp(b)),
            (Value::Ref(a), Value::Ref(b)) => Some(a.cmp(b)),
            (a, b) => match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => None,
            },
        }
    }
}

/// Case-insensitive ordering (Unicode lower-casing, char by char), as SOQL sorts and compares text.
pub(crate) fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        for (x, y) in a.iter().zip(b) {
            match x.to_ascii_lowercase().cmp(&y.to_ascii_lowercase()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        return a.len().cmp(&b.len());
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

// ---- Dates and times -------------------------------------------------------------------------

const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

pub(crate) fn date_from_ymd(year: i32, month: u32, day: u32) -> Option<i32> {
    NaiveDate::from_ymd_opt(year, month, day)
        .map(|d| d.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

pub(crate) fn naive_date(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days + UNIX_EPOCH_DAYS_FROM_CE)
}

pub(crate) fn naive_datetime(millis: i64) -> Option<NaiveDateTime> {
    DateTime::<Utc>::from_timestamp_millis(millis).map(|d| d.naive_utc())
}

/// The start (00:00 UTC) of a date, in epoch milliseconds.
pub(crate) fn date_start_millis(days: i32) -> i64 {
    i64::from(days) * 86_400_000
}

/// The date (UTC) a datetime falls on.
pub(crate) fn date_of_millis(millis: i64) -> i32 {
    millis.div_euclid(86_400_000) as i32
}

fn push_2(out: &mut Vec<u8>, n: u32) {
    out.push(b'0' + (n / 10 % 10) as u8);
    out.push(b'0' + (n % 10) as u8);
}

fn push_year(out: &mut Vec<u8>, year: i32) {
    let y = year.clamp(0, 9999) as u32;
    push_2(out, y / 100);
    push_2(out, y % 100);
}

/// `2024-01-15`.
pub(crate) fn write_date(out: &mut Vec<u8>, days: i32) {
    let Some(d) = naive_date(days) else { return };
    push_year(out, d.year());
    out.push(b'-');
    push_2(out, d.month());
    out.push(b'-');
    push_2(out, d.day());
}

/// `2024-01-15T10:30:00.000` followed by `zone` (`+0000` for REST JSON, `Z` for Bulk CSV).
pub(crate) fn write_datetime(out: &mut Vec<u8>, millis: i64, zone: &str) {
    let Some(dt) = naive_datetime(millis) else {
        return;
    };
    write_date(out, date_of_millis(millis));
    out.push(b'T');
    write_time_parts(
        out,
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.and_utc().timestamp_subsec_millis(),
    );
    out.extend_from_slice(zone.as_bytes());
}

/// `10:30:00.000Z`.
pub(crate) fn write_time(out: &mut Vec<u8>, millis_of_day: u32) {
    let secs = millis_of_day / 1000;
    write_time_parts(
        out,
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        millis_of_day % 1000,
    );
    out.push(b'Z');
}

fn write_time_parts(out: &mut Vec<u8>, hour: u32, minute: u32, second: u32, millis: u32) {
    push_2(out, hour);
    out.push(b':');
    push_2(out, minute);
    out.push(b':');
    push_2(out, second);
    out.push(b'.');
    out.push(b'0' + (millis / 100) as u8);
    push_2(out, millis % 100);
}

/// A stored value as text a write could give it back as (CSV form: datetimes with `Z`,
/// numbers plain), or `None` for null: how a field's values are carried over when its type
/// changes.
pub(crate) fn text_form(value: &Value) -> Option<String> {
    let mut out = Vec::new();
    match value {
        Value::Null => return None,
        Value::Bool(b) => return Some(b.to_string()),
        Value::Int(i) => return Some(i.to_string()),
        Value::Double(d) => return Some(format!("{d}")),
        Value::Text(s) => return Some(s.to_string()),
        Value::Ref(id) => return Some(id.to_string()),
        Value::Date(d) => write_date(&mut out, *d),
        Value::DateTime(ms) => write_datetime(&mut out, *ms, "Z"),
        Value::Time(ms) => write_time(&mut out, *ms),
    }
    String::from_utf8(out).ok()
}

/// The REST JSON form of a datetime: `2024-01-15T10:30:00.000+0000`.
pub(crate) fn format_datetime(millis: i64) -> String {
    let mut out = Vec::with_capacity(28);
    write_datetime(&mut out, millis, "+0000");
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
pub(crate) fn format_date(days: i32) -> String {
    let mut out = Vec::with_capacity(10);
    write_date(&mut out, days);
    String::from_utf8(out).unwrap_or_default()
}

/// Parses the datetime forms clients send: `2024-01-15T10:30:00Z`, with `.sss` (0 to 9 digits),
/// with `+00:00`, `+0000` or `-08:00`, and a bare date (midnight UTC).
pub(crate) fn parse_datetime(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Some(days) = parse_date(text) {
        return Some(date_start_millis(days));
    }
    let (date_part, rest) = text.split_once(['T', 't', ' '])?;
    let days = parse_date(date_part)?;
    let (time_part, offset_minutes) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0i64)
    } else if let Some(pos) = rest.rfind(['+', '-']).filter(|&p| p >= 8) {
        let (t, zone) = rest.split_at(pos);
        let sign = if zone.starts_with('-') { -1 } else { 1 };
        let digits: String = zone[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() != 4 && digits.len() != 2 {
            return None;
        }
        let hours: i64 = digits.get(..2)?.parse().ok()?;
        let minutes: i64 = if digits.len() == 4 {
            digits[2..].parse().ok()?
        } else {
            0
        };
        if hours > 23 || minutes > 59 {
            return None;
        }
        (t, sign * (hours * 60 + minutes))
    } else {
        // No zone: Salesforce reads it as UTC.
        (rest, 0)
    };
    let millis_of_day = i64::from(parse_time_of_day(time_part)?);
    Some(date_start_millis(days) + millis_of_day - offset_minutes * 60_000)
}

/// `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<i32> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i32 = text[..4].parse().ok()?;
    let month: u32 = text[5..7].parse().ok()?;
    let day: u32 = text[8..10].parse().ok()?;
    date_from_ymd(year, month, day)
}

/// `hh:mm:ss[.fraction]` (optionally followed by `Z`), in milliseconds since midnight.
pub(crate) fn parse_time(text: &str) -> Option<u32> {
    parse_time_of_day(text.trim().strip_suffix(['Z', 'z']).unwrap_or(text.trim()))
}

fn parse_time_of_day(text: &str) -> Option<u32> {
    let (hms, fraction) = match text.split_once('.') {
        Some((hms, f)) => (hms, Some(f)),
        None => (text, None),
    };
    let time = NaiveTime::parse_from_str(hms, "%H:%M:%S").ok()?;
    let millis = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<3}");
            padded[..3].parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    Some(time.num_seconds_from_midnight() * 1000 + millis)
}

/// The current time in epoch milliseconds.
pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_in_every_client_form_and_print_as_rest_json() {
        let expected = parse_datetime("2024-01-15T10:30:00Z").unwrap();
        for text in [
            "2024-01-15T10:30:00.000+0000",
            "2024-01-15T10:30:00.000+00:00",
            "2024-01-15T10:30:00.000000Z",
            "2024-01-15T02:30:00-08:00",
            "2024-01-15T16:00:00+0530",
            "2024-01-15T10:30:00",
        ] {
            assert_eq!(parse_datetime(text), Some(expected), "{text}");
        }
        assert_eq!(format_datetime(expected), "2024-01-15T10:30:00.000+0000");
        assert_eq!(
            format_datetime(expected + 7),
            "2024-01-15T10:30:00.007+0000"
        );
        assert_eq!(
            parse_datetime("2024-01-15"),
            Some(expected - (10 * 3600 + 30 * 60) * 1000)
        );
        assert!(parse_datetime("2024-02-30T00:00:00Z").is_none());
    }

    #[test]
    fn dates_and_times_round_trip() {
        let days = parse_date("2024-02-29").unwrap();
        assert_eq!(format_date(days), "2024-02-29");
        assert_eq!(format_date(0), "1970-01-01");
        let mut out = Vec::new();
        write_time(&mut out, parse_time("10:30:05.25Z").unwrap());
        assert_eq!(out, b"10:30:05.250Z");
    }

    #[test]
    fn text_compares_without_case() {
        assert_eq!(cmp_ignore_case("acme", "ACME"), Ordering::Equal);
        assert_eq!(cmp_ignore_case("Ábc", "ábd"), Ordering::Less);
        assert_eq!(cmp_ignore_case("Ärger", "äRGER"), Ordering::Equal);
        assert_ne!(cmp_ignore_case("Acme", "Acme Inc"), Ordering::Equal);
        assert_eq!(
            Value::Int(3).compare(&Value::Double(2.5)),
            Some(Ordering::Greater),
            "ints and doubles compare as numbers"
        );
    }
}
