//! Period metrics from the lake (polars, lazy). Every formula is written here once; the README's
//! data dictionary documents the same definitions.
//!
//! Grain: day / ISO week / month × account × marketplace × SKU, plus totals. Days are calendar
//! days in the configured time zone.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

mod events;
mod profit;
pub mod reconcile;

use events::{AMOUNTS, COUNTS, KEYS, Scope, event_sums, known_sum};

use crate::config::Tax;
use crate::costs::Costs;
use crate::lake::columns::MONEY;
use crate::lake::{Lake, LakeError};
use crate::plan::Period;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("metrics query failed: {0}")]
    Polars(#[from] PolarsError),
    #[error(transparent)]
    Costs(#[from] crate::costs::CostsError),
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

/// Sums of every additive column, COGS and missing-cost units included.
fn additive() -> Vec<Expr> {
    let mut v: Vec<Expr> = COUNTS.iter().map(|c| known_sum(c, false)).collect();
    v.push(col("missing_cost_units").sum());
    v.extend(AMOUNTS.iter().map(|c| col(*c).sum().strict_cast(MONEY)));
    v.push(known_sum("cogs", true));
    v
}

/// Columns derived from the sums, after every aggregation.
fn derive(lf: LazyFrame, tax: &Tax) -> Result<DataFrame, MetricsError> {
    // Unknown returns (Ozon) count as none in the buyout rate's denominator: the README says so.
    let denominator = col("buyouts") + col("returns").fill_null(lit(0i64)) + col("cancellations");
    let payout = col("revenue")
        - col("commission")
        - col("logistics")
        - col("storage")
        - col("acceptance")
        - col("penalties")
        - col("other_deductions")
        + col("additional_payments");
    let mut df = lf
        .with_columns([
            (col("buyouts_value") - col("returns_value")).strict_cast(MONEY).alias("sales_value"),
            when(denominator.clone().gt(lit(0i64)))
                .then(col("buyouts").cast(DataType::Float64) / denominator.cast(DataType::Float64))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("buyout_rate"),
            payout.strict_cast(MONEY).alias("payout"),
        ])
        .collect()?;
    profit::add_profit(&mut df, tax)?;
    Ok(df)
}

pub const SKU_COLUMNS: [&str; 34] = [
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
    "units_sold",
    "units_returned",
    "revenue",
    "commission",
    "logistics",
    "storage",
    "acceptance",
    "penalties",
    "other_deductions",
    "additional_payments",
    "payout",
    "ad_spend",
    "cogs",
    "missing_cost_units",
    "gross_profit",
    "tax",
    "net_profit",
    "margin",
    "roi",
    "drr",
];

/// What a metrics computation needs besides the lake.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub tz: Tz,
    pub costs: &'a Costs,
    pub tax: Tax,
}

/// Per (period, account, marketplace, SKU) metrics for `period`, at `grain`. `sku` is null for
/// money that belongs to no article (account-level deductions, Ozon's non-item fees).
pub fn by_sku(
    lake: &Lake,
    inputs: &Inputs<'_>,
    period: &Period,
    grain: Grain,
    accounts: Option<&[String]>,
) -> Result<DataFrame, MetricsError> {
    let scope = Scope { tz: inputs.tz, from: period.from, to: period.to, accounts };
    let Some(ev) = events::events(lake, &scope)? else {
        return empty_sku_frame();
    };
    let mut daily = ev.group_by(KEYS.map(col)).agg(event_sums()).collect()?;
    // Costs change by the day, so COGS is exact per day and sums up from there.
    profit::add_cogs(&mut daily, inputs.costs)?;
    let start = match grain {
        Grain::Day => col("day"),
        Grain::Week => col("day").dt().truncate(lit("1w")),
        Grain::Month => col("day").dt().truncate(lit("1mo")),
    };
    let mut grouped = daily
        .lazy()
        .with_column(start.alias("period_start"))
        .group_by([col("period_start"), col("account"), col("marketplace"), col("sku")])
        .agg(additive());
    // Labels come from every order and posting ever loaded, so a day with money only still has
    // its article.
    grouped = match events::labels(lake)? {
        Some(labels) => grouped.join(
            labels,
            [col("marketplace"), col("sku")],
            [col("marketplace"), col("sku")],
            JoinArgs::new(JoinType::Left),
        ),
        None => grouped.with_column(lit(NULL).cast(DataType::String).alias("seller_sku")),
    };
    let df = derive(grouped, &inputs.tax)?;
    let out = df
        .lazy()
        .select(SKU_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .sort(["period_start", "marketplace", "account", "sku"], SortMultipleOptions::default().with_nulls_last(true))
        .collect()?;
    Ok(out)
}

fn empty_sku_frame() -> Result<DataFrame, MetricsError> {
    let mut fields = vec![
        Field::new("period_start".into(), DataType::Date),
        Field::new("account".into(), DataType::String),
        Field::new("marketplace".into(), DataType::String),
        Field::new("sku".into(), DataType::String),
        Field::new("seller_sku".into(), DataType::String),
    ];
    for c in &SKU_COLUMNS[5..] {
        let dt = match *c {
            "buyout_rate" | "margin" | "roi" | "drr" => DataType::Float64,
            c if COUNTS.contains(&c) || c == "missing_cost_units" => DataType::Int64,
            _ => MONEY,
        };
        fields.push(Field::new((*c).into(), dt));
    }
    Ok(DataFrame::empty_with_schema(&Schema::from_iter(fields)))
}

/// Totals per (period, marketplace) over accounts and SKUs, plus `marketplace = "all"`. Counts
/// and COGS are unknown (null) wherever a part of the total is unknown. Tax is computed on each
/// total's own base.
pub fn totals(by_sku: &DataFrame, tax: &Tax) -> Result<DataFrame, MetricsError> {
    let mut aggs = additive();
    aggs.push(col("sku").n_unique().cast(DataType::Int64).alias("skus"));
    let per_mp = by_sku.clone().lazy().group_by([col("period_start"), col("marketplace")]).agg(aggs.clone());
    let overall =
        by_sku.clone().lazy().group_by([col("period_start")]).agg(aggs).with_column(lit("all").alias("marketplace"));
    let order = |lf: LazyFrame| {
        lf.select([
            col("period_start"),
            col("marketplace"),
            all().exclude_cols(["period_start", "marketplace"]).as_expr(),
        ])
    };
    let both = concat([order(per_mp), order(overall)], UnionArgs::default())?;
    let df = derive(both, tax)?;
    Ok(df.sort(["period_start", "marketplace"], Default::default())?)
}

/// SKUs that sold units with no cost in the costs file, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCost {
    pub marketplace: String,
    pub sku: String,
    pub seller_sku: String,
    pub units: i64,
}

pub fn missing_costs(by_sku: &DataFrame) -> Result<Vec<MissingCost>, MetricsError> {
    let df = by_sku
        .clone()
        .lazy()
        .filter(col("missing_cost_units").neq(lit(0i64)))
        .group_by([col("marketplace"), col("sku")])
        .agg([col("seller_sku").first(), col("missing_cost_units").sum()])
        .sort(["marketplace", "sku"], Default::default())
        .collect()?;
    let text = |n: &str| -> PolarsResult<Vec<String>> {
        Ok(df.column(n)?.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
    };
    let (mp, sku, label) = (text("marketplace")?, text("sku")?, text("seller_sku")?);
    let units: Vec<i64> = df.column("missing_cost_units")?.i64()?.iter().map(|v| v.unwrap_or(0)).collect();
    Ok((0..df.height())
        .map(|i| MissingCost {
            marketplace: mp[i].clone(),
            sku: sku[i].clone(),
            seller_sku: label[i].clone(),
            units: units[i],
        })
        .collect())
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
        crate::lake::write_parquet_atomically(&path, df, meta.clone())
            .map_err(|e| MetricsError::Write { path: path.clone(), detail: e.to_string() })?;
        out.push(path);
    }
    Ok(out)
}

/// A metrics row in Rust types; money in kopecks, `sku` "" where the mart has null.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricRow {
    pub period_start: Option<NaiveDate>,
    pub account: String,
    pub marketplace: String,
    pub sku: String,
    pub seller_sku: String,
    pub counts: std::collections::BTreeMap<&'static str, Option<i64>>,
    pub money: std::collections::BTreeMap<&'static str, Option<i128>>,
    pub ratios: std::collections::BTreeMap<&'static str, Option<f64>>,
}

