//! WB finance and advertising emulators: `sales-reports/detailed` (rrdId paging, 204 at the end,
//! money as strings), `promotion/count`, `v3/fullstats` (≤50 ids, ≤31 days, 400 when there is
//! nothing), `v1/upd` (1–31 days, plain-text 400s).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Duration, NaiveDate};
use serde_json::{Value, json};

use super::data::msk_naive;
use super::finance::WbFinRow;
use super::wb::{check_auth, money};
use super::{Shared, json_error};
use crate::format_kopecks;

fn text(k: i64) -> Value {
    json!(format_kopecks(i128::from(k)).trim_end_matches(".00").to_string())
}

fn lenient_date(v: Option<&Value>) -> Option<NaiveDate> {
    let s = v?.as_str()?;
    NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()
}

fn week_start(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn detailed_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let bad = |detail: &str| {
        json_error(
            StatusCode::BAD_REQUEST,
            json!({"status": 400, "title": "GetReportDetailByPeriodNBAndNNB decode error", "detail": detail,
                   "requestId": "sandbox", "origin": "open-api-finreports"}),
        )
    };
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return bad("invalid JSON body");
    };
    let (Some(from), Some(to)) = (lenient_date(req.get("dateFrom")), lenient_date(req.get("dateTo"))) else {
        return bad(
            "Key: 'GetReportDetailByPeriodNBAndNNB.DateTo' Error:Field validation for 'DateFrom/DateTo' failed on the 'required' tag",
        );
    };
    let limit = req.get("limit").and_then(Value::as_i64).unwrap_or(100_000);
    if !(1..=100_000).contains(&limit) {
        return bad("limit must be between 1 and 100000");
    }
    // The spec writes both spellings.
    let cursor = req.get("rrdId").or_else(|| req.get("rrdid")).and_then(Value::as_i64).unwrap_or(0);
    let daily = req.get("period").and_then(Value::as_str) == Some("daily");
    let today = msk_naive(s.data.now).date();
    let rows = &s.data.finance.wb_rows;
    let start = rows.partition_point(|r| r.rrd_id <= cursor);
    let cap = (limit as usize).min(s.cfg.wb_finance_page_cap);
    // Weekly reports appear the Monday after their week; daily ones the next day.
    let available =
        |r: &WbFinRow| if daily { r.rr_date < today } else { week_start(r.rr_date) + Duration::days(7) <= today };
    let mut page =
        rows[start..].iter().filter(|r| r.rr_date >= from && r.rr_date <= to && available(r)).take(cap).peekable();
    if page.peek().is_none() {
        return StatusCode::NO_CONTENT.into_response();
    }
    super::json_bytes(super::json_array(page.map(|r| fin_row_json(&s, r, daily))))
}

