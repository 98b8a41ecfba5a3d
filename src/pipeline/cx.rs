//! What a dataset's fetch loop gets from the run: its clients, the stop flag, the lake writer and
//! the chunk's state. The loops themselves live with their datasets in `sources/`.
//!
//! "Rows are durable before a cursor moves" is a type here: [`FetchCx::store`] returns a
//! [`Durable`] only once the rows are committed to their partitions, and the calls that move a
//! cursor past those rows ([`FetchCx::advance_stream`], [`FetchCx::advance_page`]) require one.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, NaiveDate, Utc};

use super::inflight::RunCtx;
use super::{ChunkError, Runner};
use crate::config::{Config, ConfigError, FetchConfig};
use crate::dataset::Dataset;
use crate::events::{Event, Stage};
use crate::http::Net;
use crate::lake::batch::{Batch, Lineage};
use crate::lake::{LakeError, UpsertStats};
use crate::pipeline::plan::{self, Chunk, ChunkKind};
use crate::sources::{Ctx, SourceError};
use crate::state::{ChunkRecord, Lease, StateError, StreamState};

/// Why a partition was not published when the run's lease was gone.
const FENCED: &str = "this run's lease on the account is lost to another process";

/// What one chunk fetched.
#[derive(Debug, Default)]
pub struct ChunkOutcome {
    pub rows: u64,
    pub requests: u64,
    pub lake: UpsertStats,
    /// Rows per month (`YYYY-MM`) of a chunk spanning several (see [`plan::spans`]): each
    /// month's own chunk record gets its count.
    pub months: std::collections::BTreeMap<String, u64>,
}

/// Proof that a batch of rows is committed to the lake; only [`FetchCx::store`] makes one.
#[must_use = "a cursor may move past these rows now: pass this to the call that moves it"]
pub struct Durable(UpsertStats);

impl Durable {
    pub fn stats(&self) -> UpsertStats {
        self.0
    }
}

/// One chunk in flight.
pub struct FetchCx<'a> {
    pub(super) runner: &'a Runner,
    pub(super) run: &'a RunCtx,
    pub stage: Stage,
    pub chunk: &'a Chunk,
}

