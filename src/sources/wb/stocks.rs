//! WB stocks (`GET /api/v1/supplier/stocks`, statistics API, 1 request a minute) in the lake: a
//! daily snapshot, a row per snapshot day × warehouse × article size, partitioned by the
//! snapshot's month; and its fetch: one request a day with the earliest `dateFrom`, which WB
//! answers with the whole current stock.
//!
//! WB keeps no stock history: a day's snapshot exists only if a run asked that day, so a chunk
//! is planned only for a period that reaches yesterday (a nightly job or a recent backfill),
//! and dated today in the configured time zone.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use chrono_tz::Europe::Moscow;
use futures::future::BoxFuture;
use polars::prelude::{Column, PolarsResult};
use serde::Deserialize;

use super::WbClient;
use crate::clock::parse_wb_naive;
use crate::config::{Account, Config};
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::http::Quota;
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

pub const STOCKS: Spec = Spec {
    dataset: Dataset::WbStocks,
    name: "wb_stocks",
    marketplace: Marketplace::Wb,
    endpoint: "GET /api/v1/supplier/stocks",
    primary_key: &["snapshot_date", "warehouse_name", "nm_id", "barcode"],
    version_column: LOADED_AT,
    event_column: "snapshot_date",
    fetched_by: Dataset::WbStocks,
    by_month: true,
    fetch: Some(&Stocks),
    pages: &[Page { path: "/api/v1/supplier/stocks", rows: stocks_page }],
};

/// The statistics API's limit for this method.
pub const STOCKS_QUOTA: Quota = Quota::per_minute(1);

/// Before WB's first statistics: asks for every row of the current stock.
const EVERYTHING: &str = "2019-06-20";

/// `StocksItem`. Unknown fields (`SCCode`, …) are ignored; optional ones may be missing or null.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StockItem {
    pub last_change_date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub warehouse_name: String,
    pub nm_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub supplier_article: String,
    #[serde(default, deserialize_with = "or_default")]
    pub barcode: String,
    #[serde(default, deserialize_with = "or_default")]
    pub tech_size: String,
    #[serde(default, deserialize_with = "or_default")]
    pub quantity: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub in_way_to_client: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub in_way_from_client: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub quantity_full: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub category: String,
    #[serde(default, deserialize_with = "or_default")]
    pub subject: String,
    #[serde(default, deserialize_with = "or_default")]
    pub brand: String,
    #[serde(rename = "Price", default, deserialize_with = "de_money_or_zero")]
    pub price: Kopecks,
    #[serde(rename = "Discount", default, deserialize_with = "or_default")]
    pub discount: f64,
}

/// A row of `wb_stocks`.
#[derive(Debug, Clone)]
pub struct WbStockRow {
    pub snapshot_date: NaiveDate,
    pub last_change_date: NaiveDateTime,
    pub warehouse_name: String,
    pub nm_id: i64,
    pub supplier_article: String,
    pub barcode: String,
    pub tech_size: String,
    pub quantity: i64,
    pub in_way_to_client: i64,
    pub in_way_from_client: i64,
    pub quantity_full: i64,
    pub category: String,
    pub subject: String,
    pub brand: String,
    pub price: Kopecks,
    pub discount_percent: f64,
}

impl WbStockRow {
    fn new(snapshot_date: NaiveDate, s: StockItem) -> Result<WbStockRow, String> {
        let last_change_date = parse_wb_naive(&s.last_change_date)
            .ok_or_else(|| format!("lastChangeDate {:?} is not a date-time", s.last_change_date))?;
        Ok(WbStockRow {
            snapshot_date,
            last_change_date,
            warehouse_name: s.warehouse_name,
            nm_id: s.nm_id,
            supplier_article: s.supplier_article,
            barcode: s.barcode,
            tech_size: s.tech_size,
            quantity: s.quantity,
            in_way_to_client: s.in_way_to_client,
            in_way_from_client: s.in_way_from_client,
            quantity_full: s.quantity_full,
            category: s.category,
            subject: s.subject,
            brand: s.brand,
            price: s.price,
            discount_percent: s.discount,
        })
    }
}

impl LakeRow for WbStockRow {
    fn partition(&self) -> String {
        month_key(self.snapshot_date.year(), self.snapshot_date.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::date("snapshot_date", r.iter().map(|x| x.snapshot_date)),
            c::local_instant("last_change_date", r.iter().map(|x| Some(x.last_change_date)), Moscow),
            c::text("warehouse_name", r.iter().map(|x| x.warehouse_name.as_str())),
            c::int("nm_id", r.iter().map(|x| x.nm_id)),
            c::text("supplier_article", r.iter().map(|x| x.supplier_article.as_str())),
            c::text("barcode", r.iter().map(|x| x.barcode.as_str())),
            c::text("tech_size", r.iter().map(|x| x.tech_size.as_str())),
            c::int("quantity", r.iter().map(|x| x.quantity)),
            c::int("in_way_to_client", r.iter().map(|x| x.in_way_to_client)),
            c::int("in_way_from_client", r.iter().map(|x| x.in_way_from_client)),
            c::int("quantity_full", r.iter().map(|x| x.quantity_full)),
            c::text("category", r.iter().map(|x| x.category.as_str())),
            c::text("subject", r.iter().map(|x| x.subject.as_str())),
            c::text("brand", r.iter().map(|x| x.brand.as_str())),
            c::money("price", r.iter().map(|x| x.price))?,
            c::float("discount_percent", r.iter().map(|x| x.discount_percent)),
        ])
    }
}

/// Today's stock, once a day.
#[derive(Debug)]
pub struct Stocks;

impl Fetch for Stocks {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        // Today's stock says nothing of a period that ended before yesterday.
        if cx.req.period.to < cx.yesterday {
            return Ok(Vec::new());
        }
        Ok(vec![cx.today(Dataset::WbStocks, account)?])
    }

    fn cost(&self, _: &Chunk, _: &Config, _: &mut Once) -> Vec<Need> {
        vec![Need { bucket: "wb_stocks", quota: STOCKS_QUOTA, requests: 1 }]
    }

    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        _: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>> {
        Box::pin(async move {
            let (day, _) = cx.days()?;
            let client = WbClient::for_chunk(cx)?;
            let items: Vec<StockItem> = client
                .statistics_get(Dataset::WbStocks, ("wb_stocks", STOCKS_QUOTA), "/api/v1/supplier/stocks", EVERYTHING)
                .await
                .map_err(|e| cx.source_error(e))?;
            let rows = items
                .into_iter()
                .map(|s| WbStockRow::new(day, s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| cx.source_error(SourceError::decode(&cx.ctx(Dataset::WbStocks), e)))?;
            let n = rows.len() as u64;
            let lake = cx.store(Batch::new(Dataset::WbStocks, rows)).await?.stats();
            cx.rows_stored(n);
            Ok(ChunkOutcome { rows: n, requests: 1, lake, ..Default::default() })
        })
    }
}

fn stocks_page(bytes: &[u8]) -> Result<usize, String> {
    let items: Vec<StockItem> = crate::sources::pages::decode(bytes)?;
    let day = crate::clock::EPOCH;
    Ok(items.into_iter().map(|s| WbStockRow::new(day, s)).collect::<Result<Vec<_>, _>>()?.len())
}
