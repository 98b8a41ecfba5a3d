//! WB statistics emulator: `/api/v1/supplier/orders` and `/api/v1/supplier/sales`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::data::{WbSku, WbStamp};
use super::{Shared, WB_TOKEN, json_error};

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    json_error(
        status,
        json!({
            "title": title, "detail": detail, "code": "07e4668e-0000-0000-0000-000000000000",
            "requestId": "sandbox", "origin": "s2s-api-auth-stat", "status": status.as_u16(),
            "statusText": status.canonical_reason().unwrap_or(""), "timestamp": Utc::now().to_rfc3339(),
        }),
    )
}

/// WB's docs show both a raw token and `Bearer <token>`: accept both.
pub(crate) fn check_auth(headers: &HeaderMap) -> Result<(), Response> {
    let Some(raw) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
        return Err(problem(StatusCode::UNAUTHORIZED, "unauthorized", "empty Authorization header"));
    };
    let token = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
    if token == WB_TOKEN {
        return Ok(());
    }
    match jwt_exp(token) {
        Some(exp) if exp > Utc::now().timestamp() => Ok(()),
        Some(_) => Err(problem(StatusCode::UNAUTHORIZED, "unauthorized", "token expired")),
        None => Err(problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "token problem; token is malformed: could not verify token signature",
        )),
    }
}

/// `exp` of a JWT the sandbox issued (`wb_jwt`), or None for anything else.
fn jwt_exp(token: &str) -> Option<i64> {
    use base64::Engine;
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    (v["sid"] == super::WB_JWT_SID).then(|| v["exp"].as_i64()).flatten()
}

/// `GET /ping` on every WB host: the connectivity and token check WB documents.
pub(crate) async fn ping(headers: HeaderMap) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    axum::Json(json!({"TS": Utc::now().with_timezone(&chrono_tz::Europe::Moscow).to_rfc3339(), "Status": "OK"}))
        .into_response()
}

/// `dateFrom` as WB accepts it: a date, or a date-time to the second or a fraction of it.
fn parse_date_from(s: &str) -> Option<NaiveDateTime> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

enum Filter {
    ChangedSince(NaiveDateTime),
    OnDay(NaiveDate),
}

fn read_query(q: &HashMap<String, String>) -> Result<Filter, Response> {
    let Some(raw) = q.get("dateFrom") else {
        return Err(json_error(StatusCode::BAD_REQUEST, json!({"errors": ["dateFrom: field required"]})));
    };
    let Some(from) = parse_date_from(raw) else {
        // WB sends `errors` as a string here and as an array above; clients must take both.
        return Err(json_error(StatusCode::BAD_REQUEST, json!({"errors": "dateFrom: Value not validated"})));
    };
    match q.get("flag").map(String::as_str) {
        None | Some("0") => Ok(Filter::ChangedSince(from)),
        Some("1") => Ok(Filter::OnDay(from.date())),
        Some(_) => Err(json_error(StatusCode::BAD_REQUEST, json!({"errors": ["flag: Value not validated"]}))),
    }
}

/// Rows are sorted by lastChangeDate; `flag=0` serves `lastChangeDate >= dateFrom`, capped.
fn page<'a, T>(
    rows: &'a [T],
    filter: &Filter,
    cap: usize,
    stamp: impl Fn(&T) -> &WbStamp,
    date: impl Fn(&T) -> NaiveDateTime,
) -> Vec<&'a T> {
    match filter {
        Filter::ChangedSince(from) => {
            let start = rows.partition_point(|r| stamp(r).at < *from);
            rows[start..].iter().take(cap).collect()
        }
        Filter::OnDay(day) => rows.iter().filter(|r| date(r).date() == *day).collect(),
    }
}

/// WB sends whole rubles as integers and the rest with as many decimals as needed.
pub(crate) fn money(kop: i64) -> Value {
    if kop % 100 == 0 { json!(kop / 100) } else { json!(kop as f64 / 100.0) }
}

