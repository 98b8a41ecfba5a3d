//! Rate-limit buckets: GCRA per account and bucket, in this process or in Redis.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A rate limit as WB states it: one request per `period`, with up to `burst` at once. Paced as
/// GCRA (emission interval `period`, tolerance `period × (burst − 1)`), the same token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub period: Duration,
    pub burst: u32,
}

impl Quota {
    pub const fn per_minute(burst: u32) -> Quota {
        Quota { period: Duration::from_secs(60), burst }
    }
    /// `n` per second, `n` at once.
    pub const fn per_second(n: u32) -> Quota {
        Quota { period: Duration::from_micros(1_000_000 / n as u64), burst: n }
    }
}

/// Buckets kept in Redis, so every process of a seller draws from the same ones.
#[derive(Debug, Clone)]
pub struct SharedBuckets {
    pub client: redis::Client,
    /// Key prefix, e.g. `mpetl:default:bucket`.
    pub prefix: String,
}

/// GCRA in Redis, on Redis' clock: answers 0 (go; the slot is taken) or the µs to wait.
const GCRA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allowed = tat - tonumber(ARGV[2])
if allowed > now then return allowed - now end
redis.call('SET', KEYS[1], string.format('%.0f', tat + tonumber(ARGV[1])), 'PX', ARGV[3])
return 0
";

/// Pushes a bucket's TAT to at least now + interval (µs), on Redis' clock: see
/// [`Limiter::failed`].
const PUSH: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
local floor = now + tonumber(ARGV[1])
if tat < floor then tat = floor end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ARGV[2])
return 0
";

struct Remote {
    client: redis::Client,
    key: String,
    conn: std::sync::Mutex<Option<redis::Connection>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("key", &self.key).finish()
    }
}

impl Remote {
    /// µs to wait before the slot is ours (0: taken now).
    fn try_take(&self, interval: Duration, tolerance: Duration) -> redis::RedisResult<u64> {
        let ttl_ms = ((interval + tolerance).as_millis() as u64).max(1) * 2 + 1000;
        self.invoke(
            redis::Script::new(GCRA)
                .key(&self.key)
                .arg(interval.as_micros() as u64)
                .arg(tolerance.as_micros() as u64)
                .arg(ttl_ms),
        )
    }

    fn push(&self, interval: Duration, tolerance: Duration) -> redis::RedisResult<u64> {
        let ttl_ms = ((interval + tolerance).as_millis() as u64).max(1) * 2 + 1000;
        self.invoke(redis::Script::new(PUSH).key(&self.key).arg(interval.as_micros() as u64).arg(ttl_ms))
    }

    fn invoke(&self, script: &mut redis::ScriptInvocation<'_>) -> redis::RedisResult<u64> {
        let mut guard = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let conn = match guard.as_mut() {
            Some(c) => c,
            // With read and write timeouts: a Redis that accepts but never answers would hold
            // the bucket, and every request of it, forever.
            None => guard.insert(crate::state::redis::connect(&self.client)?),
        };
        let r = script.invoke(conn);
        if r.is_err() {
            *guard = None; // reconnect next time
        }
        r
    }
}

/// One bucket's pacing. Waiters queue on the mutex, so requests of this process leave in order;
/// with Redis the slot itself is taken from the shared bucket.
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    tolerance: Duration,
    tat: tokio::sync::Mutex<Option<Instant>>,
    remote: Option<Arc<Remote>>,
}

impl Limiter {
    pub fn new(q: Quota, time_scale: u32) -> Limiter {
        let interval = q.period / time_scale.max(1);
        Limiter {
            interval,
            tolerance: interval * q.burst.saturating_sub(1),
            tat: tokio::sync::Mutex::new(None),
            remote: None,
        }
    }

    /// Waits until a request may go.
    pub async fn acquire(&self) {
        self.acquire_through(std::future::ready(())).await
    }

