//! Run state: where each WB statistics stream stopped, and which window chunks are done.
//!
//! One trait, two stores: embedded (redb under `data/state/`, no server, the default) and Redis
//! (when `REDIS_URL` or `state.redis_url` names one).

pub mod embedded;
pub mod redis;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use self::redis::RedisStore;
pub use embedded::EmbeddedStore;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state store {path}: {detail}")]
    Store { path: String, detail: String },
    #[error(
        "state store {path} is in use by another mpetl process. Fix: wait for it to finish, or point this run at another data_dir"
    )]
    Locked { path: String },
    #[error(
        "cannot reach Redis at {url}: {detail}. Fix: start Redis there, correct REDIS_URL, or unset it to use the embedded store"
    )]
    Unreachable { url: String, detail: String },
    #[error("state record {key} is unreadable ({detail}). Fix: run `mpetl backfill` with --refresh to rebuild it")]
    Corrupt { key: String, detail: String },
}

/// A WB statistics stream (`lastChangeDate` cursor) of one account and dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// Every change since this WB `dateFrom` has been read.
    pub covered_from: Option<String>,
    /// The `dateFrom` of a pass that has not reached the end yet.
    pub pending_from: Option<String>,
    /// The last `lastChangeDate` stored in the lake; the next page starts here.
    pub cursor: Option<String>,
    /// When a pass last reached the end.
    pub synced_at: Option<DateTime<Utc>>,
}

/// Chunk states only move forward: pending → running → done | failed (a failed or expired
/// chunk is run again from running).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkState {
    Pending,
    Running,
    Done,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRecord {
    pub id: String,
    pub state: ChunkState,
    pub rows: u64,
    pub requests: u64,
    pub updated_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// The window had settled when it was fetched: cached for good.
    pub closed: bool,
    pub error: Option<String>,
}

pub trait StateStore: Send + Sync {
    fn stream(&self, key: &str) -> Result<Option<StreamState>, StateError>;
    fn put_stream(&self, key: &str, s: &StreamState) -> Result<(), StateError>;
    fn chunk(&self, id: &str) -> Result<Option<ChunkRecord>, StateError>;
    fn put_chunk(&self, rec: &ChunkRecord) -> Result<(), StateError>;
}

/// The store a config asks for: Redis when it names one, else the embedded store.
pub fn open(cfg: &crate::config::Config) -> Result<std::sync::Arc<dyn StateStore>, StateError> {
    use secrecy::ExposeSecret;
    Ok(match &cfg.redis_url {
        Some(url) => std::sync::Arc::new(RedisStore::open(url.expose_secret(), &cfg.state_namespace)?),
        None => std::sync::Arc::new(EmbeddedStore::open(&cfg.state_dir())?),
    })
}
