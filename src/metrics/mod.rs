//! Period metrics from the lake (polars, lazy). Every formula is written here once; the README's
//! data dictionary documents the same definitions.
//!
//! Grain: day / ISO week / month × account × marketplace × SKU, plus totals. Days are calendar
//! days in the configured time zone.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

use crate::dataset::Dataset;
use crate::lake::columns::MONEY;
use crate::lake::{Lake, LakeError};
use crate::plan::Period;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("metrics query failed: {0}")]
    Polars(#[from] PolarsError),
    #[error("cannot write mart {path}: {detail}")]
    Write { path: PathBuf, detail: String },
}

/// How finely metrics are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }
}

/// The additive measures: summed over any grouping.
const COUNTS: [&str; 4] = ["orders", "cancellations", "buyouts", "returns"];
const AMOUNTS: [&str; 3] = ["orders_value", "buyouts_value", "returns_value"];

fn zero_money() -> Expr {
    lit(0).strict_cast(MONEY)
}

fn to_day(c: &str, tz: Tz) -> Expr {
    col(c)
        .dt()
        .convert_time_zone(TimeZone::from_chrono(&tz))
        .dt()
        .date()
        .alias("day")
}

/// One row per (account, marketplace, day, SKU) event contribution, in one shape for all sources.
fn events(lake: &Lake, tz: Tz) -> Result<Option<LazyFrame>, MetricsError> {
    let mut parts = Vec::new();
    if let Some(lf) = lake.scan(Dataset::WbOrders)? {
        // One WB order row is one unit, counted on its order day; a cancellation too.
        parts.push(
            lf.select([
                col("account"),
                lit("wb").alias("marketplace"),
                to_day("date", tz),
                col("nm_id").cast(DataType::String).alias("sku"),
                col("supplier_article").alias("seller_sku"),
                lit(1i64).alias("orders"),
                col("price_with_disc").alias("orders_value"),
                col("is_cancel")
                    .cast(DataType::Int64)
                    .alias("cancellations"),
                lit(0i64).alias("buyouts"),
                lit(0i64).cast(DataType::Int64).alias("returns"),
                zero_money().alias("buyouts_value"),
                zero_money().alias("returns_value"),
            ]),
        );
    }
    if let Some(lf) = lake.scan(Dataset::WbSales)? {
        // S rows are buyouts and R rows returns, each on its own day, at the seller's price
        // after the seller's discount.
        let sale = col("is_return").not();
        parts.push(
            lf.select([
                col("account"),
                lit("wb").alias("marketplace"),
                to_day("date", tz),
                col("nm_id").cast(DataType::String).alias("sku"),
                col("supplier_article").alias("seller_sku"),
                lit(0i64).alias("orders"),
                zero_money().alias("orders_value"),
                lit(0i64).alias("cancellations"),
                sale.clone().cast(DataType::Int64).alias("buyouts"),
                col("is_return").cast(DataType::Int64).alias("returns"),
                when(sale.clone())
                    .then(col("price_with_disc"))
                    .otherwise(zero_money())
                    .alias("buyouts_value"),
                when(sale)
                    .then(zero_money())
                    .otherwise(col("price_with_disc"))
                    .alias("returns_value"),
            ]),
        );
    }
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        let Some(lf) = lake.scan(ds)? else { continue };
        // Postings carry no delivery date on FBO and no returns at all: units ordered on a day
        // are counted as cancelled or bought out by their status now (an order-day cohort), and
        // returns stay unknown (null) until the finance accruals are loaded.
        let value = (col("price") * col("quantity")).strict_cast(MONEY);
        let is = |s: &str| col("status").eq(lit(s.to_string()));
        parts.push(
            lf.select([
                col("account"),
                lit("ozon").alias("marketplace"),
                to_day("in_process_at", tz),
                col("sku").cast(DataType::String).alias("sku"),
                col("offer_id").alias("seller_sku"),
                col("quantity").alias("orders"),
                value.clone().alias("orders_value"),
                when(is("cancelled"))
                    .then(col("quantity"))
                    .otherwise(lit(0i64))
                    .alias("cancellations"),
                when(is("delivered"))
                    .then(col("quantity"))
                    .otherwise(lit(0i64))
                    .alias("buyouts"),
                lit(NULL).cast(DataType::Int64).alias("returns"),
                when(is("delivered"))
                    .then(value)
                    .otherwise(zero_money())
                    .alias("buyouts_value"),
                zero_money().alias("returns_value"),
            ]),
        );
    }
    if parts.is_empty() {
        return Ok(None);
    }
    // Literals are typed loosely (a `lit(0)` may be Int32): pin every count to Int64 so the
    // parts line up.
    let parts: Vec<LazyFrame> = parts
        .into_iter()
        .map(|p| p.with_columns(COUNTS.map(|c| col(c).cast(DataType::Int64))))
        .collect();
    Ok(Some(concat(parts, UnionArgs::default())?))
}

