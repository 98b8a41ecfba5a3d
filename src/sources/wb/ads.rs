//! WB advertising: campaign list, per-article statistics (fullstats), spend documents (upd).

use futures::future::BoxFuture;

use crate::config::{Account, Config};
use crate::pipeline::plan::{Chunk, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::state::ChunkRecord;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Europe::Moscow;
use polars::prelude::{Column, PolarsResult};
use serde::Deserialize;

use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::{Batch, LakeRow, month_key};
use crate::lake::columns as c;
use crate::money::{Kopecks, de_money, de_money_or_zero};
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};
use crate::sources::decode::or_default;

/// Campaigns come with the ad statistics.
pub const CAMPAIGNS: Spec = Spec {
    dataset: Dataset::WbAdCampaigns,
    name: "wb_ad_campaigns",
    marketplace: Marketplace::Wb,
    endpoint: "GET /adv/v1/promotion/count",
    primary_key: &["advert_id"],
    version_column: LOADED_AT,
    event_column: "advert_id",
    fetched_by: Dataset::WbAdStats,
    by_month: false,
    fetch: None,
    pages: &[Page { path: "/adv/v1/promotion/count", rows: campaign_page }],
};

pub const STATS: Spec = Spec {
    dataset: Dataset::WbAdStats,
    name: "wb_ad_stats",
    marketplace: Marketplace::Wb,
    endpoint: "GET /adv/v3/fullstats",
    primary_key: &["advert_id", "date", "nm_id", "app_type"],
    version_column: LOADED_AT,
    event_column: "date",
    fetched_by: Dataset::WbAdStats,
    by_month: true,
    fetch: Some(&Ads),
    pages: &[Page { path: "/adv/v3/fullstats", rows: stats_page }],
};

/// Spend comes with the ad statistics; upd has no row id: WB's documents are told apart by all four key columns.
pub const SPEND: Spec = Spec {
    dataset: Dataset::WbAdSpend,
    name: "wb_ad_spend",
    marketplace: Marketplace::Wb,
    endpoint: "GET /adv/v1/upd",
    primary_key: &["advert_id", "upd_time", "upd_num", "upd_sum"],
    version_column: LOADED_AT,
    event_column: "upd_time",
    fetched_by: Dataset::WbAdStats,
    by_month: true,
    fetch: None,
    pages: &[Page { path: "/adv/v1/upd", rows: spend_page }],
};

#[derive(Debug, Deserialize)]
pub struct PromotionCount {
    /// WB sends `null` when the seller has no campaigns.
    #[serde(default, deserialize_with = "or_default")]
    pub adverts: Option<Vec<AdvertGroup>>,
}

