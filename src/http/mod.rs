//! What every marketplace client shares: the HTTP client, rate-limit buckets, and reading a
//! response into status + complete body.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Builds the one reqwest client a run uses (rustls with ring: polars already builds ring).
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

/// One bucket's pacing. Waiters queue on the mutex, so requests leave in order.
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    tolerance: Duration,
    tat: tokio::sync::Mutex<Option<Instant>>,
}

impl Limiter {
    pub fn new(q: Quota, time_scale: u32) -> Limiter {
        let interval = q.period / time_scale.max(1);
        Limiter { interval, tolerance: interval * q.burst.saturating_sub(1), tat: tokio::sync::Mutex::new(None) }
    }

    /// Waits until a request may go.
    pub async fn acquire(&self) {
        let mut tat = self.tat.lock().await;
        let now = Instant::now();
        let theoretical = tat.unwrap_or(now).max(now);
        let allowed_at = theoretical.checked_sub(self.tolerance).unwrap_or(now);
        if allowed_at > now {
            tokio::time::sleep_until(allowed_at).await;
        }
        *tat = Some(theoretical + self.interval);
    }
}

/// Limiters per (account, bucket), shared by every client of a run.
#[derive(Debug, Default)]
pub struct Buckets {
    time_scale: u32,
    map: Mutex<HashMap<(String, &'static str), Arc<Limiter>>>,
}

impl Buckets {
    pub fn new(time_scale: u32) -> Buckets {
        Buckets { time_scale, map: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, account: &str, bucket: &'static str, quota: Quota) -> Arc<Limiter> {
        self.map
            .lock()
            .expect("buckets lock")
            .entry((account.to_string(), bucket))
            .or_insert_with(|| Arc::new(Limiter::new(quota, self.time_scale)))
            .clone()
    }
}

/// A response read to the end.
pub struct Body {
    pub status: reqwest::StatusCode,
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
    let bytes = resp.bytes().await.map_err(|e| HttpError::Transport(e.without_url().to_string()))?;
    Ok(Body { status, bytes: bytes.to_vec() })
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