impl MetricRow {
    pub fn count(&self, name: &str) -> Option<i64> {
        self.counts.get(name).copied().flatten()
    }
    pub fn money(&self, name: &str) -> Option<i128> {
        self.money.get(name).copied().flatten()
    }
    pub fn ratio(&self, name: &str) -> Option<f64> {
        self.ratios.get(name).copied().flatten()
    }
}

/// Reads a `by_sku` or `totals` frame back into rows, by column type.
pub fn rows(df: &DataFrame) -> Result<Vec<MetricRow>, MetricsError> {
    let mut out = vec![MetricRow::default(); df.height()];
    for c in df.columns() {
        let name = c.name().as_str();
        match c.dtype() {
            DataType::Date => {
                for (r, v) in out.iter_mut().zip(c.date()?.as_date_iter()) {
                    r.period_start = v;
                }
            }
            DataType::String => {
                for (r, v) in out.iter_mut().zip(c.str()?.iter()) {
                    let v = v.unwrap_or_default().to_string();
                    match name {
                        "account" => r.account = v,
                        "marketplace" => r.marketplace = v,
                        "sku" => r.sku = v,
                        "seller_sku" => r.seller_sku = v,
                        _ => {}
                    }
                }
            }
            DataType::Int64 => {
                let key = leak(name);
                for (r, v) in out.iter_mut().zip(c.i64()?.iter()) {
                    r.counts.insert(key, v);
                }
            }
            DataType::Float64 => {
                let key = leak(name);
                for (r, v) in out.iter_mut().zip(c.f64()?.iter()) {
                    r.ratios.insert(key, v);
                }
            }
            DataType::Decimal(_, _) => {
                let key = leak(name);
                for (r, v) in out.iter_mut().zip(c.decimal()?.physical().iter()) {
                    r.money.insert(key, v);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Column names are a small fixed set; interning them keeps `MetricRow` cheap to index.
fn leak(name: &str) -> &'static str {
    SKU_COLUMNS.iter().chain(["skus"].iter()).find(|c| **c == name).copied().unwrap_or("other")
}
