//! `mpetl bench`: builds a large seller's lake through the real pipeline (sandbox over HTTP),
//! then times the metrics stage in a child process (so its peak memory is its own) and the same
//! aggregation in DuckDB over the same Parquet files, as a reference.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::dataset::Dataset;
use crate::demo;
use crate::events::Events;
use crate::lake::Lake;
use crate::metrics::{self, Count, Grain, Money};
use mpetl_sandbox::ProfileName;

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

/// What building the lake measured.
#[derive(Debug)]
pub struct Build {
    pub report: crate::pipeline::RunReport,
    pub seconds: f64,
    /// This process's peak: the pipeline alone (the sandbox is another process).
    pub pipeline_peak_mib: f64,
    pub sandbox_peak_mib: f64,
}

/// `mpetl sandbox` as a child process, so that the pipeline's memory is measured alone; killed
/// when dropped.
struct SandboxChild {
    child: std::process::Child,
    base_url: String,
}

impl SandboxChild {
    /// Starts it and waits for the line that says where it listens (after it generated its data).
    async fn start(exe: &Path, profile: ProfileName, page_cap: usize) -> Result<SandboxChild, BenchError> {
        use std::io::BufRead;
        let other = |e: std::io::Error| BenchError::Other(format!("the sandbox child: {e}"));
        let mut child = Command::new(exe)
            .args(["sandbox", "--profile", &format!("{profile:?}").to_lowercase(), "--page-cap", &page_cap.to_string()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(other)?;
        let stdout = child.stdout.take().ok_or_else(|| BenchError::Other("the sandbox child has no stdout".into()))?;
        let mut guard = SandboxChild { child, base_url: String::new() };
        let line = tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line).map(|_| line);
            // The rest of what it prints is drained: a closed pipe would kill it at its next line.
            std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
            read
        })
        .await
        .map_err(|e| BenchError::Other(e.to_string()))?
        .map_err(other)?;
        guard.base_url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .ok_or_else(|| BenchError::Other(format!("the sandbox child said {line:?}, not where it listens")))?
            .to_string();
        Ok(guard)
    }

    fn peak_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        peak_in(&status)
    }
}

impl Drop for SandboxChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Stage 1: the lake of a `profile` seller over `days`, fetched from `mpetl sandbox` run as a
/// child of `exe`, with the marts of every grain, as the demo writes them.
pub async fn build(exe: &Path, data_dir: &Path, profile: ProfileName, days: i64) -> Result<Build, BenchError> {
    let sandbox = SandboxChild::start(exe, profile, 80_000).await?;
    let cfg = demo::sandbox_config(&sandbox.base_url, data_dir.to_path_buf(), 1_000_000, 80_000);
    let costs = crate::http::client(std::time::Duration::from_secs(60))
        .get(format!("{}/__sandbox/costs.csv", sandbox.base_url))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| BenchError::Other(format!("the sandbox's costs: {}", e.without_url())))?
        .bytes()
        .await
        .map_err(|e| BenchError::Other(format!("the sandbox's costs: {}", e.without_url())))?;
    crate::lake::write_file_atomically(&cfg.costs_file, &costs).map_err(|e| BenchError::Other(e.to_string()))?;
    let today = chrono::Utc::now().with_timezone(&cfg.timezone).date_naive();
    let period =
        crate::pipeline::plan::Period::new(today - chrono::Duration::days(days), today - chrono::Duration::days(1))
            .map_err(crate::pipeline::RunError::from)?;
    let t = Instant::now();
    let runner = crate::pipeline::Runner::open(cfg, Events::none())?;
    let report = runner
        .backfill(&crate::pipeline::BackfillRequest {
            grains: vec![Grain::Day, Grain::Week, Grain::Month],
            ..crate::pipeline::BackfillRequest::new(period)
        })
        .await?;
    let seconds = t.elapsed().as_secs_f64();
    Ok(Build { report, seconds, pipeline_peak_mib: own_peak_mib(), sandbox_peak_mib: sandbox.peak_mib() })
}

