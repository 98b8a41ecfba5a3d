//! `bench --limits`: a period against the sandbox with the real limits enforced, time-scaled.

use std::time::Instant;

use super::BenchError;
use crate::demo;
use crate::events::Events;
use mpetl_sandbox::ProfileName;

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
    let longest = super::longest_bucket(&cfg, &dir.join("bound-state"), period)?;
    let t = Instant::now();
    let report = runner
        .backfill(&crate::pipeline::BackfillRequest { grains: vec![], ..crate::pipeline::BackfillRequest::new(period) })
        .await?;
    let wall = t.elapsed();
    let d = sandbox.data();
    // The least each endpoint could have been asked, given the rows it had to hand over.
    let minimum = sandbox.minimum_requests(period.from, period.to);
    let minimum = |path: &str| minimum.get(path).copied().unwrap_or(1);
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
