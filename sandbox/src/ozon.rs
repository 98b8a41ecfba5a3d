//! Ozon emulator: `/v3/posting/fbo/list` and `/v4/posting/fbs/list` (cursor paging).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::data::{OzonPosting, OzonSchema, OzonSku};
use super::{OZON_API_KEY, OZON_CLIENT_ID, Shared, json_error};

fn rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    json_error(status, json!({"code": code, "message": message, "details": []}))
}

pub(crate) fn check_auth(headers: &HeaderMap) -> Result<(), Response> {
    let client = headers.get("client-id").and_then(|v| v.to_str().ok());
    let key = headers.get("api-key").and_then(|v| v.to_str().ok());
    let (Some(client), Some(key)) = (client, key) else {
        return Err(rpc_error(StatusCode::UNAUTHORIZED, 16, "Client-Id and Api-Key headers are required"));
    };
    if client.parse::<u64>().is_err() {
        return Err(rpc_error(StatusCode::BAD_REQUEST, 3, "Client-Id header value should be positive integer"));
    }
    if client != OZON_CLIENT_ID || key != OZON_API_KEY {
        return Err(rpc_error(StatusCode::NOT_FOUND, 5, "Invalid Api-Key, please check the key and try again"));
    }
    Ok(())
}

/// `POST /v1/roles`: the key's roles, the methods each allows, and when the key expires.
pub(crate) async fn roles(headers: HeaderMap) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let expires = chrono::Utc::now() + chrono::Duration::days(super::OZON_KEY_DAYS_LEFT);
    let methods = ["/v3/posting/fbo/list", "/v4/posting/fbs/list", "/v1/finance/accrual/by-day", "/v1/returns/list"];
    axum::Json(json!({
        "roles": [{"name": "Admin read only", "methods": methods}],
        "expires_at": expires.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }))
    .into_response()
}

#[derive(Deserialize)]
struct ListRequest {
    #[serde(default)]
    cursor: String,
    limit: Option<i64>,
    filter: Option<ListFilter>,
}

#[derive(Deserialize)]
struct ListFilter {
    since: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    #[serde(default)]
    statuses: Vec<String>,
}

/// The cursor is an opaque base64 keyset, bound to the filter it was issued for.
#[derive(Serialize, Deserialize)]
struct Cursor {
    t: i64,
    id: u64,
    f: String,
}

fn fbo_list_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    list(&s, &headers, &body, OzonSchema::Fbo)
}

fn fbs_list_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    list(&s, &headers, &body, OzonSchema::Fbs)
}

fn list(s: &Shared, headers: &HeaderMap, body: &[u8], schema: OzonSchema) -> Response {
    if let Err(r) = check_auth(headers) {
        return r;
    }
    let req: ListRequest = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return rpc_error(StatusCode::BAD_REQUEST, 3, &format!("invalid request payload: {e}"));
        }
    };
    let limit = req.limit.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return rpc_error(StatusCode::BAD_REQUEST, 3, "limit must be between 1 and 100");
    }
    let filter = req.filter.unwrap_or(ListFilter { since: None, to: None, statuses: vec![] });
    let (since, to) = match (filter.since, filter.to, schema) {
        (Some(a), Some(b), _) => (a, b),
        (_, _, OzonSchema::Fbs) => {
            return rpc_error(StatusCode::BAD_REQUEST, 3, "filter.since and filter.to are required");
        }
        (a, b, OzonSchema::Fbo) => (a.unwrap_or(DateTime::<Utc>::MIN_UTC), b.unwrap_or(s.data.now)),
    };
    if to < since {
        return rpc_error(StatusCode::BAD_REQUEST, 3, "filter.to must not be before filter.since");
    }
    let max_days = match schema {
        OzonSchema::Fbo => 365,
        OzonSchema::Fbs => s.cfg.fbs_max_days,
    };
    if to - since > chrono::Duration::days(max_days) {
        return rpc_error(StatusCode::BAD_REQUEST, 3, "PERIOD_IS_TOO_LONG");
    }
    let filter_key =
        format!("{schema:?}|{}|{}|{}", since.timestamp_millis(), to.timestamp_millis(), filter.statuses.join(","));
    let after = if req.cursor.is_empty() {
        None
    } else {
        let decoded = B64.decode(&req.cursor).ok().and_then(|b| serde_json::from_slice::<Cursor>(&b).ok());
        match decoded {
            Some(c) if c.f == filter_key => Some((c.t, c.id)),
            Some(_) => {
                return rpc_error(StatusCode::BAD_REQUEST, 3, "cursor does not match the request filter");
            }
            None => return rpc_error(StatusCode::BAD_REQUEST, 3, "invalid cursor"),
        }
    };
    let postings = &s.data.ozon_postings;
    // Window bounds are inclusive on both ends, so a posting exactly on a boundary comes back in
    // both adjacent windows: clients must upsert.
    let start = postings.partition_point(|p| p.in_process_at < since);
    let mut page: Vec<&OzonPosting> = Vec::with_capacity(limit as usize);
    let mut has_next = false;
    for p in postings[start..].iter() {
        if p.in_process_at > to {
            break;
        }
        if p.schema != schema || !(filter.statuses.is_empty() || filter.statuses.iter().any(|x| x == p.status)) {
            continue;
        }
        if let Some(key) = after
            && (p.in_process_at.timestamp_millis(), p.id) <= key
        {
            continue;
        }
        if page.len() == limit as usize {
            has_next = true;
            break;
        }
        page.push(p);
    }
    let cursor = page.last().map_or(String::new(), |p| {
        B64.encode(
            serde_json::to_vec(&Cursor { t: p.in_process_at.timestamp_millis(), id: p.id, f: filter_key.clone() })
                .unwrap(),
        )
    });
    let body = json!({
        "postings": page.iter().map(|p| posting_json(p, &s.data.ozon_skus)).collect::<Vec<_>>(),
        "has_next": has_next,
        "cursor": cursor,
    });
    axum::Json(body).into_response()
}

