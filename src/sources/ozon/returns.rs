//! Ozon returns (`POST /v1/returns/list`, FBO and FBS in one list) in the lake: a row per
//! return line (one product of one posting), partitioned by the month (UTC) the buyer handed it
//! back; and its fetch loop: one UTC month per chunk, filtered by `logistic_return_date`, paged by
//! `last_id`, each page committed as it arrives.
//!
//! The API sends ids and prices as JSON strings or numbers (its own example uses strings), spells
//! `schema` `Fbs` as well as `FBO`, and may leave out `product.quantity`: then the line counts
//! its exemplars (one per unit), or 1.

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use polars::prelude::{Column, PolarsResult};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::client::OzonClient;
use crate::config::{Account, Config};
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::{Batch, LakeRow, month_key};
use crate::lake::columns as c;
use crate::money::{Kopecks, de_money_or_zero};
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};
use crate::pipeline::plan::{Chunk, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::sources::SourceError;
use crate::sources::decode::or_default;
use crate::state::ChunkRecord;

pub const RETURNS: Spec = Spec {
    dataset: Dataset::OzonReturns,
    name: "ozon_returns",
    marketplace: Marketplace::Ozon,
    endpoint: "POST /v1/returns/list",
    primary_key: &["return_id"],
    // A return's status moves on (on its way, money returned); the later load is the newer.
    version_column: LOADED_AT,
    event_column: "return_date",
    fetched_by: Dataset::OzonReturns,
    by_month: true,
    fetch: Some(&Returns),
    pages: &[Page { path: "/v1/returns/list", rows: returns_page }],
};

#[derive(Debug, Deserialize)]
pub struct ReturnsPage {
    #[serde(default, deserialize_with = "or_default")]
    pub returns: Vec<ReturnItem>,
    #[serde(default, deserialize_with = "or_default")]
    pub has_next: bool,
}

#[derive(Debug, Deserialize)]
pub struct ReturnItem {
    #[serde(deserialize_with = "de_id")]
    pub id: i64,
    #[serde(rename = "type", default, deserialize_with = "or_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "or_default")]
    pub schema: String,
    #[serde(default, deserialize_with = "de_opt_id")]
    pub order_id: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub posting_number: String,
    #[serde(default, deserialize_with = "or_default")]
    pub return_reason_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub exemplars: Vec<serde::de::IgnoredAny>,
    pub product: ReturnProduct,
    pub logistic: Logistic,
    #[serde(default, deserialize_with = "or_default")]
    pub visual: Visual,
}

#[derive(Debug, Deserialize)]
pub struct ReturnProduct {
    #[serde(deserialize_with = "de_id")]
    pub sku: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub offer_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub price: Price,
    #[serde(default, deserialize_with = "or_default")]
    pub quantity: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Price {
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub price: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub currency_code: String,
}

#[derive(Debug, Deserialize)]
pub struct Logistic {
    pub return_date: DateTime<Utc>,
}

#[derive(Debug, Default, Deserialize)]
pub struct Visual {
    #[serde(default, deserialize_with = "or_default")]
    pub status: VisualStatus,
    #[serde(default, deserialize_with = "or_default")]
    pub change_moment: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct VisualStatus {
    #[serde(default, deserialize_with = "or_default")]
    pub sys_name: String,
}

/// An id sent as a JSON number or as the text of one.
fn de_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    de_opt_id(d)?.ok_or_else(|| serde::de::Error::custom("expected an id, got null"))
}

fn de_opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::de::Error;
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => {
            n.as_i64().map(Some).ok_or_else(|| Error::custom(format!("expected an integer id, got {n}")))
        }
        serde_json::Value::String(s) => {
            s.trim().parse().map(Some).map_err(|_| Error::custom(format!("expected an integer id, got {s:?}")))
        }
        other => Err(Error::custom(format!("expected an id, got {other}"))),
    }
}

/// A row of `ozon_returns`.
#[derive(Debug, Clone)]
pub struct OzonReturnRow {
    pub return_id: i64,
    pub return_type: String,
    /// `FBO` or `FBS`, whatever case the API used.
    pub schema: String,
    pub posting_number: String,
    pub order_id: Option<i64>,
    pub sku: i64,
    pub offer_id: String,
    pub name: String,
    pub quantity: i64,
    pub price: Kopecks,
    pub currency: String,
    pub reason: String,
    pub return_date: DateTime<Utc>,
    pub status: String,
    pub status_changed_at: Option<DateTime<Utc>>,
}

