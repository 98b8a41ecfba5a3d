//! `bench --sellers N`: a year of N sellers (mostly small, every twentieth medium) served by one
//! sandbox child with the real limits enforced (time-scaled), backfilled by one pipeline: wall
//! time against the slowest seller's own bound, requests against the least the data needs, peak
//! memory and CPU, and every seller's daily metrics against its ground truth, cell by cell.

use std::path::Path;
use std::time::{Duration, Instant};

use super::build::{SandboxChild, sandbox_get};
use super::truth::{Truth, diff};
use super::{BenchError, own_peak_mib};
use crate::config::{Account, OzonCredentials, WbCredentials};
use crate::events::Events;
use crate::metrics::{self, Grain};
use crate::pipeline::plan::Period;
use crate::pipeline::{BackfillRequest, RunError, Runner};

/// What `bench --sellers` measured.
#[derive(Debug)]
pub struct SellersReport {
    pub sellers: usize,
    pub period: Period,
    pub rows: u64,
    /// Requests to the paged data endpoints, and the least the sellers' data needs of them.
    pub requests: u64,
    pub minimum: u64,
    /// Requests to every other endpoint (lists, catalogue, returns, stocks).
    pub other_requests: u64,
    pub retries: u64,
    pub violations: u64,
    pub wall: Duration,
    /// The longest any one seller's rate limits allow: every seller's buckets are its own, so
    /// this is the run's lower bound.
    pub bound: Duration,
    /// The account and bucket of that bound.
    pub bound_of: String,
    pub pipeline_peak_mib: f64,
    pub sandbox_peak_mib: f64,
    /// This process's user + system CPU time during the run.
    pub cpu_seconds: f64,
    /// Sellers whose daily metrics equal their ground truth in every cell.
    pub exact: usize,
    /// The first differences, `account: …`.
    pub differences: Vec<String>,
}

/// The account id of seller `k`.
pub fn account_id(k: usize) -> String {
    format!("s{k:03}")
}

/// `n` accounts with the sandbox sellers' credentials.
pub fn accounts(n: usize) -> Vec<Account> {
    (0..n)
        .map(|k| {
            let c = mpetl_sandbox::credentials(k);
            Account {
                id: account_id(k),
                name: format!("Sandbox seller {k}"),
                wb: Some(WbCredentials { token: Some(c.wb_token.into()) }),
                ozon: Some(OzonCredentials { client_id: Some(c.ozon_client_id), api_key: Some(c.ozon_api_key.into()) }),
            }
        })
        .collect()
}

/// Runs the benchmark; `data_dir` is emptied by the caller.
pub async fn sellers(
    exe: &Path,
    data_dir: &Path,
    n: usize,
    days: i64,
    scale: u32,
) -> Result<SellersReport, BenchError> {
    let other = |e: &dyn std::fmt::Display| BenchError::Other(e.to_string());
    let args = ["--sellers", &n.to_string(), "--limits", &scale.to_string(), "--page-cap", "80000"];
    let sandbox = SandboxChild::start(exe, &args.map(String::from)).await?;
    let base = sandbox.base_url.clone();
    let mut cfg = crate::demo::sandbox_config(&base, data_dir.to_path_buf(), scale, 80_000);
    cfg.accounts = accounts(n);
    let costs = sandbox_get(&base, "/__sandbox/costs.csv").await?;
    crate::lake::write_file_atomically(&cfg.costs_file, &costs).map_err(|e| other(&e))?;
    let today = chrono::Utc::now().with_timezone(&cfg.timezone).date_naive();
    let period =
        Period::new(today - chrono::Duration::days(days), today - chrono::Duration::days(1)).map_err(RunError::from)?;

    // The bound, from a plan over a store of its own (nothing cached).
    let bound_dir = data_dir.join("bound-state");
    let longest = super::longest_bucket(&cfg, &bound_dir, period)?;
    let _ = std::fs::remove_dir_all(&bound_dir);

    let cpu = super::cpu_seconds();
    let t = Instant::now();
    let runner = Runner::open(cfg.clone(), Events::none())?;
    let report =
        runner.backfill(&BackfillRequest { grains: vec![Grain::Month], ..BackfillRequest::new(period) }).await?;
    let wall = t.elapsed();
    let cpu_seconds = super::cpu_seconds() - cpu;
    let pipeline_peak_mib = own_peak_mib();
    let sandbox_peak_mib = sandbox.peak_mib();

    let stats: serde_json::Value = serde_json::from_slice(
        &sandbox_get(&base, &format!("/__sandbox/stats?from={}&to={}", period.from, period.to)).await?,
    )
    .map_err(|e| other(&e))?;
    let map = |key: &str| stats[key].as_object().cloned().unwrap_or_default();
    let sum = |key: &str| map(key).values().filter_map(|v| v.as_u64()).sum::<u64>();
    let (minimum_by_path, mut requests, mut other_requests) = (map("minimum"), 0, 0);
    for (path, n) in map("requests") {
        let n = n.as_u64().unwrap_or(0);
        if minimum_by_path.contains_key(&path) { requests += n } else { other_requests += n }
    }
    let minimum = sum("minimum");

    let (mut exact, mut differences) = (0, Vec::new());
    for k in 0..n {
        let id = account_id(k);
        let truth: Vec<Truth> = serde_json::from_slice(
            &sandbox_get(&base, &format!("/__sandbox/truth?seller={k}&from={}&to={}", period.from, period.to)).await?,
        )
        .map_err(|e| other(&e))?;
        let (sku, _) = crate::pipeline::compute_metrics(&cfg, &period, Grain::Day, Some(std::slice::from_ref(&id)))?;
        let mut d = diff(&metrics::rows(&sku)?, &truth);
        if truth.is_empty() {
            d.push("the sandbox's truth is empty: nothing was compared".into());
        }
        if d.is_empty() {
            exact += 1;
        }
        differences.extend(d.into_iter().take(3).map(|x| format!("{id}: {x}")));
    }
    differences.truncate(20);
    Ok(SellersReport {
        sellers: n,
        period,
        rows: report.rows_fetched,
        requests,
        minimum,
        other_requests,
        retries: report.retries,
        violations: sum("violations"),
        wall,
        bound: longest.lower_bound,
        bound_of: format!("{} {}", longest.account, longest.bucket),
        pipeline_peak_mib,
        sandbox_peak_mib,
        cpu_seconds,
        exact,
        differences,
    })
}