/// What the child process measured.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MetricsTiming {
    pub seconds: f64,
    pub sku_rows: usize,
    pub revenue_kop: i128,
    pub orders: i64,
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
    let rows = metrics::rows(&sku)?;
    Ok(MetricsTiming {
        seconds,
        sku_rows: sku.height(),
        revenue_kop: rows.iter().filter_map(|r| r.money(Money::Revenue)).sum(),
        orders: rows.iter().filter_map(|r| r.count(Count::Orders)).sum(),
        peak_rss_mib: own_peak_mib(),
    })
}

/// This process's peak resident memory (`VmHWM`), in MiB. It belongs to the address space, so a
/// child started by exec reports its own. (`RUSAGE_CHILDREN`'s `ru_maxrss`, used before, carries
/// the parent's resident size at fork across the exec: the metrics child "peaked" at whatever the
/// parent, sandbox and all, held when it started it.)
pub fn own_peak_mib() -> f64 {
    peak_in(&std::fs::read_to_string("/proc/self/status").unwrap_or_default())
}

/// `VmHWM` of a `/proc/<pid>/status` text, in MiB.
fn peak_in(status: &str) -> f64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// The same per-day × SKU aggregation of the lake, in DuckDB SQL (every event source, the
/// same filters; WB's sale operations from the operation catalogue). Prints `seconds rows
/// revenue_kop orders`.
const DUCKDB: &str = r#"
import sys, time, duckdb
lake, d_from, d_to, sale_ops = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
def scan(ds): return f"read_parquet('{lake}/{ds}/*/*/part-0.parquet', hive_partitioning = true)"
msk = lambda c: f"CAST(timezone('Europe/Moscow', {c}) AS DATE)"
q = f"""
WITH ev AS (
  SELECT account, 'wb' AS mp, {msk('date')} AS day, CAST(nm_id AS VARCHAR) AS sku, 1 AS orders,
         price_with_disc AS orders_value, CAST(is_cancel AS BIGINT) AS cancellations FROM {scan('wb_orders')}
  UNION ALL BY NAME
  SELECT account, 'wb' AS mp, {msk('date')} AS day, CAST(nm_id AS VARCHAR) AS sku,
         CAST(NOT is_return AS BIGINT) AS buyouts, CAST(is_return AS BIGINT) AS returns,
         CASE WHEN is_return THEN 0 ELSE price_with_disc END AS buyouts_value,
         CASE WHEN is_return THEN price_with_disc ELSE 0 END AS returns_value FROM {scan('wb_sales')}
  UNION ALL BY NAME
  SELECT account, 'wb' AS mp, rr_date AS day, CAST(nm_id AS VARCHAR) AS sku,
         CASE WHEN sale_op AND doc_type_name = 'Продажа' THEN quantity ELSE 0 END AS units_sold,
         CASE WHEN sale_op AND doc_type_name = 'Возврат' THEN quantity ELSE 0 END AS units_returned,
         CASE WHEN NOT sale_op THEN 0 WHEN doc_type_name = 'Возврат' THEN -retail_price_with_disc ELSE retail_price_with_disc END AS revenue,
         CASE WHEN NOT sale_op THEN 0 WHEN doc_type_name = 'Возврат' THEN for_pay - retail_price_with_disc ELSE retail_price_with_disc - for_pay END AS commission,
         delivery_service AS logistics, paid_storage AS storage, paid_acceptance AS acceptance,
         penalty AS penalties, deduction AS other_deductions, additional_payment AS additional_payments
  FROM (SELECT *, lower(replace(trim(seller_oper_name), 'ё', 'е')) IN ({sale_ops}) AS sale_op FROM {scan('wb_finance')})
  UNION ALL BY NAME
  SELECT account, 'wb' AS mp, date AS day, CAST(nm_id AS VARCHAR) AS sku, sum AS ad_spend FROM {scan('wb_ad_stats')}
  UNION ALL BY NAME
  SELECT account, 'ozon' AS mp, {msk('in_process_at')} AS day, CAST(sku AS VARCHAR) AS sku, quantity AS orders,
         price * quantity AS orders_value,
         CASE WHEN status = 'cancelled' THEN quantity ELSE 0 END AS cancellations,
         CASE WHEN status = 'delivered' THEN quantity ELSE 0 END AS buyouts,
         CASE WHEN status = 'delivered' THEN price * quantity ELSE 0 END AS buyouts_value
  FROM read_parquet(['{lake}/ozon_fbo/*/*/part-0.parquet', '{lake}/ozon_fbs/*/*/part-0.parquet'], hive_partitioning = true)
  UNION ALL BY NAME
  SELECT account, 'ozon' AS mp, date AS day, CAST(sku AS VARCHAR) AS sku,
         CASE WHEN kind = 'sale_price' AND direction > 0 THEN quantity ELSE 0 END AS units_sold,
         CASE WHEN kind = 'sale_price' AND direction < 0 THEN quantity ELSE 0 END AS units_returned,
         CASE WHEN kind IN ('sale_price', 'bonus', 'coinvestment') THEN amount ELSE 0 END AS revenue,
         CASE WHEN kind = 'sale_commission' THEN -amount ELSE 0 END AS commission,
         CASE WHEN kind IN ('service', 'item_fee', 'non_item_fee', 'container_fee') THEN -amount ELSE 0 END AS logistics
  FROM {scan('ozon_accruals')}
)
SELECT day, account, mp, sku, sum(orders) AS orders, sum(orders_value) AS orders_value, sum(cancellations) AS cancellations,
       sum(buyouts) AS buyouts, sum(returns) AS returns, sum(buyouts_value) AS buyouts_value, sum(returns_value) AS returns_value,
       sum(units_sold) AS units_sold, sum(units_returned) AS units_returned, sum(revenue) AS revenue, sum(commission) AS commission,
       sum(logistics) AS logistics, sum(storage) AS storage, sum(acceptance) AS acceptance, sum(penalties) AS penalties,
       sum(other_deductions) AS other_deductions, sum(additional_payments) AS additional_payments, sum(ad_spend) AS ad_spend
FROM ev WHERE day BETWEEN DATE '{d_from}' AND DATE '{d_to}' GROUP BY ALL
"""
con = duckdb.connect()
# A query over 2 s draws a progress bar on stdout, where the numbers are read from.
con.execute("SET enable_progress_bar = false")
t = time.perf_counter()
rows = con.sql(q).fetchall()
s = time.perf_counter() - t
rev = sum(r[13] or 0 for r in rows)
orders = sum(r[4] or 0 for r in rows)
print(s, len(rows), int(rev * 100), orders)
"#;

