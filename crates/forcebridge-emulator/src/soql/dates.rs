//! Dates in queries: the ranges relative date literals stand for (`THIS_MONTH`,
//! `LAST_N_DAYS:30`, ...), the date functions (`CALENDAR_YEAR`, `DAY_ONLY`, ...), and the
//! locale-formatted text `FORMAT()` returns.
//!
//! The org runs in UTC with a fiscal year that starts in January, so fiscal periods equal
//! calendar periods and "today" is the UTC date of the org's clock. Weeks start on Sunday, as in
//! the en_US locale. Nothing here reads a clock: callers pass the day.

use chrono::{Datelike, NaiveDate, Timelike};
use forcebridge_soql::{DateLiteral, DateLiteralName as N, Function};

use crate::value::{self, Value};

/// A half-open range of days `[start, end)`, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayRange {
    pub start: i32,
    pub end: i32,
}

impl DayRange {
    /// The same range in epoch milliseconds (midnight UTC to midnight UTC).
    pub(crate) fn millis(self) -> (i64, i64) {
        (
            value::date_start_millis(self.start),
            value::date_start_millis(self.end),
        )
    }
}

/// The first day of the month `months` months after the month of `(year, month)`.
fn month_start(year: i32, month: u32, months: i64) -> Option<i32> {
    let index = i64::from(year) * 12 + i64::from(month) - 1 + months;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    value::date_from_ymd(year, month, 1)
}

/// The range a relative date literal covers on `today`.
pub(crate) fn literal_range(literal: DateLiteral, today: i32) -> Option<DayRange> {
    let date = value::naive_date(today)?;
    let n = i64::from(literal.n.unwrap_or(0));
    let n32 = i32::try_from(n).ok()?;
    let (year, month) = (date.year(), date.month());
    let week_start = today - date.weekday().num_days_from_sunday() as i32;
    let quarter_month = (month - 1) / 3 * 3 + 1;
    let months = |from: i64, to: i64| -> Option<DayRange> {
        Some(DayRange {
            start: month_start(year, month, from)?,
            end: month_start(year, month, to)?,
        })
    };
    let quarters = |from: i64, to: i64| -> Option<DayRange> {
        Some(DayRange {
            start: month_start(year, quarter_month, from * 3)?,
            end: month_start(year, quarter_month, to * 3)?,
        })
    };
    let years = |from: i64, to: i64| -> Option<DayRange> {
        Some(DayRange {
            start: month_start(year, 1, from * 12)?,
            end: month_start(year, 1, to * 12)?,
        })
    };
    let days = |start: i32, end: i32| Some(DayRange { start, end });
    match literal.name {
        N::Yesterday => days(today - 1, today),
        N::Today => days(today, today + 1),
        N::Tomorrow => days(today + 1, today + 2),
        N::LastWeek => days(week_start - 7, week_start),
        N::ThisWeek => days(week_start, week_start + 7),
        N::NextWeek => days(week_start + 7, week_start + 14),
        N::LastMonth => months(-1, 0),
        N::ThisMonth => months(0, 1),
        N::NextMonth => months(1, 2),
        // "Starts with the current day and continues for the past 90 days": today counts too.
        N::Last90Days => days(today - 90, today + 1),
        N::Next90Days => days(today + 1, today + 91),
        N::ThisQuarter | N::ThisFiscalQuarter => quarters(0, 1),
        N::LastQuarter | N::LastFiscalQuarter => quarters(-1, 0),
        N::NextQuarter | N::NextFiscalQuarter => quarters(1, 2),
        N::ThisYear | N::ThisFiscalYear => years(0, 1),
        N::LastYear | N::LastFiscalYear => years(-1, 0),
        N::NextYear | N::NextFiscalYear => years(1, 2),
        N::LastNDays => days(today - n32, today + 1),
        N::NextNDays => days(today + 1, today + 1 + n32),
        N::NDaysAgo => days(today - n32, today - n32 + 1),
        N::LastNWeeks => days(week_start - 7 * n32, week_start),
        N::NextNWeeks => days(week_start + 7, week_start + 7 + 7 * n32),
        N::NWeeksAgo => days(week_start - 7 * n32, week_start - 7 * n32 + 7),
        N::LastNMonths => months(-n, 0),
        N::NextNMonths => months(1, 1 + n),
        N::NMonthsAgo => months(-n, -n + 1),
        N::LastNQuarters | N::LastNFiscalQuarters => quarters(-n, 0),
        N::NextNQuarters | N::NextNFiscalQuarters => quarters(1, 1 + n),
        N::NQuartersAgo | N::NFiscalQuartersAgo => quarters(-n, -n + 1),
        N::LastNYears | N::LastNFiscalYears => years(-n, 0),
        N::NextNYears | N::NextNFiscalYears => years(1, 1 + n),
        N::NYearsAgo | N::NFiscalYearsAgo => years(-n, -n + 1),
    }
}

