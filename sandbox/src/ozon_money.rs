//! Ozon finance emulator: `/v1/finance/accrual/by-day` (one day per call, `last_id` paging),
//! `/v1/finance/accrual/types` (the type dictionary) and `/v1/finance/cash-flow-statement/list`
//! (Ozon's own totals per half-month).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};

use super::finance::{Accrual, AccrualBody, Cat, OZON_TYPES, ozon_type};
use super::ozon::check_auth;
use super::{Shared, json_error};
use crate::format_kopecks;

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
    let list: Vec<Value> = OZON_TYPES
        .iter()
        .map(|(id, name, description, _)| json!({"id": id, "name": name, "description": description}))
        .collect();
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
    // Ozon lists fees in no stable order: each answer turns every list by one more place.
    let turn = s.reads.fetch_add(1, Ordering::Relaxed) as usize;
    let last_id = if more { page.last().map_or(String::new(), |a| a.id.to_string()) } else { String::new() };
    let accruals: Vec<Value> = page.iter().map(|a| accrual_json(&s, a, turn)).collect();
    axum::Json(json!({"accruals": accruals, "last_id": last_id})).into_response()
}

fn rotated<T: Clone>(list: &[T], turn: usize) -> Vec<T> {
    let mut v = list.to_vec();
    if !v.is_empty() {
        let k = turn % v.len();
        v.rotate_left(k);
    }
    v
}

fn fees_json(fees: &[(i32, i64)], turn: usize) -> Vec<Value> {
    rotated(fees, turn).iter().map(|(t, v)| json!({"type_id": t, "accrued": amount(*v)})).collect()
}

fn accrual_json(s: &Shared, a: &Accrual, turn: usize) -> Value {
    let skus = &s.data.ozon_skus;
    let null = Value::Null;
    let (category, unit, posting, item_fees, non_item, container) = match &a.body {
        AccrualBody::Posting { posting_number, schema, products, .. } => {
            let products: Vec<Value> = products
                .iter()
                .map(|p| {
                    let mut v = json!({
                        "sku": skus[p.sku].sku,
                        "commission": {"sale_price": amount(p.sale_price), "seller_price": amount(p.seller_price.abs()),
                                       "sale_amount": amount(p.seller_price.abs()),
                                       "bonus": amount(p.bonus), "coinvestment": amount(p.coinvestment),
                                       "sale_commission": amount(p.sale_commission), "commission": amount(p.sale_commission),
                                       "commission_ratio": "value:\"0.150000\""},
                        "delivery": {"services": fees_json(&p.services, turn), "total_accrued": amount(p.services.iter().map(|x| x.1).sum())},
                    });
                    if !p.hide_quantity {
                        v["quantity"] = json!(p.quantity);
                    }
                    v
                })
                .collect();
            (
                "POSTING",
                json!(posting_number),
                json!({"delivery_schema": schema, "delivery_speed": "standard", "products": rotated(&products, turn)}),
                null.clone(),
                null.clone(),
                null.clone(),
            )
        }
        AccrualBody::Item { sku, fees } => (
            "ITEM",
            json!(skus[*sku].sku.to_string()),
            null.clone(),
            json!({"fees": [{"sku": skus[*sku].sku, "fees": fees_json(fees, turn), "quantity": 1}]}),
            null.clone(),
            null.clone(),
        ),
        AccrualBody::NonItem { type_id, accrued } => (
            "NON_ITEM",
            json!("2000062782226"),
            null.clone(),
            null.clone(),
            json!({"type_id": type_id, "accrued": amount(*accrued)}),
            null.clone(),
        ),
        AccrualBody::Container { fees } => (
            "CONTAINER_FEES",
            json!("CNT-1"),
            null.clone(),
            null.clone(),
            null.clone(),
            json!({"fees": fees_json(fees, turn)}),
        ),
        AccrualBody::Bare { .. } => {
            ("UNSPECIFIED", null.clone(), null.clone(), null.clone(), null.clone(), null.clone())
        }
    };
    json!({
        "accrual_id": a.id, "date": a.date.to_string(), "unit_number": unit, "accrued_category": category,
        "total_amount": amount(a.total()), "posting": posting, "item_fees": item_fees, "non_item_fee": non_item,
        "container_fees": container,
    })
}

pub(crate) async fn by_day(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || by_day_now(s, headers, body)).await
}

