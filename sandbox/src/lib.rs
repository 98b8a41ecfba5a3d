//! WB and Ozon emulators on 127.0.0.1 for the demo, the tests and the benches.
//!
//! They speak the real paths, auth headers, paging rules, error bodies and quirks described in
//! `shared/reference/`, over data generated from a seed (see [`data`]). The sandbox also knows the
//! ground truth of what it served, so tests compare mpetl's metrics with it.

pub mod catalogue;
pub mod data;
pub mod finance;
mod front;
pub mod limits;
pub mod minimum;
mod ozon;
pub mod ozon_catalogue;
mod ozon_money;
pub mod ozon_returns;
pub mod profile;
pub mod telegram;
mod truth;
mod wb;
mod wb_money;
pub mod wb_stocks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{Request, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

pub use data::{Profile, ProfileName, SellerData};
pub use front::{Credentials, credentials, seller_mix};
pub use truth::TruthRow;

/// Credentials the sandbox accepts.
pub const WB_TOKEN: &str = "sandbox-wb-token";
pub const OZON_CLIENT_ID: &str = "100500";
pub const OZON_API_KEY: &str = "sandbox-ozon-api-key";
/// How long the sandbox's Ozon key has left (`/v1/roles` → `expires_at`).
pub const OZON_KEY_DAYS_LEFT: i64 = 90;
/// The `sid` of the WB tokens the sandbox issues with [`wb_jwt`].
pub const WB_JWT_SID: &str = "mpetl-sandbox";

/// A WB token shaped as WB issues them: a JWT (`header.payload.signature`, base64url) whose
/// payload carries `exp` (Unix seconds) and the data categories. The sandbox checks no
/// signature: it accepts a JWT with its own `sid` until `exp`, and answers `token expired` after,
/// as WB does. [`WB_TOKEN`] stays valid too (a token whose expiry nobody can read).
pub fn wb_jwt(exp: i64) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = e.encode(br#"{"alg":"ES256","kid":"sandbox","typ":"JWT"}"#);
    let payload = e.encode(serde_json::json!({"sid": WB_JWT_SID, "exp": exp, "s": 1_073_746_030_i64}).to_string());
    format!("{header}.{payload}.c2FuZGJveA")
}

/// How the sandbox seller and its API behave.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub profile: ProfileName,
    pub seed: u64,
    /// The frozen "now" every response is computed as of; defaults to the real clock at start.
    pub now: Option<DateTime<Utc>>,
    /// Days of trade generated before `now`.
    pub history_days: i64,
    /// Rows per WB statistics page (about 80 000 in production).
    pub wb_page_cap: usize,
    /// Longest FBS window accepted before `PERIOD_IS_TOO_LONG`.
    pub fbs_max_days: i64,
    /// Port to bind on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Rows per `sales-reports/detailed` page at most (WB: 100 000).
    pub wb_finance_page_cap: usize,
    /// Accruals per `accrual/by-day` page (server-set in the real API).
    pub accrual_page: usize,
    /// A report whose header totals disagree with its rows (forPaySum off by 1.00).
    pub misreport_header: Option<i64>,
    /// The Ozon statement half-month starting that day disagrees with its accruals (by 1.00).
    pub misreport_cash_flow: Option<NaiveDate>,
    /// Enforce the real rate limits, their periods divided by this; None: no limits.
    pub enforce_limits: Option<u32>,
    /// How much earlier than its slot a request may arrive and still be served, at least (a
    /// fifth of the scaled interval when that is more): the time between a client's pacing and
    /// our clock (scheduling, a new connection's set-up) that no pacing can remove.
    pub arrival_jitter: std::time::Duration,
    pub faults: limits::Faults,
    /// The returns list ignores `last_id`: it serves its first page with `has_next` for ever.
    pub ozon_returns_stuck: bool,
    /// More sellers behind the same address, each with its own credentials ([`credentials`]),
    /// data (seed `seed + n`) and rate-limit buckets, as one marketplace serves many cabinets:
    /// seller `n` (from 1) has profile `more_sellers[n - 1]`.
    pub more_sellers: Vec<ProfileName>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            profile: ProfileName::Medium,
            seed: 42,
            now: None,
            history_days: 400,
            wb_page_cap: 80_000,
            fbs_max_days: 30,
            port: 0,
            wb_finance_page_cap: 100_000,
            accrual_page: 1000,
            misreport_header: None,
            misreport_cash_flow: None,
            enforce_limits: None,
            arrival_jitter: std::time::Duration::from_millis(10),
            faults: limits::Faults::default(),
            ozon_returns_stuck: false,
            more_sellers: Vec::new(),
        }
    }
}