/// The sum of a count that may be unknown (null): unknown if any part of the group is.
fn known_sum(c: &str) -> Expr {
    when(col(c).null_count().gt(lit(0)))
        .then(lit(NULL).cast(DataType::Int64))
        .otherwise(col(c).sum())
        .alias(c)
}

fn sums() -> Vec<Expr> {
    let mut v: Vec<Expr> = vec![col("seller_sku").first()];
    v.extend(COUNTS.iter().map(|c| known_sum(c)));
    v.extend(AMOUNTS.iter().map(|c| col(*c).sum().strict_cast(MONEY)));
    v
}

/// Derived columns, computed after every aggregation from the sums.
fn derive(lf: LazyFrame) -> LazyFrame {
    // Unknown returns (Ozon) count as none in the buyout rate's denominator: the README says so.
    let denominator = col("buyouts") + col("returns").fill_null(lit(0i64)) + col("cancellations");
    lf.with_columns([
        (col("buyouts_value") - col("returns_value"))
            .strict_cast(MONEY)
            .alias("sales_value"),
        when(denominator.clone().gt(lit(0i64)))
            .then(col("buyouts").cast(DataType::Float64) / denominator.cast(DataType::Float64))
            .otherwise(lit(NULL).cast(DataType::Float64))
            .alias("buyout_rate"),
    ])
}

pub const SKU_COLUMNS: [&str; 14] = [
    "period_start",
    "account",
    "marketplace",
    "sku",
    "seller_sku",
    "orders",
    "orders_value",
    "cancellations",
    "buyouts",
    "returns",
    "buyouts_value",
    "returns_value",
    "sales_value",
    "buyout_rate",
];

