//! The Redis state store (any Redis ≥ 6 or Valkey, no modules): the same records as the
//! embedded store, as JSON strings under `mpetl:<namespace>:<kind>:<key>`, each with a TTL so
//! nothing grows without bound.

use std::sync::Mutex;
use std::time::Duration;

use redis::Commands;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{ChunkRecord, StateError, StateStore, StreamState};

/// Records live this long after their last write (a chunk's record outlives any cache TTL).
pub const RECORD_TTL: Duration = Duration::from_secs(400 * 24 * 3600);

pub struct RedisStore {
    client: redis::Client,
    conn: Mutex<redis::Connection>,
    /// The URL with any password replaced, for messages.
    shown: String,
    prefix: String,
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

impl RedisStore {
    /// Connects and checks the server answers; `namespace` separates deployments on one Redis.
    pub fn open(url: &str, namespace: &str) -> Result<RedisStore, StateError> {
        let shown = redact(url);
        let unreachable = |detail: String| StateError::Unreachable { url: shown.clone(), detail };
        let client = redis::Client::open(url).map_err(|e| unreachable(e.to_string()))?;
        let mut conn =
            client.get_connection_with_timeout(Duration::from_secs(5)).map_err(|e| unreachable(e.to_string()))?;
        conn.set_read_timeout(Some(Duration::from_secs(5))).map_err(|e| unreachable(e.to_string()))?;
        let pong: String = redis::cmd("PING").query(&mut conn).map_err(|e| unreachable(e.to_string()))?;
        if pong != "PONG" {
            return Err(unreachable(format!("PING answered {pong:?}")));
        }
        Ok(RedisStore { client, conn: Mutex::new(conn), shown, prefix: format!("mpetl:{namespace}") })
    }

    fn key(&self, kind: &str, key: &str) -> String {
        format!("{}:{kind}:{key}", self.prefix)
    }

    /// Runs `op`; a dropped connection is opened again once before the error is final.
    fn with_conn<T>(&self, op: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>) -> Result<T, StateError> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        match op(&mut conn) {
            Ok(v) => Ok(v),
            Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() => {
                let fresh = self
                    .client
                    .get_connection_with_timeout(Duration::from_secs(5))
                    .map_err(|e| StateError::Unreachable { url: self.shown.clone(), detail: e.to_string() })?;
                *conn = fresh;
                op(&mut conn).map_err(|e| StateError::Unreachable { url: self.shown.clone(), detail: e.to_string() })
            }
            Err(e) => Err(StateError::Store { path: self.shown.clone(), detail: e.to_string() }),
        }
    }

    fn get<T: DeserializeOwned>(&self, kind: &str, key: &str) -> Result<Option<T>, StateError> {
        let k = self.key(kind, key);
        let v: Option<String> = self.with_conn(|c| c.get(&k))?;
        v.map(|s| serde_json::from_str(&s).map_err(|e| StateError::Corrupt { key: k.clone(), detail: e.to_string() }))
            .transpose()
    }

    fn put<T: Serialize>(&self, kind: &str, key: &str, v: &T) -> Result<(), StateError> {
        let k = self.key(kind, key);
        let json = serde_json::to_string(v)
            .map_err(|e| StateError::Store { path: self.shown.clone(), detail: e.to_string() })?;
        self.with_conn(|c| c.set_ex::<_, _, ()>(&k, &json, RECORD_TTL.as_secs()))
    }
}

impl StateStore for RedisStore {
    fn stream(&self, key: &str) -> Result<Option<StreamState>, StateError> {
        self.get("stream", key)
    }
    fn put_stream(&self, key: &str, s: &StreamState) -> Result<(), StateError> {
        self.put("stream", key, s)
    }
    fn chunk(&self, id: &str) -> Result<Option<ChunkRecord>, StateError> {
        self.get("chunk", id)
    }
    fn put_chunk(&self, rec: &ChunkRecord) -> Result<(), StateError> {
        self.put("chunk", &rec.id, rec)
    }
}