/// One request as the sandbox saw it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedRequest {
    pub path: String,
    pub query: String,
    pub body: String,
}

pub(crate) struct Shared {
    pub data: SellerData,
    pub cfg: SandboxConfig,
    pub truncate_next: AtomicU32,
    /// Accrual answers served so far (each one lists fees in another order).
    pub reads: std::sync::atomic::AtomicU64,
    pub requests: Mutex<BTreeMap<String, u64>>,
    /// Every data request in arrival order, for tests that ask which chunk a request was for.
    pub log: Mutex<Vec<LoggedRequest>>,
    /// When the last data request arrived: a test asks whether anyone fetched this seller after
    /// a worker acknowledged it.
    pub last_request: Mutex<Option<DateTime<Utc>>>,
    /// Responses per "path status", e.g. "/v4/posting/fbs/list 400".
    pub statuses: Mutex<BTreeMap<String, u64>>,
    pub enforcer: limits::Enforcer,
}

/// A running sandbox. Dropping it stops the server.
pub struct Sandbox {
    pub base_url: String,
    pub addr: SocketAddr,
    /// Seller 0 first.
    sellers: Vec<Arc<Shared>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Sandbox {
    pub async fn start(cfg: SandboxConfig) -> std::io::Result<Sandbox> {
        let now = cfg.now.unwrap_or_else(Utc::now);
        let profiles: Vec<ProfileName> = std::iter::once(cfg.profile).chain(cfg.more_sellers.iter().copied()).collect();
        let (seed, history) = (cfg.seed, cfg.history_days);
        let data = tokio::task::spawn_blocking(move || front::generate(&profiles, seed, now, history))
            .await
            .map_err(std::io::Error::other)?;
        let sellers: Vec<Arc<Shared>> = data
            .into_iter()
            .enumerate()
            .map(|(n, data)| {
                let seed = cfg.seed + n as u64;
                Arc::new(Shared {
                    data,
                    cfg: cfg.clone(),
                    truncate_next: AtomicU32::new(0),
                    reads: Default::default(),
                    requests: Mutex::new(BTreeMap::new()),
                    log: Mutex::new(Vec::new()),
                    last_request: Mutex::new(None),
                    statuses: Mutex::new(BTreeMap::new()),
                    enforcer: limits::Enforcer::new(cfg.enforce_limits, cfg.arrival_jitter, cfg.faults.clone(), seed),
                })
            })
            .collect();
        let app = front::router(&sellers, seller_router);
        let (addr, tx) = serve_on_own_thread(app, cfg.port, 2, "sandbox")?;
        Ok(Sandbox { base_url: format!("http://{addr}"), addr, sellers, stop: Some(tx) })
    }

    /// Seller 0's data.
    pub fn data(&self) -> &SellerData {
        &self.sellers[0].data
    }

    /// The sellers served, seller 0 first.
    pub fn sellers(&self) -> usize {
        self.sellers.len()
    }

    /// Seller `n`'s data.
    pub fn seller_data(&self, n: usize) -> Option<&SellerData> {
        self.sellers.get(n).map(|s| &s.data)
    }

    /// Seller 0's ground truth for Moscow days `from..=to`.
    pub fn truth(&self, from: NaiveDate, to: NaiveDate) -> Vec<TruthRow> {
        self.data().truth(from, to)
    }

    fn total(&self, f: impl Fn(&Shared) -> BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        total(&self.sellers, f)
    }

    /// Requests served per path so far, all sellers (the `/__sandbox` paths excluded).
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.total(|s| s.requests.lock().expect("requests lock").clone())
    }