/// Ten-thousandths of a ruble as WB writes them ("1.349", "-0.15", "0").
fn precise(v: i64) -> Value {
    let sign = if v < 0 { "-" } else { "" };
    let (whole, frac) = (v.unsigned_abs() / 10_000, v.unsigned_abs() % 10_000);
    let frac = format!("{frac:04}");
    let frac = frac.trim_end_matches('0');
    json!(if frac.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{frac}") })
}

fn fin_row_json(s: &Shared, r: &WbFinRow, daily: bool) -> Value {
    let (from, to, report_id) = if daily {
        (r.rr_date, r.rr_date, 400_000_000 + i64::from(r.rr_date.num_days_from_ce()))
    } else {
        let w = week_start(r.rr_date);
        (w, w + Duration::days(6), 300_000_000 + i64::from(w.num_days_from_ce()))
    };
    let sku = r.sku.map(|i| &s.data.wb_skus[i]);
    let mut v = json!({
        "reportId": report_id, "dateFrom": from.to_string(), "dateTo": to.to_string(),
        "createDate": (to + Duration::days(1)).to_string(), "currency": "RUB", "reportType": 1,
        "rrdId": r.rrd_id, "giId": 0, "nmId": sku.map_or(0, |k| k.nm_id),
        "vendorCode": sku.map_or("", |k| k.article.as_str()), "techSize": "0",
        "sku": sku.map_or("", |k| k.barcode.as_str()), "title": sku.map_or("", |k| k.subject),
        "docTypeName": r.doc_type, "sellerOperName": r.oper, "quantity": r.quantity,
        "retailPrice": text(r.retail_price), "retailAmount": text(r.retail_amount),
        "retailPriceWithDisc": text(r.retail_price_with_disc), "commissionPercent": 24,
        "forPay": text(r.for_pay), "acquiringFee": text(r.acquiring),
        "vw": precise(r.vw), "vwNds": precise(r.vw_nds), "ppvzReward": precise(r.ppvz_reward),
        "deliveryAmount": r.delivery_amount, "returnAmount": r.return_amount,
        "officeName": "Коледино", "orderDt": format!("{}T00:00:00Z", r.rr_date), "saleDt": format!("{}T00:00:00Z", r.rr_date),
        "rrDate": r.rr_date.to_string(), "orderId": 0, "srid": r.srid, "isB2b": false,
    });
    // Charges, in a second object: one json! literal this wide exceeds the macro's recursion limit.
    let charges = json!({
        "deliveryService": text(r.delivery), "penalty": text(r.penalty), "deduction": text(r.deduction),
        "paidStorage": text(r.storage), "paidAcceptance": text(r.acceptance),
        "additionalPayment": text(r.additional), "rebillLogisticCost": precise(r.rebill),
        "cashbackAmount": text(r.cashback_amount), "cashbackDiscount": text(r.cashback_discount),
        "cashbackCommissionChange": text(r.cashback_commission_change), "paymentSchedule": "0",
    });
    if let (Value::Object(row), Value::Object(more)) = (&mut v, charges) {
        row.extend(more);
    }
    if r.rebill != 0 {
        v["rebillLogisticOrg"] = json!("ИП Иванов Иван Иванович(123456789012)");
    }
    if !r.bonus_type.is_empty() {
        v["bonusTypeName"] = json!(r.bonus_type);
    }
    v
}

/// Report headers with their totals, computed from the same rows `detailed` serves.
fn list_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            json!({"status": 400, "title": "decode error", "detail": "invalid JSON body"}),
        );
    };
    let (Some(from), Some(to)) = (lenient_date(req.get("dateFrom")), lenient_date(req.get("dateTo"))) else {
        return json_error(
            StatusCode::BAD_REQUEST,
            json!({"status": 400, "title": "decode error", "detail": "dateFrom and dateTo are required"}),
        );
    };
    let today = msk_naive(s.data.now).date();
    // WB's totals: amounts by the document (Продажа +, Возврат −), charges given back by a
    // reversal, «Итого к оплате» as `WbFinRow::payout` adds each row up.
    let mut reports: BTreeMap<NaiveDate, [i64; 13]> = BTreeMap::new();
    for r in &s.data.finance.wb_rows {
        let w = week_start(r.rr_date);
        if w + Duration::days(7) > today || w + Duration::days(6) < from || w > to {
            continue;
        }
        let (sign, dir) = (r.sign(), r.direction());
        let t = reports.entry(w).or_default();
        t[0] += sign * r.retail_amount;
        t[1] += sign * r.for_pay;
        t[2] += dir * r.delivery;
        t[3] += dir * r.storage;
        t[4] += dir * r.penalty;
        t[5] += dir * r.deduction;
        t[6] += dir * r.acceptance;
        t[7] += dir * r.additional;
        t[8] += sign * r.cashback_amount;
        t[9] += sign * r.cashback_discount;
        t[10] += sign * r.cashback_commission_change;
        t[12] += r.payout();
    }
    let out: Vec<Value> = reports
        .into_iter()
        .map(|(w, mut t)| {
            let id = 300_000_000 + i64::from(w.num_days_from_ce());
            if s.cfg.misreport_header == Some(id) {
                // The header's forPaySum is off by 1.00, and the bank payment with it.
                t[1] += 100;
                t[12] += 100;
            }
            json!({"reportId": id, "dateFrom": w.to_string(), "dateTo": (w + Duration::days(6)).to_string(),
                   "createDate": (w + Duration::days(7)).to_string(), "currency": "RUB", "reportType": 1,
                   "sellerFinanceName": "ИП Песочница", "avgSalePercent": 0,
                   "retailAmountSum": text(t[0]), "forPaySum": text(t[1]), "deliveryServiceSum": text(t[2]),
                   "paidStorageSum": text(t[3]), "penaltySum": text(t[4]), "deductionSum": text(t[5]),
                   "paidAcceptanceSum": text(t[6]), "additionalPaymentSum": text(t[7]),
                   "cashbackAmountSum": text(t[8]), "cashbackDiscountSum": text(t[9]),
                   "cashbackCommissionChangeSum": text(t[10]), "paymentSchedule": text(t[11]),
                   "bankPaymentSum": text(t[12])})
        })
        .collect();
    axum::Json(out).into_response()
}

