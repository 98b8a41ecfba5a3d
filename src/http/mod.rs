//! What every marketplace client shares: the HTTP client, rate-limit buckets, and reading a
//! response into status + complete body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Builds the one reqwest client a run uses (rustls with ring: polars already builds ring).
// Invariant: building fails only when no TLS provider can be set up, and one is installed just
// before; nothing from input or the network reaches this.
#[allow(clippy::expect_used)]
pub fn client(timeout: Duration) -> reqwest::Client {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Another part of the process may have installed one already; either is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .user_agent(concat!("mpetl/", env!("CARGO_PKG_VERSION")))
        .gzip(true)
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .build()
        .expect("reqwest client with rustls")
}

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
        let mut tat = self.tat.lock().await;
        if let Some(remote) = &self.remote {
            loop {
                let (r, i, t) = (remote.clone(), self.interval, self.tolerance);
                match tokio::task::spawn_blocking(move || r.try_take(i, t)).await {
                    Ok(Ok(0)) => return,
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
        }
        let now = Instant::now();
        let theoretical = tat.unwrap_or(now).max(now);
        let allowed_at = theoretical.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_at > now {
            tokio::time::sleep_until(allowed_at).await;
        }
        // The server counts the request when it arrives, not when its slot was: a sleep that
        // woke late (a busy runtime, a coarse timer) sends late, and the next slot must follow
        // from that moment, as the server's GCRA does, or the next request lands too close to
        // this one (seen as sandbox violations on a loaded machine).
        let sent = Instant::now();
        *tat = Some(theoretical.max(sent) + self.interval);
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

/// What every client of a run shares: the HTTP client, the rate-limit buckets, the retry policy
/// and the count of retries made.
#[derive(Debug, Clone)]
pub struct Net {
    pub http: reqwest::Client,
    pub buckets: Arc<Buckets>,
    pub retry: RetryPolicy,
    pub retries: Arc<std::sync::atomic::AtomicU64>,
}

impl Net {
    pub fn new(timeout: Duration, time_scale: u32, buckets: Buckets) -> Net {
        Net {
            http: client(timeout),
            buckets: Arc::new(buckets),
            retry: RetryPolicy { time_scale, ..RetryPolicy::default() },
            retries: Arc::default(),
        }
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A response read to the end.
pub struct Body {
    pub status: reqwest::StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub bytes: Vec<u8>,
}

/// Why a request produced no usable body.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("no answer: {0}")]
    Transport(String),
}

/// Sends a request and reads the whole body. Transport errors are stripped of their URL.
pub async fn send(req: reqwest::RequestBuilder) -> Result<Body, HttpError> {
    let resp = req.send().await.map_err(|e| HttpError::Transport(e.without_url().to_string()))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await.map_err(|e| HttpError::Transport(e.without_url().to_string()))?;
    Ok(Body { status, headers, bytes: bytes.to_vec() })
}

/// The start of a body for an error message: bodies can be long, and never hold secrets here.
pub fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let t = text.trim();
    if t.chars().count() > 300 { format!("{}…", t.chars().take(300).collect::<String>()) } else { t.to_string() }
}

/// How failed requests are repeated. Periods are divided by `time_scale` like the limits.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// Backoff before the 2nd attempt; doubles each time, full jitter, capped at `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// Ozon's "Circle is open": the method is blocked for minutes.
    pub circuit_wait: Duration,
    pub time_scale: u32,
    /// The run's stop flag: waits for a slot or a retry end when it rises.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    /// The longest wait a server may ask for (before time scaling); a longer one fails the
    /// request at once instead of stalling the run for hours.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_secs(2),
            cap: Duration::from_secs(120),
            circuit_wait: Duration::from_secs(180),
            time_scale: 1,
            stop: Arc::default(),
            max_wait: Duration::from_secs(900),
        }
    }
}

/// The outcome of one attempt that did not succeed.
pub enum Failure<E> {
    /// Worth repeating (429, 408, 5xx, no answer, a cut body); `hint` is the server's wait.
    Retry { hint: Option<Duration>, error: E },
    /// Repeating cannot help (400, 401, 403, 404, anything unknown).
    Permanent(E),
    /// The run was stopped while the request waited for its slot or its retry.
    Stopped,
    /// The server asked for a wait longer than [`RetryPolicy::max_wait`].
    WaitTooLong { wait: Duration, error: E },
}

/// A request given up on after `attempts` tries, or refused for good.
#[derive(Debug, thiserror::Error)]
#[error("{source} (gave up after {attempts} attempts)")]
pub struct GaveUp<E: std::error::Error + 'static> {
    pub attempts: u32,
    #[source]
    pub source: E,
}

/// Cheap jitter without a dependency: xorshift seeded from the clock and a counter.
fn jitter(max: Duration) -> Duration {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.subsec_nanos() as u64);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    max.mul_f64((x >> 11) as f64 / (1u64 << 53) as f64)
}

impl RetryPolicy {
    fn scaled(&self, d: Duration) -> Duration {
        d / self.time_scale.max(1)
    }

