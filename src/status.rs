//! What `mpetl status` and `mpetl cache` show: runs with their progress, per-chunk detail, cache
//! entries and hit ratios per dataset, and cache invalidation.

use std::fmt::Write;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::dataset::Dataset;
use crate::events::Stage;
use crate::lake::Lake;
use crate::state::{ChunkRecord, RunRecord, RunStatus, StateError, StateStore};

/// A run as a reader should see it: the record plus what follows from it now.
#[derive(Debug, Serialize)]
pub struct RunView {
    #[serde(flatten)]
    pub record: RunRecord,
    /// `running` with a stopped heartbeat reads `interrupted`.
    pub effective_status: RunStatus,
    pub chunks_done: u64,
    pub chunks_total: u64,
    pub eta_secs: Option<i64>,
}

impl RunView {
    /// `stale_after`: a heartbeat older than this means the process is gone.
    pub fn new(record: RunRecord, now: DateTime<Utc>, stale_after: chrono::Duration) -> RunView {
        let (chunks_done, chunks_total) = record.progress.chunks();
        let effective_status = record.effective_status(now, stale_after);
        let eta_secs = (effective_status == RunStatus::Running)
            .then(|| record.progress.eta(now).map(|d| d.num_seconds()))
            .flatten();
        RunView { record, effective_status, chunks_done, chunks_total, eta_secs }
    }

    /// The stage a running run is in: the first one not finished.
    pub fn stage(&self) -> &str {
        if self.effective_status != RunStatus::Running {
            return self.effective_status.name();
        }
        Stage::ALL
            .iter()
            .zip(&self.record.progress.stages)
            .find(|(_, s)| !s.finished)
            .map_or("finishing", |(st, _)| st.title())
    }
}

pub fn runs_table(runs: &[RunView]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        return "No runs recorded yet.\n".into();
    }
    let _ = writeln!(
        out,
        "{:<23} {:<11} {:<12} {:<23} {:>11} {:>10} {:>6} {:>8}",
        "run", "kind", "stage", "period", "chunks", "rows", "errors", "eta"
    );
    for v in runs {
        let r = &v.record;
        let eta = v.eta_secs.map_or_else(|| "—".into(), |s| format!("{s} s"));
        let _ = writeln!(
            out,
            "{:<23} {:<11} {:<12} {:<23} {:>11} {:>10} {:>6} {:>8}",
            r.id,
            r.kind,
            v.stage(),
            format!("{}..{}", r.from, r.to),
            format!("{}/{}", v.chunks_done, v.chunks_total),
            r.progress.rows(),
            r.progress.errors,
            eta
        );
    }
    out
}

pub fn run_detail(v: &RunView, chunks: &[(String, Option<ChunkRecord>)]) -> String {
    let r = &v.record;
    let mut out = String::new();
    let _ = writeln!(out, "run {} ({}), {}", r.id, r.kind, v.effective_status.name());
    let _ = writeln!(
        out,
        "  period {}..{}, accounts {}, sources {}",
        r.from,
        r.to,
        r.accounts.join(","),
        r.sources.join(",")
    );
    let _ = writeln!(
        out,
        "  started {}, last heartbeat {}, attempt {}, holder {}",
        r.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.updated_at.format("%Y-%m-%d %H:%M:%S UTC"),
        r.attempts,
        r.holder
    );
    for s in &r.progress.stages {
        let _ = writeln!(
            out,
            "  {:<12} {:>4}/{:<4} chunks, {} cached, {} failed, {} rows, {} requests",
            s.stage, s.done, s.total, s.cached, s.failed, s.rows, s.requests
        );
    }
    let _ = writeln!(out, "  retries {}, errors {}", r.progress.retries, r.progress.errors);
    if let Some(e) = &r.error {
        let _ = writeln!(out, "  error: {e}");
    }
    let _ = writeln!(out, "\n  {:<36} {:<8} {:>9} {:>9}  updated / error", "chunk", "state", "rows", "requests");
    for (id, c) in chunks {
        match c {
            None => {
                let _ = writeln!(out, "  {id:<36} {:<8}", "pending");
            }
            Some(c) => {
                let state =
                    serde_json::to_value(c.state).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
                let tail = c.error.clone().unwrap_or_else(|| c.updated_at.format("%Y-%m-%d %H:%M:%S").to_string());
                let _ = writeln!(out, "  {id:<36} {state:<8} {:>9} {:>9}  {tail}", c.rows, c.requests);
            }
        }
    }
    out
}