impl FetchCx<'_> {
    pub fn fetch_config(&self) -> &FetchConfig {
        &self.runner.cfg.fetch
    }

    /// The error context of this chunk's dataset (or of `dataset`, fetched with it).
    pub fn ctx(&self, dataset: Dataset) -> Ctx {
        Ctx { account: self.chunk.account.clone(), dataset }
    }

    pub fn source_error(&self, source: SourceError) -> ChunkError {
        ChunkError::Source { chunk: self.chunk.id.clone(), source }
    }

    /// A row the source sent but mpetl cannot read, in `dataset`.
    pub fn decode_error(&self, dataset: Dataset, detail: String) -> ChunkError {
        self.source_error(SourceError::decode(&self.ctx(dataset), detail))
    }

    pub fn state_error(&self, source: StateError) -> ChunkError {
        ChunkError::State { chunk: self.chunk.id.clone(), source }
    }

    /// A signal asked the run to stop.
    pub fn stopping(&self) -> bool {
        self.runner.stop.load(Ordering::Relaxed)
    }

    /// Err(Stopped) once a signal asked the run to stop: at a page or batch boundary.
    pub fn check_stop(&self) -> Result<(), ChunkError> {
        if self.stopping() {
            return Err(self.stopped());
        }
        Ok(())
    }

    pub fn stopped(&self) -> ChunkError {
        ChunkError::Stopped { chunk: self.chunk.id.clone() }
    }

    /// The days of a [`ChunkKind::Days`] chunk.
    pub fn days(&self) -> Result<(NaiveDate, NaiveDate), ChunkError> {
        match &self.chunk.kind {
            ChunkKind::Days { from, to, .. } => Ok((*from, *to)),
            _ => Err(self.misplanned("days")),
        }
    }

    /// The instants of a [`ChunkKind::Window`] chunk.
    pub fn window(&self) -> Result<(DateTime<Utc>, DateTime<Utc>), ChunkError> {
        match &self.chunk.kind {
            ChunkKind::Window { since, to, .. } => Ok((*since, *to)),
            _ => Err(self.misplanned("a window")),
        }
    }

    /// The pass start and cursor of a [`ChunkKind::Stream`] chunk.
    pub fn stream_from(&self) -> Result<(&str, &str), ChunkError> {
        match &self.chunk.kind {
            ChunkKind::Stream { pass_from, date_from } => Ok((pass_from, date_from)),
            _ => Err(self.misplanned("a stream")),
        }
    }

    fn misplanned(&self, want: &str) -> ChunkError {
        ChunkError::Misplanned { chunk: self.chunk.id.clone(), want: want.to_string() }
    }

    pub fn rows_stored(&self, rows: u64) {
        self.run.emit(Event::RowsStored { stage: self.stage, chunk: self.chunk.id.clone(), rows });
    }

    /// A setting the chunk needs is missing or wrong (its account's credentials).
    pub fn config_error(&self, source: ConfigError) -> ChunkError {
        ChunkError::Config { chunk: self.chunk.id.clone(), source }
    }

    pub fn config(&self) -> &Config {
        &self.runner.cfg
    }

    /// The run's HTTP client, retry policy and rate-limit buckets.
    pub fn net(&self) -> &Net {
        &self.runner.net
    }

    /// A list that does not change within a run (WB's campaigns, Ozon's accrual types), asked by
    /// the first chunk of the account that needs it and shared with the others (true: this call
    /// asked). Lists of different names are fetched concurrently.
    pub async fn once_per_run<T, F, Fut>(&self, what: &'static str, fetch: F) -> Result<(T, bool), ChunkError>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, ChunkError>>,
    {
        let cell = {
            let mut lists = self.runner.lists.lock().unwrap_or_else(|p| p.into_inner());
            lists.entry((self.chunk.account.clone(), what)).or_default().clone()
        };
        let asked = std::sync::atomic::AtomicBool::new(false);
        let value = cell
            .get_or_try_init(|| async {
                asked.store(true, Ordering::Relaxed);
                Ok::<_, ChunkError>(Arc::new(fetch().await?) as Arc<dyn Any + Send + Sync>)
            })
            .await?;
        match value.downcast_ref::<T>() {
            Some(v) => Ok((v.clone(), asked.load(Ordering::Relaxed))),
            None => Err(self.misplanned(&format!("the list '{what}' as another type than an earlier chunk stored"))),
        }
    }

    /// Upserts rows into their partitions on a blocking thread (polars and fsync block).
    pub async fn store(&self, rows: Batch) -> Result<Durable, ChunkError> {
        let chunk = self.chunk;
        if rows.is_empty() {
            return Ok(Durable(UpsertStats::default()));
        }
        if self.run.lost.load(Ordering::SeqCst) {
            // Another process owns the account now: writing would race its upserts.
            let lease = self.run.fence(&chunk.account).cloned().unwrap_or_else(|| Lease {
                name: format!("account:{}", chunk.account),
                holder: String::new(),
                token: 0,
            });
            return Err(self.state_error(StateError::Fenced { name: lease.name, token: lease.token }));
        }
        let lake = self.runner.lake.clone();
        let account = chunk.account.clone();
        let lineage = Lineage { loaded_at: Utc::now(), chunk: chunk.id.clone() };
        let ds = rows.dataset();
        let held = self.run.fence(&chunk.account).cloned();
        let (store, lease) = (self.runner.store.clone(), held.clone());
        let result = tokio::task::spawn_blocking(move || -> Result<UpsertStats, LakeError> {
            let parts = rows.into_partitions(&lineage).map_err(|source| LakeError::Scan { dataset: ds, source })?;
            // The lease is asked again with each partition ready to publish: the heartbeat may
            // learn of a loss only after a write this long began.
            let may_publish = || match &lease {
                None => Ok(()),
                Some(l) => match store.holds_lease(l) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(FENCED.to_string()),
                    Err(e) => Err(format!("the lease could not be checked: {e}")),
                },
            };
            let mut total = UpsertStats::default();
            for (month, df) in parts {
                total += lake.upsert(ds, &account, &month, df, &may_publish)?;
            }
            Ok(total)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        crate::failpoint::hit("lake.committed");
        match (result, held) {
            (Ok(stats), _) => Ok(Durable(stats)),
            (Err(LakeError::NotPublished { reason, .. }), Some(lease)) if reason == FENCED => {
                self.run.lost.store(true, Ordering::SeqCst);
                Err(self.state_error(StateError::Fenced { name: lease.name, token: lease.token }))
            }
            (Err(source), _) => Err(ChunkError::Lake { chunk: chunk.id.clone(), source }),
        }
    }

    /// The chunk's stream cursor (WB statistics), or a fresh one.
    pub fn stream(&self) -> Result<StreamState, ChunkError> {
        let key = plan::stream_key(&self.chunk.account, self.chunk.dataset);
        Ok(self.runner.store.stream(&key).map_err(|e| self.state_error(e))?.unwrap_or_default())
    }

    /// Saves the stream's bookkeeping (the pass it is in, the pass it finished): nothing about
    /// which rows are stored.
    pub fn save_stream(&self, st: &StreamState) -> Result<(), ChunkError> {
        let key = plan::stream_key(&self.chunk.account, self.chunk.dataset);
        self.runner.store.put_stream(&key, st, self.run.fence(&self.chunk.account)).map_err(|e| self.state_error(e))
    }

    /// Moves the stream's cursor past rows that `_stored` proves are in the lake.
    pub fn advance_stream(&self, st: &StreamState, _stored: &Durable) -> Result<(), ChunkError> {
        self.save_stream(st)
    }

    /// Moves the chunk's page cursor past rows that `_stored` proves are in the lake.
    pub fn advance_page(&self, rec: &ChunkRecord, _stored: &Durable) -> Result<(), ChunkError> {
        self.runner.store.put_chunk(rec, self.run.fence(&self.chunk.account)).map_err(|e| self.state_error(e))?;
        crate::failpoint::hit("chunk.page");
        Ok(())
    }
}
