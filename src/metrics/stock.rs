//! The stock mart (`marts/stock.parquet`): per account × WB article, the units in WB's
//! warehouses by the latest stock snapshot, and how many days they last at the recent pace of
//! orders.

use chrono::{Duration, NaiveDate};
use chrono_tz::Tz;
use polars::prelude::*;

use super::MetricsError;
use super::engine::Streamed;
use crate::dataset::Dataset;
use crate::lake::Lake;

/// Days of orders whose average sets the pace.
pub const COVER_DAYS: i64 = 30;

/// As of the latest snapshot on or before `as_of` (per account): `stock` (Σ `quantity` over
/// warehouses), `in_way_to_client`, `in_way_from_client`; `orders` = units ordered and not
/// cancelled in the [`COVER_DAYS`] days before the snapshot day (Moscow days of `wb_orders`);
/// `avg_daily_orders` = orders ÷ 30; `days_of_cover` = stock ÷ avg_daily_orders, null when
/// nothing was ordered. Articles ordered but absent from the snapshot are listed with stock 0.
/// `None` when the lake holds no snapshot by `as_of`.
pub fn stock_cover(lake: &Lake, tz: Tz, as_of: NaiveDate) -> Result<Option<DataFrame>, MetricsError> {
    let Some(stocks) = lake.scan(Dataset::WbStocks)? else { return Ok(None) };
    let stocks = stocks.filter(col("snapshot_date").lt_eq(lit(as_of)));
    // Accounts are few: each one's snapshot day is read here, and its order window is literal.
    let latest = stocks.clone().group_by([col("account")]).agg([col("snapshot_date").max()]).streamed()?;
    if latest.height() == 0 {
        return Ok(None);
    }
    let accounts: Vec<String> =
        latest.column("account")?.str()?.iter().map(|a| a.unwrap_or_default().to_string()).collect();
    let days = super::marts::dates(&latest, "snapshot_date")?;
    let is_latest = accounts.iter().zip(&days).fold(lit(false), |acc, (a, d)| {
        acc.or(col("account").eq(lit(a.clone())).and(col("snapshot_date").eq(lit(*d))))
    });
    // Literals are typed as the smallest integer that holds them: say Int64, as the columns are.
    let int = |v: i64| lit(v).cast(DataType::Int64);
    let zero = || int(0);
    let side = |lf: LazyFrame, measures: [Expr; 4]| {
        let [stock, to_client, from_client, orders] = measures;
        lf.select([
            col("account"),
            col("nm_id"),
            col("supplier_article").alias("seller_sku"),
            stock.alias("stock"),
            to_client.alias("in_way_to_client"),
            from_client.alias("in_way_from_client"),
            orders.alias("orders"),
        ])
    };
    let mut parts = vec![side(
        stocks.filter(is_latest),
        [col("quantity"), col("in_way_to_client"), col("in_way_from_client"), zero()],
    )];
    if let Some(orders) = lake.scan(Dataset::WbOrders)? {
        let day = col("date").dt().convert_time_zone(TimeZone::from_chrono(&tz)).dt().date();
        let in_window = accounts.iter().zip(&days).fold(lit(false), |acc, (a, d)| {
            let (first, last) = (*d - Duration::days(COVER_DAYS), *d - Duration::days(1));
            acc.or(col("account").eq(lit(a.clone())).and(day.clone().is_between(
                lit(first),
                lit(last),
                ClosedInterval::Both,
            )))
        });
        let ordered = orders.filter(in_window.and(col("is_cancel").not()));
        parts.push(side(ordered, [zero(), zero(), zero(), int(1)]));
    }
    let per_day = col("orders").cast(DataType::Float64) / lit(COVER_DAYS as f64);
    let df = concat(parts, UnionArgs::default())?
        .group_by([col("account"), col("nm_id")])
        .agg([
            col("seller_sku").first(),
            col("stock").sum(),
            col("in_way_to_client").sum(),
            col("in_way_from_client").sum(),
            col("orders").sum(),
        ])
        .join(latest.lazy(), [col("account")], [col("account")], JoinArgs::new(JoinType::Left))
        .select([
            col("account"),
            lit("wb").alias("marketplace"),
            col("nm_id").cast(DataType::String).alias("sku"),
            col("seller_sku"),
            col("snapshot_date"),
            col("stock"),
            col("in_way_to_client"),
            col("in_way_from_client"),
            col("orders"),
            per_day.clone().alias("avg_daily_orders"),
            when(per_day.clone().gt(lit(0.0)))
                .then(col("stock").cast(DataType::Float64) / per_day)
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("days_of_cover"),
        ])
        .sort(["account", "sku"], SortMultipleOptions::default())
        .streamed()?;
    Ok(Some(df))
}

/// Writes the stock mart under `marts_dir` (temp file + rename); its path, or `None` when the
/// lake has no snapshot by `as_of`.
pub fn write(
    lake: &Lake,
    tz: Tz,
    as_of: NaiveDate,
    marts_dir: &std::path::Path,
) -> Result<Option<std::path::PathBuf>, MetricsError> {
    let Some(mut df) = stock_cover(lake, tz, as_of)? else { return Ok(None) };
    let path = marts_dir.join("stock.parquet");
    crate::lake::write_parquet_atomically(&path, &mut df, Vec::new(), crate::lake::ALWAYS)
        .map_err(|e| MetricsError::Write { path: path.clone(), detail: e.to_string() })?;
    Ok(Some(path))
}