    /// Waits until a request may go and then for `gate` (a permit of the process's requests in
    /// flight), and stamps the slot when both are had: a request of a ready bucket that waits
    /// for a permit leaves, and the server counts it, only then. Stamped before the permit, a
    /// request delayed by it could reach the server within an interval of the next one. The
    /// bucket stays locked while its ready request waits, so its later requests queue behind.
    pub async fn acquire_through<P>(&self, gate: impl std::future::Future<Output = P>) -> P {
        let mut tat = self.tat.lock().await;
        if let Some(remote) = &self.remote {
            // The shared bucket's slot is taken in Redis the moment it is granted, so the
            // permit comes first; it is held while another process of this seller has the slot.
            let permit = gate.await;
            loop {
                let (r, i, t) = (remote.clone(), self.interval, self.tolerance);
                match tokio::task::spawn_blocking(move || r.try_take(i, t)).await {
                    Ok(Ok(0)) => return permit,
                    Ok(Ok(us)) => tokio::time::sleep(Duration::from_micros(us)).await,
                    Ok(Err(e)) => {
                        // Pacing goes on locally rather than stopping the run.
                        tracing::warn!(error = %e, "the Redis rate-limit bucket is unreachable: pacing this process alone");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "rate-limit task failed: pacing this process alone");
                        break;
                    }
                }
            }
            self.pace_through(&mut tat, std::future::ready(())).await;
            return permit;
        }
        self.pace_through(&mut tat, gate).await
    }

    /// Local pacing: waits for the slot, then for `gate`, then stamps the slot.
    async fn pace_through<P>(&self, tat: &mut Option<Instant>, gate: impl std::future::Future<Output = P>) -> P {
        let now = Instant::now();
        let theoretical = tat.unwrap_or(now).max(now);
        let allowed_at = theoretical.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_at > now {
            tokio::time::sleep_until(allowed_at).await;
        }
        let permit = gate.await;
        // The server counts the request when it arrives, not when its slot was: a sleep that
        // woke late (a busy runtime, a coarse timer) or a wait for the permit sends late, and
        // the next slot must follow from that moment, as the server's GCRA does, or the next
        // request lands too close to this one (seen as sandbox violations on a loaded machine).
        let sent = Instant::now();
        *tat = Some(theoretical.max(sent) + self.interval);
        permit
    }

    /// A request of this bucket failed in a way worth repeating. Its slot was counted when it
    /// left, but the server counts it when it arrives, which is only known to be before the
    /// answer (or the timeout): a request stuck in a slow network and timed out may arrive just
    /// before its repeat, a 429 of our own making. So the next slot is at least one interval
    /// after now.
    pub async fn failed(&self) {
        let mut tat = self.tat.lock().await;
        if let Some(remote) = &self.remote {
            let (r, i, t) = (remote.clone(), self.interval, self.tolerance);
            match tokio::task::spawn_blocking(move || r.push(i, t)).await {
                Ok(Ok(_)) => return,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the Redis rate-limit bucket is unreachable: pacing this process alone")
                }
                Err(e) => tracing::warn!(error = %e, "rate-limit task failed: pacing this process alone"),
            }
        }
        let floor = Instant::now() + self.interval;
        *tat = Some(tat.map_or(floor, |t| t.max(floor)));
    }
}

/// Limiters per (account, bucket), shared by every client of a run (and, with Redis, by every
/// process of a seller).
#[derive(Debug, Default)]
pub struct Buckets {
    time_scale: u32,
    shared: Option<SharedBuckets>,
    /// Limits that replace a bucket's default.
    overrides: std::collections::BTreeMap<String, Quota>,
    map: Mutex<HashMap<(String, &'static str), Arc<Limiter>>>,
}

impl Buckets {
    pub fn new(time_scale: u32, shared: Option<SharedBuckets>) -> Buckets {
        Buckets { time_scale, shared, overrides: Default::default(), map: Mutex::new(HashMap::new()) }
    }

    pub fn with_overrides(mut self, overrides: std::collections::BTreeMap<String, Quota>) -> Buckets {
        self.overrides = overrides;
        self
    }

    /// The limit in force for `bucket`: the config's override, else the marketplace's default.
    pub fn quota(&self, bucket: &str, default: Quota) -> Quota {
        self.overrides.get(bucket).copied().unwrap_or(default)
    }

    pub fn get(&self, account: &str, bucket: &'static str, quota: Quota) -> Arc<Limiter> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((account.to_string(), bucket))
            .or_insert_with(|| {
                let mut l = Limiter::new(self.quota(bucket, quota), self.time_scale);
                l.remote = self.shared.as_ref().map(|s| {
                    Arc::new(Remote {
                        client: s.client.clone(),
                        key: format!("{}:{account}:{bucket}", s.prefix),
                        conn: std::sync::Mutex::new(None),
                    })
                });
                Arc::new(l)
            })
            .clone()
    }
}
