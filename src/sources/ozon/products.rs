//! Ozon's products (`POST /v3/product/list`, `/v3/product/info/list`,
//! `/v4/product/info/attributes`, `/v1/description-category/tree`) in the lake: the seller's
//! catalogue as last seen, a row per Ozon SKU (`sources[].sku` of each product) with its product
//! id, article, name, barcode, brand and category; and its fetch: once a day, the product ids
//! 1000 a page by `last_id`, each page's details and characteristics in one call each, the
//! category tree once per account and run to name the categories.

use std::collections::HashMap;
use std::sync::Arc;

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
    endpoint: "POST /v3/product/list + /v3/product/info/list + /v4/product/info/attributes",
    primary_key: &["sku"],
    version_column: LOADED_AT,
    event_column: "sku",
    fetched_by: Dataset::OzonProducts,
    by_month: false,
    fetch: Some(&Products),
    pages: &[
        Page { path: "/v3/product/list", rows: list_page },
        Page { path: "/v3/product/info/list", rows: info_page },
        Page { path: "/v4/product/info/attributes", rows: attributes_page },
        Page { path: "/v1/description-category/tree", rows: tree_page },
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

/// Ozon's attribute id of the brand ("Бренд").
pub const BRAND_ATTRIBUTE: i64 = 85;

#[derive(Debug, Deserialize)]
pub struct AttributesResponse {
    #[serde(default, deserialize_with = "or_default")]
    pub result: Vec<Attributes>,
}

#[derive(Debug, Deserialize)]
pub struct Attributes {
    pub id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub attributes: Vec<Attribute>,
}

#[derive(Debug, Deserialize)]
pub struct Attribute {
    /// `id` in v4 answers; `attribute_id` in v3's and some tools' copies of them.
    #[serde(alias = "attribute_id")]
    pub id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub values: Vec<AttributeValue>,
}

#[derive(Debug, Deserialize)]
pub struct AttributeValue {
    #[serde(default, deserialize_with = "or_default")]
    pub value: String,
}

impl Attributes {
    /// The brand as the card states it ("Нет бренда" included); None where the card has none.
    pub fn brand(&self) -> Option<String> {
        let a = self.attributes.iter().find(|a| a.id == BRAND_ATTRIBUTE)?;
        a.values.iter().map(|v| v.value.trim()).find(|v| !v.is_empty()).map(str::to_string)
    }
}

#[derive(Debug, Deserialize)]
pub struct TreeResponse {
    #[serde(default, deserialize_with = "or_default")]
    pub result: Vec<TreeNode>,
}

/// A node of the category tree: a category (`description_category_id` + `category_name`) or,
/// under a last-level category, a product type (`type_id` + `type_name`).
#[derive(Debug, Deserialize)]
pub struct TreeNode {
    #[serde(default)]
    pub description_category_id: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub category_name: String,
    #[serde(default)]
    pub type_id: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub type_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub children: Vec<TreeNode>,
}

/// The category tree flattened: a category's name by id, a type's name by (its category, id).
/// Type ids repeat under different categories, so a type is named only with its category.
#[derive(Debug, Default, Clone)]
pub struct Categories {
    pub categories: HashMap<i64, String>,
    pub types: HashMap<(i64, i64), String>,
}

impl Categories {
    pub fn from_tree(tree: Vec<TreeNode>) -> Categories {
        let mut out = Categories::default();
        // Depth-first with an explicit stack: Ozon's tree is ~10 000 nodes, never deep, but an
        // answer is input and recursion on input is a stack overflow waiting to happen.
        let mut stack: Vec<(Option<i64>, TreeNode)> = tree.into_iter().map(|n| (None, n)).collect();
        while let Some((parent, node)) = stack.pop() {
            let mut here = parent;
            if let Some(id) = node.description_category_id {
                out.categories.insert(id, node.category_name);
                here = Some(id);
            }
            if let (Some(t), Some(cat)) = (node.type_id, parent) {
                out.types.insert((cat, t), node.type_name);
            }
            stack.extend(node.children.into_iter().map(|c| (here, c)));
        }
        out
    }
}

/// A row of `ozon_products`.
#[derive(Debug, Clone)]
pub struct OzonProductRow {
    pub sku: i64,
    pub product_id: i64,
    pub offer_id: String,
    pub name: String,
    pub barcode: String,
    pub brand: Option<String>,
    pub category_id: i64,
    /// The last-level category's name; None when the tree does not list the id.
    pub category: Option<String>,
    pub type_id: i64,
    pub type_name: Option<String>,
    pub archived: bool,
}

impl Info {
    /// One row per SKU the product is sold under (one since Ozon's single-SKU change).
    pub fn into_rows(self, brand: Option<String>, names: &Categories) -> impl Iterator<Item = OzonProductRow> + use<> {
        let Info { id, name, offer_id, barcodes, description_category_id, type_id, is_archived, sources } = self;
        let barcode = barcodes.into_iter().next().unwrap_or_default();
        let category = names.categories.get(&description_category_id).cloned();
        let type_name = names.types.get(&(description_category_id, type_id)).cloned();
        sources.into_iter().map(move |s| OzonProductRow {
            sku: s.sku,
            product_id: id,
            offer_id: offer_id.clone(),
            name: name.clone(),
            barcode: barcode.clone(),
            brand: brand.clone(),
            category_id: description_category_id,
            category: category.clone(),
            type_id,
            type_name: type_name.clone(),
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
            c::opt_text("brand", r.iter().map(|x| x.brand.as_deref())),
            c::int("category_id", r.iter().map(|x| x.category_id)),
            c::opt_text("category", r.iter().map(|x| x.category.as_deref())),
            c::int("type_id", r.iter().map(|x| x.type_id)),
            c::opt_text("type_name", r.iter().map(|x| x.type_name.as_deref())),
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
        // The category tree, a page of ids with its details and characteristics, and the short
        // page that ends the list.
        vec![Need { bucket: "ozon", quota: super::client::SELLER_QUOTA, requests: 5 }]
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
    let (names, asked) = cx
        .once_per_run("ozon_category_tree", || async {
            let tree: TreeResponse = client
                .post_seller(Dataset::OzonProducts, "/v1/description-category/tree", &json!({"language": "DEFAULT"}))
                .await
                .map_err(src)?;
            Ok(Arc::new(Categories::from_tree(tree.result)))
        })
        .await?;
    out.requests += u64::from(asked);
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
            out.requests += 1;
            let body = json!({"filter": {"product_id": ids, "visibility": "ALL"}, "limit": ids.len(), "last_id": ""});
            let attributes: AttributesResponse =
                client.post_seller(Dataset::OzonProducts, "/v4/product/info/attributes", &body).await.map_err(src)?;
            // All of a page's products fit one answer (the limit is the page's size); a product
            // Ozon leaves out has no brand rather than a failed run.
            let brands: HashMap<i64, Option<String>> = attributes.result.iter().map(|a| (a.id, a.brand())).collect();
            let rows: Vec<OzonProductRow> = info
                .items
                .into_iter()
                .flat_map(|i| {
                    let brand = brands.get(&i.id).cloned().flatten();
                    i.into_rows(brand, &names)
                })
                .collect();
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
    Ok(page.items.into_iter().flat_map(|i| i.into_rows(None, &Categories::default())).count())
}

fn attributes_page(bytes: &[u8]) -> Result<usize, String> {
    let page: AttributesResponse = crate::sources::pages::decode(bytes)?;
    Ok(page.result.iter().filter_map(Attributes::brand).count())
}

fn tree_page(bytes: &[u8]) -> Result<usize, String> {
    let page: TreeResponse = crate::sources::pages::decode(bytes)?;
    Ok(Categories::from_tree(page.result).types.len())
}
