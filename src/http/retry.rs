//! Repeating failed requests: which failures are worth another try, how long to wait, when to
//! give up.

use std::sync::Arc;
use std::time::Duration;

use super::Limiter;

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
    /// Requests of the process in flight at once (sent, their answer being read). Two hundred
    /// sellers' streams starting together sent thousands at once: answers were read slower
    /// than the timeout allows, and each repeat added to the crowd.
    pub in_flight: Arc<tokio::sync::Semaphore>,
}

/// See [`RetryPolicy::in_flight`] and `fetch.max_in_flight`.
pub const DEFAULT_IN_FLIGHT: usize = 32;

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
            in_flight: Arc::new(tokio::sync::Semaphore::new(DEFAULT_IN_FLIGHT)),
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
            // The permit is had when the slot is ready, and held until the answer is read.
            let gate = async { self.in_flight.clone().acquire_owned().await.ok() };
            let Some(permit) = self.unless_stopped(limiter.acquire_through(gate)).await else {
                return Err(Failure::Stopped);
            };
            let outcome = attempt().await;
            drop(permit); // not held through a backoff
            match outcome {
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
                    if self.unless_stopped(tokio::time::sleep(wait)).await.is_none() {
                        return Err(Failure::Stopped);
                    }
                }
            }
        }
    }

    /// Runs `wait` unless the stop flag rises first (seen within 100 ms); None if it did.
    /// Dropping a wait is harmless: nothing is sent, and the slot is not taken.
    async fn unless_stopped<T>(&self, wait: impl std::future::Future<Output = T>) -> Option<T> {
        let stop = self.stop.clone();
        let stopped = async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            v = wait => Some(v),
            () = stopped => None,
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
