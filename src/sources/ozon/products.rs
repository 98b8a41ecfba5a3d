//! Ozon's products (`POST /v3/product/list`, then `POST /v3/product/info/list`) in the lake: the
//! seller's catalogue as last seen, a row per Ozon SKU (`sources[].sku` of each product) with its
//! product id, article, name, barcode and category; and its fetch: once a day, the product ids
//! 1000 a page by `last_id`, each page's details in one call.

use futures::future::BoxFuture;
use polars::prelude::{Column, PolarsResult};
use serde::Deserialize;
use serde_json::json;

use super::client::OzonClient;
use crate::config::{Account, Config};
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::{Batch, LakeRow};
use crate::lake::columns as c;
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};
use crate::pipeline::plan::{Chunk, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::sources::SourceError;
use crate::sources::decode::or_default;
use crate::state::ChunkRecord;

pub const PRODUCTS: Spec = Spec {
    dataset: Dataset::OzonProducts,
    name: "ozon_products",
    marketplace: Marketplace::Ozon,
    endpoint: "POST /v3/product/list + /v3/product/info/list",
    primary_key: &["sku"],
    version_column: LOADED_AT,
    event_column: "sku",
    fetched_by: Dataset::OzonProducts,
    by_month: false,
    fetch: Some(&Products),
    pages: &[
        Page { path: "/v3/product/list", rows: list_page },
        Page { path: "/v3/product/info/list", rows: info_page },
    ],
};

#[derive(Debug, Deserialize)]
pub struct ListResponse {
    pub result: ListResult,
}

#[derive(Debug, Deserialize)]
pub struct ListResult {
    #[serde(default, deserialize_with = "or_default")]
    pub items: Vec<ListItem>,
    #[serde(default, deserialize_with = "or_default")]
    pub last_id: String,
}

#[derive(Debug, Deserialize)]
pub struct ListItem {
    pub product_id: i64,
}

#[derive(Debug, Deserialize)]
pub struct InfoResponse {
    #[serde(default, deserialize_with = "or_default")]
    pub items: Vec<Info>,
}

#[derive(Debug, Deserialize)]
pub struct Info {
    pub id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub offer_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub barcodes: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub description_category_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub type_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub is_archived: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub sources: Vec<Source>,
}

#[derive(Debug, Deserialize)]
pub struct Source {
    pub sku: i64,
}

/// A row of `ozon_products`.
#[derive(Debug, Clone)]
pub struct OzonProductRow {
    pub sku: i64,
    pub product_id: i64,
    pub offer_id: String,
    pub name: String,
    pub barcode: String,
    pub category_id: i64,
    pub type_id: i64,
    pub archived: bool,
}

impl Info {
    /// One row per SKU the product is sold under (one since Ozon's single-SKU change).
    pub fn into_rows(self) -> impl Iterator<Item = OzonProductRow> {
        let Info { id, name, offer_id, barcodes, description_category_id, type_id, is_archived, sources } = self;
        let barcode = barcodes.into_iter().next().unwrap_or_default();
        sources.into_iter().map(move |s| OzonProductRow {
            sku: s.sku,
            product_id: id,
            offer_id: offer_id.clone(),
            name: name.clone(),
            barcode: barcode.clone(),
            category_id: description_category_id,
            type_id,
            archived: is_archived,
        })
    }
}

impl LakeRow for OzonProductRow {
    fn partition(&self) -> String {
        crate::lake::batch::WHOLE.to_string()
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("sku", r.iter().map(|x| x.sku)),
            c::int("product_id", r.iter().map(|x| x.product_id)),
            c::text("offer_id", r.iter().map(|x| x.offer_id.as_str())),
            c::text("name", r.iter().map(|x| x.name.as_str())),
            c::text("barcode", r.iter().map(|x| x.barcode.as_str())),
            c::int("category_id", r.iter().map(|x| x.category_id)),
            c::int("type_id", r.iter().map(|x| x.type_id)),
            c::flag("archived", r.iter().map(|x| x.archived)),
        ])
    }
}

/// Every product, once a day.
#[derive(Debug)]
pub struct Products;

impl Fetch for Products {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        Ok(vec![cx.today(Dataset::OzonProducts, account)?])
    }

    fn cost(&self, _: &Chunk, _: &Config, _: &mut Once) -> Vec<Need> {
        // A page of ids and its details, and the short page that ends the list.
        vec![Need { bucket: "ozon", quota: super::client::SELLER_QUOTA, requests: 3 }]
    }

    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        _: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>> {
        Box::pin(fetch(cx))
    }
}

async fn fetch(cx: &FetchCx<'_>) -> Result<ChunkOutcome, ChunkError> {
    let client = OzonClient::for_chunk(cx)?;
    let src = |e| cx.source_error(e);
    let mut out = ChunkOutcome::default();
    let mut last_id = String::new();
    let limit = cx.fetch_config().ozon_products_page_limit as usize;
    loop {
        cx.check_stop()?;
        out.requests += 1;
        let body = json!({"filter": {"visibility": "ALL"}, "last_id": last_id, "limit": limit});
        let page: ListResponse =
            client.post_seller(Dataset::OzonProducts, "/v3/product/list", &body).await.map_err(src)?;
        let ids: Vec<i64> = page.result.items.iter().map(|i| i.product_id).collect();
        if !ids.is_empty() {
            out.requests += 1;
            let info: InfoResponse = client
                .post_seller(Dataset::OzonProducts, "/v3/product/info/list", &json!({"product_id": ids}))
                .await
                .map_err(src)?;
            let rows: Vec<OzonProductRow> = info.items.into_iter().flat_map(Info::into_rows).collect();
            let n = rows.len() as u64;
            out.lake += cx.store(Batch::new(Dataset::OzonProducts, rows)).await?.stats();
            out.rows += n;
            cx.rows_stored(n);
        }
        if ids.len() < limit || page.result.last_id.is_empty() {
            return Ok(out);
        }
        if page.result.last_id == last_id {
            return Err(src(SourceError::Stuck {
                ctx: cx.ctx(Dataset::OzonProducts),
                detail: format!(
                    "last_id {last_id:?} came back unchanged; paging would never end. Fix: run again later; if it repeats, report it to Ozon's support"
                ),
            }));
        }
        last_id = page.result.last_id;
    }
}

fn list_page(bytes: &[u8]) -> Result<usize, String> {
    Ok(crate::sources::pages::decode::<ListResponse>(bytes)?.result.items.len())
}

fn info_page(bytes: &[u8]) -> Result<usize, String> {
    let page: InfoResponse = crate::sources::pages::decode(bytes)?;
    Ok(page.items.into_iter().flat_map(Info::into_rows).count())
}
