//! `mpetl bench`: builds a large seller's lake through the real pipeline (sandbox over HTTP),
//! then times the metrics stage in a child process (so its peak memory is its own) and the same
//! aggregation in DuckDB over the same Parquet files, as a reference.

mod build;
pub mod decode;
mod duckdb;
mod limits;
pub mod sellers;
pub mod truth;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::dataset::Dataset;
use crate::demo;
use crate::lake::Lake;
use crate::metrics::{self, Grain};

pub use build::{Build, build};
pub use duckdb::{DuckTiming, time_duckdb};
pub use limits::{LimitsReport, limits};
pub use sellers::{SellersReport, sellers};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Demo(#[from] demo::DemoError),
    #[error(transparent)]
    Metrics(#[from] metrics::MetricsError),
    #[error(transparent)]
    Run(#[from] crate::pipeline::RunError),
    #[error("bench: {0}")]
    Other(String),
}

/// Rows in the whole lake, counted by a scan.
pub fn lake_rows(lake: &Lake) -> Result<u64, BenchError> {
    let mut n = 0u64;
    for ds in Dataset::ALL {
        let Some(lf) = lake.scan(ds).map_err(|e| BenchError::Other(e.to_string()))? else { continue };
        let df = lf.select([polars::prelude::len()]).collect().map_err(|e| BenchError::Other(e.to_string()))?;
        n += df.columns()[0]
            .cast(&polars::prelude::DataType::UInt64)
            .map_err(|e| BenchError::Other(e.to_string()))?
            .u64()
            .map_err(|e| BenchError::Other(e.to_string()))?
            .get(0)
            .unwrap_or(0);
    }
    Ok(n)
}

/// The SKU mart columns whose period totals the DuckDB reference must match: every additive
/// measure of the day rows (COGS and the derived columns are not in the reference).
pub fn checked() -> impl Iterator<Item = &'static str> {
    metrics::COUNTS.iter().chain(metrics::AMOUNTS.iter()).copied()
}

/// What the child process measured.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MetricsTiming {
    pub seconds: f64,
    pub sku_rows: usize,
    /// The period's total of each of [`checked`] (kopecks for money), over the rows that know it.
    pub sums: std::collections::BTreeMap<String, i128>,
    /// The child's own peak resident memory.
    pub peak_rss_mib: f64,
}

/// Stage 2 (run in a child): the metrics stage as `backfill` runs it, by day, over the lake.
pub fn time_metrics(
    cfg: &crate::config::Config,
    period: &crate::pipeline::plan::Period,
) -> Result<MetricsTiming, BenchError> {
    let t = Instant::now();
    let (sku, _totals) = crate::pipeline::compute_metrics(cfg, period, Grain::Day, None)?;
    let seconds = t.elapsed().as_secs_f64();
    // The peak is the stage's: read before the check sums, which are polars sums (turning 256 000
    // result rows into Rust rows cost more memory than the stage itself).
    let peak_rss_mib = own_peak_mib();
    let sum = |name: &str| -> Result<i128, BenchError> {
        let c = sku.column(name).map_err(metrics::MetricsError::from)?;
        Ok(match c.dtype() {
            polars::prelude::DataType::Decimal(..) => {
                c.decimal().map_err(metrics::MetricsError::from)?.physical().iter().flatten().sum()
            }
            _ => c
                .cast(&polars::prelude::DataType::Int64)
                .and_then(|c| Ok(c.i64()?.iter().flatten().map(i128::from).sum()))
                .map_err(metrics::MetricsError::from)?,
        })
    };
    Ok(MetricsTiming {
        seconds,
        sku_rows: sku.height(),
        sums: checked().map(|c| Ok((c.to_string(), sum(c)?))).collect::<Result<_, BenchError>>()?,
        peak_rss_mib,
    })
}

/// This process's user + system CPU time so far, in seconds.
pub(crate) fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) } != 0 {
        return f64::NAN;
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(u.ru_utime) + secs(u.ru_stime)
}

/// This process's peak resident memory (`VmHWM`), in MiB. It belongs to the address space, so a
/// child started by exec reports its own. (`RUSAGE_CHILDREN`'s `ru_maxrss`, used before, carries
/// the parent's resident size at fork across the exec: the metrics child "peaked" at whatever the
/// parent, sandbox and all, held when it started it.)
pub fn own_peak_mib() -> f64 {
    peak_in(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
}

/// `VmHWM` of a `/proc/<pid>/status` text, in MiB.
pub(crate) fn peak_in(status: &str) -> f64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The child process's command line.
pub fn child(exe: &Path, data_dir: &Path, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Command {
    let mut c = Command::new(exe);
    c.args([
        "bench-metrics",
        "--data-dir",
        &data_dir.display().to_string(),
        "--from",
        &from.to_string(),
        "--to",
        &to.to_string(),
    ]);
    c
}

/// The longest bucket of a fresh plan of every account over `period` (a store of its own in
/// `dir`, so nothing counts as cached): a run's lower bound under the limits.
pub(crate) fn longest_bucket(
    cfg: &crate::config::Config,
    dir: &Path,
    period: crate::pipeline::plan::Period,
) -> Result<crate::pipeline::plan::BucketCost, BenchError> {
    use crate::pipeline::{RunError, plan};
    let store = crate::state::EmbeddedStore::open(dir).map_err(RunError::from)?;
    let req = plan::PlanRequest {
        period,
        accounts: cfg.accounts.iter().collect(),
        sources: vec![crate::dataset::Marketplace::Wb, crate::dataset::Marketplace::Ozon],
        refresh: false,
        now: chrono::Utc::now(),
        since: Default::default(),
    };
    let planned = plan::plan(cfg, &store, &req).map_err(RunError::from)?;
    plan::cost(&planned, cfg)
        .into_iter()
        .max_by_key(|c| c.lower_bound)
        .ok_or_else(|| BenchError::Other("the plan is empty".into()))
}
