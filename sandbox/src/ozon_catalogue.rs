//! Ozon's catalogue: the product list and info (`POST /v3/product/list`, `last_id` paging up to
//! 1000; `POST /v3/product/info/list` for up to 1000 ids, the SKUs in `sources[]`), the
//! characteristics (`POST /v4/product/info/attributes`, where the brand is attribute 85) and the
//! category tree (`POST /v1/description-category/tree`: categories nest, and the leaves under a
//! last-level category are product types, `type_id` + `type_name`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Shared, json_error};

/// Ozon's attribute id of the brand ("Бренд").
pub const BRAND_ATTRIBUTE: i64 = 85;

/// The sandbox's part of Ozon's tree: (top category, [(last-level category id, its name,
/// [(type id, type name)])]). Ids as Ozon's own for these categories where known.
type Types = [(i64, &'static str); 2];
type Categories = [(i64, &'static str, Types); 2];
const TREE: [(&str, i64, Categories); 2] = [
    (
        "Одежда",
        200_000_933,
        [
            (17_028_922, "Футболки и топы", [(91_565, "Футболка"), (91_566, "Топ")]),
            (17_028_741, "Свитшоты и худи", [(93_080, "Худи"), (93_081, "Свитшот")]),
        ],
    ),
    (
        "Дом и сад",
        17_027_484,
        [
            (17_027_904, "Посуда", [(92_499, "Кружка"), (92_500, "Тарелка")]),
            (17_027_949, "Текстиль", [(971_400, "Носки"), (971_401, "Полотенце")]),
        ],
    ),
];

/// Sandbox product `i`'s last-level category and type: (category id, category name, type id,
/// type name), spread over the tree's four categories and both types of each.
pub fn ozon_category(i: usize) -> (i64, &'static str, i64, &'static str) {
    let (_, _, cats) = &TREE[i % 2];
    let (cat, name, types) = &cats[(i / 2) % 2];
    let (t, tname) = types[(i / 4) % 2];
    (*cat, name, t, tname)
}

/// Sandbox product `i`'s brand as its card says it; the fourth of every seven has no brand
/// attribute at all (as cards made before the brand was mandatory), and every fifth says
/// "Нет бренда", the dictionary value Ozon offers for unbranded goods.
pub fn ozon_brand(i: usize) -> Option<&'static str> {
    const BRANDS: [&str; 3] = ["Acme", "Северный ветер", "Polar & Co"];
    match (i % 7, i % 5) {
        (3, _) => None,
        (_, 4) => Some("Нет бренда"),
        _ => Some(BRANDS[i % 3]),
    }
}

/// Ozon's product id of sandbox product `i`.
pub fn ozon_product_id(i: usize) -> i64 {
    700_000_000 + i as i64 * 31
}

#[derive(Deserialize)]
struct ProductList {
    #[serde(default)]
    last_id: String,
    limit: Option<i64>,
}

fn rpc_error(message: &str) -> Response {
    json_error(StatusCode::BAD_REQUEST, json!({"code": 3, "message": message, "details": []}))
}

fn product_list_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = super::ozon::check_auth(&headers) {
        return r;
    }
    let req: ProductList = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return rpc_error(&format!("invalid request payload: {e}")),
    };
    let limit = req.limit.unwrap_or(0);
    if !(1..=1000).contains(&limit) {
        return rpc_error("limit must be between 1 and 1000");
    }
    // `last_id` is opaque to clients; here it is the position after the last item served.
    let start = if req.last_id.is_empty() {
        0
    } else {
        match req.last_id.strip_prefix("p").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return rpc_error("invalid last_id"),
        }
    };
    let d = &s.data;
    let end = (start + limit as usize).min(d.ozon_skus.len());
    let items: Vec<Value> = (start..end)
        .map(|i| {
            json!({
                "product_id": ozon_product_id(i), "offer_id": d.ozon_skus[i].offer_id,
                "has_fbo_stocks": true, "has_fbs_stocks": false, "archived": false, "is_discounted": false, "quants": [],
            })
        })
        .collect();
    let last_id = if end > start { format!("p{end}") } else { String::new() };
    axum::Json(json!({"result": {"items": items, "total": d.ozon_skus.len(), "last_id": last_id}})).into_response()
}

#[derive(Deserialize)]
struct InfoList {
    #[serde(default)]
    product_id: Vec<Value>,
}

