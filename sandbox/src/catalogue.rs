//! WB's catalogue: the content cards (`POST /content/v2/get/cards/list`, cursor of `updatedAt` +
//! `nmID`, at most 100 a page, newest change first; the last page is the one whose `cursor.total`
//! is below the limit). Ozon's is in `ozon_catalogue`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDateTime};
use serde::Deserialize;
use serde_json::{Value, json};

use super::data::{SellerData, msk_naive};
use super::{Shared, json_error};

/// WB's subject ids of the sandbox's subjects.
pub const WB_SUBJECT_IDS: [(&str, i64); 4] = [("Футболки", 192), ("Худи", 1724), ("Носки", 3), ("Кружки", 1425)];

/// A card's title as the sandbox seller wrote it.
pub fn wb_title(d: &SellerData, i: usize) -> String {
    let s = &d.wb_skus[i];
    format!("{} {} {}", s.subject, s.brand, s.article)
}

/// When card `i` last changed: within the last year, distinct per card (UTC, as WB writes it).
fn wb_updated(d: &SellerData, i: usize) -> NaiveDateTime {
    let now = msk_naive(d.now).date().and_time(chrono::NaiveTime::MIN) - Duration::hours(3);
    now - Duration::minutes(17 + (i as i64 * 7_919) % 500_000)
}

#[derive(Deserialize)]
struct CardsRequest {
    settings: CardsSettings,
}

#[derive(Deserialize)]
struct CardsSettings {
    cursor: CardsCursor,
}

#[derive(Deserialize)]
struct CardsCursor {
    limit: Option<i64>,
    #[serde(rename = "updatedAt")]
    updated_at: Option<String>,
    #[serde(rename = "nmID")]
    nm_id: Option<i64>,
}

fn cards_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = super::wb::check_auth(&headers) {
        return r;
    }
    let bad = |m: &str| {
        json_error(
            StatusCode::BAD_REQUEST,
            json!({"data": null, "error": true, "errorText": m, "additionalErrors": null}),
        )
    };
    let req: CardsRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return bad(&format!("invalid request: {e}")),
    };
    let limit = req.settings.cursor.limit.unwrap_or(0);
    if !(1..=100).contains(&limit) {
        return bad("limit must be from 1 to 100");
    }
    let after = match (&req.settings.cursor.updated_at, req.settings.cursor.nm_id) {
        (Some(t), Some(nm)) => match chrono::DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some((t.naive_utc(), nm)),
            Err(_) => return bad("cursor.updatedAt is not a date-time"),
        },
        (None, None) => None,
        _ => return bad("cursor.updatedAt and cursor.nmID go together"),
    };
    let d = &s.data;
    // Newest change first; the cursor is the last card of the previous page.
    let mut cards: Vec<(NaiveDateTime, i64, usize)> =
        (0..d.wb_skus.len()).map(|i| (wb_updated(d, i), d.wb_skus[i].nm_id, i)).collect();
    cards.sort_by(|a, b| (b.0, b.1).cmp(&(a.0, a.1)));
    let page: Vec<_> =
        cards.into_iter().filter(|c| after.is_none_or(|a| (c.0, c.1) < a)).take(limit as usize).collect();
    let time = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let json_cards: Vec<Value> = page
        .iter()
        .map(|&(updated, nm, i)| {
            let sku = &d.wb_skus[i];
            let subject_id = WB_SUBJECT_IDS.iter().find(|(n, _)| *n == sku.subject).map_or(0, |x| x.1);
            json!({
                "nmID": nm,
                "imtID": nm + 1_000_000_000,
                "nmUUID": format!("01890000-0000-7000-8000-{nm:012}"),
                "subjectID": subject_id,
                "subjectName": sku.subject,
                "vendorCode": sku.article,
                "brand": sku.brand,
                "title": wb_title(d, i),
                "description": "",
                "needKiz": false,
                "photos": [],
                "video": null,
                "dimensions": {"length": 30, "width": 20, "height": 5, "weightBrutto": 0.4, "isValid": true},
                "characteristics": [{"id": 14177449, "name": "Цвет", "value": ["чёрный"]}],
                "sizes": [{"chrtID": nm * 10, "techSize": "0", "wbSize": "", "skus": [sku.barcode]}],
                "tags": [],
                "createdAt": time(updated - Duration::days(200)),
                "updatedAt": time(updated),
            })
        })
        .collect();
    let cursor = match page.last() {
        Some(&(t, nm, _)) => json!({"updatedAt": time(t), "nmID": nm, "total": page.len()}),
        None => json!({"total": 0}),
    };
    axum::Json(json!({"cards": json_cards, "cursor": cursor})).into_response()
}

pub(crate) async fn cards(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || cards_now(s, headers, body)).await
}
