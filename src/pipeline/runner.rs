//! The runner: a backfill's stages (plan → fetch WB and Ozon concurrently → marts and
//! reconciliation) over one config, lake and state store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use futures::future::join_all;
use futures::{StreamExt, stream};

use super::cx::ChunkOutcome;
use super::inflight::{Heartbeat, RunCtx};
use super::plan::{Period, PlanRequest, PlannedChunk};
use super::{BackfillRequest, ChunkError, RunError, RunReport, check_request, compute_metrics, plan};
use crate::config::Config;
use crate::dataset::{Dataset, Marketplace};
use crate::events::{Event, Events, Stage};
use crate::http::{Buckets, Net};
use crate::lake::Lake;
use crate::metrics::{self, Grain, MetricsError};
use crate::state::{RunStatus, StateStore};

/// Chunks of one account and dataset in flight at once: two keep its limiter busy while one of
/// them stores what it fetched.
const CHUNKS_PER_LANE: usize = 2;

/// A list fetched once per run (see [`FetchCx::once_per_run`]), of the type its dataset reads.
pub(super) type List = Arc<dyn std::any::Any + Send + Sync>;

/// The run's lists by (account, list name), each filled once.
pub(super) type Lists = std::sync::Mutex<HashMap<(String, &'static str), Arc<tokio::sync::OnceCell<List>>>>;

/// Runs backfills against one config, lake and state store.
pub struct Runner {
    pub(super) cfg: Config,
    pub(super) lake: Lake,
    pub(super) store: Arc<dyn StateStore>,
    pub(super) net: Net,
    pub(super) events: Events,
    /// Lists that do not change within a run, asked once per account instead of once per
    /// chunk, by (account, list name): see [`FetchCx::once_per_run`].
    pub(super) lists: Lists,
    /// Set by a signal: chunks stop at their next page, after storing what they have.
    pub(super) stop: Arc<AtomicBool>,
}

impl Runner {
    /// Opens the state store the config asks for (Redis or embedded).
    pub fn open(cfg: Config, events: Events) -> Result<Runner, RunError> {
        let store = crate::state::open(&cfg)?;
        Ok(Self::with_store(cfg, store, events))
    }

    pub fn with_store(cfg: Config, store: Arc<dyn StateStore>, events: Events) -> Runner {
        let mut net = Net::new(
            cfg.fetch.http_timeout(),
            cfg.fetch.time_scale,
            Buckets::new(cfg.fetch.time_scale, shared_buckets(&cfg)).with_overrides(cfg.limits.clone()),
        );
        net.retry.max_wait = std::time::Duration::from_secs(cfg.fetch.max_retry_wait_secs);
        net.retry.in_flight = Arc::new(tokio::sync::Semaphore::new(cfg.fetch.max_in_flight as usize));
        Runner {
            stop: net.retry.stop.clone(),
            lake: Lake::new(cfg.lake_dir()),
            net,
            cfg,
            store,
            events,
            lists: Default::default(),
        }
    }

    pub fn store(&self) -> &Arc<dyn StateStore> {
        &self.store
    }

    /// Raising it stops the run at the next page or chunk (a request waiting for its rate-limit
    /// slot or a retry is not sent): what was fetched is stored, cursors stay consistent, and
    /// the run ends `interrupted`, resumable.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Shares `flag` as this runner's stop flag (a scheduler stopping every job at once).
    pub fn with_stop_flag(mut self, flag: Arc<AtomicBool>) -> Runner {
        self.net.retry.stop = flag.clone();
        self.stop = flag;
        self
    }

    /// The request of run `id`, to continue it.
    pub fn resume_request(&self, id: &str) -> Result<BackfillRequest, RunError> {
        let rec = self.store.run(id)?.ok_or_else(|| RunError::UnknownRun { id: id.to_string() })?;
        if rec.status == RunStatus::Done {
            return Err(RunError::NothingToResume { id: id.to_string(), status: rec.status.name() });
        }
        let sources = rec.sources.iter().filter_map(|s| s.parse::<Marketplace>().ok()).collect::<Vec<_>>();
        Ok(BackfillRequest {
            period: Period { from: rec.from, to: rec.to },
            accounts: Some(rec.accounts),
            sources,
            refresh: false,
            grains: vec![Grain::Month],
            resume: Some(rec.id),
            kind: rec.kind,
            since: Default::default(),
            run_id: None,
            fetch_only: false,
        })
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub async fn backfill(&self, req: &BackfillRequest) -> Result<RunReport, RunError> {
        crate::alloc::fetching();
        let started = Instant::now();
        let now = Utc::now();
        let accounts = check_request(&self.cfg, req)?;
        let ids: Vec<String> = accounts.iter().map(|a| a.id.clone()).collect();
        let record = self.start_record(req, &ids, now)?;
        let leases = self.take_leases(&record)?;
        if let Err(e) = self.store.put_run(&record) {
            for l in leases.values() {
                let _ = self.store.release_lease(l);
            }
            return Err(e.into());
        }
        let cx = Arc::new(self.context(record, leases));
        let heartbeat = Heartbeat::start(cx.clone(), self.store.clone(), self.cfg.state.lease_secs);
        let result = self.run(&cx, req, &accounts, now).await;
        heartbeat.stop();
        self.close(&cx, result, started)
    }

    /// A run in flight, with the leases it took.
    pub(super) fn context(
        &self,
        record: crate::state::RunRecord,
        leases: HashMap<String, crate::state::Lease>,
    ) -> RunCtx {
        let retries = self.net.retries.clone();
        RunCtx {
            id: record.id.clone(),
            retries_at_start: retries.load(Ordering::Relaxed),
            retries,
            record: std::sync::Mutex::new(record),
            leases,
            lost: AtomicBool::new(false),
            events: self.events.clone(),
        }
    }

    /// Ends a run: its final record (done, interrupted or failed), its leases released.
    pub(super) fn close(
        &self,
        cx: &RunCtx,
        result: Result<RunReport, RunError>,
        started: Instant,
    ) -> Result<RunReport, RunError> {
        let result = match result {
            Err(RunError::Chunks { errors, .. }) if errors.iter().all(|e| matches!(e, ChunkError::Stopped { .. })) => {
                Err(RunError::Interrupted { id: cx.id.clone() })
            }
            other => other,
        };
        let mut fin = cx.snapshot();
        fin.updated_at = Utc::now();
        fin.finished_at = Some(fin.updated_at);
        (fin.status, fin.error) = match &result {
            Ok(_) => (RunStatus::Done, None),
            Err(RunError::Interrupted { .. }) => (RunStatus::Interrupted, None),
            Err(e) => (RunStatus::Failed, Some(e.to_string())),
        };
        // The data is durable already; a record that cannot be written only leaves the run
        // looking `interrupted` in `mpetl status`, which resuming settles.
        if let Err(e) = self.store.put_run(&fin) {
            tracing::warn!(run = %cx.id, error = %e, "the final run record was not written");
        }
        for l in cx.leases.values() {
            if let Err(e) = self.store.release_lease(l) {
                tracing::warn!(lease = %l.name, error = %e, "lease not released; it expires by itself");
            }
        }
        let mut report = result?;
        report.run_id = cx.id.clone();
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    async fn run(
        &self,
        cx: &RunCtx,
        req: &BackfillRequest,
        accounts: &[&crate::config::Account],
        now: DateTime<Utc>,
    ) -> Result<RunReport, RunError> {
        cx.emit(Event::StageStarted { stage: Stage::Plan, chunks: 1 });
        let plan = plan::plan(
            &self.cfg,
            self.store.as_ref(),
            &PlanRequest {
                period: req.period,
                accounts: accounts.to_vec(),
                sources: req.sources.clone(),
                refresh: req.refresh,
                now,
                since: req.since.clone(),
            },
        )?;
        for n in &plan.notes {
            cx.emit(Event::Note(n.clone()));
        }
        cx.record.lock().unwrap_or_else(|p| p.into_inner()).chunks =
            plan.chunks.iter().map(|c| c.chunk.id.clone()).collect();
        let mut counts: std::collections::BTreeMap<&str, (u64, u64)> = Default::default();
        for c in &plan.chunks {
            let e = counts.entry(c.chunk.dataset.name()).or_default();
            // A span missed each of its months.
            if c.cached { e.0 += 1 } else { e.1 += plan::span_months(&c.chunk.kind).map_or(1, |m| m.len() as u64) }
        }
        for (ds, (hits, misses)) in counts {
            self.store.count_cache(ds, hits, misses)?;
        }
        cx.emit(Event::ChunkDone {
            stage: Stage::Plan,
            chunk: "plan".into(),
            rows: plan.chunks.len() as u64,
            requests: 0,
        });
        cx.emit(Event::StageFinished { stage: Stage::Plan });

        let (wb, ozon) = tokio::join!(
            self.stage(cx, Stage::Wb, &plan, Marketplace::Wb),
            self.stage(cx, Stage::Ozon, &plan, Marketplace::Ozon)
        );
        let mut report = RunReport {
            chunks_planned: plan.chunks.len() as u64,
            chunks_cached: plan.chunks.iter().filter(|c| c.cached).count() as u64,
            notes: plan.notes.clone(),
            ..Default::default()
        };
        report.retries = self.net.retries();
        let mut failures = Vec::new();
        for result in wb.into_iter().chain(ozon) {
            match result {
                Ok(o) => {
                    report.requests += o.requests;
                    report.rows_fetched += o.rows;
                    report.lake += o.lake;
                }
                Err(e) => failures.push(e),
            }
        }
        if !failures.is_empty() {
            cx.emit(Event::RunFinished { ok: false });
            return Err(RunError::Chunks { run: cx.id.clone(), errors: failures });
        }
        if req.fetch_only {
            cx.emit(Event::RunFinished { ok: true });
            return Ok(report);
        }
        self.finish(cx, req, now, report)
    }

    /// The metrics stage after a fetch: the marts of the touched months, the stock, and the
    /// marketplaces' own totals against our rows.
    pub(super) fn finish(
        &self,
        cx: &RunCtx,
        req: &BackfillRequest,
        now: DateTime<Utc>,
        mut report: RunReport,
    ) -> Result<RunReport, RunError> {
        cx.emit(Event::StageStarted { stage: Stage::Metrics, chunks: 1 + u64::from(!req.grains.is_empty()) });
        crate::alloc::computing();
        let context = metrics::Context::load(&self.cfg)?;
        let inputs = context.inputs();
        if !req.grains.is_empty() {
            let touched = metrics::marts::touched(&req.period);
            let update =
                metrics::marts::update(&self.lake, &inputs, &self.cfg.marts_dir(), &touched, &req.grains, false, None)?;
            for p in &update.rewritten {
                cx.emit(Event::Note(format!(
                    "{} was written by another mpetl version (or a rewrite that did not finish): rewritten from the lake",
                    p.display()
                )));
            }
            report.marts = update.files;
            // The stock the last snapshot shows, and the days it lasts.
            let today = now.with_timezone(&self.cfg.timezone).date_naive();
            if let Some(p) = metrics::stock::write(&self.lake, self.cfg.timezone, today, &self.cfg.marts_dir())? {
                report.marts.push(p);
            }
            cx.emit(Event::ChunkDone {
                stage: Stage::Metrics,
                chunk: "marts".into(),
                rows: update.months.len() as u64,
                requests: 0,
            });
        }
        // Fetched months are whole, so every statement inside them has all its rows.
        let yesterday = now.with_timezone(&self.cfg.timezone).date_naive() - Duration::days(1);
        let from = crate::clock::first_of_month(req.period.from);
        let to = req.period.to.min(yesterday);
        let r = metrics::reconcile::reconcile(&self.lake, &context.catalogue, from, to)?;
        if !r.mismatches.is_empty() {
            cx.emit(Event::Note(format!(
                "{} marketplace total(s) disagree with our rows: see the reconciliation below",
                r.mismatches.len()
            )));
        }
        report.reconciliation = Some(r);
        report.unknown = metrics::unknown::unknown_operations(&self.lake, &context.catalogue, req.period.from, to)?;
        for u in &report.unknown {
            cx.emit(Event::Note(u.to_string()));
        }
        report.unknown_units = metrics::unknown::unknown_units(&self.lake, req.period.from, to)?;
        for u in &report.unknown_units {
            cx.emit(Event::Note(u.to_string()));
        }
        cx.emit(Event::ChunkDone { stage: Stage::Metrics, chunk: "reconciliation".into(), rows: 0, requests: 0 });
        cx.emit(Event::StageFinished { stage: Stage::Metrics });
        cx.emit(Event::RunFinished { ok: true });
        Ok(report)
    }

    /// Per-SKU metrics and totals of `period` at `grain`, from the lake as it is.
    pub fn metrics(
        &self,
        period: &Period,
        grain: Grain,
        accounts: Option<&[String]>,
    ) -> Result<(polars::prelude::DataFrame, polars::prelude::DataFrame), MetricsError> {
        compute_metrics(&self.cfg, period, grain, accounts)
    }

    async fn stage<'a>(
        &'a self,
        cx: &'a RunCtx,
        stage: Stage,
        plan: &'a plan::Plan,
        mp: Marketplace,
    ) -> Vec<Result<ChunkOutcome, ChunkError>> {
        let chunks: Vec<&PlannedChunk> = plan.for_marketplace(mp).collect();
        cx.emit(Event::StageStarted { stage, chunks: chunks.len() as u64 });
        let one = |pc: &'a PlannedChunk| async move {
            if pc.cached {
                cx.emit(Event::ChunkCached { stage, chunk: pc.chunk.id.clone() });
                return Ok(ChunkOutcome::default());
            }
            let r = self.run_chunk(cx, stage, &pc.chunk).await;
            match &r {
                Ok(o) => {
                    cx.emit(Event::ChunkDone { stage, chunk: pc.chunk.id.clone(), rows: o.rows, requests: o.requests })
                }
                Err(e) => cx.emit(Event::ChunkFailed { stage, chunk: pc.chunk.id.clone(), error: e.to_string() }),
            }
            r
        };
        // One lane per account and dataset, the lanes concurrent: each client paces its own
        // bucket. Within a lane at most CHUNKS_PER_LANE chunks are in flight. All of them at
        // once, as before, gained nothing (a dataset's chunks queue on one limiter anyway) and
        // held every month's pages at the same time: memory grew with the period's length.
        let mut lanes: BTreeMap<(&str, Dataset), Vec<(usize, &PlannedChunk)>> = BTreeMap::new();
        for (i, pc) in chunks.into_iter().enumerate() {
            lanes.entry((pc.chunk.account.as_str(), pc.chunk.dataset)).or_default().push((i, pc));
        }
        let lanes = lanes.into_values().map(|lane| {
            // The futures are made here (they start when polled): a closure inside the stream
            // would make the stage's future Send only for one lifetime, and spawned it must be.
            let runs: Vec<_> = lane.into_iter().map(|(i, pc)| async move { (i, one(pc).await) }).collect();
            stream::iter(runs).buffer_unordered(CHUNKS_PER_LANE).collect::<Vec<_>>()
        });
        let mut results: Vec<(usize, Result<ChunkOutcome, ChunkError>)> =
            join_all(lanes).await.into_iter().flatten().collect();
        results.sort_by_key(|(i, _)| *i);
        let results = results.into_iter().map(|(_, r)| r).collect();
        cx.emit(Event::StageFinished { stage });
        results
    }
}

/// With Redis configured, rate-limit buckets live there too: every process of a seller paces
/// against the same limit. Buckets are keyed by account id but not by namespace: a seller's
/// limit is one whichever deployment (namespace, lake) pulls it, while leases keep two runs off
/// one lake's account.
fn shared_buckets(cfg: &Config) -> Option<crate::http::SharedBuckets> {
    use secrecy::ExposeSecret;
    let url = cfg.redis_url.as_ref()?;
    let client = redis::Client::open(url.expose_secret()).ok()?;
    Some(crate::http::SharedBuckets { client, prefix: "mpetl:bucket".into() })
}
