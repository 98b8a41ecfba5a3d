//! One clock per source (DESIGN §4.6): WB statistics speak naive Moscow time, Ozon speaks UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// WB statistics time: naive Moscow, to the second or a fraction of it.
pub fn parse_wb_naive(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .or_else(|| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
}

/// WB writes "0001-01-01T00:00:00" for "never" (e.g. `cancelDate` of a live order).
pub fn parse_wb_optional(s: &str) -> Option<NaiveDateTime> {
    parse_wb_naive(s).filter(|t| t.date() > NaiveDate::from_ymd_opt(1971, 1, 1).expect("valid date"))
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
    local_to_utc(d.and_hms_opt(0, 0, 0).expect("midnight"), tz)
}
