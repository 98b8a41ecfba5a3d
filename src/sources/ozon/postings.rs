//! Ozon FBO and FBS postings (`/v3/posting/fbo/list`, `/v4/posting/fbs/list`) in the lake: a
//! row per posting × SKU, partitioned by `in_process_at`'s month (UTC); and their fetch loop.

use futures::future::BoxFuture;

use crate::config::{Account, Config};
use crate::pipeline::plan::{Chunk, ChunkKind, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::state::ChunkRecord;
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use polars::prelude::{Column, PolarsResult};

use super::models::OzonPostingRow;
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::{Batch, LakeRow, month_key};
use crate::lake::columns as c;
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};

pub const FBO: Spec = Spec {
    dataset: Dataset::OzonFbo,
    name: "ozon_fbo",
    marketplace: Marketplace::Ozon,
    endpoint: "POST /v3/posting/fbo/list",
    primary_key: &["posting_number", "sku"],
    version_column: LOADED_AT,
    event_column: "in_process_at",
    fetched_by: Dataset::OzonFbo,
    by_month: true,
    fetch: Some(&Postings(Dataset::OzonFbo)),
    pages: &[Page { path: "/v3/posting/fbo/list", rows: postings_page }],
};

pub const FBS: Spec = Spec {
    dataset: Dataset::OzonFbs,
    name: "ozon_fbs",
    marketplace: Marketplace::Ozon,
    endpoint: "POST /v4/posting/fbs/list",
    primary_key: &["posting_number", "sku"],
    version_column: LOADED_AT,
    event_column: "in_process_at",
    fetched_by: Dataset::OzonFbs,
    by_month: true,
    fetch: Some(&Postings(Dataset::OzonFbs)),
    pages: &[Page { path: "/v4/posting/fbs/list", rows: postings_page }],
};

impl LakeRow for OzonPostingRow {
    fn partition(&self) -> String {
        month_key(self.in_process_at.year(), self.in_process_at.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::text("posting_number", r.iter().map(|x| x.posting_number.as_str())),
            c::int("sku", r.iter().map(|x| x.sku)),
            c::text("order_number", r.iter().map(|x| x.order_number.as_str())),
            c::opt_int("order_id", r.iter().map(|x| x.order_id)),
            c::text("status", r.iter().map(|x| x.status.as_str())),
            c::text("substatus", r.iter().map(|x| x.substatus.as_str())),
            c::instant("in_process_at", r.iter().map(|x| Some(x.in_process_at)), Tz::UTC),
            c::instant("created_at", r.iter().map(|x| x.created_at), Tz::UTC),
            c::text("offer_id", r.iter().map(|x| x.offer_id.as_str())),
            c::text("name", r.iter().map(|x| x.name.as_str())),
            c::int("quantity", r.iter().map(|x| x.quantity)),
            c::money("price", r.iter().map(|x| x.price))?,
            c::text("currency", r.iter().map(|x| x.currency.as_str())),
        ])
    }
}

/// Every posting of the chunk's scheme that entered processing in `since..to`, in windows of
/// the configured days, cursor-paged; stored at once (a window's postings are few).
pub async fn fetch(cx: &FetchCx<'_>, since: DateTime<Utc>, to: DateTime<Utc>) -> Result<ChunkOutcome, ChunkError> {
    let dataset = cx.chunk.dataset;
    let fetched = super::OzonClient::for_chunk(cx)?
        .fetch_window(dataset, since, to, cx.fetch_config().window_days(dataset))
        .await
        .map_err(|e| cx.source_error(e))?;
    let n = fetched.rows.len() as u64;
    let lake = cx.store(Batch::new(dataset, fetched.rows)).await?.stats();
    cx.rows_stored(n);
    Ok(ChunkOutcome { rows: n, requests: fetched.requests, lake, ..Default::default() })
}

/// One UTC month of FBO or FBS postings.
#[derive(Debug)]
pub struct Postings(pub Dataset);

impl Fetch for Postings {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        cx.windows(self.0, account)
    }

    fn cost(&self, chunk: &Chunk, cfg: &Config, _: &mut Once) -> Vec<Need> {
        let ChunkKind::Window { since, to, .. } = &chunk.kind else { return Vec::new() };
        let days = (*to - *since).num_days().max(1) as u64;
        let requests = days.div_ceil(u64::from(cfg.fetch.window_days(self.0)));
        vec![Need { bucket: "ozon", quota: super::client::SELLER_QUOTA, requests }]
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

fn postings_page(bytes: &[u8]) -> Result<usize, String> {
    let page: super::models::ListResponse = crate::sources::pages::decode(bytes)?;
    Ok(page.postings.into_iter().flat_map(super::models::Posting::into_rows).count())
}
