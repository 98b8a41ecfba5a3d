//! The marketplaces' rate limits and bad days, as the sandbox plays them: per-bucket token
//! buckets answering 429 with the real headers and bodies (and counting each violation), and
//! switchable faults — 5xx, 429 storms, cut bodies, stalls, schema drift.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use super::data::Rng;

/// Faults the sandbox injects into data responses. All off by default.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of requests answered 503.
    pub error_5xx_rate: f64,
    /// Share of 2xx JSON bodies cut in half.
    pub truncate_rate: f64,
    /// Requests that hold the answer for `stall` (longer than the client's timeout).
    pub stall_rate: f64,
    pub stall: Duration,
    /// Every `storm_every`-th request starts a storm of `storm_len` 429s (0: never).
    pub storm_every: u64,
    pub storm_len: u64,
    /// Rows lose optional fields and gain unknown ones.
    pub drift: bool,
}

/// WB's and Ozon's buckets per seller: (period, burst). Real values; divided by the time scale.
fn bucket(path: &str) -> Option<(&'static str, Duration, u32)> {
    let s = Duration::from_secs;
    Some(match path {
        "/api/v1/supplier/orders" => ("wb_orders", s(60), 10),
        "/api/v1/supplier/sales" => ("wb_sales", s(60), 1),
        "/api/v1/supplier/stocks" => ("wb_stocks", s(60), 1),
        "/api/finance/v1/sales-reports/detailed" => ("wb_finance_detailed", s(60), 1),
        "/api/finance/v1/sales-reports/list" => ("wb_finance_list", s(60), 1),
        "/adv/v1/promotion/count" => ("wb_advert", Duration::from_millis(200), 5),
        "/content/v2/get/cards/list" => ("wb_content", Duration::from_millis(600), 5),
        "/adv/v3/fullstats" => ("wb_fullstats", s(20), 1),
        "/adv/v1/upd" => ("wb_upd", s(1), 5),
        "/v3/posting/fbo/list"
        | "/v4/posting/fbs/list"
        | "/v1/finance/cash-flow-statement/list"
        | "/v1/returns/list"
        | "/v3/product/list"
        | "/v3/product/info/list"
        | "/v4/product/info/attributes"
        | "/v1/description-category/tree" => ("ozon", Duration::from_millis(20), 50),
        "/v1/finance/accrual/by-day" | "/v1/finance/accrual/types" => {
            ("ozon_accruals", Duration::from_micros(333_334), 3)
        }
        _ => return None,
    })
}

struct Gcra {
    tat: Option<Instant>,
}

/// The limiter and fault state of one sandbox.
pub struct Enforcer {
    /// None: limits not enforced. Some(n): the real periods divided by n.
    pub time_scale: Option<u32>,
    arrival_jitter: Duration,
    pub faults: Faults,
    buckets: Mutex<BTreeMap<&'static str, Gcra>>,
    rng: Mutex<Rng>,
    counter: Mutex<(u64, u64)>,
    /// 429s answered because a client went too fast, per bucket (storms not counted).
    pub violations: Mutex<BTreeMap<String, u64>>,
}

pub enum Verdict {
    Serve { stall: Option<Duration>, truncate: bool, drift: bool },
    Refuse(Response),
}

impl Enforcer {
    pub fn new(time_scale: Option<u32>, arrival_jitter: Duration, faults: Faults, seed: u64) -> Enforcer {
        Enforcer {
            time_scale,
            arrival_jitter,
            faults,
            buckets: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(Rng::new(seed ^ 0xFA_17)),
            counter: Mutex::new((0, 0)),
            violations: Mutex::new(BTreeMap::new()),
        }
    }

    fn chance(&self, p: f64) -> bool {
        p > 0.0 && self.rng.lock().expect("rng").chance(p)
    }

