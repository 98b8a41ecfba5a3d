//! WB's product cards (`POST /content/v2/get/cards/list`, content API) in the lake: the seller's
//! catalogue as last seen, a row per article (`nmID`) with its title, brand and subject; and its
//! fetch: once a day, every card, 100 a page, the cursor being the last card's `updatedAt` and
//! `nmID` (newest change first), until a page's `cursor.total` is below the limit.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use polars::prelude::{Column, PolarsResult};
use serde::Deserialize;
use serde_json::json;

use super::WbClient;
use crate::config::{Account, Config};
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::http::Quota;
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
    dataset: Dataset::WbProducts,
    name: "wb_products",
    marketplace: Marketplace::Wb,
    endpoint: "POST /content/v2/get/cards/list",
    primary_key: &["nm_id"],
    version_column: LOADED_AT,
    event_column: "nm_id",
    fetched_by: Dataset::WbProducts,
    by_month: false,
    fetch: Some(&Products),
    pages: &[Page { path: "/content/v2/get/cards/list", rows: cards_page }],
};

/// The content API's limit: 100 requests a minute, 5 at once.
pub const CONTENT_QUOTA: Quota = Quota { period: std::time::Duration::from_millis(600), burst: 5 };

#[derive(Debug, Deserialize)]
pub struct CardsPage {
    #[serde(default, deserialize_with = "or_default")]
    pub cards: Vec<Card>,
    #[serde(default, deserialize_with = "or_default")]
    pub cursor: Cursor,
}

#[derive(Debug, Default, Deserialize)]
pub struct Cursor {
    #[serde(rename = "updatedAt", default, deserialize_with = "or_default")]
    pub updated_at: String,
    #[serde(rename = "nmID", default, deserialize_with = "or_default")]
    pub nm_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub total: i64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Card {
    #[serde(rename = "nmID")]
    pub nm_id: i64,
    #[serde(rename = "imtID", default, deserialize_with = "or_default")]
    pub imt_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub vendor_code: String,
    #[serde(default, deserialize_with = "or_default")]
    pub brand: String,
    #[serde(default, deserialize_with = "or_default")]
    pub title: String,
    #[serde(rename = "subjectID", default, deserialize_with = "or_default")]
    pub subject_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub subject_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub sizes: Vec<Size>,
    #[serde(default, deserialize_with = "or_default")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
pub struct Size {
    #[serde(default, deserialize_with = "or_default")]
    pub skus: Vec<String>,
}

/// A row of `wb_products`.
#[derive(Debug, Clone)]
pub struct WbProductRow {
    pub nm_id: i64,
    pub imt_id: i64,
    pub vendor_code: String,
    pub brand: String,
    pub title: String,
    pub subject_id: i64,
    pub subject_name: String,
    /// Every size's barcodes, comma-separated.
    pub barcodes: String,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<Card> for WbProductRow {
    fn from(c: Card) -> WbProductRow {
        let barcodes: Vec<String> = c.sizes.into_iter().flat_map(|s| s.skus).collect();
        WbProductRow {
            nm_id: c.nm_id,
            imt_id: c.imt_id,
            vendor_code: c.vendor_code,
            brand: c.brand,
            title: c.title,
            subject_id: c.subject_id,
            subject_name: c.subject_name,
            barcodes: barcodes.join(","),
            updated_at: c.updated_at,
        }
    }
}

impl LakeRow for WbProductRow {
    fn partition(&self) -> String {
        crate::lake::batch::WHOLE.to_string()
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("nm_id", r.iter().map(|x| x.nm_id)),
            c::int("imt_id", r.iter().map(|x| x.imt_id)),
            c::text("vendor_code", r.iter().map(|x| x.vendor_code.as_str())),
            c::text("brand", r.iter().map(|x| x.brand.as_str())),
            c::text("title", r.iter().map(|x| x.title.as_str())),
            c::int("subject_id", r.iter().map(|x| x.subject_id)),
            c::text("subject_name", r.iter().map(|x| x.subject_name.as_str())),
            c::text("barcodes", r.iter().map(|x| x.barcodes.as_str())),
            c::instant("updated_at", r.iter().map(|x| x.updated_at), Tz::UTC),
        ])
    }
}

/// Every card, once a day.
#[derive(Debug)]
pub struct Products;

impl Fetch for Products {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        Ok(vec![cx.today(Dataset::WbProducts, account)?])
    }

    fn cost(&self, _: &Chunk, _: &Config, _: &mut Once) -> Vec<Need> {
        vec![Need { bucket: "wb_content", quota: CONTENT_QUOTA, requests: 1 }]
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
    let client = WbClient::for_chunk(cx)?;
    let mut out = ChunkOutcome::default();
    let mut after: Option<(String, i64)> = None;
    let limit = i64::from(cx.fetch_config().wb_cards_page_limit);
    loop {
        cx.check_stop()?;
        let mut cursor = json!({"limit": limit});
        if let Some((t, nm)) = &after {
            cursor["updatedAt"] = json!(t);
            cursor["nmID"] = json!(nm);
        }
        let body = json!({"settings": {"sort": {"ascending": false}, "cursor": cursor, "filter": {"withPhoto": -1}}});
        out.requests += 1;
        let page: CardsPage = client
            .content_post(Dataset::WbProducts, ("wb_content", CONTENT_QUOTA), "/content/v2/get/cards/list", &body)
            .await
            .map_err(|e| cx.source_error(e))?;
        let n = page.cards.len() as u64;
        let rows: Vec<WbProductRow> = page.cards.into_iter().map(WbProductRow::from).collect();
        out.lake += cx.store(Batch::new(Dataset::WbProducts, rows)).await?.stats();
        out.rows += n;
        cx.rows_stored(n);
        if n == 0 || page.cursor.total < limit {
            return Ok(out);
        }
        let next = (page.cursor.updated_at, page.cursor.nm_id);
        if next.0.is_empty() || after.as_ref() == Some(&next) {
            return Err(cx.source_error(SourceError::Stuck {
                ctx: cx.ctx(Dataset::WbProducts),
                detail: format!(
                    "a full page of cards came with the cursor {next:?}, which does not move past the last one; paging would never end. Fix: run again later; if it repeats, report it to WB's support"
                ),
            }));
        }
        after = Some(next);
    }
}

fn cards_page(bytes: &[u8]) -> Result<usize, String> {
    let page: CardsPage = crate::sources::pages::decode(bytes)?;
    Ok(page.cards.into_iter().map(WbProductRow::from).count())
}