#[derive(Debug, Deserialize)]
pub struct AdvertGroup {
    #[serde(rename = "type")]
    pub advert_type: i64,
    pub status: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub advert_list: Vec<AdvertRef>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvertRef {
    pub advert_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub change_time: Option<DateTime<chrono::FixedOffset>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FullStat {
    pub advert_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub days: Vec<FsDay>,
}

#[derive(Debug, Deserialize)]
pub struct FsDay {
    pub date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub apps: Vec<FsApp>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FsApp {
    pub app_type: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub nms: Vec<FsNm>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FsNm {
    pub nm_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub views: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub clicks: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub orders: i64,
    #[serde(deserialize_with = "de_money")]
    pub sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub sum_price: Kopecks,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdItem {
    #[serde(default, deserialize_with = "or_default")]
    pub upd_num: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub upd_time: Option<DateTime<chrono::FixedOffset>>,
    /// Whole units of the account currency.
    #[serde(deserialize_with = "de_money")]
    pub upd_sum: Kopecks,
    pub advert_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub camp_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub advert_type: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub advert_status: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub payment_type: String,
}

/// A row of `wb_ad_campaigns` (the list as last seen).
#[derive(Debug, Clone)]
pub struct WbAdCampaignRow {
    pub advert_id: i64,
    pub advert_type: i64,
    pub status: i64,
    pub change_time: Option<DateTime<Utc>>,
}

/// A row of `wb_ad_stats`: one campaign, day, app and article.
#[derive(Debug, Clone)]
pub struct WbAdStatRow {
    pub advert_id: i64,
    pub date: NaiveDate,
    pub app_type: i64,
    pub nm_id: i64,
    pub views: i64,
    pub clicks: i64,
    pub orders: i64,
    pub sum: Kopecks,
    pub sum_price: Kopecks,
}

/// A row of `wb_ad_spend`.
#[derive(Debug, Clone)]
pub struct WbAdSpendRow {
    pub advert_id: i64,
    pub upd_time: Option<DateTime<Utc>>,
    pub upd_num: i64,
    pub upd_sum: Kopecks,
    pub camp_name: String,
    pub advert_type: i64,
    pub advert_status: i64,
    pub payment_type: String,
}

impl PromotionCount {
    pub fn rows(self) -> Vec<WbAdCampaignRow> {
        self.adverts
            .unwrap_or_default()
            .into_iter()
            .flat_map(|g| {
                g.advert_list.into_iter().map(move |a| WbAdCampaignRow {
                    advert_id: a.advert_id,
                    advert_type: g.advert_type,
                    status: g.status,
                    change_time: a.change_time.map(|t| t.with_timezone(&Utc)),
                })
            })
            .collect()
    }
}

/// fullstats `days[].date` looks like `…T00:00:00Z` but is a calendar day.
pub fn stat_rows(stats: Vec<FullStat>) -> Result<Vec<WbAdStatRow>, String> {
    let mut out = Vec::new();
    for s in stats {
        for d in s.days {
            let date = d
                .date
                .get(..10)
                .and_then(|x| NaiveDate::parse_from_str(x, "%Y-%m-%d").ok())
                .ok_or_else(|| format!("campaign {}: `days[].date` = {:?} is not a date", s.advert_id, d.date))?;
            for a in d.apps {
                for n in a.nms {
                    out.push(WbAdStatRow {
                        advert_id: s.advert_id,
                        date,
                        app_type: a.app_type,
                        nm_id: n.nm_id,
                        views: n.views,
                        clicks: n.clicks,
                        orders: n.orders,
                        sum: n.sum,
                        sum_price: n.sum_price,
                    });
                }
            }
        }
    }
    Ok(out)
}

impl From<UpdItem> for WbAdSpendRow {
    fn from(u: UpdItem) -> Self {
        WbAdSpendRow {
            advert_id: u.advert_id,
            upd_time: u.upd_time.map(|t| t.with_timezone(&Utc)),
            upd_num: u.upd_num,
            // upd sends whole rubles as an integer: "240" → 240.00.
            upd_sum: u.upd_sum,
            camp_name: u.camp_name,
            advert_type: u.advert_type,
            advert_status: u.advert_status,
            payment_type: u.payment_type,
        }
    }
}

impl LakeRow for WbAdCampaignRow {
    /// The campaign list is a snapshot keyed by campaign: one partition.
    fn partition(&self) -> String {
        crate::lake::batch::WHOLE.to_string()
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("advert_id", r.iter().map(|x| x.advert_id)),
            c::int("advert_type", r.iter().map(|x| x.advert_type)),
            c::int("status", r.iter().map(|x| x.status)),
            c::instant("change_time", r.iter().map(|x| x.change_time), Moscow),
        ])
    }
}

impl LakeRow for WbAdStatRow {
    fn partition(&self) -> String {
        month_key(self.date.year(), self.date.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("advert_id", r.iter().map(|x| x.advert_id)),
            c::date("date", r.iter().map(|x| x.date)),
            c::int("app_type", r.iter().map(|x| x.app_type)),
            c::int("nm_id", r.iter().map(|x| x.nm_id)),
            c::int("views", r.iter().map(|x| x.views)),
            c::int("clicks", r.iter().map(|x| x.clicks)),
            c::int("orders", r.iter().map(|x| x.orders)),
            c::money("sum", r.iter().map(|x| x.sum))?,
            c::money("sum_price", r.iter().map(|x| x.sum_price))?,
        ])
    }
}

impl LakeRow for WbAdSpendRow {
    fn partition(&self) -> String {
        self.upd_time.map_or_else(
            || "unknown".to_string(),
            |t| {
                let m = t.with_timezone(&Moscow);
                month_key(m.year(), m.month())
            },
        )
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("advert_id", r.iter().map(|x| x.advert_id)),
            c::instant("upd_time", r.iter().map(|x| x.upd_time), Moscow),
            c::int("upd_num", r.iter().map(|x| x.upd_num)),
            c::money("upd_sum", r.iter().map(|x| x.upd_sum))?,
            c::text("camp_name", r.iter().map(|x| x.camp_name.as_str())),
            c::int("advert_type", r.iter().map(|x| x.advert_type)),
            c::int("advert_status", r.iter().map(|x| x.advert_status)),
            c::text("payment_type", r.iter().map(|x| x.payment_type.as_str())),
        ])
    }
}

