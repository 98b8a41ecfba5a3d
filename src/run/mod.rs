//! A run: plan → fetch WB and Ozon (concurrently) → write the lake → metrics.
//!
//! Invariants kept here: a chunk's rows are durable in the lake before its cursor moves or it is
//! marked done; a failed chunk fails the run with the chunk and the marketplace's message, and
//! the same command resumes it.

pub mod cx;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use futures::future::join_all;

use self::cx::{ChunkOutcome, FetchCx};
use crate::config::{Account, Config, ConfigError, require_credentials};
use crate::dataset::{Dataset, Marketplace};
use crate::http::{Buckets, Net};
use crate::lake::{Lake, LakeError, UpsertStats};
use crate::metrics::{self, Grain, MetricsError};
use crate::notify::progress::Progress;
use crate::notify::{Event, Events, Stage};
use crate::plan::{self, Chunk, ChunkKind, Period, PlanError, PlanRequest, PlannedChunk};
use crate::sources::ozon::accruals::AccrualType;
use crate::sources::wb::ads::WbAdCampaignRow;
use crate::sources::{SourceError, ozon, wb};
use crate::state::{self, Acquired, ChunkRecord, ChunkState, Lease, RunRecord, RunStatus, StateError, StateStore};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error("run {run}: {} chunk(s) failed; the lake keeps everything stored before the failure, and `mpetl backfill --resume {run}` (or the same command) continues:\n{}", .errors.len(), .errors.iter().map(|e| format!("  - {e}")).collect::<Vec<_>>().join("\n"))]
    Chunks { run: String, errors: Vec<ChunkError> },
    #[error(
        "account {account} is being fetched by another run ({holder}); its lease ends in {secs} s unless that run renews it. Fix: wait for it (`mpetl status` shows it), or stop it"
    )]
    Busy { account: String, holder: String, secs: u64 },
    #[error("no run {id} in the state store. Fix: `mpetl status` lists the runs it knows")]
    UnknownRun { id: String },
    #[error(
        "run {id} already finished ({status}); there is nothing to resume. Fix: start a new run with `mpetl backfill --from … --to …`"
    )]
    NothingToResume { id: String, status: &'static str },
    #[error(
        "run {id} was stopped before it finished; what it fetched is stored. `mpetl backfill --resume {id}` continues it"
    )]
    Interrupted { id: String },
}

/// One failed chunk, named.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk {chunk}: {source}")]
    Source { chunk: String, source: SourceError },
    #[error("chunk {chunk}: {source}")]
    Lake { chunk: String, source: LakeError },
    #[error("chunk {chunk}: {source}")]
    State { chunk: String, source: StateError },
    #[error("chunk {chunk}: stopped before it finished")]
    Stopped { chunk: String },
    #[error("chunk {chunk}: {source}")]
    Config { chunk: String, source: ConfigError },
}

/// What to backfill.
#[derive(Debug, Clone)]
pub struct BackfillRequest {
    pub period: Period,
    /// Account ids; all configured accounts when `None`.
    pub accounts: Option<Vec<String>>,
    pub sources: Vec<Marketplace>,
    /// Fetch chunks again even if they are cached.
    pub refresh: bool,
    /// Grains of the marts to write after the fetch.
    pub grains: Vec<Grain>,
    /// Continue this run (its id) instead of starting a new one.
    pub resume: Option<String>,
    /// What started the run: `backfill`, or a job's name.
    pub kind: String,
    /// Datasets that start later than the period (an incremental job's per-dataset lookback).
    pub since: std::collections::BTreeMap<Dataset, NaiveDate>,
}

