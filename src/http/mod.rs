//! What every marketplace client shares: the HTTP client, rate-limit buckets, and reading a
//! response into status + complete body.

mod limiter;
mod retry;

use std::sync::Arc;
use std::time::Duration;

pub use limiter::{Buckets, Limiter, Quota, SharedBuckets};
pub use retry::{DEFAULT_IN_FLIGHT, Failure, GaveUp, RetryPolicy, header_secs, transient};

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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

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

    // Regression (bench --sellers 200): a request that waits for its in-flight permit after its
    // slot leaves late, and the next one of its bucket must be paced from then, or the two reach
    // the server less than an interval apart.
    #[tokio::test]
    async fn a_request_held_back_by_the_in_flight_cap_paces_the_next_from_when_it_left() {
        let l = Limiter::new(Quota::per_minute(1), 600); // 100 ms
        let permits = Arc::new(tokio::sync::Semaphore::new(1));
        let held = permits.clone().acquire_owned().await.unwrap();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            drop(held);
        });
        let t0 = Instant::now();
        let permit = l.acquire_through(permits.clone().acquire_owned()).await.unwrap();
        let left = Instant::now();
        assert!(left - t0 >= Duration::from_millis(150), "it waited for the permit");
        drop(permit);
        l.acquire().await;
        assert!(Instant::now() - left >= Duration::from_millis(100), "one interval after it left");
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