fn info_list_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = super::ozon::check_auth(&headers) {
        return r;
    }
    let req: InfoList = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return rpc_error(&format!("invalid request payload: {e}")),
    };
    if req.product_id.len() > 1000 {
        return rpc_error("no more than 1000 products per request");
    }
    let d = &s.data;
    let wanted = ids_of(&req.product_id);
    let items: Vec<Value> = (0..d.ozon_skus.len())
        .filter(|i| wanted.contains(&ozon_product_id(*i)))
        .map(|i| {
            let p = &d.ozon_skus[i];
            json!({
                "id": ozon_product_id(i),
                "name": p.name,
                "offer_id": p.offer_id,
                "barcodes": [format!("46{:011}", p.sku % 100_000_000_000)],
                "description_category_id": ozon_category(i).0,
                "type_id": ozon_category(i).2,
                "created_at": "2025-03-01T10:00:00.000000Z",
                "currency_code": "RUB",
                "price": super::ozon::price_text(p.price_kop, 1),
                "is_archived": false,
                "sources": [{"sku": p.sku, "source": "sds", "created_at": "2025-03-01T10:00:00.000000Z", "shipment_type": "SHIPMENT_TYPE_GENERAL", "quant_code": ""}],
                "statuses": {"status": "price_sent", "is_created": true},
                "images": [],
            })
        })
        .collect();
    axum::Json(json!({"items": items})).into_response()
}

fn ids_of(values: &[Value]) -> Vec<i64> {
    values.iter().filter_map(|v| v.as_i64().or_else(|| v.as_str().and_then(|t| t.parse().ok()))).collect()
}

#[derive(Deserialize)]
struct AttributesRequest {
    #[serde(default)]
    filter: AttributesFilter,
    limit: Option<i64>,
    #[serde(default)]
    last_id: String,
}

#[derive(Deserialize, Default)]
struct AttributesFilter {
    #[serde(default)]
    product_id: Vec<Value>,
}

fn attributes_now(s: Arc<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = super::ozon::check_auth(&headers) {
        return r;
    }
    let req: AttributesRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return rpc_error(&format!("invalid request payload: {e}")),
    };
    let limit = req.limit.unwrap_or(0);
    if !(1..=1000).contains(&limit) {
        return rpc_error("limit must be between 1 and 1000");
    }
    let wanted = ids_of(&req.filter.product_id);
    // `last_id` is the position after the last product served, as in the product list.
    let start = match req.last_id.as_str() {
        "" => 0,
        t => match t.strip_prefix("a").and_then(|n| n.parse::<usize>().ok()) {
            Some(n) => n,
            None => return rpc_error("invalid last_id"),
        },
    };
    let d = &s.data;
    let matching: Vec<usize> = (0..d.ozon_skus.len()).filter(|i| wanted.contains(&ozon_product_id(*i))).collect();
    let end = (start + limit as usize).min(matching.len());
    let result: Vec<Value> = matching[start.min(end)..end]
        .iter()
        .map(|&i| {
            let p = &d.ozon_skus[i];
            let (cat, _, t, _) = ozon_category(i);
            // Characteristics in the order the card lists them; the brand is not first.
            let mut attributes = vec![json!({"id": 10096, "complex_id": 0, "values": [{"dictionary_value_id": 61574, "value": "черный"}]})];
            if let Some(b) = ozon_brand(i) {
                attributes.push(json!({"id": BRAND_ATTRIBUTE, "complex_id": 0, "values": [{"dictionary_value_id": 5_000_000 + i as i64, "value": b}]}));
            }
            attributes.push(json!({"id": 4191, "complex_id": 0, "values": [{"dictionary_value_id": 0, "value": "Аннотация"}]}));
            json!({
                "id": ozon_product_id(i), "offer_id": p.offer_id, "sku": p.sku, "name": p.name,
                "barcode": format!("46{:011}", p.sku % 100_000_000_000),
                "description_category_id": cat, "type_id": t,
                "height": 50, "depth": 300, "width": 200, "dimension_unit": "mm", "weight": 400, "weight_unit": "g",
                "attributes": attributes, "complex_attributes": [],
            })
        })
        .collect();
    let last_id = if end < matching.len() { format!("a{end}") } else { String::new() };
    axum::Json(json!({"result": result, "last_id": last_id, "total": matching.len()})).into_response()
}

fn tree_now(headers: HeaderMap) -> Response {
    if let Err(r) = super::ozon::check_auth(&headers) {
        return r;
    }
    let node = |id: i64, name: &str, children: Vec<Value>| json!({"description_category_id": id, "category_name": name, "disabled": false, "children": children});
    let tree: Vec<Value> = TREE
        .iter()
        .map(|(top, top_id, cats)| {
            let cats = cats
                .iter()
                .map(|(id, name, types)| {
                    let types = types
                        .iter()
                        .map(|(t, tn)| json!({"type_id": t, "type_name": tn, "disabled": false, "children": []}))
                        .collect();
                    node(*id, name, types)
                })
                .collect();
            node(*top_id, top, cats)
        })
        .collect();
    axum::Json(json!({"result": tree})).into_response()
}

pub(crate) async fn product_list(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || product_list_now(s, headers, body)).await
}

pub(crate) async fn info_list(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || info_list_now(s, headers, body)).await
}

pub(crate) async fn attributes(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    super::off_the_workers(move || attributes_now(s, headers, body)).await
}

pub(crate) async fn tree(headers: HeaderMap) -> Response {
    super::off_the_workers(move || tree_now(headers)).await
}