impl BackfillRequest {
    /// Every configured account and both marketplaces, month marts: what a plain
    /// `mpetl backfill --from --to` does.
    pub fn new(period: Period) -> BackfillRequest {
        BackfillRequest {
            period,
            accounts: None,
            sources: vec![Marketplace::Wb, Marketplace::Ozon],
            refresh: false,
            grains: vec![Grain::Month],
            resume: None,
            kind: "backfill".into(),
            since: Default::default(),
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Default)]
pub struct RunReport {
    pub run_id: String,
    pub chunks_planned: u64,
    pub chunks_cached: u64,
    pub requests: u64,
    pub rows_fetched: u64,
    /// Requests repeated after 429, 5xx, timeouts or cut bodies.
    pub retries: u64,
    pub lake: UpsertStats,
    pub notes: Vec<String>,
    pub marts: Vec<std::path::PathBuf>,
    /// The marketplaces' own totals (WB reports, Ozon's statement) against our rows, for the
    /// statements inside the fetched months.
    pub reconciliation: Option<metrics::reconcile::Reconciliation>,
    /// Operations the catalogue does not know, in the period: counted in payout, `unclassified`.
    pub unknown: Vec<metrics::unknown::UnknownOperation>,
    /// Ozon sale lines whose units nobody can know, in the period.
    pub unknown_units: Vec<metrics::unknown::UnknownUnits>,
    pub seconds: f64,
}

/// Runs backfills against one config, lake and state store.
pub struct Runner {
    cfg: Config,
    lake: Lake,
    store: Arc<dyn StateStore>,
    net: Net,
    events: Events,
    /// Lists that do not change within a run, asked once per account instead of once per chunk.
    campaigns: tokio::sync::Mutex<HashMap<String, Vec<WbAdCampaignRow>>>,
    accrual_types: tokio::sync::Mutex<HashMap<String, Vec<AccrualType>>>,
    /// Set by a signal: chunks stop at their next page, after storing what they have.
    stop: Arc<AtomicBool>,
}

/// One run in flight: its record (progress folded from its events), its leases and the flags
/// the heartbeat raises.
struct RunCtx {
    id: String,
    record: std::sync::Mutex<RunRecord>,
    leases: HashMap<String, Lease>,
    /// A lease was lost: another process owns an account now, so nothing more is written.
    lost: AtomicBool,
    events: Events,
    retries: Arc<std::sync::atomic::AtomicU64>,
    retries_at_start: u64,
}

impl RunCtx {
    fn emit(&self, e: Event) {
        {
            let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
            r.progress.apply(&e, Utc::now());
            r.progress.retries = self.retries.load(Ordering::Relaxed) - self.retries_at_start;
        }
        self.events.emit(e);
    }

    fn fence(&self, account: &str) -> Option<&Lease> {
        self.leases.get(account)
    }

