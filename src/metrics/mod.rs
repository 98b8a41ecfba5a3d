//! Period metrics from the lake (polars, lazy). Every formula is written here once; the README's
//! data dictionary documents the same definitions.
//!
//! Grain: day / ISO week / month × account × marketplace × SKU, plus totals. Days are calendar
//! days in the configured time zone.

use chrono::NaiveDate;
use chrono_tz::Tz;
use polars::prelude::*;

pub mod abc;
pub mod catalogue;
mod classify;
mod engine;
mod events;
mod kopecks;
mod labels;
pub mod marts;
mod profit;
pub mod reconcile;
mod rows;
mod schema;
pub mod stock;
mod totals;
pub mod unknown;

pub use profit::{MissingCost, missing_costs};
pub use rows::{ColumnName, Count, MetricRow, Money, Ratio, rows};
pub use schema::SKU_COLUMNS;
use schema::{empty_sku_frame, money_columns};
pub use totals::{total_columns, totals};

pub use catalogue::Catalogue;
pub use classify::BONUS_PAYMENT_TYPES;
pub use events::{AMOUNTS, COUNTS};
use events::{KEYS, Scope, event_sums, known_sum};

use crate::config::Tax;
use crate::costs::Costs;
use crate::lake::{Lake, LakeError};
use crate::period::Period;
use engine::Streamed;
use kopecks::to_money;

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error(transparent)]
    Lake(#[from] LakeError),
    #[error("metrics query failed: {0}")]
    Polars(#[from] PolarsError),
    #[error(transparent)]
    Costs(#[from] crate::costs::CostsError),
    #[error(transparent)]
    Catalogue(#[from] catalogue::CatalogueError),
    #[error("cannot write mart {path}: {detail}")]
    Write { path: std::path::PathBuf, detail: String },
    #[error(
        "the lake has known holes in {from} — {to} (found by `mpetl lake verify`), so its metrics would be short:\n{}\nFix: run `mpetl backfill --from {from} --to {to}`; it fetches those chunks again",
        holes.iter().map(|h| format!("  - {h}")).collect::<Vec<_>>().join("\n")
    )]
    Holes { from: chrono::NaiveDate, to: chrono::NaiveDate, holes: Vec<crate::lake::verify::Hole> },
}

/// How finely metrics are bucketed in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Grain {
    Day,
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    /// The first day of the period `day` falls in.
    pub fn start(self, day: NaiveDate) -> NaiveDate {
        use chrono::Datelike;
        match self {
            Grain::Day => day,
            Grain::Week => day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Grain::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The last day of the period that starts on `start`.
    pub fn end(self, start: NaiveDate) -> NaiveDate {
        match self {
            Grain::Day => start,
            Grain::Week => start + chrono::Duration::days(6),
            Grain::Month => {
                start.checked_add_months(chrono::Months::new(1)).map_or(start, |n| n - chrono::Duration::days(1))
            }
        }
    }
}

/// The money columns whose sum is the payout, and how each enters it.
pub const PAYOUT_PARTS: [(&str, i8); 12] = [
    ("revenue", 1),
    ("commission", -1),
    ("compensation", 1),
    ("logistics", -1),
    ("storage", -1),
    ("acceptance", -1),
    ("penalties", -1),
    ("other_deductions", -1),
    ("ad_deductions", -1),
    ("transfers", -1),
    ("additional_payments", 1),
    ("unclassified", 1),
];

/// Sums of every additive column, COGS and missing-cost units included.
fn additive() -> Vec<Expr> {
    let mut v: Vec<Expr> = COUNTS.iter().map(|c| known_sum(c)).collect();
    v.push(col("missing_cost_units").sum());
    v.extend(AMOUNTS.iter().map(|c| col(*c).sum()));
    v.push(known_sum("cogs"));
    v
}

/// Columns derived from the sums, after every aggregation, computed on `engine`: the streaming
/// one for a plan over many rows, the in-memory one for a few thousand already in memory (the
/// streaming engine's start-up costs more than deriving them).
fn derive(lf: LazyFrame, tax: &Tax, engine: Engine) -> Result<DataFrame, MetricsError> {
    // Unknown returns (Ozon) count as none in the buyout rate's denominator: the README says so.
    let denominator = col("buyouts") + col("returns").fill_null(lit(0i64)) + col("cancellations");
    let payout = PAYOUT_PARTS
        .iter()
        .fold(events::zero_money(), |acc, (c, sign)| if *sign > 0 { acc + col(*c) } else { acc - col(*c) });
    let mut df = lf
        .with_columns([
            (col("buyouts_value") - col("returns_value")).alias("sales_value"),
            when(denominator.clone().gt(lit(0i64)))
                .then(col("buyouts").cast(DataType::Float64) / denominator.cast(DataType::Float64))
                .otherwise(lit(NULL).cast(DataType::Float64))
                .alias("buyout_rate"),
            payout.alias("payout"),
        ])
        .collect_with_engine(engine)?
        .unwrap_single();
    profit::add_profit(&mut df, tax)?;
    to_money(&mut df, &money_columns())?;
    Ok(df)
}

/// What a metrics computation needs besides the lake.
#[derive(Debug, Clone)]
pub struct Inputs<'a> {
    pub tz: Tz,
    pub costs: &'a Costs,
    pub tax: Tax,
    pub catalogue: &'a Catalogue,
    /// Today, in `tz`: a period is `complete` once it ended `settle_days` before it.
    pub today: NaiveDate,
    pub settle_days: u32,
    /// The lake bytes a marts update recomputes at once ([`marts::CHUNK_BYTES`] by default).
    pub chunk_bytes: u64,
}

/// What [`Inputs`] borrow, loaded from the config: the costs file and the operation catalogue.
pub struct Context {
    pub costs: Costs,
    pub catalogue: Catalogue,
    pub tz: Tz,
    pub tax: Tax,
    pub settle_days: u32,
}

impl Context {
    pub fn load(cfg: &crate::config::Config) -> Result<Context, MetricsError> {
        Ok(Context {
            costs: Costs::load(&cfg.costs_file)?,
            catalogue: Catalogue::load(cfg.operations_file.as_deref())?,
            tz: cfg.timezone,
            tax: cfg.tax,
            settle_days: cfg.fetch.settle_days,
        })
    }

    pub fn inputs(&self) -> Inputs<'_> {
        Inputs {
            tz: self.tz,
            costs: &self.costs,
            tax: self.tax,
            catalogue: &self.catalogue,
            today: chrono::Utc::now().with_timezone(&self.tz).date_naive(),
            settle_days: self.settle_days,
            chunk_bytes: marts::CHUNK_BYTES,
        }
    }
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
    refuse_holes(lake, period, accounts)?;
    // The statements check and the days' sums read different datasets (or the same with other
    // keys): run side by side, the one waiting on files while the other computes.
    let (rec, daily) = beside(|| statements_around(lake, inputs, period), || daily(lake, inputs, period, accounts))?;
    let (rec, daily) = (rec?, daily?);
    lap("statements checked and days summed");
    from_labels(lake, inputs, daily.as_ref(), period, grain, &rec)
}

