//! A run: plan → fetch WB and Ozon (concurrently) → write the lake → metrics.
//!
//! Invariants kept here: a chunk's rows are durable in the lake before its cursor moves or it is
//! marked done; a failed chunk fails the run with the chunk and the marketplace's message, and
//! the same command resumes it.

mod chunk;
pub mod cx;
mod fanout;
mod inflight;
pub mod plan;
mod runner;
pub mod source;

pub use fanout::ACCOUNTS_AT_ONCE;
pub use runner::Runner;

use chrono::NaiveDate;

use self::plan::{Period, PlanError};
use crate::config::{Account, Config, ConfigError, require_credentials};
use crate::dataset::{Dataset, Marketplace};
use crate::lake::{Lake, LakeError, UpsertStats};
use crate::metrics::{self, Grain, MetricsError};
use crate::sources::SourceError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Period(#[from] crate::period::PeriodError),
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
    /// A fanned-out job's account that failed on a worker (its own run says which chunks).
    #[error("account {account} (run {run}, on {worker}): {error}")]
    Account { account: String, run: String, worker: String, error: String },
    #[error(
        "chunk {chunk}: its dataset fetches {want}, and the plan made it another kind of chunk. Fix: report this message to the mpetl maintainers"
    )]
    Misplanned { chunk: String, want: String },
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
    /// The id of a new run (a worker's share of a fanned-out job: `<job run>.<account>`, so
    /// whoever takes the item over resumes it); a fresh id when `None`.
    pub run_id: Option<String>,
    /// Stop once the chunks are durable: no marts, no reconciliation (a worker's share; the
    /// job's own process computes them once every account is in).
    pub fetch_only: bool,
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
            run_id: None,
            fetch_only: false,
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Default, serde::Serialize)]
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
    let sku = metrics::by_sku(&Lake::new(cfg.lake_dir()).scoped(accounts), &inputs, period, grain, accounts)?;
    let totals = metrics::totals(&sku, &cfg.tax)?;
    Ok((sku, totals))
}
