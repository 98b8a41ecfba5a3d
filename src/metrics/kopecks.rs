//! Money inside the metrics stage: Int64 kopecks.
//!
//! The lake and the marts keep money as Decimal(18,2), whose values polars holds as i128. Summing
//! and branching over i128 columns made the stage 4–5× slower than DuckDB on the same lake, and
//! twice as big in memory: every scan now turns each Decimal(18,2) column into its mantissa (the
//! kopecks, exactly), the stage adds and compares Int64, and [`to_money`] turns the result back
//! into Decimal(18,2) at the mart boundary. An Int64 holds ±92 quadrillion roubles, so no sum of a
//! seller's comes near it; a value computed in Rust that would not fit is an error.

use polars::prelude::*;

use super::MetricsError;
use crate::dataset::Dataset;
use crate::lake::Lake;
use crate::lake::columns::MONEY;

/// The type of money inside the stage.
pub const KOP: DataType = DataType::Int64;

/// A typed zero: a bare `lit(0i64)` is a "dynamic" literal that polars may narrow to Int32.
pub fn zero() -> Expr {
    lit(0i64).cast(KOP)
}

pub fn neg(e: Expr) -> Expr {
    zero() - e
}

/// `lf` (a scan of the lake) with every Decimal(18,2) column as Int64 kopecks. Columns of other
/// scales (fractions of a kopeck, which no metric reads) stay as they are.
fn in_kopecks(mut lf: LazyFrame) -> Result<LazyFrame, MetricsError> {
    let schema = lf.collect_schema()?;
    let money: Vec<Expr> = schema
        .iter()
        .filter(|(_, dt)| **dt == MONEY)
        .map(|(name, _)| col(name.clone()).to_physical().strict_cast(KOP).alias(name.clone()))
        .collect();
    Ok(if money.is_empty() { lf } else { lf.with_columns(money) })
}

/// The Decimal(18,2) columns `names` of a mart frame as Int64 kopecks ([`to_money`]'s inverse), for
/// sums over a finished mart.
pub fn from_money(lf: LazyFrame, names: &[&str]) -> LazyFrame {
    lf.with_columns(names.iter().map(|c| col(*c).to_physical().strict_cast(KOP).alias(*c)).collect::<Vec<_>>())
}

/// `ds` in kopecks ([`in_kopecks`]), from the partitions whose month can hold a day of
/// `from..=to`, and only those months' files are listed and read. A row is partitioned by its
/// own date (Moscow or UTC), which the metrics' time zone can move by a day: the months of the
/// days two either side are read too (a month more only at a month's edge; a whole month either
/// side made a marts update read 7 months for 3), and the day filter does the rest. Partitions
/// that are not months (`whole`, `unknown`) are left out; no event dated in a period is in one.
pub fn scan_months(
    lake: &Lake,
    ds: Dataset,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Option<LazyFrame>, MetricsError> {
    let (lo, hi) = month_range(from, to);
    lake.scan_months(ds, &lo, &hi)?.map(in_kopecks).transpose()
}

/// The first and last partition month (`YYYY-MM`) [`scan_months`] reads for `from..=to`.
pub fn month_range(from: chrono::NaiveDate, to: chrono::NaiveDate) -> (String, String) {
    use chrono::Datelike;
    let key = |d: Option<chrono::NaiveDate>, fallback: &str| {
        d.map_or(fallback.to_string(), |d| crate::lake::batch::month_key(d.year(), d.month()))
    };
    (
        key(from.checked_sub_days(chrono::Days::new(2)), "0000-00"),
        key(to.checked_add_days(chrono::Days::new(2)), "9999-12"),
    )
}

/// Turns the Int64 kopeck columns `names` of `df` into Decimal(18,2).
pub fn to_money(df: &mut DataFrame, names: &[&str]) -> PolarsResult<()> {
    for name in names {
        let kop = df.column(name)?.i64()?;
        let money = kop.iter().map(|v| v.map(i128::from));
        let c = Int128Chunked::from_iter_options((*name).into(), money).into_decimal(18, 2)?;
        df.with_column(Column::from(c.into_series()))?;
    }
    Ok(())
}

/// A kopeck column's values, widened for exact arithmetic.
pub fn values(df: &DataFrame, name: &str) -> PolarsResult<Vec<Option<i128>>> {
    Ok(df.column(name)?.i64()?.iter().map(|v| v.map(i128::from)).collect())
}

/// A kopeck column from exact values; one that does not fit an Int64 is an error.
pub fn column(name: &str, values: Vec<Option<i128>>) -> PolarsResult<Column> {
    let fit = values
        .into_iter()
        .map(|v| {
            v.map(|v| {
                i64::try_from(v).map_err(
                    |_| polars_err!(ComputeError: "{name}: {v} kopecks is beyond what the metrics can hold (±9.2e18)"),
                )
            })
            .transpose()
        })
        .collect::<PolarsResult<Vec<Option<i64>>>>()?;
    Ok(Column::new(name.into(), fit))
}