/// `a` on a thread of its own while `b` runs here: two queries of the stage side by side, each
/// computing while the other waits on its files.
pub(crate) fn beside<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> Result<(A, B), MetricsError> {
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(a);
        let b = b();
        (a.join(), b)
    });
    let a = a.map_err(|_| MetricsError::Polars(polars_err!(ComputeError: "a metrics query panicked")))?;
    Ok((a, b))
}

/// A debug line with the process's peak memory so far: `-vv` shows which step of the stage
/// holds the most.
pub(crate) fn lap(what: &str) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status.lines().find_map(|l| l.strip_prefix(key)?.split_whitespace().next()?.parse::<u64>().ok())
        };
        tracing::debug!(
            rss_mib = kib("VmRSS:").map(|k| k / 1024),
            peak_mib = kib("VmHWM:").map(|k| k / 1024),
            "metrics: {what}"
        );
    }
}

/// A period with a known hole is not reported: its numbers would be short without saying so.
fn refuse_holes(lake: &Lake, period: &Period, accounts: Option<&[String]>) -> Result<(), MetricsError> {
    let (first, last) = (period.from.format("%Y-%m").to_string(), period.to.format("%Y-%m").to_string());
    let holes: Vec<_> = lake
        .holes()
        .into_iter()
        .filter(|h| h.month >= first && h.month <= last)
        .filter(|h| accounts.is_none_or(|a| a.contains(&h.account)))
        .collect();
    if holes.is_empty() {
        return Ok(());
    }
    Err(MetricsError::Holes { from: period.from, to: period.to, holes })
}