    fn snapshot(&self) -> RunRecord {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner()).clone();
        r.progress.retries = self.retries.load(Ordering::Relaxed) - self.retries_at_start;
        r
    }
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
        Runner {
            stop: net.retry.stop.clone(),
            lake: Lake::new(cfg.lake_dir()),
            net,
            cfg,
            store,
            events,
            campaigns: Default::default(),
            accrual_types: Default::default(),
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
        })
    }

    /// A new run record, or the resumed one with one more attempt.
    fn start_record(
        &self,
        req: &BackfillRequest,
        accounts: &[String],
        now: DateTime<Utc>,
    ) -> Result<RunRecord, RunError> {
        let fresh = |id: String| RunRecord {
            holder: state::holder_id(&id),
            id,
            kind: req.kind.clone(),
            from: req.period.from,
            to: req.period.to,
            accounts: accounts.to_vec(),
            sources: req.sources.iter().map(|m| m.code().to_string()).collect(),
            refresh: req.refresh,
            status: RunStatus::Running,
            created_at: now,
            updated_at: now,
            finished_at: None,
            attempts: 1,
            chunks: Vec::new(),
            progress: Progress::new(now),
            error: None,
        };
        Ok(match &req.resume {
            None => fresh(RunRecord::new_id(now)),
            Some(id) => {
                let old = self.store.run(id)?.ok_or_else(|| RunError::UnknownRun { id: id.clone() })?;
                RunRecord { attempts: old.attempts + 1, created_at: old.created_at, ..fresh(id.clone()) }
            }
        })
    }

    /// Takes every account of the run; a lease of a process that died on this host is taken
    /// over at once, a live one refuses the run.
    fn take_leases(&self, rec: &RunRecord) -> Result<HashMap<String, Lease>, RunError> {
        let ttl = std::time::Duration::from_secs(self.cfg.state.lease_secs);
        let mut out = HashMap::new();
        for account in &rec.accounts {
            let name = format!("account:{account}");
            let mut got = self.store.acquire_lease(&name, &rec.holder, ttl, None)?;
            if let Acquired::Held { holder, .. } = &got
                && state::holder_is_dead_here(holder)
            {
                got = self.store.acquire_lease(&name, &rec.holder, ttl, Some(holder))?;
            }
            match got {
                Acquired::Granted(l) => {
                    out.insert(account.clone(), l);
                }
                Acquired::Held { holder, expires_in, .. } => {
                    for l in out.values() {
                        let _ = self.store.release_lease(l);
                    }
                    return Err(RunError::Busy {
                        account: account.clone(),
                        holder,
                        secs: expires_in.as_secs_f64().ceil() as u64,
                    });
                }
            }
        }
        Ok(out)
    }

    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub async fn backfill(&self, req: &BackfillRequest) -> Result<RunReport, RunError> {
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
        let retries = self.net.retries.clone();
        let cx = Arc::new(RunCtx {
            id: record.id.clone(),
            retries_at_start: retries.load(Ordering::Relaxed),
            retries,
            record: std::sync::Mutex::new(record),
            leases,
            lost: AtomicBool::new(false),
            events: self.events.clone(),
        });
        let heartbeat = Heartbeat::start(cx.clone(), self.store.clone(), self.cfg.state.lease_secs);
        let result = self.run(&cx, req, &accounts, now).await;
        heartbeat.stop();
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
            if c.cached { e.0 += 1 } else { e.1 += 1 }
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

        cx.emit(Event::StageStarted { stage: Stage::Metrics, chunks: 1 + u64::from(!req.grains.is_empty()) });
        let context = metrics::Context::load(&self.cfg)?;
        let inputs = context.inputs();
        if !req.grains.is_empty() {
            let touched = metrics::marts::touched(&req.period);
            let update =
                metrics::marts::update(&self.lake, &inputs, &self.cfg.marts_dir(), &touched, &req.grains, false)?;
            for p in &update.rewritten {
                cx.emit(Event::Note(format!(
                    "{} had the columns of another mpetl version: rewritten from the lake",
                    p.display()
                )));
            }
            report.marts = update.files;
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

    async fn stage(
        &self,
        cx: &RunCtx,
        stage: Stage,
        plan: &plan::Plan,
        mp: Marketplace,
    ) -> Vec<Result<ChunkOutcome, ChunkError>> {
        let chunks: Vec<&PlannedChunk> = plan.for_marketplace(mp).collect();
        cx.emit(Event::StageStarted { stage, chunks: chunks.len() as u64 });
        // Chunks of different buckets run concurrently; each client paces its own bucket, and
        // the window chunks of one dataset queue on the same limiter.
        let results = join_all(chunks.into_iter().map(|pc| async move {
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
        }))
        .await;
        cx.emit(Event::StageFinished { stage });
        results
    }

    async fn run_chunk(&self, cx: &RunCtx, stage: Stage, chunk: &Chunk) -> Result<ChunkOutcome, ChunkError> {
        let state_err = |source| ChunkError::State { chunk: chunk.id.clone(), source };
        if self.stop.load(Ordering::Relaxed) {
            return Err(ChunkError::Stopped { chunk: chunk.id.clone() });
        }
        let mut rec = self.store.chunk(&chunk.id).map_err(state_err)?.unwrap_or_else(|| ChunkRecord::new(&chunk.id));
        // Pages an interrupted run stored are kept, and fresh enough to go on from: within the
        // open-chunk TTL a finished report does not change, and a later refresh of the done
        // chunk reads it whole again.
        let ttl = Duration::hours(self.cfg.fetch.open_chunk_ttl_hours as i64);
        let resumable = matches!(rec.state, ChunkState::Running | ChunkState::Failed)
            && rec.page_cursor.is_some()
            && Utc::now() - rec.updated_at < ttl;
        if !resumable {
            (rec.page_cursor, rec.rows) = (None, 0);
        }
        rec.dataset = chunk.dataset.name().to_string();
        rec.account = chunk.account.clone();
        (rec.from, rec.to) = match &chunk.kind {
            ChunkKind::Stream { .. } => (None, None),
            ChunkKind::Days { from, to, .. } => (Some(*from), Some(*to)),
            ChunkKind::Window { since, to, .. } => (Some(since.date_naive()), Some(to.date_naive())),
        };
        rec.run_id = Some(cx.id.clone());
        rec.state = ChunkState::Running;
        rec.updated_at = Utc::now();
        rec.error = None;
        self.store.put_chunk(&rec, cx.fence(&chunk.account)).map_err(state_err)?;
        let fetch = FetchCx { runner: self, run: cx, stage, chunk };
        let result = match &chunk.kind {
            ChunkKind::Stream { pass_from, date_from } => wb::stream::fetch(&fetch, pass_from, date_from).await,
            ChunkKind::Window { since, to, .. } => ozon::postings::fetch(&fetch, *since, *to).await,
            ChunkKind::Days { from, to, .. } => match chunk.dataset {
                Dataset::WbFinance => wb::finance::fetch(&fetch, &mut rec, *from, *to).await,
                Dataset::WbAdStats => wb::ads::fetch(&fetch, *from, *to).await,
                Dataset::OzonAccruals => ozon::accruals::fetch(&fetch, *from, *to).await,
                other => unreachable!("{other} is not planned by days"),
            },
        };
        // A request that was waiting for its slot when the run stopped is a stop, not a failure.
        let result = match result {
            Err(ChunkError::Source { chunk, source: SourceError::Stopped { .. } }) => {
                Err(ChunkError::Stopped { chunk })
            }
            other => other,
        };
        rec.updated_at = Utc::now();
        match &result {
            Ok(o) => {
                rec.state = ChunkState::Done;
                rec.rows = o.rows;
                rec.page_cursor = None;
                rec.requests = o.requests;
                rec.done_at = Some(rec.updated_at);
                let settle = Duration::days(i64::from(self.cfg.fetch.settle_days));
                let today = rec.updated_at.with_timezone(&self.cfg.timezone).date_naive();
                rec.closed = match &chunk.kind {
                    ChunkKind::Window { month_end, .. } => *month_end + settle <= rec.updated_at,
                    ChunkKind::Days { month_end, .. } => *month_end + settle <= today,
                    ChunkKind::Stream { .. } => false,
                };
            }
            Err(e) => {
                rec.state = ChunkState::Failed;
                rec.error = Some(e.to_string());
            }
        }
        self.store.put_chunk(&rec, cx.fence(&chunk.account)).map_err(state_err)?;
        if rec.state == ChunkState::Done {
            crate::failpoint::hit("chunk.done");
            // A hole `lake verify` found is refilled once its chunk is fetched again.
            let month = rec.from.map(|d| d.format("%Y-%m").to_string());
            self.lake.clear_holes(chunk.dataset, &chunk.account, month.as_deref());
        }
        result
    }
}

/// The accounts `req` names, each with the credentials of the marketplaces it pulls; an unknown
/// account or a missing credential is refused before anything is opened or written.
pub fn check_request<'a>(cfg: &'a Config, req: &BackfillRequest) -> Result<Vec<&'a Account>, RunError> {
    let accounts = match &req.accounts {
        None => cfg.accounts.iter().collect::<Vec<_>>(),
        Some(ids) => ids.iter().map(|id| cfg.account(id)).collect::<Result<_, _>>()?,
    };
    for a in &accounts {
        for mp in &req.sources {
            if a.has(*mp) {
                require_credentials(a, *mp)?;
            }
        }
    }
    Ok(accounts)
}

