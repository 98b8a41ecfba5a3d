//! Ozon's returns list, `POST /v1/returns/list` (FBO and FBS in one list, `last_id` paging, at
//! most 500 a page), shaped as the Seller API documents it and as its example answers show:
//! ids and prices sometimes sent as strings, `schema` spelled `Fbs` as well as `FBO`, nulls where
//! nothing is known, one filter by date at a time.
//!
//! The sandbox seller has two kinds: a buyer's return of a delivered posting (`ClientReturn`, the
//! same returns its accruals refund) and a posting refused at the pickup point (`FullReturn`, a
//! third of the cancelled postings: the posting list already counts it as cancelled).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::data::{OzonSchema, SellerData};
use super::{Shared, json_error};

/// One return line: one product of one posting.
#[derive(Debug, Clone)]
pub struct OzonReturn {
    pub id: i64,
    /// `ClientReturn` or `FullReturn`.
    pub kind: &'static str,
    /// Index in [`SellerData::ozon_postings`].
    pub posting: usize,
    /// Index in [`SellerData::ozon_skus`].
    pub sku: usize,
    pub quantity: i64,
    /// `logistic.return_date`: when the buyer handed it back.
    pub return_at: DateTime<Utc>,
    /// `visual.status.sys_name` now, and when it became that.
    pub status: &'static str,
    pub status_at: DateTime<Utc>,
    /// 0: ids and prices as JSON strings (as Ozon's own example); 1: as numbers.
    pub style: u8,
}

impl OzonReturn {
    /// A return the buyer made of goods they had bought: what the `returns` metric counts.
    pub fn is_buyer_return(&self) -> bool {
        matches!(self.kind, "ClientReturn" | "PartialReturn")
    }
}

/// The returns of `returned` (a posting index and the buyer's return time, decided where the
/// accruals refund them) and of a third of the cancelled postings, sorted by id.
pub fn generate(d: &SellerData, seed: u64, returned: &[(usize, DateTime<Utc>)]) -> Vec<OzonReturn> {
    let mut out = Vec::new();
    let mut push = |posting: usize, kind: &'static str, at: DateTime<Utc>, settle: Duration| {
        let p = &d.ozon_postings[posting];
        for (i, pr) in p.products.iter().enumerate() {
            let (status, status_at) = if at + settle <= d.now {
                (if kind == "ClientReturn" { "MoneyReturned" } else { "ReturnedToOzon" }, at + settle)
            } else {
                ("MovingToOzon", at)
            };
            out.push(OzonReturn {
                // Unique per line, and in posting order rather than return order: paging by
                // `last_id` must not assume returns come back by date.
                id: (p.order_id - 30_000_000_000) * 4 + i as i64,
                kind,
                posting,
                sku: pr.sku,
                quantity: pr.quantity,
                return_at: at,
                status,
                status_at,
                style: (p.order_id % 2) as u8,
            });
        }
    };
    for &(posting, at) in returned {
        if at <= d.now {
            push(posting, "ClientReturn", at, Duration::days(4));
        }
    }
    for (i, p) in d.ozon_postings.iter().enumerate() {
        let mut r = super::data::Rng::new(seed ^ 0x5E7u64.wrapping_mul(p.order_id as u64));
        if p.status == "cancelled" && r.chance(0.33) {
            let at = p.in_process_at + Duration::hours(30 + r.below(48) as i64);
            if at <= d.now {
                push(i, "FullReturn", at, Duration::days(2));
            }
        }
    }
    out.sort_by_key(|r| r.id);
    out
}

fn rpc_error(status: StatusCode, code: i32, message: &str) -> Response {
    json_error(status, json!({"code": code, "message": message, "details": []}))
}