#[derive(Debug, Clone)]
pub struct DuckTiming {
    pub seconds: f64,
    pub rows: usize,
    pub revenue_kop: i128,
    pub orders: i64,
}

/// Runs the DuckDB reference; `Ok(None)` when python3 with duckdb is not installed.
pub fn time_duckdb(lake: &Path, period: &crate::pipeline::plan::Period) -> Result<Option<DuckTiming>, BenchError> {
    let sale_ops = metrics::Catalogue::builtin()
        .wb_names(metrics::catalogue::WbCategory::Sale)
        .iter()
        .map(|n| format!("'{}'", n.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ");
    let out = Command::new("python3")
        .args(["-c", DUCKDB, &lake.display().to_string(), &period.from.to_string(), &period.to.to_string(), &sale_ops])
        .output();
    let Ok(out) = out else { return Ok(None) };
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("No module named 'duckdb'") {
            return Ok(None);
        }
        return Err(BenchError::Other(format!("the DuckDB reference failed: {stderr}")));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text.split_whitespace().collect();
    let parse = || -> Option<DuckTiming> {
        Some(DuckTiming {
            seconds: f.first()?.parse().ok()?,
            rows: f.get(1)?.parse().ok()?,
            revenue_kop: f.get(2)?.parse().ok()?,
            orders: f.get(3)?.parse().ok()?,
        })
    };
    parse().map(Some).ok_or_else(|| BenchError::Other(format!("unexpected DuckDB output: {text}")))
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

/// What `bench --limits` measured.
#[derive(Debug, Clone)]
pub struct LimitsReport {
    pub wall: std::time::Duration,
    pub lower_bound: std::time::Duration,
    pub longest_bucket: &'static str,
    /// (endpoint path, requests made, the least the data needs, what the old bot's fixed
    /// 31/30-day chunking needs for the same data — None where it did not fetch it at all).
    pub requests: Vec<(String, u64, u64, Option<u64>)>,
    /// The old bot's requests under the same limits: the least wall time they take.
    pub old_lower_bound: std::time::Duration,
    pub violations: u64,
    pub rows: u64,
}

/// A year against the sandbox with the real limits enforced (time-scaled): wall time against the
/// limits' lower bound, and requests per endpoint against the least the data needs.
pub async fn limits(profile: ProfileName, days: i64, scale: u32) -> Result<LimitsReport, BenchError> {
    use mpetl_sandbox::{Sandbox, SandboxConfig};
    let sandbox = Sandbox::start(SandboxConfig { profile, enforce_limits: Some(scale), ..Default::default() })
        .await
        .map_err(|e| BenchError::Other(e.to_string()))?;
    let dir = std::env::temp_dir().join(format!("mpetl-bench-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = demo::sandbox_config(&sandbox.base_url, dir.clone(), scale, 80_000);
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(&cfg.costs_file, sandbox.data().finance.costs_csv()))
        .map_err(|e| BenchError::Other(e.to_string()))?;
    let today = chrono::Utc::now().with_timezone(&cfg.timezone).date_naive();
    let period =
        crate::pipeline::plan::Period::new(today - chrono::Duration::days(days), today - chrono::Duration::days(1))
            .map_err(crate::pipeline::RunError::from)?;
    let runner = crate::pipeline::Runner::open(cfg.clone(), Events::none())?;
    let store = crate::state::EmbeddedStore::open(&dir.join("bound-state")).map_err(crate::pipeline::RunError::from)?;
    let plan = crate::pipeline::plan::plan(
        &cfg,
        &store,
        &crate::pipeline::plan::PlanRequest {
            period,
            accounts: cfg.accounts.iter().collect(),
            sources: vec![crate::dataset::Marketplace::Wb, crate::dataset::Marketplace::Ozon],
            refresh: false,
            now: chrono::Utc::now(),
            since: Default::default(),
        },
    )
    .map_err(crate::pipeline::RunError::from)?;
    let costs = crate::pipeline::plan::cost(&plan, &cfg);
    let longest =
        costs.iter().max_by_key(|c| c.lower_bound).cloned().ok_or_else(|| BenchError::Other("empty plan".into()))?;
    let t = Instant::now();
    let report = runner
        .backfill(&crate::pipeline::BackfillRequest { grains: vec![], ..crate::pipeline::BackfillRequest::new(period) })
        .await?;
    let wall = t.elapsed();
    let d = sandbox.data();
    // The least each endpoint could have been asked, given the rows it had to hand over.
    let per_month = |dates: Vec<chrono::NaiveDate>, cap: u64| {
        let mut m: std::collections::BTreeMap<(i32, u32), u64> = Default::default();
        for x in dates {
            use chrono::Datelike;
            *m.entry((x.year(), x.month())).or_default() += 1;
        }
        m.values().map(|n| n.div_ceil(cap)).sum::<u64>()
    };
    let in_period = |x: chrono::NaiveDate| x >= period.from && x <= period.to;
    let postings = |schema: mpetl_sandbox::data::OzonSchema| {
        per_month(
            d.ozon_postings
                .iter()
                .filter(|p| p.schema == schema)
                .map(|p| p.in_process_at.date_naive())
                .filter(|x| in_period(*x))
                .collect(),
            100,
        )
    };
    let minimum = |path: &str| -> u64 {
        match path {
            "/api/v1/supplier/orders" => (d.wb_orders.len() as u64).div_ceil(80_000),
            "/api/v1/supplier/sales" => (d.wb_sales.len() as u64).div_ceil(80_000),
            "/api/finance/v1/sales-reports/detailed" => {
                per_month(d.finance.wb_rows.iter().map(|r| r.rr_date).filter(|x| in_period(*x)).collect(), 100_000)
            }
            "/v3/posting/fbo/list" => postings(mpetl_sandbox::data::OzonSchema::Fbo),
            "/v4/posting/fbs/list" => postings(mpetl_sandbox::data::OzonSchema::Fbs),
            "/v1/finance/accrual/by-day" => {
                let mut days: std::collections::BTreeMap<chrono::NaiveDate, u64> = Default::default();
                for a in d.finance.accruals.iter().filter(|a| in_period(a.date)) {
                    *days.entry(a.date).or_default() += 1;
                }
                days.values().map(|n| n.div_ceil(1000)).sum()
            }
            // 31 days per call at most (and 50 campaigns for fullstats).
            "/adv/v3/fullstats" => {
                ((period.to - period.from).num_days() as u64 + 1).div_ceil(31)
                    * (d.finance.campaigns.len() as u64).div_ceil(50).max(1)
            }
            "/adv/v1/upd" => ((period.to - period.from).num_days() as u64 + 1).div_ceil(31),
            _ => 1,
        }
    };
    // The bot mpetl replaces cut the period into fixed 31-day chunks (30 for FBS) and, for WB
    // statistics, read each chunk as "everything changed since its first day": every chunk
    // re-reads all later data (the overlap that double counted). A model, from the same data.
    let chunks = |len: i64| {
        let mut out = Vec::new();
        let mut s = period.from;
        while s <= period.to {
            let e = (s + chrono::Duration::days(len - 1)).min(period.to);
            out.push((s, e));
            s = e + chrono::Duration::days(1);
        }
        out
    };
    let since =
        |rows: &[chrono::NaiveDateTime], s: chrono::NaiveDate| rows.iter().filter(|t| t.date() >= s).count() as u64;
    let orders: Vec<chrono::NaiveDateTime> = d.wb_orders.iter().map(|o| o.last_change.at).collect();
    let sales: Vec<chrono::NaiveDateTime> = d.wb_sales.iter().map(|o| o.last_change.at).collect();
    let stream = |rows: &[chrono::NaiveDateTime]| {
        chunks(31).iter().map(|(s, _)| since(rows, *s).div_ceil(80_000) + 1).sum::<u64>()
    };
    let windowed = |dates: Vec<chrono::NaiveDate>, len: i64, cap: u64| {
        chunks(len)
            .iter()
            .map(|(s, e)| (dates.iter().filter(|x| *x >= s && *x <= e).count() as u64).div_ceil(cap).max(1))
            .sum::<u64>()
    };
    let posting_days = |schema: mpetl_sandbox::data::OzonSchema| {
        d.ozon_postings.iter().filter(|p| p.schema == schema).map(|p| p.in_process_at.date_naive()).collect::<Vec<_>>()
    };
    let old_bot = |path: &str| -> Option<u64> {
        match path {
            "/api/v1/supplier/orders" => Some(stream(&orders)),
            "/api/v1/supplier/sales" => Some(stream(&sales)),
            // A page per 100 000 rows and the closing 204, per chunk.
            "/api/finance/v1/sales-reports/detailed" => Some(
                windowed(d.finance.wb_rows.iter().map(|r| r.rr_date).collect(), 31, 100_000) + chunks(31).len() as u64,
            ),
            "/v3/posting/fbo/list" => Some(windowed(posting_days(mpetl_sandbox::data::OzonSchema::Fbo), 31, 100)),
            "/v4/posting/fbs/list" => Some(windowed(posting_days(mpetl_sandbox::data::OzonSchema::Fbs), 30, 100)),
            _ => None, // ads were never fetched (spend was always 0); accruals did not exist
        }
    };
    let requests: Vec<(String, u64, u64, Option<u64>)> =
        sandbox.requests().into_iter().map(|(p, n)| (p.clone(), n, minimum(&p), old_bot(&p))).collect();
    use crate::sources::{ozon::client as oz, wb::client as wb};
    let bound = |n: u64, q: crate::http::Quota| (q.period / scale.max(1)) * n.saturating_sub(u64::from(q.burst)) as u32;
    let old = |p: &str| requests.iter().find(|r| r.0 == p).and_then(|r| r.3).unwrap_or(0);
    let old_lower_bound = [
        bound(old("/api/v1/supplier/orders"), wb::ORDERS_QUOTA),
        bound(old("/api/v1/supplier/sales"), wb::SALES_QUOTA),
        bound(old("/api/finance/v1/sales-reports/detailed"), wb::FINANCE_QUOTA),
        bound(old("/v3/posting/fbo/list") + old("/v4/posting/fbs/list"), oz::SELLER_QUOTA),
    ]
    .into_iter()
    .max()
    .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    Ok(LimitsReport {
        wall,
        lower_bound: longest.lower_bound,
        longest_bucket: longest.bucket,
        requests,
        old_lower_bound,
        violations: sandbox.violations().values().sum(),
        rows: report.rows_fetched,
    })
}
