//! Ozon finance emulator: `/v1/finance/accrual/by-day` (one day per call, `last_id` paging) and
//! `/v1/finance/accrual/types` (the type dictionary).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde_json::{Value, json};

use super::finance::{Accrual, AccrualBody, OZON_TYPES};
use super::ozon::check_auth;
use super::{Shared, json_error};
use crate::money::format_kopecks;

fn amount(k: i64) -> Value {
    json!({"amount": format_kopecks(i128::from(k)), "currency": "RUB"})
}

fn rpc(code: i32, message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, json!({"code": code, "message": message, "details": []}))
}

pub(crate) async fn types(State(_): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let list: Vec<Value> =
        OZON_TYPES.iter().map(|(id, name, _)| json!({"id": id, "name": name, "description": name})).collect();
    axum::Json(json!({"accrual_types": list})).into_response()
}

fn by_day_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return rpc(3, "invalid request payload");
    };
    let Some(day) = req.get("date").and_then(Value::as_str).and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    else {
        return rpc(3, "date is required, format YYYY-MM-DD");
    };
    if day < NaiveDate::from_ymd_opt(2022, 1, 1).expect("date") {
        return rpc(3, "date must not be earlier than 2022-01-01");
    }
    let after: i64 = match req.get("last_id").and_then(Value::as_str).unwrap_or("") {
        "" => 0,
        t => match t.parse() {
            Ok(v) => v,
            Err(_) => return rpc(3, "invalid last_id"),
        },
    };
    let all = &s.data.finance.accruals;
    let start = all.partition_point(|a| a.date < day);
    let mut page: Vec<&Accrual> = Vec::new();
    let mut more = false;
    for a in all[start..].iter().take_while(|a| a.date == day).filter(|a| a.id > after) {
        if page.len() == s.cfg.accrual_page {
            more = true;
            break;
        }
        page.push(a);
    }
    let last_id = if more { page.last().map_or(String::new(), |a| a.id.to_string()) } else { String::new() };
    let accruals: Vec<Value> = page.iter().map(|a| accrual_json(&s, a)).collect();
    axum::Json(json!({"accruals": accruals, "last_id": last_id})).into_response()
}

fn accrual_json(s: &Shared, a: &Accrual) -> Value {
    let skus = &s.data.ozon_skus;
    let (category, unit, posting, item_fees, non_item) = match &a.body {
        AccrualBody::Posting { posting_number, schema, products } => {
            let products: Vec<Value> = products
                .iter()
                .map(|p| {
                    let services: Vec<Value> = p.services.iter().map(|(t, v)| json!({"type_id": t, "accrued": amount(*v)})).collect();
                    json!({
                        "sku": skus[p.sku].sku, "quantity": p.quantity,
                        "commission": {"sale_price": amount(p.seller_price), "seller_price": amount(p.seller_price),
                                       "sale_commission": amount(p.sale_commission), "commission": amount(p.sale_commission),
                                       "bonus": amount(0), "coinvestment": amount(0), "commission_ratio": 0.15},
                        "delivery": {"services": services, "total_accrued": amount(p.services.iter().map(|x| x.1).sum())},
                    })
                })
                .collect();
            (
                "POSTING",
                posting_number.clone(),
                json!({"delivery_schema": schema, "delivery_speed": "standard", "products": products}),
                Value::Null,
                Value::Null,
            )
        }
        AccrualBody::Item { sku, fees } => {
            let fees: Vec<Value> = fees.iter().map(|(t, v)| json!({"type_id": t, "accrued": amount(*v)})).collect();
            (
                "ITEM",
                skus[*sku].sku.to_string(),
                Value::Null,
                json!({"fees": [{"sku": skus[*sku].sku, "fees": fees}]}),
                Value::Null,
            )
        }
        AccrualBody::NonItem { type_id, accrued } => (
            "NON_ITEM",
            String::new(),
            Value::Null,
            Value::Null,
            json!({"type_id": type_id, "accrued": amount(*accrued)}),
        ),
    };
    json!({
        "accrual_id": a.id, "date": a.date.to_string(), "unit_number": unit, "accrued_category": category,
        "total_amount": amount(a.total()), "posting": posting, "item_fees": item_fees, "non_item_fee": non_item,
        "container_fees": null,
    })
}

pub(crate) async fn by_day(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || by_day_now(s, headers, body)).await
}