    /// Responses per "path status", e.g. "/v4/posting/fbs/list 400", all sellers.
    pub fn statuses(&self) -> BTreeMap<String, u64> {
        self.total(|s| s.statuses.lock().expect("statuses lock").clone())
    }

    /// 429s answered because a client exceeded a limit, per bucket, all sellers.
    pub fn violations(&self) -> BTreeMap<String, u64> {
        self.total(violations_of)
    }

    /// Seller 0's data requests so far, in arrival order.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.sellers[0].log.lock().expect("log lock").clone()
    }

    /// When seller `n`'s last data request arrived; `None` before the first.
    pub fn last_request_at(&self, n: usize) -> Option<DateTime<Utc>> {
        *self.sellers.get(n)?.last_request.lock().expect("last request lock")
    }

    pub fn total_requests(&self) -> u64 {
        self.requests().values().sum()
    }

    /// The least requests per endpoint path the period's data needs, all sellers summed.
    pub fn minimum_requests(&self, from: NaiveDate, to: NaiveDate) -> BTreeMap<String, u64> {
        self.total(|s| minimum_of(s, from, to))
    }

    /// Cut the JSON body of seller 0's next `n` data responses in half.
    pub fn truncate_next(&self, n: u32) {
        self.sellers[0].truncate_next.store(n, Ordering::SeqCst);
    }
}

pub(crate) fn violations_of(s: &Shared) -> BTreeMap<String, u64> {
    s.enforcer.violations.lock().expect("violations lock").clone()
}

/// Sums a per-path count over every seller.
pub(crate) fn total(sellers: &[Arc<Shared>], f: impl Fn(&Shared) -> BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for s in sellers {
        for (k, v) in f(s) {
            *out.entry(k).or_default() += v;
        }
    }
    out
}

