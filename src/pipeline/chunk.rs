//! One chunk: its record before and after the fetch (resume from a stored page cursor within the
//! open-chunk TTL; closed once its month has settled), the dataset's fetch loop in between.

use std::sync::atomic::Ordering;

use chrono::{Duration, Utc};

use super::cx::{ChunkOutcome, FetchCx};
use super::inflight::RunCtx;
use super::plan::{Chunk, ChunkKind, month_chunk_id, span_months};
use super::{ChunkError, Runner};
use crate::events::Stage;
use crate::lake::batch::WHOLE;
use crate::sources::SourceError;
use crate::state::{ChunkRecord, ChunkState};

impl Runner {
    pub(super) async fn run_chunk(&self, cx: &RunCtx, stage: Stage, chunk: &Chunk) -> Result<ChunkOutcome, ChunkError> {
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
        let result = match chunk.dataset.spec().fetch {
            Some(f) => f.fetch(&fetch, &mut rec).await,
            None => Err(ChunkError::Misplanned { chunk: chunk.id.clone(), want: "nothing of its own".into() }),
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
        let months = span_months(&chunk.kind);
        // A span's months each get their own done record, as if fetched one by one: the cache,
        // `cache invalidate` and `lake verify` know months. They are written before the span's
        // own record says done, so a crash between leaves the months to fetch, not a hole.
        if let (Some(months), Ok(o)) = (&months, &result) {
            let today = rec.updated_at.with_timezone(&self.cfg.timezone).date_naive();
            let settle = Duration::days(i64::from(self.cfg.fetch.settle_days));
            // Rows partitioned outside the span (a weekly report that began the month
            // before) count in its nearest month, as they counted in a month chunk's.
            let (first, last) = (&months[0].0, &months[months.len() - 1].0);
            let mut rows: std::collections::BTreeMap<&str, u64> = Default::default();
            for (k, n) in &o.months {
                let k = if k < first {
                    first
                } else if k > last {
                    last
                } else {
                    k
                };
                *rows.entry(k.as_str()).or_default() += n;
            }
            for (month, from, to, month_end) in months {
                let mut m = ChunkRecord::new(&month_chunk_id(chunk.dataset, &chunk.account, month));
                m.state = ChunkState::Done;
                m.rows = rows.get(month.as_str()).copied().unwrap_or(0);
                (m.updated_at, m.done_at, m.closed) = (rec.updated_at, rec.done_at, *month_end + settle <= today);
                (m.dataset, m.account, m.from, m.to) =
                    (rec.dataset.clone(), rec.account.clone(), Some(*from), Some(*to));
                m.run_id = rec.run_id.clone();
                self.store.put_chunk(&m, cx.fence(&chunk.account)).map_err(state_err)?;
            }
        }
        self.store.put_chunk(&rec, cx.fence(&chunk.account)).map_err(state_err)?;
        if rec.state == ChunkState::Done {
            crate::failpoint::hit("chunk.done");
            // A hole `lake verify` found is refilled once its chunk is fetched again.
            let whole = !chunk.dataset.spec().by_month;
            let month = rec.from.map(|d| if whole { WHOLE.to_string() } else { d.format("%Y-%m").to_string() });
            match &months {
                Some(months) => {
                    for (m, ..) in months {
                        self.lake.clear_holes(chunk.dataset, &chunk.account, Some(m));
                    }
                }
                None => self.lake.clear_holes(chunk.dataset, &chunk.account, month.as_deref()),
            }
        }
        result
    }
}