pub(crate) async fn promotion_count(State(s): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let mut groups: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for c in &s.data.finance.campaigns {
        let t = c.change_time.with_timezone(&chrono_tz::Europe::Moscow).format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string();
        groups.entry(c.status).or_default().push(json!({"advertId": c.advert_id, "changeTime": t}));
    }
    let adverts: Vec<Value> = groups
        .into_iter()
        .map(|(status, list)| json!({"type": 9, "status": status, "count": list.len(), "advert_list": list}))
        .collect();
    axum::Json(json!({"adverts": adverts, "all": s.data.finance.campaigns.len()})).into_response()
}

fn ad_error(title: &str, detail: &str) -> Response {
    json_error(
        StatusCode::BAD_REQUEST,
        json!({"detail": detail, "origin": "camp-api-public-cache", "request_id": "sandbox", "status": 400, "title": title}),
    )
}

fn metrics(views: i64, clicks: i64, orders: i64, sum: i64, sum_price: i64) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let ratio = |a: i64, b: i64| if b == 0 { 0.0 } else { (a as f64 / b as f64 * 10_000.0).round() / 100.0 };
    m.insert("views".into(), json!(views));
    m.insert("clicks".into(), json!(clicks));
    m.insert("ctr".into(), json!(ratio(clicks, views)));
    m.insert("cpc".into(), json!(if clicks == 0 { 0.0 } else { (sum as f64 / clicks as f64).round() / 100.0 }));
    m.insert("cr".into(), json!(ratio(orders, clicks)));
    m.insert("atbs".into(), json!(orders));
    m.insert("orders".into(), json!(orders));
    m.insert("shks".into(), json!(orders));
    m.insert("canceled".into(), json!(0));
    m.insert("sum".into(), money(sum));
    m.insert("sum_price".into(), money(sum_price));
    m
}

