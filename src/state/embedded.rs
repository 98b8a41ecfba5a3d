//! The embedded state store: one redb file, ACID, no server. One process writes at a time (a
//! second writer gets `Locked`); any number may open it read-only meanwhile and follow its commits,
//! which is how `mpetl status` watches a running backfill. Leases work as with Redis, so the
//! conformance suite holds both to the same rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use redb::{
    ConcurrencyMode, Database, ReadOnlyDatabase, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Acquired, CacheCounters, ChunkRecord, Lease, RunRecord, StateError, StateStore, StreamState};

const STREAMS: TableDefinition<&str, &str> = TableDefinition::new("streams");
const CHUNKS: TableDefinition<&str, &str> = TableDefinition::new("chunks");
const RUNS: TableDefinition<&str, &str> = TableDefinition::new("runs");
const LEASES: TableDefinition<&str, &str> = TableDefinition::new("leases");
/// Last token handed out per lease name; survives the lease itself so tokens only grow.
const FENCES: TableDefinition<&str, u64> = TableDefinition::new("fences");
const CACHE: TableDefinition<&str, &str> = TableDefinition::new("cache_counters");
const MARKS: TableDefinition<&str, &str> = TableDefinition::new("marks");

/// Runs kept; older records are dropped as new ones arrive.
const KEPT_RUNS: usize = 500;

#[derive(Serialize, Deserialize)]
struct StoredLease {
    value: String,
    expires_ms: i64,
}

enum Db {
    Writer(Database),
    Reader(ReadOnlyDatabase),
}

