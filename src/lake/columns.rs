//! Column builders for the lake's types: money as Decimal(18,2), instants as µs Datetime with a
//! time zone, everything else as itself.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::clock::local_to_utc;
use crate::money::Kopecks;

/// Money: Decimal(18,2); kopecks become the mantissa, exactly.
pub const MONEY: DataType = DataType::Decimal(18, 2);

pub fn money(name: &str, values: impl Iterator<Item = Kopecks>) -> PolarsResult<Column> {
    let raw: Vec<i128> = values.map(|k| i128::from(k.0)).collect();
    Ok(Int128Chunked::from_vec(name.into(), raw).into_decimal(18, 2)?.into_series().into())
}

/// Money that may be absent.
pub fn opt_money(name: &str, values: impl Iterator<Item = Option<Kopecks>>) -> PolarsResult<Column> {
    Ok(Int128Chunked::from_iter_options(name.into(), values.map(|v| v.map(|k| i128::from(k.0))))
        .into_decimal(18, 2)?
        .into_series()
        .into())
}

/// Amounts kept to four places (fields the marketplace sends with fractions of a kopeck).
pub const PRECISE: DataType = DataType::Decimal(18, crate::money::PRECISE_SCALE);

pub fn precise(name: &str, values: impl Iterator<Item = crate::money::Precise>) -> PolarsResult<Column> {
    let raw: Vec<i128> = values.map(|k| i128::from(k.0)).collect();
    Ok(Int128Chunked::from_vec(name.into(), raw).into_decimal(18, crate::money::PRECISE_SCALE)?.into_series().into())
}

pub fn text<'a>(name: &str, values: impl Iterator<Item = &'a str>) -> Column {
    Column::new(name.into(), values.collect::<Vec<&str>>())
}

pub fn int(name: &str, values: impl Iterator<Item = i64>) -> Column {
    Column::new(name.into(), values.collect::<Vec<i64>>())
}

pub fn opt_int(name: &str, values: impl Iterator<Item = Option<i64>>) -> Column {
    Column::new(name.into(), values.collect::<Vec<Option<i64>>>())
}

pub fn float(name: &str, values: impl Iterator<Item = f64>) -> Column {
    Column::new(name.into(), values.collect::<Vec<f64>>())
}

pub fn flag(name: &str, values: impl Iterator<Item = bool>) -> Column {
    Column::new(name.into(), values.collect::<Vec<bool>>())
}

/// Instants, stored as UTC microseconds and labelled with `tz` for readers.
pub fn instant(name: &str, values: impl Iterator<Item = Option<DateTime<Utc>>>, tz: Tz) -> Column {
    Int64Chunked::from_iter_options(name.into(), values.map(|v| v.map(|t| t.timestamp_micros())))
        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::from_chrono(&tz)))
        .into_series()
        .into()
}

/// Naive local times of `tz` (WB statistics: Moscow), stored as instants.
pub fn local_instant(name: &str, values: impl Iterator<Item = Option<NaiveDateTime>>, tz: Tz) -> Column {
    instant(name, values.map(|v| v.map(|t| local_to_utc(t, tz))), tz)
}

/// Calendar days.
pub fn date(name: &str, values: impl Iterator<Item = chrono::NaiveDate>) -> Column {
    let epoch = crate::clock::EPOCH;
    Int32Chunked::from_vec(name.into(), values.map(|d| (d - epoch).num_days() as i32).collect())
        .into_date()
        .into_series()
        .into()
}

pub fn opt_text<'a>(name: &str, values: impl Iterator<Item = Option<&'a str>>) -> Column {
    Column::new(name.into(), values.collect::<Vec<Option<&str>>>())
}