    /// Runs `attempt` until it succeeds, fails for good, or attempts run out. Every attempt takes
    /// a token from `limiter` first, so retries never exceed the limit either. `on_retry` hears
    /// each repeat (for progress and counters).
    pub async fn run<T, E, F, Fut>(
        &self,
        limiter: &Limiter,
        mut attempt: F,
        on_retry: impl Fn(&E, Duration),
    ) -> Result<T, Failure<GaveUp<E>>>
    where
        E: std::error::Error + 'static,
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, Failure<E>>>,
    {
        let mut n = 0;
        loop {
            n += 1;
            // A slot can be minutes away (WB finance: 1/min, shared by every month of a
            // backfill): a stop must not wait for it, or SIGTERM outlives systemd's patience.
            if !self.unless_stopped(limiter.acquire()).await {
                return Err(Failure::Stopped);
            }
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(Failure::Stopped) => return Err(Failure::Stopped),
                Err(Failure::WaitTooLong { wait, error }) => {
                    return Err(Failure::WaitTooLong { wait, error: GaveUp { attempts: n, source: error } });
                }
                Err(Failure::Permanent(error)) => {
                    return Err(Failure::Permanent(GaveUp { attempts: n, source: error }));
                }
                Err(Failure::Retry { hint, error }) => {
                    limiter.failed().await;
                    if let Some(wait) = hint.filter(|h| *h > self.max_wait) {
                        return Err(Failure::WaitTooLong { wait, error: GaveUp { attempts: n, source: error } });
                    }
                    if n >= self.max_attempts {
                        return Err(Failure::Retry { hint, error: GaveUp { attempts: n, source: error } });
                    }
                    let backoff = jitter(self.cap.min(self.base * 2u32.saturating_pow(n - 1)));
                    // The server's wait is the least we wait; the growing backoff still applies,
                    // so clients that compete for one limit spread out instead of colliding
                    // again. The attempt budget stays.
                    let wait = self.scaled(hint.map_or(backoff, |h| h.max(backoff)));
                    on_retry(&error, wait);
                    if !self.unless_stopped(tokio::time::sleep(wait)).await {
                        return Err(Failure::Stopped);
                    }
                }
            }
        }
    }

    /// Runs `wait` unless the stop flag rises first (seen within 100 ms); false if it did.
    /// Dropping a wait is harmless: nothing is sent, and the slot is not taken.
    async fn unless_stopped(&self, wait: impl std::future::Future<Output = ()>) -> bool {
        let stop = self.stop.clone();
        let stopped = async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            () = wait => true,
            () = stopped => false,
        }
    }

    pub fn circuit_open(&self) -> Duration {
        self.circuit_wait
    }
}

/// Seconds in a header such as `X-Ratelimit-Retry` or `Retry-After` (names are case-insensitive).
/// Not a number, or negative: no hint. Infinite or beyond what a `Duration` holds: the longest
/// wait there is, which the retry policy refuses to sit out.
pub fn header_secs(headers: &reqwest::header::HeaderMap, name: &str) -> Option<Duration> {
    let secs = headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok().filter(|s| *s >= 0.0)?;
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
}

/// Statuses that are worth repeating.
pub fn transient(status: reqwest::StatusCode) -> bool {
    status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real time, scaled: sleeps never end early, so the lower bounds are exact guarantees.
    #[tokio::test]
    async fn gcra_allows_burst_then_paces() {
        let l = Limiter::new(Quota::per_minute(3), 600); // one per 100 ms, 3 at once
        let t0 = Instant::now();
        for _ in 0..3 {
            l.acquire().await;
        }
        assert!(Instant::now() - t0 < Duration::from_millis(50), "a burst of 3 goes at once");
        l.acquire().await;
        assert!(Instant::now() - t0 >= Duration::from_millis(100), "the 4th waits one interval");
        l.acquire().await;
        assert!(Instant::now() - t0 >= Duration::from_millis(200));
    }

    // Regression (limits_bad_day_violation): a limiter whose sleep woke 46 ms late paced the
    // next request from the slot it should have had, 121 ms after the late one at a 166 ms
    // interval, and the sandbox answered 429. On one thread, a blocking task makes the wake late.
    #[tokio::test(flavor = "current_thread")]
    async fn a_late_wake_paces_the_next_request_from_when_it_left() {
        let l = Arc::new(Limiter::new(Quota::per_minute(1), 600)); // 100 ms
        l.acquire().await;
        let second = tokio::spawn({
            let l = l.clone();
            async move {
                l.acquire().await;
                Instant::now()
            }
        });
        tokio::time::sleep(Duration::from_millis(90)).await;
        std::thread::sleep(Duration::from_millis(60)); // the runtime is busy when the slot comes
        let left = second.await.unwrap();
        l.acquire().await;
        assert!(Instant::now() - left >= Duration::from_millis(100), "one interval after the late request left");
    }

    // A request stuck in the network and timed out may arrive just before its repeat.
    #[tokio::test]
    async fn a_failed_request_is_repeated_no_sooner_than_an_interval_after_it_failed() {
        let l = Limiter::new(Quota::per_minute(1), 600); // 100 ms
        l.acquire().await;
        tokio::time::sleep(Duration::from_millis(60)).await; // left late, or answered slowly
        let failed_at = Instant::now();
        l.failed().await;
        l.acquire().await;
        assert!(Instant::now() - failed_at >= Duration::from_millis(100), "one interval after the failure");
    }

    #[tokio::test]
    async fn burst_of_one_spaces_every_request() {
        let l = Limiter::new(Quota::per_minute(1), 1200); // 50 ms
        let t0 = Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        assert!(Instant::now() - t0 >= Duration::from_millis(200));
    }
}