/// Per (period, account, marketplace, SKU) metrics for `period`, at `grain`.
pub fn by_sku(
    lake: &Lake,
    tz: Tz,
    period: &Period,
    grain: Grain,
    accounts: Option<&[String]>,
) -> Result<DataFrame, MetricsError> {
    let Some(ev) = events(lake, tz)? else {
        return Ok(empty_sku_frame()?);
    };
    let mut ev = ev.filter(
        col("day")
            .gt_eq(lit(period.from))
            .and(col("day").lt_eq(lit(period.to))),
    );
    if let Some(a) = accounts {
        let list = Series::new("accounts".into(), a.to_vec());
        ev = ev.filter(col("account").is_in(lit(list).implode(false), false));
    }
    let start = match grain {
        Grain::Day => col("day"),
        Grain::Week => col("day").dt().truncate(lit("1w")),
        Grain::Month => col("day").dt().truncate(lit("1mo")),
    };
    let lf = ev
        .with_column(start.alias("period_start"))
        .group_by([
            col("period_start"),
            col("account"),
            col("marketplace"),
            col("sku"),
        ])
        .agg(sums());
    let out = derive(lf)
        .select(SKU_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .sort(
            ["period_start", "marketplace", "account", "sku"],
            Default::default(),
        )
        .collect()?;
    Ok(out)
}

fn empty_sku_frame() -> PolarsResult<DataFrame> {
    let schema = Schema::from_iter([
        Field::new("period_start".into(), DataType::Date),
        Field::new("account".into(), DataType::String),
        Field::new("marketplace".into(), DataType::String),
        Field::new("sku".into(), DataType::String),
        Field::new("seller_sku".into(), DataType::String),
        Field::new("orders".into(), DataType::Int64),
        Field::new("orders_value".into(), MONEY),
        Field::new("cancellations".into(), DataType::Int64),
        Field::new("buyouts".into(), DataType::Int64),
        Field::new("returns".into(), DataType::Int64),
        Field::new("buyouts_value".into(), MONEY),
        Field::new("returns_value".into(), MONEY),
        Field::new("sales_value".into(), MONEY),
        Field::new("buyout_rate".into(), DataType::Float64),
    ]);
    Ok(DataFrame::empty_with_schema(&schema))
}

/// Totals per (period, marketplace) over accounts and SKUs, plus `marketplace = "all"`. Returns
/// are unknown (null) wherever a part of the total has unknown returns (Ozon postings).
pub fn totals(by_sku: &DataFrame) -> Result<DataFrame, MetricsError> {
    let mut aggs: Vec<Expr> = COUNTS.iter().map(|c| known_sum(c)).collect();
    aggs.extend(AMOUNTS.iter().map(|c| col(*c).sum().strict_cast(MONEY)));
    aggs.push(col("sku").n_unique().cast(DataType::Int64).alias("skus"));
    let per_mp = by_sku
        .clone()
        .lazy()
        .group_by([col("period_start"), col("marketplace")])
        .agg(aggs.clone());
    let all = by_sku
        .clone()
        .lazy()
        .group_by([col("period_start")])
        .agg(aggs)
        .with_column(lit("all").alias("marketplace"))
        .select([col("period_start"), col("marketplace"), all_other()]);
    let both = concat(
        [
            per_mp.select([col("period_start"), col("marketplace"), all_other()]),
            all,
        ],
        UnionArgs::default(),
    )?;
    let out = derive(both)
        .sort(["period_start", "marketplace"], Default::default())
        .collect()?;
    Ok(out)
}

fn all_other() -> Expr {
    cols([
        "orders",
        "orders_value",
        "cancellations",
        "buyouts",
        "returns",
        "buyouts_value",
        "returns_value",
        "skus",
    ])
    .as_expr()
}

/// Writes `sku_<grain>.parquet` and `totals_<grain>.parquet` into `dir`, atomically.
pub fn write_marts(
    dir: &Path,
    grain: Grain,
    sku: &mut DataFrame,
    totals: &mut DataFrame,
    period: &Period,
) -> Result<Vec<PathBuf>, MetricsError> {
    let meta = vec![
        ("mpetl.period_from".to_string(), period.from.to_string()),
        ("mpetl.period_to".to_string(), period.to.to_string()),
        ("mpetl.grain".to_string(), grain.name().to_string()),
    ];
    let mut out = Vec::new();
    for (name, df) in [("sku", sku), ("totals", totals)] {
        let path = dir.join(format!("{name}_{}.parquet", grain.name()));
        crate::lake::write_parquet_atomically(&path, df, meta.clone()).map_err(|e| {
            MetricsError::Write {
                path: path.clone(),
                detail: e.to_string(),
            }
        })?;
        out.push(path);
    }
    Ok(out)
}

/// A metrics row in Rust types; money in kopecks.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    pub period_start: NaiveDate,
    pub account: String,
    pub marketplace: String,
    pub sku: String,
    pub seller_sku: String,
    pub orders: i64,
    pub orders_value: i128,
    pub cancellations: i64,
    pub buyouts: i64,
    pub returns: Option<i64>,
    pub buyouts_value: i128,
    pub returns_value: i128,
    pub sales_value: i128,
    pub buyout_rate: Option<f64>,
}

