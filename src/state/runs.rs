//! Run records: every run has an id, its request (so `--resume <id>` needs nothing else), its
//! status and its progress, written by a heartbeat while it runs.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::progress::Progress;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Done,
    Failed,
    /// Stopped by a signal, or found running with no heartbeat (the process died).
    Interrupted,
}

impl RunStatus {
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    /// `backfill`, or the job's name.
    pub kind: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub accounts: Vec<String>,
    pub sources: Vec<String>,
    pub refresh: bool,
    pub status: RunStatus,
    /// `host:pid:run` of the process running it now (or last).
    pub holder: String,
    pub created_at: DateTime<Utc>,
    /// The heartbeat: written every few seconds while the run is alive.
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// 1 for the first run, +1 per resume.
    pub attempts: u32,
    /// Planned chunk ids (for the per-chunk view of `mpetl status <id>`).
    pub chunks: Vec<String>,
    pub progress: Progress,
    pub error: Option<String>,
}

impl RunRecord {
    /// A fresh, sortable id: `20261125-184809-3fa2c1`.
    pub fn new_id(now: DateTime<Utc>) -> String {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_i64(now.timestamp_nanos_opt().unwrap_or_default());
        format!("{}-{:06x}", now.format("%Y%m%d-%H%M%S"), h.finish() & 0xff_ffff)
    }

    /// The status a reader should believe: a `running` record whose heartbeat stopped more than
    /// `stale_after` ago belongs to a process that died.
    pub fn effective_status(&self, now: DateTime<Utc>, stale_after: chrono::Duration) -> RunStatus {
        if self.status == RunStatus::Running && now - self.updated_at > stale_after {
            RunStatus::Interrupted
        } else {
            self.status
        }
    }
}