/// Every marketplace statement that can overlap `period` (statements are at most a few weeks
/// long), checked against the lake.
pub fn statements_around(
    lake: &Lake,
    inputs: &Inputs<'_>,
    period: &Period,
) -> Result<reconcile::Reconciliation, MetricsError> {
    let margin = chrono::Duration::days(35);
    reconcile::reconcile(lake, inputs.catalogue, period.from - margin, period.to + margin)
}

/// [`by_sku`] with the statements already checked (`rec` must cover the period).
pub fn by_sku_reconciled(
    lake: &Lake,
    inputs: &Inputs<'_>,
    period: &Period,
    grain: Grain,
    accounts: Option<&[String]>,
    rec: &reconcile::Reconciliation,
) -> Result<DataFrame, MetricsError> {
    refuse_holes(lake, period, accounts)?;
    let daily = daily(lake, inputs, period, accounts)?;
    lap("days summed");
    from_labels(lake, inputs, daily.as_ref(), period, grain, rec)
}

/// [`from_daily`] with the labels its SKUs need.
fn from_labels(
    lake: &Lake,
    inputs: &Inputs<'_>,
    daily: Option<&DataFrame>,
    period: &Period,
    grain: Grain,
    rec: &reconcile::Reconciliation,
) -> Result<DataFrame, MetricsError> {
    let mut labels = labels::Labels::load(lake)?;
    labels.cover(lake, daily)?;
    let out = from_daily(&labels, inputs, daily, period, grain, rec);
    lap("periods and labels");
    out
}

/// The part of the stage no grain changes: every event of `period` summed per day × account ×
/// marketplace × SKU, with COGS (costs change by the day, so COGS is exact per day and sums up
/// from there). None when the lake holds no events. The marts compute it once for all grains.
pub(crate) fn daily(
    lake: &Lake,
    inputs: &Inputs<'_>,
    period: &Period,
    accounts: Option<&[String]>,
) -> Result<Option<DataFrame>, MetricsError> {
    let scope = Scope { tz: inputs.tz, from: period.from, to: period.to, accounts };
    let Some(ev) = events::events(lake, &scope, inputs.catalogue)? else {
        return Ok(None);
    };
    let mut daily = ev.group_by(KEYS.map(col)).agg(event_sums()).streamed()?;
    profit::add_cogs(&mut daily, inputs.costs)?;
    Ok(Some(daily))
}

/// Day × SKU rows up to which [`from_daily`] runs on the in-memory engine (a medium seller's
/// month is ~2 000 of them, its 3 years 77 000).
const IN_MEMORY_DAYS: usize = 100_000;