/// Campaign list (once per account and run), per-article statistics (≤ 50 campaigns per call)
/// and spend documents of `from..=to`.
pub async fn fetch(cx: &FetchCx<'_>, from: NaiveDate, to: NaiveDate) -> Result<ChunkOutcome, ChunkError> {
    let client = super::WbClient::for_chunk(cx)?;
    let src = |e| cx.source_error(e);
    let mut out = ChunkOutcome::default();
    let (campaigns, fetched) =
        cx.once_per_run("wb_campaigns", || async { client.campaigns().await.map(|c| c.rows()).map_err(src) }).await?;
    if fetched {
        out.requests += 1;
        out.rows += campaigns.len() as u64;
        out.lake += cx.store(Batch::new(Dataset::WbAdCampaigns, campaigns.clone())).await?.stats();
    }
    // Only finished, active and paused campaigns have statistics.
    let ids: Vec<i64> = campaigns.iter().filter(|c| [7, 9, 11].contains(&c.status)).map(|c| c.advert_id).collect();
    for batch in ids.chunks(50) {
        cx.check_stop()?;
        out.requests += 1;
        let stats = client.fullstats(batch, from, to).await.map_err(src)?;
        let rows = stat_rows(stats).map_err(|e| cx.decode_error(Dataset::WbAdStats, e))?;
        out.rows += rows.len() as u64;
        cx.rows_stored(rows.len() as u64);
        out.lake += cx.store(Batch::new(Dataset::WbAdStats, rows)).await?.stats();
    }
    out.requests += 1;
    let spend: Vec<WbAdSpendRow> =
        client.upd(from, to).await.map_err(src)?.into_iter().map(WbAdSpendRow::from).collect();
    out.rows += spend.len() as u64;
    out.lake += cx.store(Batch::new(Dataset::WbAdSpend, spend)).await?.stats();
    Ok(out)
}

/// One month's ad statistics; the campaign list and the spend documents come with it.
#[derive(Debug)]
pub struct Ads;

impl Fetch for Ads {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        cx.days(Dataset::WbAdStats, account)
    }

    fn cost(&self, chunk: &Chunk, _: &Config, once: &mut Once) -> Vec<Need> {
        use super::client::{ADVERT_QUOTA, FULLSTATS_QUOTA, UPD_QUOTA};
        vec![
            // The campaign list is asked once per account and run.
            Need { bucket: "wb_advert", quota: ADVERT_QUOTA, requests: once.first(&chunk.account, "wb_advert") },
            Need { bucket: "wb_fullstats", quota: FULLSTATS_QUOTA, requests: 1 },
            Need { bucket: "wb_upd", quota: UPD_QUOTA, requests: 1 },
        ]
    }

    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        _: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>> {
        Box::pin(async move {
            let (from, to) = cx.days()?;
            fetch(cx, from, to).await
        })
    }
}

fn campaign_page(bytes: &[u8]) -> Result<usize, String> {
    Ok(crate::sources::pages::decode::<PromotionCount>(bytes)?.rows().len())
}

fn stats_page(bytes: &[u8]) -> Result<usize, String> {
    stat_rows(crate::sources::pages::decode(bytes)?).map(|v| v.len())
}

fn spend_page(bytes: &[u8]) -> Result<usize, String> {
    let items: Vec<UpdItem> = crate::sources::pages::decode(bytes)?;
    Ok(items.into_iter().map(WbAdSpendRow::from).count())
}
