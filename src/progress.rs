//! Progress of a run folded from its events: what `mpetl status`, the run record and the
//! Telegram progress message show.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::events::{Event, Stage};

/// Errors kept per run; the count goes on past it.
const KEPT_ERRORS: usize = 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageProgress {
    pub stage: String,
    pub total: u64,
    /// Chunks finished, cached ones included.
    pub done: u64,
    pub cached: u64,
    pub failed: u64,
    pub rows: u64,
    pub requests: u64,
    pub finished: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The four stages, in order.
    pub stages: Vec<StageProgress>,
    /// Requests repeated after 429, 5xx, timeouts or cut bodies.
    pub retries: u64,
    pub errors: u64,
    /// The first few errors, each naming its chunk.
    pub error_texts: Vec<String>,
    pub notes: Vec<String>,
    /// When this attempt started (a resumed run starts a new attempt).
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Progress {
    pub fn new(now: DateTime<Utc>) -> Progress {
        Progress {
            stages: Stage::ALL
                .iter()
                .map(|s| StageProgress { stage: s.title().to_string(), ..Default::default() })
                .collect(),
            retries: 0,
            errors: 0,
            error_texts: Vec::new(),
            notes: Vec::new(),
            started_at: now,
            updated_at: now,
        }
    }

    pub fn stage(&self, s: Stage) -> &StageProgress {
        &self.stages[s.number() - 1]
    }

    fn stage_mut(&mut self, s: Stage) -> &mut StageProgress {
        &mut self.stages[s.number() - 1]
    }

    pub fn apply(&mut self, e: &Event, now: DateTime<Utc>) {
        self.updated_at = now;
        match e {
            Event::StageStarted { stage, chunks } => {
                let title = stage.title().to_string();
                *self.stage_mut(*stage) = StageProgress { stage: title, total: *chunks, ..Default::default() };
            }
            Event::ChunkCached { stage, .. } => {
                let s = self.stage_mut(*stage);
                s.done += 1;
                s.cached += 1;
            }
            Event::RowsStored { stage, rows, .. } => self.stage_mut(*stage).rows += rows,
            Event::ChunkDone { stage, requests, .. } => {
                let s = self.stage_mut(*stage);
                s.done += 1;
                s.requests += requests;
            }
            Event::ChunkFailed { stage, chunk, error } => {
                self.stage_mut(*stage).failed += 1;
                self.errors += 1;
                if self.error_texts.len() < KEPT_ERRORS {
                    self.error_texts.push(format!("{chunk}: {error}"));
                }
            }
            Event::StageFinished { stage } => self.stage_mut(*stage).finished = true,
            Event::Note(n) => {
                if !self.notes.contains(n) {
                    self.notes.push(n.clone());
                }
            }
            Event::StageSnapshot(p, stage) => *self.stage_mut(*stage) = p.clone(),
            Event::RunFinished { .. } => {}
        }
    }

    /// Chunks finished and planned over all stages.
    pub fn chunks(&self) -> (u64, u64) {
        self.stages.iter().fold((0, 0), |(d, t), s| (d + s.done + s.failed, t + s.total))
    }

    pub fn cache_hits(&self) -> u64 {
        self.stages.iter().map(|s| s.cached).sum()
    }

    pub fn rows(&self) -> u64 {
        self.stages.iter().map(|s| s.rows).sum()
    }

    /// Time left, from the pace of the fetch chunks so far (cached chunks cost nothing, so they
    /// count neither as work done nor as work left). None until something was fetched.
    pub fn eta(&self, now: DateTime<Utc>) -> Option<chrono::Duration> {
        let fetch = [self.stage(Stage::Wb), self.stage(Stage::Ozon)];
        let work: u64 = fetch.iter().map(|s| s.total.saturating_sub(s.cached)).sum();
        let done: u64 = fetch.iter().map(|s| (s.done + s.failed).saturating_sub(s.cached)).sum();
        if done == 0 || work == 0 {
            return None;
        }
        let elapsed = (now - self.started_at).num_milliseconds().max(0);
        let left = work.saturating_sub(done);
        Some(chrono::Duration::milliseconds(elapsed * left as i64 / done as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_fold_into_stage_counts_and_an_eta() {
        let t0 = Utc::now();
        let mut p = Progress::new(t0);
        p.apply(&Event::StageStarted { stage: Stage::Wb, chunks: 5 }, t0);
        p.apply(&Event::ChunkCached { stage: Stage::Wb, chunk: "a".into() }, t0);
        p.apply(&Event::RowsStored { stage: Stage::Wb, chunk: "b".into(), rows: 7 }, t0);
        p.apply(&Event::ChunkDone { stage: Stage::Wb, chunk: "b".into(), rows: 7, requests: 3 }, t0);
        p.apply(&Event::ChunkFailed { stage: Stage::Wb, chunk: "c".into(), error: "boom".into() }, t0);
        let s = p.stage(Stage::Wb);
        assert_eq!((s.total, s.done, s.cached, s.failed, s.rows, s.requests), (5, 2, 1, 1, 7, 3));
        assert_eq!(p.chunks(), (3, 5));
        assert_eq!(p.error_texts, ["c: boom"]);
        // 4 chunks to fetch, 2 finished in 10 s: 2 left take 10 s more.
        let eta = p.eta(t0 + chrono::Duration::seconds(10)).unwrap();
        assert_eq!(eta.num_seconds(), 10);
    }
}