#[derive(Deserialize)]
struct ListRequest {
    #[serde(default)]
    filter: Filter,
    limit: Option<i64>,
    #[serde(default)]
    last_id: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Filter {
    logistic_return_date: Option<Range>,
    storage_tariffication_start_date: Option<Range>,
    visual_status_change_moment: Option<Range>,
    return_schema: Option<String>,
}

#[derive(Deserialize)]
struct Range {
    time_from: DateTime<Utc>,
    time_to: DateTime<Utc>,
}

fn list_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = super::ozon::check_auth(&headers) {
        return r;
    }
    let req: ListRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return rpc_error(StatusCode::BAD_REQUEST, 3, &format!("invalid request payload: {e}")),
    };
    let limit = req.limit.unwrap_or(0);
    if !(1..=500).contains(&limit) {
        return rpc_error(StatusCode::BAD_REQUEST, 3, "limit must be between 1 and 500");
    }
    let f = req.filter;
    let dates = [&f.logistic_return_date, &f.storage_tariffication_start_date, &f.visual_status_change_moment];
    if dates.iter().filter(|d| d.is_some()).count() > 1 {
        return rpc_error(StatusCode::BAD_REQUEST, 3, "use only one of the date filters");
    }
    let last_id = match &req.last_id {
        None | Some(Value::Null) => 0,
        Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
        Some(Value::String(t)) if t.is_empty() => 0,
        Some(Value::String(t)) => t.parse().unwrap_or(-1),
        Some(_) => -1,
    };
    if last_id < 0 {
        return rpc_error(StatusCode::BAD_REQUEST, 3, "invalid last_id");
    }
    let last_id = if s.cfg.ozon_returns_stuck { 0 } else { last_id };
    let within = |t: DateTime<Utc>, r: &Option<Range>| r.as_ref().is_none_or(|r| t >= r.time_from && t <= r.time_to);
    let schema = f.return_schema.as_deref().map(str::to_ascii_uppercase);
    let data = &s.data;
    let start = data.finance.ozon_returns.partition_point(|r| r.id <= last_id);
    let mut page = Vec::new();
    let mut has_next = false;
    for r in &data.finance.ozon_returns[start..] {
        let p = &data.ozon_postings[r.posting];
        let fbo = p.schema == OzonSchema::Fbo;
        if !within(r.return_at, &f.logistic_return_date)
            || !within(r.status_at, &f.visual_status_change_moment)
            || f.storage_tariffication_start_date.is_some()
            || schema.as_deref().is_some_and(|s| (s == "FBO") != fbo)
        {
            continue;
        }
        if page.len() == limit as usize {
            has_next = true;
            break;
        }
        page.push(return_json(data, r));
    }
    axum::Json(json!({"returns": page, "has_next": has_next})).into_response()
}

fn return_json(d: &SellerData, r: &OzonReturn) -> Value {
    let p = &d.ozon_postings[r.posting];
    let s = &d.ozon_skus[r.sku];
    let text = r.style == 0;
    let id = |v: i64| if text { json!(v.to_string()) } else { json!(v) };
    let money = |kop: i64| {
        let t = super::ozon::price_text(kop, 3);
        if text { json!(t) } else { json!(t.parse::<f64>().unwrap_or_default()) }
    };
    let time = |t: DateTime<Utc>| json!(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    let fbo = p.schema == OzonSchema::Fbo;
    let commission = s.price_kop * 15 / 100;
    json!({
        "exemplars": (0..r.quantity).map(|k| json!({"id": id(r.id * 10 + k)})).collect::<Vec<_>>(),
        "id": id(r.id),
        "company_id": id(100500),
        "return_reason_name": if r.kind == "ClientReturn" { "Не подошёл размер" } else { "Покупатель отказался от товара при получении" },
        "type": r.kind,
        "schema": if fbo { "FBO" } else { "Fbs" },
        "order_id": id(p.order_id),
        "order_number": p.posting_number.rsplit_once('-').map_or("", |x| x.0),
        "place": {"id": id(23_869_688_194_000), "name": "СЦ_Львовский_Возвраты", "address": ""},
        "target_place": null,
        "storage": {"sum": null, "tariffication_first_date": null, "tariffication_start_date": null, "arrived_moment": null, "days": id(0), "utilization_sum": null, "utilization_forecast_date": null},
        "product": {
            "sku": id(s.sku),
            "offer_id": s.offer_id,
            "name": s.name,
            "price": {"currency_code": "RUB", "price": money(s.price_kop)},
            "price_without_commission": {"currency_code": "RUB", "price": money(s.price_kop - commission)},
            "commission_percent": if text { json!("15") } else { json!(15) },
            "commission": {"currency_code": "RUB", "price": money(commission)},
            "quantity": r.quantity,
        },
        "logistic": {
            "technical_return_moment": null,
            "final_moment": if r.status == "MovingToOzon" { Value::Null } else { time(r.status_at) },
            "cancelled_with_compensation_moment": null,
            "return_date": time(r.return_at),
            "barcode": format!("ii{}", r.id),
        },
        "visual": {"status": {"id": 3, "display_name": r.status, "sys_name": r.status}, "change_moment": time(r.status_at)},
        "additional_info": {"is_opened": r.kind == "ClientReturn", "is_super_econom": false},
        "source_id": id(r.id - 1),
        "posting_number": p.posting_number,
        "clearing_id": id(21_190_893_156_000 + r.id),
        "return_clearing_id": null,
    })
}

pub(crate) async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || list_now(s, headers, body)).await
}
