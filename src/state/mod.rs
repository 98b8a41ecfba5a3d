//! Run state: where each WB statistics stream stopped, which chunks are done (the chunk cache),
//! run records with their progress, and leases that keep two processes off one account.
//!
//! One trait, two stores: embedded (redb under `data/state/`, no server, the default) and Redis
//! (when `REDIS_URL` or `state.redis_url` names one). `tests/it/state.rs` holds the one conformance
//! suite both pass.

pub mod embedded;
pub mod redis;
pub mod runs;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use self::redis::RedisStore;
pub use embedded::EmbeddedStore;
pub use runs::{RunRecord, RunStatus};

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
    /// A write under a lease that is no longer ours: another process took the account over (this
    /// one stalled past the lease), so this one must stop writing.
    #[error(
        "lease {name} (token {token}) is no longer held by this process: another run took it over. This run stops; its stored rows stay valid"
    )]
    Fenced { name: String, token: u64 },
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

/// Chunk states only move forward: pending → running → done | failed (a failed chunk, or a
/// running one whose run died, is run again from running).
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
    /// What the chunk covers, for `mpetl cache` (absent in records of older versions).
    #[serde(default)]
    pub dataset: String,
    #[serde(default)]
    pub account: String,
    /// Days covered; `None` for WB statistics streams (they cover every change since a cursor).
    #[serde(default)]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// The run that last touched it.
    #[serde(default)]
    pub run_id: Option<String>,
    /// Where an unfinished chunk's stored pages end (WB finance: the last stored `rrdId`), set
    /// only after the page is in the lake; `rows` counts the rows stored up to it. A run that
    /// takes the chunk again soon after continues from here instead of from its first page.
    #[serde(default)]
    pub page_cursor: Option<String>,
}

impl ChunkRecord {
    pub fn new(id: &str) -> ChunkRecord {
        ChunkRecord {
            id: id.to_string(),
            state: ChunkState::Pending,
            rows: 0,
            requests: 0,
            updated_at: Utc::now(),
            done_at: None,
            closed: false,
            error: None,
            dataset: String::new(),
            account: String::new(),
            from: None,
            to: None,
            run_id: None,
            page_cursor: None,
        }
    }
}

/// A lease held: only the holder of the current token may write under it. Tokens only grow, so
/// a write carrying an older token is refused even if its holder believes it still holds the lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub holder: String,
    pub token: u64,
}

impl Lease {
    /// The stored value: compared whole, so token and holder must both match.
    pub fn value(&self) -> String {
        format!("{} {}", self.token, self.holder)
    }
}

/// What `acquire_lease` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Granted(Lease),
    /// Someone else holds it for `expires_in` more.
    Held {
        holder: String,
        token: u64,
        expires_in: Duration,
    },
}

/// Cache hits and misses of one dataset, counted at planning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheCounters {
    pub hits: u64,
    pub misses: u64,
}

pub trait StateStore: Send + Sync {
    fn stream(&self, key: &str) -> Result<Option<StreamState>, StateError>;
    /// Writes a stream's state; with `fence`, only while that lease is still current.
    fn put_stream(&self, key: &str, s: &StreamState, fence: Option<&Lease>) -> Result<(), StateError>;
    fn delete_stream(&self, key: &str) -> Result<(), StateError>;
    fn chunk(&self, id: &str) -> Result<Option<ChunkRecord>, StateError>;
    /// Writes a chunk record; with `fence`, only while that lease is still current.
    fn put_chunk(&self, rec: &ChunkRecord, fence: Option<&Lease>) -> Result<(), StateError>;
    fn delete_chunk(&self, id: &str) -> Result<(), StateError>;
    /// Every chunk record of `dataset` (all datasets when `None`), without scanning the keyspace.
    fn chunks(&self, dataset: Option<&str>) -> Result<Vec<ChunkRecord>, StateError>;

