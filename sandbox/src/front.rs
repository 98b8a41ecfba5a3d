//! Several sellers behind one address, as one marketplace serves many cabinets: the front door
//! tells a seller by its credentials and hands the request to that seller's emulators, whose data,
//! counts and rate-limit buckets are its own.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use tower::ServiceExt;

use super::{
    OZON_API_KEY, OZON_CLIENT_ID, ProfileName, SellerData, Shared, WB_TOKEN, minimum_of, total, violations_of,
};
use crate::data::Profile;

/// The credentials of seller `n` of a sandbox ([`super::SandboxConfig::more_sellers`]); seller
/// 0's are [`WB_TOKEN`], [`OZON_CLIENT_ID`] and [`OZON_API_KEY`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub wb_token: String,
    pub ozon_client_id: String,
    pub ozon_api_key: String,
}

pub fn credentials(n: usize) -> Credentials {
    if n == 0 {
        return Credentials {
            wb_token: WB_TOKEN.into(),
            ozon_client_id: OZON_CLIENT_ID.into(),
            ozon_api_key: OZON_API_KEY.into(),
        };
    }
    Credentials {
        wb_token: format!("{WB_TOKEN}-{n}"),
        ozon_client_id: (100_500 + n).to_string(),
        ozon_api_key: format!("{OZON_API_KEY}-{n}"),
    }
}

/// The profiles of `n` sellers an agency might run: mostly small, every twentieth medium.
pub fn seller_mix(n: usize) -> Vec<ProfileName> {
    (0..n).map(|k| if k % 20 == 0 { ProfileName::Medium } else { ProfileName::Small }).collect()
}

/// Every seller's data, seller `n` from seed `seed + n`, generated on the machine's cores.
pub(crate) fn generate(profiles: &[ProfileName], seed: u64, now: DateTime<Utc>, history: i64) -> Vec<SellerData> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(profiles.len().max(1));
    let mut out: Vec<Option<SellerData>> = (0..profiles.len()).map(|_| None).collect();
    std::thread::scope(|scope| {
        let slots: Vec<_> = out.iter_mut().enumerate().collect();
        let mut shares: Vec<Vec<(usize, &mut Option<SellerData>)>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, slot) in slots {
            shares[i % threads].push((i, slot));
        }
        for share in shares {
            scope.spawn(move || {
                for (n, slot) in share {
                    let profile = Profile::named(profiles[n]);
                    *slot = Some(SellerData::generate_nth(&profile, seed + n as u64, now, history, n));
                }
            });
        }
    });
    out.into_iter().flatten().collect()
}

struct Front {
    shared: Vec<Arc<Shared>>,
    sellers: Vec<Router>,
    by_wb_token: HashMap<String, usize>,
    by_ozon_client: HashMap<String, (usize, String)>,
    costs_csv: String,
}

/// The front door over every seller's emulators (`router` of each, seller 0 first).
pub(crate) fn router(shared: &[Arc<Shared>], router: impl Fn(Arc<Shared>) -> Router) -> Router {
    let n = shared.len();
    let mut costs_csv = String::new();
    for (i, s) in shared.iter().enumerate() {
        let csv = s.data.finance.costs_csv();
        // One header: the SKUs are unique across sellers, so one table holds them all.
        costs_csv.push_str(if i == 0 { &csv } else { csv.split_once('\n').map_or("", |(_, rows)| rows) });
    }
    let front = Front {
        shared: shared.to_vec(),
        sellers: shared.iter().cloned().map(router).collect(),
        by_wb_token: (0..n).map(|k| (credentials(k).wb_token, k)).collect(),
        by_ozon_client: (0..n)
            .map(|k| {
                let c = credentials(k);
                (c.ozon_client_id, (k, c.ozon_api_key))
            })
            .collect(),
        costs_csv,
    };
    Router::new().fallback(dispatch).with_state(Arc::new(front))
}

/// Which seller a request is for: its WB token or Ozon Client-Id and key, or (the `/__sandbox`
/// paths) `seller=N` in the query. Anything else goes to seller 0, whose own check answers a
/// wrong credential as the marketplace does.
async fn dispatch(State(f): State<Arc<Front>>, mut req: Request<Body>) -> Response {
    match req.uri().path() {
        // Every seller's purchase prices (`marketplace,sku,unit_cost,valid_from`), for a
        // process that talks to the sandbox over HTTP only (`mpetl bench` runs it as a child).
        "/__sandbox/costs.csv" => return f.costs_csv.clone().into_response(),
        "/__sandbox/stats" => return stats(&f, req.uri()),
        _ => {}
    }
    // Headers only: a `&Request` (its body is not Sync) must not live across the await below.
    let headers = req.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let wb = header("authorization").map(|t| t.strip_prefix("Bearer ").unwrap_or(&t).trim().to_owned());
    let ozon = header("client-id").zip(header("api-key"));
    let seller = if let Some(k) = wb.and_then(|t| f.by_wb_token.get(&t).copied()) {
        // Behind the door each seller's emulator knows one key, seller 0's: the door checked
        // this seller's own.
        req.headers_mut().insert("authorization", HeaderValue::from_static(WB_TOKEN));
        k
    } else if let Some(k) = ozon.and_then(|(id, key)| f.by_ozon_client.get(&id).filter(|(_, k)| *k == key).map(|p| p.0))
    {
        req.headers_mut().insert("client-id", HeaderValue::from_static(OZON_CLIENT_ID));
        req.headers_mut().insert("api-key", HeaderValue::from_static(OZON_API_KEY));
        k
    } else {
        query_seller(req.uri().query()).filter(|k| *k < f.sellers.len()).unwrap_or(0)
    };
    match f.sellers[seller].clone().oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

fn query_seller(query: Option<&str>) -> Option<usize> {
    query?.split('&').find_map(|kv| kv.strip_prefix("seller=")).and_then(|v| v.parse().ok())
}

#[derive(serde::Deserialize)]
struct StatsQuery {
    from: NaiveDate,
    to: NaiveDate,
}

/// `/__sandbox/stats?from=&to=`: requests served, the least the period's data needs (both per
/// path) and limit violations (per bucket), summed over every seller.
fn stats(f: &Front, uri: &axum::http::Uri) -> Response {
    let q: StatsQuery = match axum::extract::Query::try_from_uri(uri) {
        Ok(axum::extract::Query(q)) => q,
        Err(e) => {
            return (StatusCode::BAD_REQUEST, format!("from and to (YYYY-MM-DD) are required: {e}")).into_response();
        }
    };
    axum::Json(serde_json::json!({
        "sellers": f.shared.len(),
        "requests": total(&f.shared, |s| s.requests.lock().expect("requests lock").clone()),
        "minimum": total(&f.shared, |s| minimum_of(s, q.from, q.to)),
        "violations": total(&f.shared, violations_of),
    }))
    .into_response()
}