/// The chunk cache of one dataset.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct DatasetCache {
    pub dataset: String,
    /// Chunk records kept.
    pub entries: u64,
    /// Of them, done (served from the cache while fresh).
    pub done: u64,
    /// Done and settled: cached for good.
    pub closed: u64,
    /// Rows the done chunks fetched.
    pub rows: u64,
    pub hits: u64,
    pub misses: u64,
    pub hit_ratio: Option<f64>,
    /// Parquet bytes of the dataset and the datasets its chunks also fill.
    pub lake_bytes: u64,
}

pub fn cache_stats(store: &dyn StateStore, lake: &Lake) -> Result<Vec<DatasetCache>, StateError> {
    let counters = store.cache_counters()?;
    let records = store.chunks(None)?;
    let mut out = Vec::new();
    for ds in Dataset::ALL.into_iter().filter(|d| d.chunk_dataset() == *d) {
        let mut c = DatasetCache { dataset: ds.name().into(), ..Default::default() };
        // A span's record is what one fetch did; the cache is its months' records.
        for r in records.iter().filter(|r| r.dataset == ds.name() && !crate::pipeline::plan::is_span(&r.id)) {
            c.entries += 1;
            if r.state == crate::state::ChunkState::Done {
                c.done += 1;
                c.rows += r.rows;
                c.closed += u64::from(r.closed);
            }
        }
        let k = counters.get(ds.name()).copied().unwrap_or_default();
        (c.hits, c.misses) = (k.hits, k.misses);
        c.hit_ratio = (k.hits + k.misses > 0).then(|| k.hits as f64 / (k.hits + k.misses) as f64);
        c.lake_bytes = Dataset::ALL
            .into_iter()
            .filter(|d| d.chunk_dataset() == ds)
            .flat_map(|d| lake.partition_files(d))
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        out.push(c);
    }
    Ok(out)
}

pub fn cache_table(stats: &[DatasetCache]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>8} {:>6} {:>7} {:>10} {:>7} {:>7} {:>9} {:>12}",
        "dataset", "entries", "done", "closed", "rows", "hits", "misses", "hit ratio", "lake bytes"
    );
    for c in stats {
        let ratio = c.hit_ratio.map_or_else(|| "—".into(), |r| format!("{:.1} %", r * 100.0));
        let _ = writeln!(
            out,
            "{:<16} {:>8} {:>6} {:>7} {:>10} {:>7} {:>7} {:>9} {:>12}",
            c.dataset, c.entries, c.done, c.closed, c.rows, c.hits, c.misses, ratio, c.lake_bytes
        );
    }
    out
}

/// What to drop from the chunk cache; `None` fields select everything.
#[derive(Debug, Default, Clone)]
pub struct Invalidate {
    pub dataset: Option<Dataset>,
    pub account: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Drops the selected chunk records so the next run fetches them again. WB statistics streams
/// have no date range (they read every change since a cursor): a selected stream is reset whole,
/// and the next run re-reads its whole period. The lake is untouched: re-fetched rows upsert.
pub fn invalidate(store: &dyn StateStore, sel: &Invalidate) -> Result<Vec<String>, StateError> {
    let ds = sel.dataset.map(Dataset::chunk_dataset);
    let mut dropped = Vec::new();
    for r in store.chunks(ds.map(Dataset::name))? {
        if sel.account.as_ref().is_some_and(|a| *a != r.account) {
            continue;
        }
        let overlaps = match (r.from, r.to) {
            (Some(f), Some(t)) => sel.from.is_none_or(|x| t >= x) && sel.to.is_none_or(|x| f <= x),
            _ => true,
        };
        if !overlaps {
            continue;
        }
        // A span's record only keeps its fetch's page cursor: dropped along, not counted.
        if crate::pipeline::plan::is_span(&r.id) {
            store.delete_chunk(&r.id)?;
            continue;
        }
        if r.from.is_none() {
            store.delete_stream(&r.id)?;
        }
        store.delete_chunk(&r.id)?;
        dropped.push(r.id);
    }
    dropped.sort();
    Ok(dropped)
}