/// The SKU mart rows of `period` at `grain` from [`daily`] rows covering at least that period.
pub(crate) fn from_daily(
    labels: &labels::Labels,
    inputs: &Inputs<'_>,
    daily: Option<&DataFrame>,
    period: &Period,
    grain: Grain,
    rec: &reconcile::Reconciliation,
) -> Result<DataFrame, MetricsError> {
    let Some(daily) = daily else { return empty_sku_frame() };
    // A nightly's few weeks of days are done sooner in memory than the streaming engine starts;
    // a larger span (a large seller's months) streams, so that the stage's memory does not hold
    // copies of it.
    let engine = if daily.height() <= IN_MEMORY_DAYS { Engine::InMemory } else { Engine::Streaming };
    let daily = daily.clone().lazy().filter(col("day").gt_eq(lit(period.from)).and(col("day").lt_eq(lit(period.to))));
    let start = match grain {
        Grain::Day => col("day"),
        Grain::Week => col("day").dt().truncate(lit("1w")),
        Grain::Month => col("day").dt().truncate(lit("1mo")),
    };
    let mut grouped = daily
        .with_column(start.alias("period_from"))
        .group_by([col("period_from"), col("account"), col("marketplace"), col("sku")])
        .agg(additive());
    // The article: the catalogue's as last seen, else the last order's or posting's ever loaded
    // (a card since deleted), so a day with money only still has its article.
    grouped = match &labels.products {
        Some(products) => grouped.join(
            products.clone().lazy(),
            [col("marketplace"), col("sku")],
            [col("marketplace"), col("sku")],
            JoinArgs::new(JoinType::Left),
        ),
        None => grouped.with_columns(
            ["article", "product_name", "brand", "category"].map(|c| lit(NULL).cast(DataType::String).alias(c)),
        ),
    };
    grouped = match &labels.ordered {
        Some(ordered) => grouped
            .join(
                ordered.clone().lazy(),
                [col("marketplace"), col("sku")],
                [col("marketplace"), col("sku")],
                JoinArgs::new(JoinType::Left),
            )
            .with_column(col("article").fill_null(col("seller_sku")).alias("seller_sku")),
        None => grouped.with_column(col("article").alias("seller_sku")),
    };
    let mut df = derive(grouped, &inputs.tax, engine)?;
    add_status(&mut df, inputs, grain, rec)?;
    let out = df
        .lazy()
        .select(SKU_COLUMNS.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .sort(["period_from", "marketplace", "account", "sku"], SortMultipleOptions::default().with_nulls_last(true))
        .collect()?;
    Ok(out)
}

/// Adds `period_to`, `reconciled` (every marketplace statement overlapping the period agreed with
/// our rows; null when none was checked) and `complete` (the period ended `settle_days` ago, so
/// the marketplaces' late reports and accruals are in).
fn add_status(
    df: &mut DataFrame,
    inputs: &Inputs<'_>,
    grain: Grain,
    rec: &reconcile::Reconciliation,
) -> Result<(), MetricsError> {
    let from: Vec<NaiveDate> =
        df.column("period_from")?.date()?.as_date_iter().map(|d| d.unwrap_or_default()).collect();
    let account: Vec<Option<&str>> = df.column("account")?.str()?.iter().collect();
    let mp: Vec<Option<&str>> = df.column("marketplace")?.str()?.iter().collect();
    let to: Vec<NaiveDate> = from.iter().map(|d| grain.end(*d)).collect();
    let settled = inputs.today - chrono::Duration::days(i64::from(inputs.settle_days));
    let reconciled: Vec<Option<bool>> = (0..df.height())
        .map(|i| rec.covers(account[i].unwrap_or_default(), mp[i].unwrap_or_default(), from[i], to[i]))
        .collect();
    let complete: Vec<bool> = to.iter().map(|t| *t <= settled).collect();
    let epoch = crate::clock::EPOCH;
    let days: Vec<i32> = to.iter().map(|d| (*d - epoch).num_days() as i32).collect();
    df.with_column(Column::from(Int32Chunked::from_vec("period_to".into(), days).into_date().into_series()))?;
    df.with_column(Column::new("reconciled".into(), reconciled))?;
    df.with_column(Column::new("complete".into(), complete))?;
    Ok(())
}
