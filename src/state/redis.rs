//! The Redis state store (any Redis ≥ 6 or Valkey, no modules): the same records as the
//! embedded store, as JSON strings under `mpetl:<namespace>:<kind>:<key>`, each with a TTL so
//! nothing grows without bound. Listing goes through index sets, never `KEYS`/`SCAN`.
//!
//! Key layout (README "State"):
//! - `stream:<account>/<dataset>`: a WB statistics stream's cursor;
//! - `chunk:<id>`: a chunk record; `chunks:<dataset>`: a set indexing them;
//! - `run:<id>`: a run record; `runs:all`: a sorted set of run ids by start time;
//! - `lease:<name>`: `"<token> <holder>"` with a millisecond TTL; `fence:<name>`: the last token;
//! - `cache:counters`: a hash of hits and misses per dataset; `mark:<name>`: small named facts;
//!   `mpetl:bucket:…` (no namespace): shared rate-limit buckets.

mod queue;

pub use queue::{Claimed, Outcome, WorkItem, account_run};

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::Commands;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Acquired, CacheCounters, ChunkRecord, Lease, RunRecord, StateError, StateStore, StreamState};

/// Records live this long after their last write (a chunk's record outlives any cache TTL).
pub const RECORD_TTL: Duration = Duration::from_secs(400 * 24 * 3600);
/// Run records are history: three months are plenty.
pub const RUN_TTL: Duration = Duration::from_secs(90 * 24 * 3600);
const KEPT_RUNS: isize = 500;

/// SET a record (and index it) only while the fence lease holds the expected value.
const FENCED_SET: &str = r"
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
end
return 1
";

const ACQUIRE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur then
  local sp = string.find(cur, ' ', 1, true)
  local tok = string.sub(cur, 1, sp - 1)
  local h = string.sub(cur, sp + 1)
  if h == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {1, tok, h, 0}
  end
  if h ~= ARGV[3] then return {0, tok, h, redis.call('PTTL', KEYS[1])} end
end
local t = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('SET', KEYS[1], t .. ' ' .. ARGV[1], 'PX', ARGV[2])
return {1, tostring(t), ARGV[1], 0}
";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
";

pub struct RedisStore {
    client: redis::Client,
    conn: Mutex<Option<redis::Connection>>,
    /// The URL with any password replaced, for messages.
    shown: String,
    prefix: String,
    /// How long a lost connection is retried before the error is final.
    reconnect_window: Duration,
}

/// `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`.
pub fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparsable Redis URL>".to_string(),
    }
}

pub(crate) fn connect(client: &redis::Client) -> redis::RedisResult<redis::Connection> {
    let conn = client.get_connection_with_timeout(Duration::from_secs(5))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.set_write_timeout(Some(Duration::from_secs(5)))?;
    Ok(conn)
}