/// The calendar parts of a date or datetime value (UTC), with the hour for datetimes.
fn parts(value: &Value) -> Option<(NaiveDate, u32)> {
    match value {
        Value::Date(days) => Some((value::naive_date(*days)?, 0)),
        Value::DateTime(millis) => {
            let dt = value::naive_datetime(*millis)?;
            Some((dt.date(), dt.hour()))
        }
        _ => None,
    }
}

/// A date function applied to a value: a number (`CALENDAR_YEAR` → 2024), or a date for
/// `DAY_ONLY`. Null in, null out. The fiscal year starts in January, so fiscal functions equal
/// their calendar counterparts.
pub(crate) fn apply(function: Function, input: &Value) -> Value {
    if function == Function::DayOnly {
        return match input {
            Value::DateTime(millis) => Value::Date(value::date_of_millis(*millis)),
            Value::Date(days) => Value::Date(*days),
            _ => Value::Null,
        };
    }
    let Some((date, hour)) = parts(input) else {
        return Value::Null;
    };
    let n = match function {
        Function::CalendarYear | Function::FiscalYear => date.year(),
        Function::CalendarQuarter | Function::FiscalQuarter => ((date.month() - 1) / 3 + 1) as i32,
        Function::CalendarMonth | Function::FiscalMonth => date.month() as i32,
        Function::DayInMonth => date.day() as i32,
        // Sunday is 1, Saturday 7.
        Function::DayInWeek => date.weekday().num_days_from_sunday() as i32 + 1,
        Function::DayInYear => date.ordinal() as i32,
        Function::HourInDay => hour as i32,
        // Week 1 is days 1 to 7 of the month (or year), whatever weekday they fall on.
        Function::WeekInMonth => ((date.day() - 1) / 7 + 1) as i32,
        Function::WeekInYear => ((date.ordinal() - 1) / 7 + 1) as i32,
        _ => return Value::Null,
    };
    Value::Int(i64::from(n))
}