fn fullstats_now(s: Arc<Shared>, headers: HeaderMap, q: HashMap<String, String>) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let ids: Option<Vec<i64>> = q
        .get("ids")
        .map(|v| v.split(',').map(|x| x.trim().parse::<i64>()).collect::<Result<_, _>>().ok())
        .unwrap_or(None);
    let Some(ids) = ids.filter(|v| !v.is_empty() && v.len() <= 50) else {
        return ad_error("invalid payload", "invalid ids");
    };
    let date = |k: &str| q.get(k).and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
    let (Some(begin), Some(end)) = (date("beginDate"), date("endDate")) else {
        return ad_error("invalid payload", "invalid dates");
    };
    if end < begin || (end - begin).num_days() + 1 > 31 {
        return json_error(
            StatusCode::BAD_REQUEST,
            json!({"errors": [{"detail": "max date range 31 days", "field": "begin and end"}], "request_id": "sandbox",
                   "status": 400, "title": "Invalid payload", "type": "bad request"}),
        );
    }
    let f = &s.data.finance;
    let mut out = Vec::new();
    for id in &ids {
        let Some(c) = f.campaigns.iter().find(|c| c.advert_id == *id && [7, 9, 11].contains(&c.status)) else {
            continue;
        };
        let cells: Vec<_> =
            f.ad_stats.iter().filter(|x| x.advert_id == c.advert_id && x.date >= begin && x.date <= end).collect();
        if cells.is_empty() {
            continue;
        }
        let total = |v: &[&&super::finance::AdStat]| {
            metrics(
                v.iter().map(|x| x.views).sum(),
                v.iter().map(|x| x.clicks).sum(),
                v.iter().map(|x| x.orders).sum(),
                v.iter().map(|x| x.sum).sum(),
                v.iter().map(|x| x.sum_price).sum(),
            )
        };
        let mut days = Vec::new();
        let mut by_day: BTreeMap<NaiveDate, Vec<&super::finance::AdStat>> = BTreeMap::new();
        for x in &cells {
            by_day.entry(x.date).or_default().push(x);
        }
        for (day, xs) in by_day {
            let mut apps = Vec::new();
            let mut by_app: BTreeMap<i64, Vec<&super::finance::AdStat>> = BTreeMap::new();
            for x in &xs {
                by_app.entry(x.app_type).or_default().push(x);
            }
            for (app, ys) in by_app {
                let nms: Vec<Value> = ys
                    .iter()
                    .map(|y| {
                        let mut m = metrics(y.views, y.clicks, y.orders, y.sum, y.sum_price);
                        m.insert("nmId".into(), json!(s.data.wb_skus[y.sku].nm_id));
                        m.insert("name".into(), json!(s.data.wb_skus[y.sku].subject));
                        Value::Object(m)
                    })
                    .collect();
                let refs: Vec<&&super::finance::AdStat> = ys.iter().collect();
                let mut m = total(&refs);
                m.insert("appType".into(), json!(app));
                m.insert("nms".into(), json!(nms));
                apps.push(Value::Object(m));
            }
            let refs: Vec<&&super::finance::AdStat> = xs.iter().collect();
            let mut m = total(&refs);
            m.insert("date".into(), json!(format!("{day}T00:00:00Z")));
            m.insert("apps".into(), json!(apps));
            days.push(Value::Object(m));
        }
        let mut m = total(&cells.iter().collect::<Vec<_>>());
        m.insert("advertId".into(), json!(c.advert_id));
        m.insert("currency".into(), json!("RUB"));
        m.insert("days".into(), json!(days));
        out.push(Value::Object(m));
    }
    if out.is_empty() {
        // What WB answers for a range with nothing in it (e.g. only today).
        return ad_error("invalid payload", "there are no statistics for this advertising period");
    }
    axum::Json(out).into_response()
}

fn plain_400(text: &str) -> Response {
    (StatusCode::BAD_REQUEST, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text.to_string()).into_response()
}

pub(crate) async fn upd(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = check_auth(&headers) {
        return r;
    }
    let date = |k: &str| q.get(k).and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok());
    let (Some(from), Some(to)) = (date("from"), date("to")) else {
        return plain_400("Некорректный период");
    };
    let days = (to - from).num_days() + 1;
    if !(1..=31).contains(&days) {
        return plain_400("Период должен быть от 1 до 31 дня");
    }
    let f = &s.data.finance;
    let mut per: BTreeMap<(NaiveDate, i64), i64> = BTreeMap::new();
    for x in f.ad_stats.iter().filter(|x| x.date >= from && x.date <= to) {
        *per.entry((x.date, x.advert_id)).or_default() += x.sum;
    }
    let rows: Vec<Value> = per
        .into_iter()
        .filter_map(|((day, id), _)| {
            let c = f.campaigns.iter().find(|c| c.advert_id == id)?;
            Some(
                json!({"updNum": 0, "updTime": format!("{day}T12:12:54.060536+03:00"), "updSum": f.upd_rubles(id, day),
                   "advertId": id, "campName": c.name, "advertType": 9, "paymentType": c.payment.name(),
                   "advertStatus": c.status}),
            )
        })
        .collect();
    axum::Json(rows).into_response()
}

pub(crate) async fn detailed(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || detailed_now(s, headers, body)).await
}

pub(crate) async fn list(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || list_now(s, headers, body)).await
}

pub(crate) async fn fullstats(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    super::off_the_workers(move || fullstats_now(s, headers, q)).await
}
