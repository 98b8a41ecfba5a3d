//! WB stocks, `GET /api/v1/supplier/stocks` (statistics API, 1 request a minute): the seller's
//! goods in WB's warehouses *now*, a row per warehouse × article size, served when its
//! `lastChangeDate >= dateFrom` (an early `dateFrom` gets the whole current stock). There is no
//! history: what a day held is known only if someone asked that day.
//!
//! Shaped as the statistics API sends it: `Price` and `Discount` capitalised, `quantityFull` =
//! `quantity + inWayToClient + inWayFromClient`, rows of sold-out warehouses kept at 0, fields the
//! docs do not list (`SCCode`).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::{Value, json};

use super::data::{Rng, SellerData, msk_naive};
use super::{Shared, json_error};

const WAREHOUSES: [&str; 4] = ["Коледино", "Электросталь", "Казань", "Краснодар"];

/// One row of the current stock.
#[derive(Debug, Clone)]
pub struct WbStock {
    /// Index in [`SellerData::wb_skus`].
    pub sku: usize,
    pub warehouse: &'static str,
    /// Available to sell.
    pub quantity: i64,
    pub in_way_to_client: i64,
    pub in_way_from_client: i64,
    /// Moscow wall time.
    pub last_change: NaiveDateTime,
}

/// Each article in two or three warehouses, a few sold out (kept at 0), sorted by change time.
/// Changes are placed before today's Moscow midnight, so two sandboxes of one seed started the
/// same day serve the same stock.
pub fn generate(d: &SellerData, seed: u64) -> Vec<WbStock> {
    let now = msk_naive(d.now).date().and_time(chrono::NaiveTime::MIN);
    let mut out = Vec::new();
    for (i, _) in d.wb_skus.iter().enumerate() {
        let mut r = Rng::new(seed ^ 0x570C_u64.wrapping_mul(i as u64 + 1));
        let first = r.below(4) as usize;
        for k in 0..2 + r.below(2) as usize {
            let sold_out = r.chance(0.15);
            out.push(WbStock {
                sku: i,
                warehouse: WAREHOUSES[(first + k) % 4],
                quantity: if sold_out { 0 } else { 1 + r.below(180) as i64 },
                in_way_to_client: r.below(6) as i64,
                in_way_from_client: r.below(3) as i64,
                last_change: now - Duration::minutes(5 + r.below(3 * 24 * 60) as i64),
            });
        }
    }
    out.sort_by_key(|s| s.last_change);
    out
}

fn stocks_now(s: Arc<Shared>, headers: HeaderMap, q: HashMap<String, String>) -> Response {
    if let Err(r) = super::wb::check_auth(&headers) {
        return r;
    }
    let from = match q.get("dateFrom") {
        None => return json_error(StatusCode::BAD_REQUEST, json!({"errors": ["dateFrom: field required"]})),
        Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .or_else(|| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok())
        {
            Some(t) => t,
            None => return json_error(StatusCode::BAD_REQUEST, json!({"errors": "dateFrom: Value not validated"})),
        },
    };
    let d = &s.data;
    let start = d.wb_stocks.partition_point(|x| x.last_change < from);
    let body: Vec<Value> = d.wb_stocks[start..]
        .iter()
        .map(|x| {
            let sku = &d.wb_skus[x.sku];
            json!({
                "lastChangeDate": x.last_change.format("%Y-%m-%dT%H:%M:%S").to_string(),
                "warehouseName": x.warehouse,
                "supplierArticle": sku.article,
                "nmId": sku.nm_id,
                "barcode": sku.barcode,
                "quantity": x.quantity,
                "inWayToClient": x.in_way_to_client,
                "inWayFromClient": x.in_way_from_client,
                "quantityFull": x.quantity + x.in_way_to_client + x.in_way_from_client,
                "category": "Одежда",
                "subject": sku.subject,
                "brand": sku.brand,
                "techSize": "0",
                "Price": super::wb::money(sku.total_price_kop),
                "Discount": sku.discount_percent,
                "isSupply": true,
                "isRealization": false,
                "SCCode": "Tech",
            })
        })
        .collect();
    axum::Json(body).into_response()
}

pub(crate) async fn stocks(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    super::off_the_workers(move || stocks_now(s, headers, q)).await
}