/// Reads a `by_sku` frame back into rows.
pub fn rows(df: &DataFrame) -> Result<Vec<MetricRow>, MetricsError> {
    let dates: Vec<Option<NaiveDate>> = df.column("period_start")?.date()?.as_date_iter().collect();
    let s = |n: &str| -> PolarsResult<Vec<String>> {
        Ok(df
            .column(n)?
            .str()?
            .iter()
            .map(|v| v.unwrap_or_default().to_string())
            .collect())
    };
    let i =
        |n: &str| -> PolarsResult<Vec<Option<i64>>> { Ok(df.column(n)?.i64()?.iter().collect()) };
    let m = |n: &str| -> PolarsResult<Vec<i128>> {
        Ok(df
            .column(n)?
            .decimal()?
            .physical()
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (account, marketplace, sku, seller_sku) = (
        s("account")?,
        s("marketplace")?,
        s("sku")?,
        s("seller_sku")?,
    );
    let (orders, cancellations, buyouts, returns) = (
        i("orders")?,
        i("cancellations")?,
        i("buyouts")?,
        i("returns")?,
    );
    let (ov, bv, rv, sv) = (
        m("orders_value")?,
        m("buyouts_value")?,
        m("returns_value")?,
        m("sales_value")?,
    );
    let rate: Vec<Option<f64>> = df.column("buyout_rate")?.f64()?.iter().collect();
    Ok((0..df.height())
        .map(|k| MetricRow {
            period_start: dates[k].expect("period_start is never null"),
            account: account[k].clone(),
            marketplace: marketplace[k].clone(),
            sku: sku[k].clone(),
            seller_sku: seller_sku[k].clone(),
            orders: orders[k].unwrap_or(0),
            orders_value: ov[k],
            cancellations: cancellations[k].unwrap_or(0),
            buyouts: buyouts[k].unwrap_or(0),
            returns: returns[k],
            buyouts_value: bv[k],
            returns_value: rv[k],
            sales_value: sv[k],
            buyout_rate: rate[k],
        })
        .collect())
}

/// A totals row; money in kopecks.
#[derive(Debug, Clone, PartialEq)]
pub struct TotalRow {
    pub period_start: NaiveDate,
    pub marketplace: String,
    pub skus: i64,
    pub orders: i64,
    pub orders_value: i128,
    pub cancellations: i64,
    pub buyouts: i64,
    pub returns: Option<i64>,
    pub sales_value: i128,
    pub buyout_rate: Option<f64>,
}

pub fn total_rows(df: &DataFrame) -> Result<Vec<TotalRow>, MetricsError> {
    let dates: Vec<Option<NaiveDate>> = df.column("period_start")?.date()?.as_date_iter().collect();
    let mp: Vec<String> = df
        .column("marketplace")?
        .str()?
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect();
    let i =
        |n: &str| -> PolarsResult<Vec<Option<i64>>> { Ok(df.column(n)?.i64()?.iter().collect()) };
    let m = |n: &str| -> PolarsResult<Vec<i128>> {
        Ok(df
            .column(n)?
            .decimal()?
            .physical()
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect())
    };
    let (skus, orders, canc, buy, ret) = (
        i("skus")?,
        i("orders")?,
        i("cancellations")?,
        i("buyouts")?,
        i("returns")?,
    );
    let (ov, sv) = (m("orders_value")?, m("sales_value")?);
    let rate: Vec<Option<f64>> = df.column("buyout_rate")?.f64()?.iter().collect();
    Ok((0..df.height())
        .map(|k| TotalRow {
            period_start: dates[k].expect("period_start is never null"),
            marketplace: mp[k].clone(),
            skus: skus[k].unwrap_or(0),
            orders: orders[k].unwrap_or(0),
            orders_value: ov[k],
            cancellations: canc[k].unwrap_or(0),
            buyouts: buy[k].unwrap_or(0),
            returns: ret[k],
            sales_value: sv[k],
            buyout_rate: rate[k],
        })
        .collect())
}