pub(crate) fn minimum_of(s: &Shared, from: NaiveDate, to: NaiveDate) -> BTreeMap<String, u64> {
    let caps = minimum::PageCaps {
        wb_statistics: s.cfg.wb_page_cap as u64,
        wb_finance: s.cfg.wb_finance_page_cap as u64,
        accruals: s.cfg.accrual_page as u64,
    };
    s.data.minimum_requests(from, to, caps).into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// One seller's emulators: every endpoint over its data, counted and limited by its own state.
fn seller_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/supplier/orders", get(wb::orders))
        .route("/api/v1/supplier/sales", get(wb::sales))
        .route("/api/v1/supplier/stocks", get(wb_stocks::stocks))
        .route("/v3/posting/fbo/list", post(ozon::fbo_list))
        .route("/v4/posting/fbs/list", post(ozon::fbs_list))
        .route("/api/finance/v1/sales-reports/detailed", post(wb_money::detailed))
        .route("/api/finance/v1/sales-reports/list", post(wb_money::list))
        .route("/adv/v1/promotion/count", get(wb_money::promotion_count))
        .route("/adv/v3/fullstats", get(wb_money::fullstats))
        .route("/adv/v1/upd", get(wb_money::upd))
        .route("/v1/finance/accrual/by-day", post(ozon_money::by_day))
        .route("/v1/finance/accrual/types", post(ozon_money::types))
        .route("/v1/finance/cash-flow-statement/list", post(ozon_money::cash_flow))
        .route("/v1/returns/list", post(ozon_returns::list))
        .route("/content/v2/get/cards/list", post(catalogue::cards))
        .route("/v3/product/list", post(ozon_catalogue::product_list))
        .route("/v3/product/info/list", post(ozon_catalogue::info_list))
        .route("/v4/product/info/attributes", post(ozon_catalogue::attributes))
        .route("/v1/description-category/tree", post(ozon_catalogue::tree))
        .route("/ping", get(wb::ping))
        .route("/v1/roles", post(ozon::roles))
        .route("/__sandbox/truth", get(truth))
        .route("/__sandbox/requests", get(requests))
        .layer(middleware::from_fn_with_state(shared.clone(), count_and_fault))
        .with_state(shared)
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

async fn count_and_fault(State(s): State<Arc<Shared>>, req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/__sandbox") {
        return next.run(req).await;
    }
    *s.requests.lock().expect("requests lock").entry(path.clone()).or_default() += 1;
    *s.last_request.lock().expect("last request lock") = Some(Utc::now());
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    s.log.lock().expect("log lock").push(LoggedRequest {
        path: path.clone(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        body: String::from_utf8_lossy(&bytes).into_owned(),
    });
    let req = Request::from_parts(parts, Body::from(bytes));
    let count = |status: StatusCode| {
        *s.statuses.lock().expect("statuses lock").entry(format!("{path} {}", status.as_u16())).or_default() += 1;
    };
    let (stall, truncate, drift) = match s.enforcer.check(&path) {
        limits::Verdict::Refuse(r) => {
            count(r.status());
            return r;
        }
        limits::Verdict::Serve { stall, truncate, drift } => (stall, truncate, drift),
    };
    if let Some(d) = stall {
        tokio::time::sleep(d).await;
    }
    let resp = next.run(req).await;
    count(resp.status());
    let cut =
        truncate || s.truncate_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
    if !(cut || drift) || !resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default().to_vec();
    let mut bytes = if drift { limits::drift(&bytes).unwrap_or(bytes) } else { bytes };
    if cut {
        // A proxy that cut the body: valid HTTP, half a JSON document.
        bytes.truncate(bytes.len() / 2);
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    Response::from_parts(parts, limits::body_of(bytes))
}

#[derive(Deserialize)]
struct TruthQuery {
    from: NaiveDate,
    to: NaiveDate,
}

async fn truth(State(s): State<Arc<Shared>>, Query(q): Query<TruthQuery>) -> Response {
    axum::Json(s.data.truth(q.from, q.to)).into_response()
}

async fn requests(State(s): State<Arc<Shared>>) -> Response {
    axum::Json(s.requests.lock().expect("requests lock").clone()).into_response()
}

/// Serves `app` on 127.0.0.1:`port` (0: a free one) from a runtime on threads of its own, until
/// the returned sender is dropped or fired. The emulators get threads of their own: a client
/// that keeps its runtime busy (decoding, the lake) must not delay the moment an emulator sees a
/// request, or its rate-limit bookkeeping would be about our scheduling rather than the client's
/// pacing.
pub(crate) fn serve_on_own_thread(
    app: Router,
    port: u16,
    workers: usize,
    name: &str,
) -> std::io::Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).thread_name(name).enable_all().build()?;
    std::thread::Builder::new().name(name.into()).spawn(move || {
        runtime.block_on(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
    })?;
    Ok((addr, tx))
}

/// A JSON array written row by row: each row's `Value` lives only while it is written. A page
/// collected as `Vec<Value>` first held ~10 KB per WB finance row (a map of 70 keys), ~1 GB for a
/// page of 100 000, on each of the blocking threads serving at once, and freed memory stays with
/// the thread's malloc arena: the large profile's sandbox grew past 19 GiB while serving.
pub(crate) fn json_array(rows: impl Iterator<Item = serde_json::Value>) -> Vec<u8> {
    let mut out = vec![b'['];
    for (i, row) in rows.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        // Writing into a Vec cannot fail, and a Value always serializes.
        let _ = serde_json::to_writer(&mut out, &row);
    }
    out.push(b']');
    out
}

/// A 200 answer of JSON bytes already written.
pub(crate) fn json_bytes(body: Vec<u8>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// Runs a handler's page building on the blocking pool: a big page takes a while to render, and
/// the workers must stay free to see other requests the moment they arrive (the rate-limit
/// bookkeeping depends on it).
pub(crate) async fn off_the_workers(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response())
}

/// Kopecks as the APIs print roubles: "-1234.50".
pub(crate) fn format_kopecks(k: i128) -> String {
    let sign = if k < 0 { "-" } else { "" };
    let a = k.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// A JSON error response with a status code.
pub(crate) fn json_error(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}