fn common(
    s: &WbSku,
    date: NaiveDateTime,
    stamp: &WbStamp,
    warehouse: &str,
    region: &str,
) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("date".into(), json!(date.format("%Y-%m-%dT%H:%M:%S").to_string()));
    m.insert("lastChangeDate".into(), json!(stamp.text));
    m.insert("warehouseName".into(), json!(warehouse));
    m.insert("warehouseType".into(), json!("Склад WB"));
    m.insert("countryName".into(), json!("Россия"));
    m.insert("oblastOkrugName".into(), json!("Центральный федеральный округ"));
    m.insert("regionName".into(), json!(region));
    m.insert("supplierArticle".into(), json!(s.article));
    m.insert("nmId".into(), json!(s.nm_id));
    m.insert("barcode".into(), json!(s.barcode));
    m.insert("category".into(), json!("Одежда"));
    m.insert("subject".into(), json!(s.subject));
    m.insert("brand".into(), json!(s.brand));
    m.insert("techSize".into(), json!("0"));
    m.insert("isSupply".into(), json!(false));
    m.insert("isRealization".into(), json!(true));
    m.insert("totalPrice".into(), money(s.total_price_kop));
    m.insert("discountPercent".into(), json!(s.discount_percent));
    // Undocumented fields appear in real responses; clients must ignore them.
    m.insert("orderType".into(), json!("Клиентский"));
    m
}

fn orders_now(s: Arc<Shared>, headers: HeaderMap, q: HashMap<String, String>) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let filter = match read_query(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let d = &s.data;
    let rows = page(&d.wb_orders, &filter, s.cfg.wb_page_cap, |o| &o.last_change, |o| o.date);
    let body = rows.into_iter().map(|o| {
        let sku = &d.wb_skus[o.sku];
        let mut m = common(sku, o.date, &o.last_change, o.warehouse, o.region);
        m.insert("incomeID".into(), json!(o.income_id));
        m.insert("spp".into(), json!(o.spp));
        m.insert("finishedPrice".into(), money(o.finished_price_kop));
        m.insert("priceWithDisc".into(), money(o.price_with_disc_kop));
        m.insert("isCancel".into(), json!(o.cancel_date.is_some()));
        let cancel = o
            .cancel_date
            .map(|c| c.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_else(|| "0001-01-01T00:00:00".into());
        m.insert("cancelDate".into(), json!(cancel));
        m.insert("sticker".into(), json!(""));
        m.insert("gNumber".into(), json!(o.g_number));
        m.insert("srid".into(), json!(o.srid));
        Value::Object(m)
    });
    super::json_bytes(super::json_array(body))
}

fn sales_now(s: Arc<Shared>, headers: HeaderMap, q: HashMap<String, String>) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let filter = match read_query(&q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let d = &s.data;
    let rows = page(&d.wb_sales, &filter, s.cfg.wb_page_cap, |x| &x.last_change, |x| x.date);
    let body = rows.into_iter().map(|x| {
        let sku = &d.wb_skus[x.sku];
        let sign = if x.negative_money { -1 } else { 1 };
        let mut m = common(sku, x.date, &x.last_change, x.warehouse, x.region);
        m.insert("incomeID".into(), json!(16_000_000));
        m.insert("spp".into(), json!(x.spp));
        m.insert("paymentSaleAmount".into(), json!(0));
        m.insert("forPay".into(), money(sign * x.for_pay_kop));
        m.insert("finishedPrice".into(), money(sign * x.finished_price_kop));
        m.insert("priceWithDisc".into(), money(sign * x.price_with_disc_kop));
        m.insert("saleID".into(), json!(x.sale_id));
        m.insert("sticker".into(), json!(""));
        m.insert("gNumber".into(), json!(x.g_number));
        m.insert("srid".into(), json!(x.srid));
        Value::Object(m)
    });
    super::json_bytes(super::json_array(body))
}

pub(crate) async fn orders(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    super::off_the_workers(move || orders_now(s, headers, q)).await
}

pub(crate) async fn sales(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    super::off_the_workers(move || sales_now(s, headers, q)).await
}