/// Writes the run record every second and renews the run's leases every third of their TTL, on
/// a thread of its own: a run busy decoding or writing keeps its heartbeat.
struct Heartbeat {
    stop: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl Heartbeat {
    fn start(cx: Arc<RunCtx>, store: Arc<dyn StateStore>, lease_secs: u64) -> Heartbeat {
        let (stop, rx) = std::sync::mpsc::channel::<()>();
        let ttl = std::time::Duration::from_secs(lease_secs);
        let thread = std::thread::spawn(move || {
            let mut renewed = Instant::now();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(std::time::Duration::from_secs(1))
            {
                if renewed.elapsed() >= ttl / 3 {
                    renewed = Instant::now();
                    for lease in cx.leases.values() {
                        match store.renew_lease(lease, ttl) {
                            Ok(true) => {}
                            Ok(false) => {
                                cx.lost.store(true, Ordering::SeqCst);
                                tracing::error!(run = %cx.id, lease = %lease.name, "lease lost to another process: this run stops writing");
                            }
                            Err(e) => tracing::warn!(run = %cx.id, error = %e, "lease not renewed"),
                        }
                    }
                }
                let mut rec = cx.snapshot();
                rec.updated_at = Utc::now();
                if let Err(e) = store.put_run(&rec) {
                    tracing::warn!(run = %cx.id, error = %e, "run record not written");
                }
            }
        });
        Heartbeat { stop, thread }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.thread.join();
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

/// Per-SKU metrics and totals of `period` at `grain` from the lake of `cfg` (no network, no
/// state store: safe next to a running backfill).
pub fn compute_metrics(
    cfg: &Config,
    period: &Period,
    grain: Grain,
    accounts: Option<&[String]>,
) -> Result<(polars::prelude::DataFrame, polars::prelude::DataFrame), MetricsError> {
    let context = metrics::Context::load(cfg)?;
    let inputs = context.inputs();
    let sku = metrics::by_sku(&Lake::new(cfg.lake_dir()), &inputs, period, grain, accounts)?;
    let totals = metrics::totals(&sku, &cfg.tax)?;
    Ok((sku, totals))
}