    /// Decides what happens to a request on `path` before it is served.
    pub fn check(&self, path: &str) -> Verdict {
        let Some((name, period, burst)) = bucket(path) else {
            return Verdict::Serve { stall: None, truncate: false, drift: false };
        };
        let wb = name.starts_with("wb");
        let f = &self.faults;
        {
            let mut c = self.counter.lock().expect("counter");
            c.0 += 1;
            if f.storm_every > 0 && c.0 % f.storm_every == 0 {
                c.1 = f.storm_len;
            }
            if c.1 > 0 {
                c.1 -= 1;
                return Verdict::Refuse(too_many(wb, Duration::from_secs(1), burst, period));
            }
        }
        if let Some(scale) = self.time_scale {
            let interval = period / scale.max(1);
            // Slack for the time between a client's pacing and our clock (scheduling, connection
            // set-up): negligible against real periods, noticeable when they are scaled down.
            // It forgives one request's lateness, not a pace: a client faster than the limit
            // runs up a debt that passes any slack within a few requests.
            let slack = (interval / 5).max(self.arrival_jitter);
            let tolerance = interval * burst.saturating_sub(1) + slack;
            let now = Instant::now();
            let mut buckets = self.buckets.lock().expect("buckets");
            let b = buckets.entry(name).or_insert(Gcra { tat: None });
            let tat = b.tat.unwrap_or(now).max(now);
            let allowed_at = tat.checked_sub(tolerance).unwrap_or(now);
            if allowed_at > now {
                *self.violations.lock().expect("violations").entry(name.to_string()).or_default() += 1;
                let wait = (allowed_at - now) * scale.max(1);
                return Verdict::Refuse(too_many(wb, wait, burst, period));
            }
            b.tat = Some(tat + interval);
        }
        if self.chance(f.error_5xx_rate) {
            let body = if wb {
                json!({"title": "internal server error", "detail": "upstream timeout", "status": 503})
            } else {
                json!({"code": 13, "message": "Internal error", "details": []})
            };
            return Verdict::Refuse((StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response());
        }
        let stall = self.chance(f.stall_rate).then_some(f.stall);
        Verdict::Serve { stall, truncate: self.chance(f.truncate_rate), drift: f.drift }
    }
}

/// A 429 as WB (`X-Ratelimit-*`, problem JSON) or Ozon (`Retry-After`, code 8) sends it. Waits
/// are in real (unscaled) seconds, as the client expects them.
fn too_many(wb: bool, wait: Duration, burst: u32, period: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let (body, headers): (Value, Vec<(&str, String)>) = if wb {
        (
            json!({"title": "too many requests", "detail": "limited by 3f2a9c1e-sandbox", "code": "", "requestId": "sandbox",
                   "origin": "s2s-api-auth-stat", "status": 429, "statusText": "Too Many Requests"}),
            vec![
                ("X-Ratelimit-Retry", secs.to_string()),
                ("X-Ratelimit-Limit", burst.to_string()),
                ("X-Ratelimit-Reset", (period.as_secs().max(1) * u64::from(burst)).to_string()),
            ],
        )
    } else {
        (
            json!({"code": 8, "message": "You have reached request rate limit per second", "details": []}),
            vec![("Retry-After", secs.to_string())],
        )
    };
    let mut resp = (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response();
    for (k, v) in headers {
        resp.headers_mut().insert(k, HeaderValue::from_str(&v).expect("ascii"));
    }
    resp
}

/// Schema drift: odd rows lose optional fields, every row gains a field nobody knows.
pub fn drift(bytes: &[u8]) -> Option<Vec<u8>> {
    const OPTIONAL: [&str; 6] = ["brand", "warehouseName", "regionName", "substatus", "order_number", "vendorCode"];
    let mut v: Value = serde_json::from_slice(bytes).ok()?;
    let rows = match &mut v {
        Value::Array(a) => a,
        Value::Object(o) => match o.get_mut("postings") {
            Some(Value::Array(a)) => a,
            _ => return None,
        },
        _ => return None,
    };
    for (i, row) in rows.iter_mut().enumerate() {
        if let Value::Object(m) = row {
            if i % 2 == 1 {
                for k in OPTIONAL {
                    m.remove(k);
                }
            }
            m.insert("sandboxNewField".into(), json!({"since": "2026-11"}));
        }
    }
    serde_json::to_vec(&v).ok()
}

pub fn body_of(bytes: Vec<u8>) -> Body {
    Body::from(bytes)
}