fn transient(e: &redis::RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

impl RedisStore {
    /// Connects and checks the server answers; `namespace` separates deployments on one Redis.
    pub fn open(url: &str, namespace: &str) -> Result<RedisStore, StateError> {
        let shown = redact(url);
        let unreachable = |detail: String| StateError::Unreachable { url: shown.clone(), detail };
        let client = redis::Client::open(url).map_err(|e| unreachable(e.to_string()))?;
        let mut conn = connect(&client).map_err(|e| unreachable(e.to_string()))?;
        let pong: String = redis::cmd("PING").query(&mut conn).map_err(|e| unreachable(e.to_string()))?;
        if pong != "PONG" {
            return Err(unreachable(format!("PING answered {pong:?}")));
        }
        Ok(RedisStore {
            client,
            conn: Mutex::new(Some(conn)),
            shown,
            prefix: format!("mpetl:{namespace}"),
            reconnect_window: Duration::from_secs(30),
        })
    }

    /// How long to keep reconnecting after the connection is lost (default 30 s).
    pub fn with_reconnect_window(mut self, d: Duration) -> RedisStore {
        self.reconnect_window = d;
        self
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("{}:{kind}:{key}", self.prefix)
    }

    /// Runs `op`. A lost connection is opened again with backoff (Redis restarting, a failover)
    /// until the reconnect window runs out; then the error is final and the run stops cleanly.
    ///
    /// The store is synchronous and called from async tasks: on a multi-threaded runtime the
    /// worker hands its other tasks (SIGTERM handling, other chunks) to another thread for the
    /// duration, so an outage's backoff sleeps stall this call only, not the runtime.
    fn with_conn<T>(&self, op: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T, StateError> {
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
                tokio::task::block_in_place(|| self.with_conn_blocking(op))
            }
            _ => self.with_conn_blocking(op),
        }
    }

    fn with_conn_blocking<T>(
        &self,
        op: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, StateError> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = Instant::now() + self.reconnect_window;
        let mut pause = Duration::from_millis(50);
        loop {
            let attempt = match guard.as_mut() {
                Some(c) => op(c),
                None => connect(&self.client).and_then(|mut c| {
                    let r = op(&mut c);
                    *guard = Some(c);
                    r
                }),
            };
            match attempt {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) => {
                    *guard = None;
                    if Instant::now() + pause > deadline {
                        return Err(StateError::Unreachable { url: self.shown.clone(), detail: e.to_string() });
                    }
                    tracing::warn!(url = %self.shown, error = %e, "Redis connection lost; reconnecting");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(e) => return Err(StateError::Store { path: self.shown.clone(), detail: e.to_string() }),
            }
        }
    }

    fn get<T: DeserializeOwned>(&self, kind: &str, key: &str) -> Result<Option<T>, StateError> {
        let k = self.key(kind, key);
        let v: Option<String> = self.with_conn(|c| c.get(&k))?;
        v.map(|s| decode(&k, &s)).transpose()
    }

    fn json<T: Serialize>(&self, v: &T) -> Result<String, StateError> {
        serde_json::to_string(v).map_err(|e| StateError::Store { path: self.shown.clone(), detail: e.to_string() })
    }

    /// SET with a TTL, only under `fence`, adding `member` to the index set `index`.
    fn put_fenced(
        &self,
        key: &str,
        json: &str,
        ttl: Duration,
        fence: Option<&Lease>,
        index: Option<(&str, &str)>,
    ) -> Result<(), StateError> {
        let lease_key = fence.map_or_else(|| key.to_string(), |l| self.key("lease", &l.name));
        let (index_key, member) = index.map_or((key.to_string(), String::new()), |(k, m)| (k.to_string(), m.into()));
        let script = redis::Script::new(FENCED_SET);
        let ok: i64 = self.with_conn(|c| {
            script
                .key(&lease_key)
                .key(key)
                .key(&index_key)
                .arg(fence.map(Lease::value).unwrap_or_default())
                .arg(json)
                .arg(ttl.as_secs())
                .arg(&member)
                .invoke(c)
        })?;
        match fence {
            Some(l) if ok == 0 => Err(StateError::Fenced { name: l.name.clone(), token: l.token }),
            _ => Ok(()),
        }
    }

    /// Values of `keys` in one round trip per batch; missing keys are skipped.
    fn mget<T: DeserializeOwned>(&self, keys: &[String]) -> Result<Vec<(String, T)>, StateError> {
        let mut out = Vec::new();
        for batch in keys.chunks(500) {
            let vals: Vec<Option<String>> = self.with_conn(|c| redis::cmd("MGET").arg(batch).query(c))?;
            for (k, v) in batch.iter().zip(vals) {
                if let Some(v) = v {
                    out.push((k.clone(), decode(k, &v)?));
                }
            }
        }
        Ok(out)
    }
}

fn decode<T: DeserializeOwned>(key: &str, text: &str) -> Result<T, StateError> {
    serde_json::from_str(text).map_err(|e| StateError::Corrupt { key: key.to_string(), detail: e.to_string() })
}

impl StateStore for RedisStore {
    fn stream(&self, key: &str) -> Result<Option<StreamState>, StateError> {
        self.get("stream", key)
    }
    fn put_stream(&self, key: &str, s: &StreamState, fence: Option<&Lease>) -> Result<(), StateError> {
        self.put_fenced(&self.key("stream", key), &self.json(s)?, RECORD_TTL, fence, None)
    }
    fn delete_stream(&self, key: &str) -> Result<(), StateError> {
        let k = self.key("stream", key);
        self.with_conn(|c| c.del::<_, ()>(&k))
    }
    fn chunk(&self, id: &str) -> Result<Option<ChunkRecord>, StateError> {
        self.get("chunk", id)
    }
    fn put_chunk(&self, rec: &ChunkRecord, fence: Option<&Lease>) -> Result<(), StateError> {
        let index = self.key("chunks", &rec.dataset);
        self.put_fenced(&self.key("chunk", &rec.id), &self.json(rec)?, RECORD_TTL, fence, Some((&index, &rec.id)))
    }
    fn delete_chunk(&self, id: &str) -> Result<(), StateError> {
        let Some(rec) = self.chunk(id)? else { return Ok(()) };
        let (k, index) = (self.key("chunk", id), self.key("chunks", &rec.dataset));
        self.with_conn(|c| redis::pipe().atomic().del(&k).srem(&index, id).query::<()>(c))
    }
    fn chunks(&self, dataset: Option<&str>) -> Result<Vec<ChunkRecord>, StateError> {
        let datasets: Vec<String> = match dataset {
            Some(d) => vec![d.to_string()],
            None => crate::dataset::Dataset::ALL.iter().map(|d| d.name().to_string()).chain([String::new()]).collect(),
        };
        let mut out = Vec::new();
        for ds in datasets {
            let index = self.key("chunks", &ds);
            let ids: Vec<String> = self.with_conn(|c| c.smembers(&index))?;
            let keys: Vec<String> = ids.iter().map(|id| self.key("chunk", id)).collect();
            let found: Vec<(String, ChunkRecord)> = self.mget(&keys)?;
            // Records expire on their own; their index entries are dropped here.
            if found.len() < ids.len() {
                let have: std::collections::HashSet<&str> = found.iter().map(|(_, r)| r.id.as_str()).collect();
                let gone: Vec<&String> = ids.iter().filter(|id| !have.contains(id.as_str())).collect();
                self.with_conn(|c| c.srem::<_, _, ()>(&index, &gone))?;
            }
            out.extend(found.into_iter().map(|(_, r)| r));
        }
        Ok(out)
    }

    fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        take_from: Option<&str>,
    ) -> Result<Acquired, StateError> {
        let script = redis::Script::new(ACQUIRE);
        let (lk, fk) = (self.key("lease", name), self.key("fence", name));
        let (granted, token, cur, pttl): (i64, String, String, i64) = self.with_conn(|c| {
            script
                .key(&lk)
                .key(&fk)
                .arg(holder)
                .arg(ttl.as_millis() as u64)
                .arg(take_from.unwrap_or(""))
                .arg(RECORD_TTL.as_secs())
                .invoke(c)
        })?;
        let token = token.parse().unwrap_or(0);
        Ok(if granted == 1 {
            Acquired::Granted(Lease { name: name.into(), holder: cur, token })
        } else {
            Acquired::Held { holder: cur, token, expires_in: Duration::from_millis(pttl.max(0) as u64) }
        })
    }

    fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool, StateError> {
        let script = redis::Script::new(RENEW);
        let k = self.key("lease", &lease.name);
        let ok: i64 = self.with_conn(|c| script.key(&k).arg(lease.value()).arg(ttl.as_millis() as u64).invoke(c))?;
        Ok(ok == 1)
    }

    fn holds_lease(&self, lease: &Lease) -> Result<bool, StateError> {
        let k = self.key("lease", &lease.name);
        let v: Option<String> = self.with_conn(|c| c.get(&k))?;
        Ok(v.as_deref() == Some(lease.value().as_str()))
    }

    fn release_lease(&self, lease: &Lease) -> Result<(), StateError> {
        let script = redis::Script::new(RELEASE);
        let k = self.key("lease", &lease.name);
        self.with_conn(|c| script.key(&k).arg(lease.value()).invoke::<i64>(c)).map(|_| ())
    }

    fn put_run(&self, run: &RunRecord) -> Result<(), StateError> {
        let (k, index) = (self.key("run", &run.id), self.key("runs", "all"));
        let json = self.json(run)?;
        let score = run.created_at.timestamp_millis();
        self.with_conn(|c| {
            redis::pipe()
                .atomic()
                .set_ex(&k, &json, RUN_TTL.as_secs())
                .zadd(&index, &run.id, score)
                .zremrangebyrank(&index, 0, -(KEPT_RUNS + 1))
                .expire(&index, RUN_TTL.as_secs() as i64)
                .query::<()>(c)
        })
    }
    fn run(&self, id: &str) -> Result<Option<RunRecord>, StateError> {
        self.get("run", id)
    }
    fn runs(&self, limit: usize) -> Result<Vec<RunRecord>, StateError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let index = self.key("runs", "all");
        let ids: Vec<String> = self.with_conn(|c| c.zrevrange(&index, 0, limit as isize - 1))?;
        let keys: Vec<String> = ids.iter().map(|id| self.key("run", id)).collect();
        Ok(self.mget(&keys)?.into_iter().map(|(_, r)| r).collect())
    }

    fn count_cache(&self, dataset: &str, hits: u64, misses: u64) -> Result<(), StateError> {
        let k = self.key("cache", "counters");
        self.with_conn(|c| {
            redis::pipe()
                .hincr(&k, format!("{dataset}:hits"), hits)
                .hincr(&k, format!("{dataset}:misses"), misses)
                .expire(&k, RECORD_TTL.as_secs() as i64)
                .query::<()>(c)
        })
    }
    fn mark(&self, key: &str) -> Result<Option<String>, StateError> {
        let k = self.key("mark", key);
        self.with_conn(|c| c.get(&k))
    }
    fn set_mark(&self, key: &str, value: &str) -> Result<(), StateError> {
        let k = self.key("mark", key);
        self.with_conn(|c| c.set_ex::<_, _, ()>(&k, value, RECORD_TTL.as_secs()))
    }

    fn cache_counters(&self) -> Result<BTreeMap<String, CacheCounters>, StateError> {
        let k = self.key("cache", "counters");
        let all: BTreeMap<String, u64> = self.with_conn(|c| c.hgetall(&k))?;
        let mut out: BTreeMap<String, CacheCounters> = BTreeMap::new();
        for (field, n) in all {
            match field.rsplit_once(':') {
                Some((ds, "hits")) => out.entry(ds.to_string()).or_default().hits = n,
                Some((ds, "misses")) => out.entry(ds.to_string()).or_default().misses = n,
                _ => {}
            }
        }
        Ok(out)
    }
}
