//! One clock per source (DESIGN §4.6): WB statistics speak naive Moscow time, Ozon speaks UTC.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// WB statistics time: naive Moscow, to the second or a fraction of it.
pub fn parse_wb_naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().map(|d| d.and_time(NaiveTime::MIN)))
}

/// WB writes "0001-01-01T00:00:00" for "never" (e.g. `cancelDate` of a live order).
pub fn parse_wb_optional(s: &str) -> Option<NaiveDateTime> {
    parse_wb_naive(s).filter(|t| t.date() > ymd(1971, 1, 1))
}

/// A naive local time in `tz` as an instant. Local times that do not exist (a DST gap) move
/// forward; ambiguous ones take the earlier instant.
pub fn local_to_utc(t: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&t) {
        chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        chrono::LocalResult::None => local_to_utc(t + chrono::Duration::hours(1), tz),
    }
}

/// First instant of local day `d` in `tz`.
pub fn day_start(d: NaiveDate, tz: Tz) -> DateTime<Utc> {
    local_to_utc(d.and_time(NaiveTime::MIN), tz)
}

/// A date for a constant: `const X: NaiveDate = ymd(2019, 1, 1)` is checked when it compiles.
/// Never call it with dates from input (it panics on an impossible one).
pub const fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(y, m, d) {
        Some(date) => date,
        None => panic!("not a calendar date"),
    }
}

/// 1970-01-01, the day Parquet's `Date` counts from.
pub const EPOCH: NaiveDate = ymd(1970, 1, 1);

/// The first day of `d`'s month.
pub fn first_of_month(d: NaiveDate) -> NaiveDate {
    d - Days::new(u64::from(d.day0()))
}

/// The first day of the month after `d`'s (saturating at the calendar's end).
pub fn next_month(d: NaiveDate) -> NaiveDate {
    let first = first_of_month(d);
    first.checked_add_months(chrono::Months::new(1)).unwrap_or(NaiveDate::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_turn_over_at_year_and_leap_ends() {
        assert_eq!(first_of_month(ymd(2024, 2, 29)), ymd(2024, 2, 1));
        assert_eq!(next_month(ymd(2024, 2, 29)), ymd(2024, 3, 1));
        assert_eq!(next_month(ymd(2026, 12, 31)), ymd(2027, 1, 1));
        assert_eq!(next_month(ymd(2026, 1, 1)), ymd(2026, 2, 1));
        assert_eq!(next_month(NaiveDate::MAX), NaiveDate::MAX, "saturates instead of panicking");
    }
}