    /// Takes `name` for `ttl` if it is free, expired, already `holder`'s, or held by `take_from`
    /// (a holder known to be dead). A grant always carries a new, larger token.
    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        take_from: Option<&str>,
    ) -> Result<Acquired, StateError>;
    /// Extends a lease still held; false when it was lost (expired and taken, or fenced).
    fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError>;
    fn release_lease(&self, lease: &Lease) -> Result<(), StateError>;
    /// True while `lease` is current (not expired and taken, not fenced): asked right before a
    /// lake write is published.
    fn holds_lease(&self, lease: &Lease) -> Result<bool, StateError>;

    fn put_run(&self, run: &RunRecord) -> Result<(), StateError>;
    fn run(&self, id: &str) -> Result<Option<RunRecord>, StateError>;
    /// The most recent runs first, at most `limit`.
    fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StateError>;

    fn count_cache(&self, dataset: &str, hits: u64, misses: u64) -> Result<(), StateError>;

    /// Small facts kept by name (a job's last result, a posted summary, the bot's update offset).
    fn mark(&self, key: &str) -> Result<Option<String>, StateError>;
    fn set_mark(&self, key: &str, value: &str) -> Result<(), StateError>;
    fn cache_counters(&self) -> Result<BTreeMap<String, CacheCounters>, StateError>;
}

/// The store a config asks for: Redis when it names one, else the embedded store.
pub fn open(cfg: &crate::config::Config) -> Result<std::sync::Arc<dyn StateStore>, StateError> {
    use secrecy::ExposeSecret;
    Ok(match &cfg.redis_url {
        Some(url) => std::sync::Arc::new(
            RedisStore::open(url.expose_secret(), &cfg.state_namespace)?
                .with_reconnect_window(Duration::from_secs(cfg.state.reconnect_secs)),
        ),
        None => std::sync::Arc::new(EmbeddedStore::open(&cfg.state_dir())?),
    })
}

/// The store to read next to a running process (the embedded store opened read-only); `None`
/// when no run has written state yet.
pub fn open_to_read(cfg: &crate::config::Config) -> Result<Option<std::sync::Arc<dyn StateStore>>, StateError> {
    if cfg.redis_url.is_some() {
        return open(cfg).map(Some);
    }
    Ok(EmbeddedStore::open_read_only(&cfg.state_dir())?
        .map(|s| std::sync::Arc::new(s) as std::sync::Arc<dyn StateStore>))
}

/// Who this process is, for leases: `machine:pid:run`. A lease of a dead process on this machine
/// can be taken over at once instead of waiting for it to expire.
pub fn holder_id(run_id: &str) -> String {
    format!("{}:{}:{run_id}", machine(), std::process::id())
}

/// Where pids mean the same process: the hostname, the boot and the pid namespace
/// (`host~boot~pidns`). Containers often share a hostname, and the same pid in two containers (or
/// before and after a reboot) is two processes: a hostname and a pid alone took a live run in
/// another container for dead.
pub fn machine() -> String {
    static MACHINE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
            let boot: String = boot.trim().chars().filter(char::is_ascii_hexdigit).take(8).collect();
            // "pid:[4026531836]": the namespace's inode.
            let ns = std::fs::read_link("/proc/self/ns/pid").map(|l| l.display().to_string()).unwrap_or_default();
            let ns: String = ns.chars().filter(char::is_ascii_digit).collect();
            format!("{}~{boot}~{ns}", hostname())
        })
        .clone()
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer outlives the call and its length is passed.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    // ':' separates the holder's parts.
    String::from_utf8_lossy(&buf[..end]).replace(':', "_")
}

/// True when `holder` names a process on this machine (host, boot and pid namespace) that no
/// longer exists.
pub fn holder_is_dead_here(holder: &str) -> bool {
    let mut parts = holder.splitn(3, ':');
    let (Some(host), Some(pid)) = (parts.next(), parts.next()) else { return false };
    let Ok(pid) = pid.parse::<i32>() else { return false };
    if host != machine() || pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}