impl From<ReturnItem> for OzonReturnRow {
    fn from(r: ReturnItem) -> OzonReturnRow {
        let units = r.product.quantity.unwrap_or(r.exemplars.len().max(1) as i64);
        OzonReturnRow {
            return_id: r.id,
            return_type: r.kind,
            schema: r.schema.to_ascii_uppercase(),
            posting_number: r.posting_number,
            order_id: r.order_id,
            sku: r.product.sku,
            offer_id: r.product.offer_id,
            name: r.product.name,
            quantity: units,
            price: r.product.price.price,
            currency: r.product.price.currency_code,
            reason: r.return_reason_name,
            return_date: r.logistic.return_date,
            status: r.visual.status.sys_name,
            status_changed_at: r.visual.change_moment,
        }
    }
}

impl LakeRow for OzonReturnRow {
    fn partition(&self) -> String {
        month_key(self.return_date.year(), self.return_date.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("return_id", r.iter().map(|x| x.return_id)),
            c::text("return_type", r.iter().map(|x| x.return_type.as_str())),
            c::text("schema", r.iter().map(|x| x.schema.as_str())),
            c::text("posting_number", r.iter().map(|x| x.posting_number.as_str())),
            c::opt_int("order_id", r.iter().map(|x| x.order_id)),
            c::int("sku", r.iter().map(|x| x.sku)),
            c::text("offer_id", r.iter().map(|x| x.offer_id.as_str())),
            c::text("name", r.iter().map(|x| x.name.as_str())),
            c::int("quantity", r.iter().map(|x| x.quantity)),
            c::money("price", r.iter().map(|x| x.price))?,
            c::text("currency", r.iter().map(|x| x.currency.as_str())),
            c::text("reason", r.iter().map(|x| x.reason.as_str())),
            c::instant("return_date", r.iter().map(|x| Some(x.return_date)), Tz::UTC),
            c::text("status", r.iter().map(|x| x.status.as_str())),
            c::instant("status_changed_at", r.iter().map(|x| x.status_changed_at), Tz::UTC),
        ])
    }
}

impl OzonClient {
    /// One page of returns handed back in `since..=to`, after return `last_id`.
    pub async fn returns_page(
        &self,
        since: DateTime<Utc>,
        to: DateTime<Utc>,
        last_id: i64,
        limit: u32,
    ) -> Result<ReturnsPage, SourceError> {
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Millis, true);
        let body = json!({
            "filter": {"logistic_return_date": {"time_from": time(since), "time_to": time(to)}},
            "limit": limit,
            "last_id": last_id,
        });
        self.post_seller(Dataset::OzonReturns, "/v1/returns/list", &body).await
    }
}

/// One UTC month of returns, by the day the buyer handed them back.
#[derive(Debug)]
pub struct Returns;

impl Fetch for Returns {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        cx.windows(Dataset::OzonReturns, account)
    }

    fn cost(&self, _: &Chunk, _: &Config, _: &mut Once) -> Vec<Need> {
        // One page holds up to 500 returns: most sellers' month.
        vec![Need { bucket: "ozon", quota: super::client::SELLER_QUOTA, requests: 1 }]
    }

    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        _: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>> {
        Box::pin(async move {
            let (since, to) = cx.window()?;
            fetch(cx, since, to).await
        })
    }
}

async fn fetch(cx: &FetchCx<'_>, since: DateTime<Utc>, to: DateTime<Utc>) -> Result<ChunkOutcome, ChunkError> {
    let client = OzonClient::for_chunk(cx)?;
    let mut out = ChunkOutcome::default();
    let mut last_id = 0i64;
    loop {
        cx.check_stop()?;
        out.requests += 1;
        let limit = cx.fetch_config().ozon_returns_page_limit;
        let page = client.returns_page(since, to, last_id, limit).await.map_err(|e| cx.source_error(e))?;
        let next = page.returns.iter().map(|r| r.id).max().unwrap_or(last_id);
        let rows: Vec<OzonReturnRow> = page.returns.into_iter().map(OzonReturnRow::from).collect();
        let n = rows.len() as u64;
        out.lake += cx.store(Batch::new(Dataset::OzonReturns, rows)).await?.stats();
        out.rows += n;
        cx.rows_stored(n);
        if !page.has_next {
            return Ok(out);
        }
        if next <= last_id {
            return Err(cx.source_error(SourceError::Stuck {
                ctx: cx.ctx(Dataset::OzonReturns),
                detail: format!(
                    "the API said has_next=true after return id {last_id} but sent no later return; paging would never end. Fix: run again later; if it repeats, report it to Ozon's support"
                ),
            }));
        }
        last_id = next;
    }
}

fn returns_page(bytes: &[u8]) -> Result<usize, String> {
    let page: ReturnsPage = crate::sources::pages::decode(bytes)?;
    Ok(page.returns.into_iter().map(OzonReturnRow::from).count())
}