fn time_text(t: DateTime<Utc>, style: u8) -> String {
    match style {
        0 => t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        1 => t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        _ => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    }
}

/// Ozon spells prices with uneven decimals: "1259", "2279.0000", "1199.000000", "81.5".
pub(crate) fn price_text(kop: i64, style: u8) -> String {
    let (r, k) = (kop / 100, kop % 100);
    match style {
        0 if k == 0 => format!("{r}"),
        0 => format!("{r}.{k:02}"),
        1 => format!("{r}.{k:02}00"),
        2 => format!("{r}.{k:02}0000"),
        _ if k == 0 => format!("{r}"),
        _ if k % 10 == 0 => format!("{r}.{}", k / 10),
        _ => format!("{r}.{k:02}"),
    }
}

fn posting_json(p: &OzonPosting, skus: &[OzonSku]) -> Value {
    let products: Vec<Value> = p
        .products
        .iter()
        .map(|pr| {
            let s = &skus[pr.sku];
            json!({
                "sku": s.sku, "offer_id": s.offer_id, "name": s.name, "quantity": pr.quantity,
                "price": {"amount": price_text(s.price_kop, s.price_style), "currency": "RUB"},
                "is_marketplace_buyout": false, "digital_codes": [],
            })
        })
        .collect();
    let mut v = json!({
        "posting_number": p.posting_number,
        "order_number": p.posting_number.rsplit_once('-').map(|x| x.0).unwrap_or(""),
        "order_id": p.order_id,
        "status": p.status,
        "substatus": p.substatus,
        "in_process_at": time_text(p.in_process_at, p.time_style),
        "cancel_reason_id": if p.status == "cancelled" { 402 } else { 0 },
        "products": products,
        "analytics_data": null,
        "financial_data": null,
        "legal_info": null,
        "additional_data": [],
    });
    let m = v.as_object_mut().expect("object");
    match p.schema {
        OzonSchema::Fbo => {
            m.insert("created_at".into(), json!(time_text(p.in_process_at - chrono::Duration::seconds(7), 2)));
        }
        OzonSchema::Fbs => {
            m.insert("delivery_schema".into(), json!("fbs"));
            m.insert("tpl_integration_type".into(), json!("ozon"));
            m.insert("shipment_date".into(), json!(time_text(p.in_process_at + chrono::Duration::days(2), 1)));
            m.insert("delivering_date".into(), Value::Null);
            m.insert("tracking_number".into(), json!(""));
            m.insert("barcodes".into(), Value::Null);
            m.insert("customer".into(), Value::Null);
            m.insert("addressee".into(), Value::Null);
        }
    }
    v
}

pub(crate) async fn fbo_list(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || fbo_list_now(s, headers, body)).await
}

pub(crate) async fn fbs_list(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || fbs_list_now(s, headers, body)).await
}