/// Digits with `,` between groups of three: `1234567` → `1,234,567`.
fn group_thousands(integer: &str) -> String {
    let mut out = String::with_capacity(integer.len() + integer.len() / 3);
    for (i, c) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A number with `scale` decimals and thousands separators, as the en_US locale writes it.
pub(crate) fn format_number(number: f64, scale: usize) -> String {
    let text = format!("{:.*}", scale, number.abs());
    let (integer, fraction) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut out = String::new();
    if number < 0.0 && number.abs() >= 0.5 * 10f64.powi(-(scale as i32)) {
        out.push('-');
    }
    out.push_str(&group_thousands(integer));
    if let Some(fraction) = fraction {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// `1/15/2024`: en_US short date.
pub(crate) fn format_date(days: i32) -> String {
    match value::naive_date(days) {
        Some(d) => format!("{}/{}/{}", d.month(), d.day(), d.year()),
        None => String::new(),
    }
}

/// `1/15/2024, 10:30 AM`: en_US short date and time, in UTC (the org's time zone).
pub(crate) fn format_datetime(millis: i64) -> String {
    let Some(dt) = value::naive_datetime(millis) else {
        return String::new();
    };
    let (pm, hour) = dt.hour12();
    format!(
        "{}/{}/{}, {}:{:02} {}",
        dt.month(),
        dt.day(),
        dt.year(),
        hour,
        dt.minute(),
        if pm { "PM" } else { "AM" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> i32 {
        value::parse_date(text).unwrap()
    }

    fn range(name: N, n: Option<u32>, today: &str) -> (String, String) {
        let r = literal_range(DateLiteral { name, n }, day(today)).unwrap();
        (value::format_date(r.start), value::format_date(r.end))
    }

    #[test]
    fn relative_literals_cover_the_documented_days() {
        // 2024-05-15 is a Wednesday; its week started on Sunday the 12th.
        let today = "2024-05-15";
        let r = |s: &str, e: &str| (s.to_string(), e.to_string());
        assert_eq!(range(N::Today, None, today), r("2024-05-15", "2024-05-16"));
        assert_eq!(
            range(N::ThisWeek, None, today),
            r("2024-05-12", "2024-05-19")
        );
        assert_eq!(
            range(N::LastWeek, None, today),
            r("2024-05-05", "2024-05-12")
        );
        assert_eq!(
            range(N::ThisMonth, None, today),
            r("2024-05-01", "2024-06-01")
        );
        assert_eq!(
            range(N::LastMonth, None, today),
            r("2024-04-01", "2024-05-01")
        );
        assert_eq!(
            range(N::ThisQuarter, None, today),
            r("2024-04-01", "2024-07-01")
        );
        assert_eq!(
            range(N::NextQuarter, None, today),
            r("2024-07-01", "2024-10-01")
        );
        assert_eq!(
            range(N::LastYear, None, today),
            r("2023-01-01", "2024-01-01")
        );
        assert_eq!(
            range(N::ThisFiscalYear, None, today),
            r("2024-01-01", "2025-01-01")
        );
        assert_eq!(
            range(N::LastNDays, Some(7), today),
            r("2024-05-08", "2024-05-16")
        );
        assert_eq!(
            range(N::NextNDays, Some(2), today),
            r("2024-05-16", "2024-05-18")
        );
        assert_eq!(
            range(N::NDaysAgo, Some(3), today),
            r("2024-05-12", "2024-05-13")
        );
        assert_eq!(
            range(N::LastNMonths, Some(13), today),
            r("2023-04-01", "2024-05-01")
        );
        assert_eq!(
            range(N::NQuartersAgo, Some(2), today),
            r("2023-10-01", "2024-01-01")
        );
        assert_eq!(
            range(N::Last90Days, None, today),
            r("2024-02-15", "2024-05-16")
        );
    }

    #[test]
    fn date_functions_read_utc_parts() {
        let millis = value::parse_datetime("2024-03-10T23:30:00Z").unwrap();
        let dt = Value::DateTime(millis);
        assert_eq!(apply(Function::CalendarYear, &dt), Value::Int(2024));
        assert_eq!(apply(Function::CalendarQuarter, &dt), Value::Int(1));
        assert_eq!(apply(Function::HourInDay, &dt), Value::Int(23));
        // 2024-03-10 is a Sunday.
        assert_eq!(apply(Function::DayInWeek, &dt), Value::Int(1));
        assert_eq!(apply(Function::DayInYear, &dt), Value::Int(70));
        assert_eq!(apply(Function::WeekInMonth, &dt), Value::Int(2));
        assert_eq!(apply(Function::WeekInYear, &dt), Value::Int(10));
        assert_eq!(
            apply(Function::DayOnly, &dt),
            Value::Date(day("2024-03-10"))
        );
        assert_eq!(apply(Function::FiscalYear, &Value::Null), Value::Null);
    }

    #[test]
    fn formats_follow_en_us() {
        assert_eq!(format_number(1234567.891, 2), "1,234,567.89");
        assert_eq!(format_number(-1500.0, 0), "-1,500");
        assert_eq!(format_number(12.0, 2), "12.00");
        assert_eq!(format_date(day("2024-01-05")), "1/5/2024");
        let millis = value::parse_datetime("2024-01-05T15:04:00Z").unwrap();
        assert_eq!(format_datetime(millis), "1/5/2024, 3:04 PM");
    }
}