pub struct EmbeddedStore {
    db: Db,
    path: PathBuf,
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/state.redb` for writing.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StateError> {
        let path = dir.join("state.redb");
        let shown = path.display().to_string();
        std::fs::create_dir_all(dir).map_err(|e| StateError::Store { path: shown.clone(), detail: e.to_string() })?;
        let db = redb::Builder::new()
            .set_concurrency_mode(ConcurrencyMode::SingleWriter)
            .create(&path)
            .map_err(|e| Self::open_error(&shown, e))?;
        Ok(EmbeddedStore { db: Db::Writer(db), path })
    }

    /// Opens `dir/state.redb` to read, next to a process writing it. `Ok(None)` when no run
    /// ever wrote one.
    pub fn open_read_only(dir: &Path) -> Result<Option<EmbeddedStore>, StateError> {
        let path = dir.join("state.redb");
        if !path.exists() {
            return Ok(None);
        }
        let shown = path.display().to_string();
        let db = redb::Builder::new()
            .set_concurrency_mode(ConcurrencyMode::SingleWriter)
            .open_read_only(&path)
            .map_err(|e| Self::open_error(&shown, e))?;
        Ok(Some(EmbeddedStore { db: Db::Reader(db), path }))
    }

    fn open_error(shown: &str, e: redb::DatabaseError) -> StateError {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StateError::Locked { path: shown.to_string() },
            other => StateError::Store { path: shown.to_string(), detail: other.to_string() },
        }
    }

    fn begin_read(&self) -> Result<redb::ReadTransaction, StateError> {
        match &self.db {
            Db::Writer(d) => d.begin_read(),
            Db::Reader(d) => d.begin_read(),
        }
        .map_err(|e| self.err(e))
    }

    fn err(&self, e: impl std::fmt::Display) -> StateError {
        StateError::Store { path: self.path.display().to_string(), detail: e.to_string() }
    }

    fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StateError> {
        serde_json::from_str(text).map_err(|e| StateError::Corrupt { key: key.to_string(), detail: e.to_string() })
    }

    fn get<T: DeserializeOwned>(&self, table: TableDefinition<&str, &str>, key: &str) -> Result<Option<T>, StateError> {
        let tx = self.begin_read()?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let Some(v) = t.get(key).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        Self::decode(key, v.value()).map(Some)
    }

    /// Every (key, value) of a table, in key order.
    fn all<T: DeserializeOwned>(&self, table: TableDefinition<&str, &str>) -> Result<Vec<(String, T)>, StateError> {
        let tx = self.begin_read()?;
        let t = match tx.open_table(table) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::new();
        for kv in t.iter().map_err(|e| self.err(e))? {
            let (k, v) = kv.map_err(|e| self.err(e))?;
            out.push((k.value().to_string(), Self::decode(k.value(), v.value())?));
        }
        Ok(out)
    }

    /// One write transaction; `f` sees the open database transaction and decides what to write.
    fn write<R>(&self, f: impl FnOnce(&redb::WriteTransaction) -> Result<R, StateError>) -> Result<R, StateError> {
        let Db::Writer(db) = &self.db else {
            return Err(self.err("opened read-only"));
        };
        let tx = db.begin_write().map_err(|e| self.err(e))?;
        let r = f(&tx)?;
        tx.commit().map_err(|e| self.err(e))?;
        Ok(r)
    }

    fn put_in(
        &self,
        tx: &redb::WriteTransaction,
        table: TableDefinition<&str, &str>,
        key: &str,
        json: &str,
    ) -> Result<(), StateError> {
        let mut t = tx.open_table(table).map_err(|e| self.err(e))?;
        t.insert(key, json).map_err(|e| self.err(e))?;
        Ok(())
    }

    fn current_lease(&self, tx: &redb::WriteTransaction, name: &str) -> Result<Option<StoredLease>, StateError> {
        let t = tx.open_table(LEASES).map_err(|e| self.err(e))?;
        let v = t.get(name).map_err(|e| self.err(e))?;
        let Some(v) = v else { return Ok(None) };
        let l: StoredLease = Self::decode(name, v.value())?;
        Ok((l.expires_ms > Utc::now().timestamp_millis()).then_some(l))
    }

    fn put_lease(&self, tx: &redb::WriteTransaction, lease: &Lease, expires_ms: i64) -> Result<(), StateError> {
        let stored = StoredLease { value: lease.value(), expires_ms };
        self.put_in(tx, LEASES, &lease.name, &serde_json::to_string(&stored).map_err(|e| self.err(e))?)
    }

    /// Fails with `Fenced` unless `fence` is the lease in force.
    fn check_fence(&self, tx: &redb::WriteTransaction, fence: Option<&Lease>) -> Result<(), StateError> {
        let Some(lease) = fence else { return Ok(()) };
        match self.current_lease(tx, &lease.name)? {
            Some(l) if l.value == lease.value() => Ok(()),
            _ => Err(StateError::Fenced { name: lease.name.clone(), token: lease.token }),
        }
    }

    fn put_fenced<T: Serialize>(
        &self,
        table: TableDefinition<&str, &str>,
        key: &str,
        v: &T,
        fence: Option<&Lease>,
    ) -> Result<(), StateError> {
        let json = serde_json::to_string(v).map_err(|e| self.err(e))?;
        self.write(|tx| {
            self.check_fence(tx, fence)?;
            self.put_in(tx, table, key, &json)
        })
    }

    fn delete(&self, table: TableDefinition<&str, &str>, key: &str) -> Result<(), StateError> {
        self.write(|tx| {
            let mut t = tx.open_table(table).map_err(|e| self.err(e))?;
            t.remove(key).map_err(|e| self.err(e))?;
            Ok(())
        })
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl StateStore for EmbeddedStore {
    fn stream(&self, key: &str) -> Result<Option<StreamState>, StateError> {
        self.get(STREAMS, key)
    }
    fn put_stream(&self, key: &str, s: &StreamState, fence: Option<&Lease>) -> Result<(), StateError> {
        self.put_fenced(STREAMS, key, s, fence)
    }
    fn delete_stream(&self, key: &str) -> Result<(), StateError> {
        self.delete(STREAMS, key)
    }
    fn chunk(&self, id: &str) -> Result<Option<ChunkRecord>, StateError> {
        self.get(CHUNKS, id)
    }
    fn put_chunk(&self, rec: &ChunkRecord, fence: Option<&Lease>) -> Result<(), StateError> {
        self.put_fenced(CHUNKS, &rec.id, rec, fence)
    }
    fn delete_chunk(&self, id: &str) -> Result<(), StateError> {
        self.delete(CHUNKS, id)
    }
    fn chunks(&self, dataset: Option<&str>) -> Result<Vec<ChunkRecord>, StateError> {
        Ok(self
            .all::<ChunkRecord>(CHUNKS)?
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| dataset.is_none_or(|d| r.dataset == d))
            .collect())
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        take_from: Option<&str>,
    ) -> Result<Acquired, StateError> {
        self.write(|tx| {
            let now = Utc::now().timestamp_millis();
            if let Some(cur) = self.current_lease(tx, name)? {
                let (token, cur_holder) = cur.value.split_once(' ').unwrap_or(("0", &cur.value));
                let token: u64 = token.parse().unwrap_or(0);
                if cur_holder == holder {
                    let lease = Lease { name: name.into(), holder: holder.into(), token };
                    self.put_lease(tx, &lease, now + millis(ttl))?;
                    return Ok(Acquired::Granted(lease));
                }
                if take_from != Some(cur_holder) {
                    let left = Duration::from_millis((cur.expires_ms - now).max(0) as u64);
                    return Ok(Acquired::Held { holder: cur_holder.to_string(), token, expires_in: left });
                }
            }
            let token = {
                let mut f = tx.open_table(FENCES).map_err(|e| self.err(e))?;
                let next = f.get(name).map_err(|e| self.err(e))?.map_or(0, |v| v.value()) + 1;
                f.insert(name, next).map_err(|e| self.err(e))?;
                next
            };
            let lease = Lease { name: name.into(), holder: holder.into(), token };
            self.put_lease(tx, &lease, now + millis(ttl))?;
            Ok(Acquired::Granted(lease))
        })
    }

    fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError> {
        self.write(|tx| {
            if self.check_fence(tx, Some(lease)).is_err() {
                return Ok(false);
            }
            self.put_lease(tx, lease, Utc::now().timestamp_millis() + millis(ttl))?;
            Ok(true)
        })
    }

    fn holds_lease(&self, lease: &Lease) -> Result<bool, StateError> {
        // A read transaction: asked before every partition is published, a write (and its
        // commit's fsync) each time would cost more than the check is worth.
        let current: Option<StoredLease> = self.get(LEASES, &lease.name)?;
        Ok(current.is_some_and(|l| l.value == lease.value() && l.expires_ms > Utc::now().timestamp_millis()))
    }

    fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        self.write(|tx| {
            if self.check_fence(tx, Some(lease)).is_ok() {
                let mut t = tx.open_table(LEASES).map_err(|e| self.err(e))?;
                t.remove(lease.name.as_str()).map_err(|e| self.err(e))?;
            }
            Ok(())
        })
    }

    fn put_run(&self, run: &RunRecord) -> Result<(), StateError> {
        let json = serde_json::to_string(run).map_err(|e| self.err(e))?;
        self.write(|tx| {
            self.put_in(tx, RUNS, &run.id, &json)?;
            // Ids sort by time: drop the oldest beyond the kept number.
            let mut t = tx.open_table(RUNS).map_err(|e| self.err(e))?;
            let n = t.len().map_err(|e| self.err(e))? as usize;
            for _ in KEPT_RUNS..n {
                t.pop_first().map_err(|e| self.err(e))?;
            }
            Ok(())
        })
    }
    fn run(&self, id: &str) -> Result<Option<RunRecord>, StateError> {
        self.get(RUNS, id)
    }
    fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        let mut all: Vec<RunRecord> = self.all(RUNS)?.into_iter().map(|(_, r)| r).collect();
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }

    fn count_cache(&self, dataset: &str, hits: u64, misses: u64) -> Result<(), StateError> {
        self.write(|tx| {
            let mut t = tx.open_table(CACHE).map_err(|e| self.err(e))?;
            let mut c: CacheCounters = match t.get(dataset).map_err(|e| self.err(e))? {
                Some(v) => Self::decode(dataset, v.value())?,
                None => CacheCounters::default(),
            };
            c.hits += hits;
            c.misses += misses;
            let json = serde_json::to_string(&c).map_err(|e| self.err(e))?;
            t.insert(dataset, json.as_str()).map_err(|e| self.err(e))?;
            Ok(())
        })
    }
    fn cache_counters(&self) -> Result<BTreeMap<String, CacheCounters>, StateError> {
        Ok(self.all(CACHE)?.into_iter().collect())
    }

    fn mark(&self, key: &str) -> Result<Option<String>, StateError> {
        self.get(MARKS, key)
    }
    fn set_mark(&self, key: &str, value: &str) -> Result<(), StateError> {
        self.put_fenced(MARKS, key, &value, None)
    }
}