/// A double as Ozon sends money in its reports.
fn number(k: i64) -> Value {
    json!(k as f64 / 100.0)
}

/// The statement of one half-month, added up from the same accruals `by-day` serves: sales
/// postings under delivery, returns under return, fees under services, compensations and
/// other payments under others.
fn statement(s: &Shared, begin: NaiveDate, end: NaiveDate, id: i64) -> (Value, Value) {
    let (mut orders, mut returns, mut commission, mut services, mut posting_services) = (0i64, 0i64, 0i64, 0i64, 0i64);
    let (mut delivery, mut ret, mut others) = (0i64, 0i64, 0i64);
    for a in s.data.finance.accruals.iter().filter(|a| a.date >= begin && a.date <= end) {
        match &a.body {
            AccrualBody::Posting { products, .. } => {
                let revenue: i64 = products.iter().map(|p| p.revenue()).sum();
                if revenue >= 0 {
                    orders += revenue;
                    delivery += a.total();
                } else {
                    returns += revenue;
                    ret += a.total();
                }
                commission += products.iter().map(|p| p.sale_commission).sum::<i64>();
                posting_services += products.iter().flat_map(|p| p.services.iter()).map(|x| x.1).sum::<i64>();
            }
            AccrualBody::NonItem { type_id, accrued }
                if matches!(ozon_type(*type_id).1, Cat::Compensation | Cat::Additional) =>
            {
                others += accrued
            }
            _ => services += a.total(),
        }
    }
    let mut others_total = others;
    if s.cfg.misreport_cash_flow == Some(begin) {
        others_total += 100; // Ozon's statement is off by 1.00
    }
    let period = json!({"id": id, "begin": format!("{begin}T00:00:00Z"), "end": format!("{end}T23:59:59Z")});
    let cash_flow = json!({
        "period": period, "orders_amount": number(orders), "returns_amount": number(returns),
        "commission_amount": number(commission), "services_amount": number(services),
        "item_delivery_and_return_amount": number(posting_services), "currency_code": "RUB",
    });
    let total = delivery + ret + services + others_total;
    let details = json!({
        "period": period, "begin_balance_amount": 0,
        "delivery": {"total": number(delivery), "amount": number(delivery - posting_services), "delivery_services": {"total": number(posting_services), "items": []}},
        "return": {"total": number(ret), "amount": number(ret), "return_services": {"total": 0, "items": []}},
        "services": {"total": number(services), "items": []},
        "others": {"total": number(others_total), "items": []},
        "rfbs": {"total": 0}, "loan": 0, "invoice_transfer": number(total), "payments": [],
        "end_balance_amount": number(total),
    });
    (cash_flow, details)
}

fn cash_flow_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return rpc(3, "invalid request payload");
    };
    let date = |k: &str| {
        req.pointer(&format!("/date/{k}"))
            .and_then(Value::as_str)
            .and_then(|v| v.get(..10))
            .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
    };
    let (Some(from), Some(to)) = (date("from"), date("to")) else {
        return rpc(3, "date.from and date.to are required");
    };
    if req.get("page").and_then(Value::as_i64).unwrap_or(0) < 1
        || req.get("page_size").and_then(Value::as_i64).unwrap_or(0) < 1
    {
        return rpc(3, "page and page_size are required");
    }
    // Ozon forms the statement for the 1st–15th and the 16th–last day only.
    let half_end = |d: NaiveDate| {
        if d.day() <= 15 {
            d.with_day(15)
        } else {
            d.checked_add_months(chrono::Months::new(1)).and_then(|n| n.with_day(1)).map(|n| n - Duration::days(1))
        }
    };
    if !(from.day() == 1 || from.day() == 16) || half_end(from) != Some(to) {
        return rpc(3, "the report is formed for the periods 1–15 and 16–end of month only");
    }
    let today = s.data.now.date_naive();
    if to >= today {
        return axum::Json(json!({"result": {"cash_flows": [], "details": null, "page_count": 0}})).into_response();
    }
    let id = i64::from(from.num_days_from_ce());
    let (cash_flow, details) = statement(&s, from, to, id);
    let with_details = req.get("with_details").and_then(Value::as_bool).unwrap_or(false);
    axum::Json(json!({"result": {"cash_flows": [cash_flow], "details": if with_details { details } else { Value::Null }, "page_count": 1}}))
        .into_response()
}

pub(crate) async fn cash_flow(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || cash_flow_now(s, headers, body)).await
}
