//! The WB client: statistics, finance reports and advertising, each call paced by the seller's
//! bucket for its endpoint (DESIGN §3) and every failure named.

use std::sync::Arc;

use chrono::NaiveDate;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::ads::{FullStat, PromotionCount, UpdItem};
use super::models::{FinanceItem, ReportHeader, StatsItem};
use crate::config::env_name;
use crate::dataset::Dataset;
use crate::http::{self, Body, Limiter, Net, Quota};
use crate::sources::decode::DecodeError;
use crate::sources::{Ctx, SourceError, call};

/// Personal and Service tokens (WB, 2026): requests per period, burst.
pub const ORDERS_QUOTA: Quota = Quota::per_minute(10);
pub const SALES_QUOTA: Quota = Quota::per_minute(1);
pub const FINANCE_QUOTA: Quota = Quota::per_minute(1);
pub const ADVERT_QUOTA: Quota = Quota::per_second(5);
pub const FULLSTATS_QUOTA: Quota = Quota { period: std::time::Duration::from_secs(20), burst: 1 };
pub const UPD_QUOTA: Quota = Quota { period: std::time::Duration::from_secs(1), burst: 5 };

/// Base URLs of WB's API hosts.
#[derive(Debug, Clone)]
pub struct WbHosts {
    pub statistics: String,
    pub finance: String,
    pub advert: String,
    pub content: String,
}

pub struct WbClient {
    net: Net,
    hosts: WbHosts,
    token: SecretString,
    account: String,
    orders: Arc<Limiter>,
    sales: Arc<Limiter>,
    finance: Arc<Limiter>,
    /// `sales-reports/list` has its own 1/min limit, apart from `detailed`.
    finance_list: Arc<Limiter>,
    advert: Arc<Limiter>,
    fullstats: Arc<Limiter>,
    upd: Arc<Limiter>,
}

/// What the finance endpoint answered for one page.
pub enum FinancePage {
    Rows(Vec<FinanceItem>),
    /// 204: no rows after the cursor.
    End,
}

fn json<T: serde::de::DeserializeOwned>(b: &Body) -> Option<Result<T, DecodeError>> {
    b.status.is_success().then(|| crate::sources::decode::json(&b.bytes))
}

impl WbClient {
    /// The client of `cx`'s account, with its token and the configured hosts.
    pub fn for_chunk(cx: &crate::pipeline::cx::FetchCx<'_>) -> Result<WbClient, crate::pipeline::ChunkError> {
        let account = &cx.chunk.account;
        let cfg = cx.config();
        let token = cfg.account(account).and_then(|a| a.wb_token()).map_err(|e| cx.config_error(e))?;
        let e = &cfg.endpoints;
        let hosts = WbHosts {
            statistics: e.wb_statistics.clone(),
            finance: e.wb_finance.clone(),
            advert: e.wb_advert.clone(),
            content: e.wb_content.clone(),
        };
        Ok(WbClient::new(cx.net(), hosts, token, account))
    }

    pub fn new(net: &Net, hosts: WbHosts, token: SecretString, account: &str) -> WbClient {
        let b = &net.buckets;
        WbClient {
            net: net.clone(),
            hosts,
            token,
            account: account.to_string(),
            orders: b.get(account, "wb_orders", ORDERS_QUOTA),
            sales: b.get(account, "wb_sales", SALES_QUOTA),
            finance: b.get(account, "wb_finance", FINANCE_QUOTA),
            finance_list: b.get(account, "wb_finance_list", FINANCE_QUOTA),
            advert: b.get(account, "wb_advert", ADVERT_QUOTA),
            fullstats: b.get(account, "wb_fullstats", FULLSTATS_QUOTA),
            upd: b.get(account, "wb_upd", UPD_QUOTA),
        }
    }

    fn ctx(&self, dataset: Dataset) -> Ctx {
        Ctx { account: self.account.clone(), dataset }
    }

    /// Sends with the token, paced by `limiter`, retried as `sources::call` says.
    async fn call<T>(
        &self,
        dataset: Dataset,
        limiter: &Limiter,
        req: reqwest::RequestBuilder,
        decode: impl Fn(&Body) -> Option<Result<T, DecodeError>>,
    ) -> Result<T, SourceError> {
        let ctx = self.ctx(dataset);
        let req = req.header("Authorization", self.token.expose_secret());
        call(&self.net, limiter, &ctx, req, decode, |b| self.refused(&ctx, b)).await
    }

    fn refused(&self, ctx: &Ctx, body: &Body) -> SourceError {
        let ctx = ctx.clone();
        let status = body.status.as_u16();
        let message = error_message(&body.bytes);
        if status == 401 || status == 403 {
            return SourceError::Auth {
                ctx,
                status,
                message,
                fix: format!(
                    "the WB token is wrong, expired or lacks a category this endpoint needs. Create a Personal token with Statistics, Promotion and Finance in the seller profile (Settings → API access) and put it in {}",
                    env_name(&format!("accounts.{}.wb.token", self.account))
                ),
            };
        }
        SourceError::Api { ctx, status, message }
    }

    /// A GET on the statistics host with `dateFrom`, paced by its own `bucket`, the 2xx body
    /// decoded as `T`.
    pub(super) async fn statistics_get<T: serde::de::DeserializeOwned>(
        &self,
        dataset: Dataset,
        (bucket, quota): (&'static str, Quota),
        path: &str,
        date_from: &str,
    ) -> Result<T, SourceError> {
        let limiter = self.net.buckets.get(&self.account, bucket, quota);
        let req = self.net.http.get(format!("{}{path}", self.hosts.statistics)).query(&[("dateFrom", date_from)]);
        self.call(dataset, &limiter, req, json).await
    }

    /// A POST on the content host, paced by its own `bucket`, the 2xx body decoded as `T`.
    pub(super) async fn content_post<T: serde::de::DeserializeOwned>(
        &self,
        dataset: Dataset,
        (bucket, quota): (&'static str, Quota),
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, SourceError> {
        let limiter = self.net.buckets.get(&self.account, bucket, quota);
        let req = self.net.http.post(format!("{}{path}", self.hosts.content)).json(body);
        self.call(dataset, &limiter, req, json).await
    }

    /// Rows with `lastChangeDate >= date_from` (`flag=0`), oldest change first, up to WB's cap.
    pub async fn page<T: StatsItem>(&self, dataset: Dataset, date_from: &str) -> Result<Vec<T>, SourceError> {
        let (path, limiter) = match dataset {
            Dataset::WbOrders => ("/api/v1/supplier/orders", &self.orders),
            Dataset::WbSales => ("/api/v1/supplier/sales", &self.sales),
            other => unreachable!("{other} is not a WB statistics dataset"),
        };
        let req = self
            .net
            .http
            .get(format!("{}{path}", self.hosts.statistics))
            .query(&[("dateFrom", date_from), ("flag", "0")]);
        self.call(dataset, limiter, req, json).await
    }

    /// One page of realization-report rows with `rrdId` after `rrd_id`, for reports in `from..=to`.
    pub async fn finance_page(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        rrd_id: i64,
        limit: u32,
        period: &str,
    ) -> Result<FinancePage, SourceError> {
        let req = self
            .net
            .http
            .post(format!("{}/api/finance/v1/sales-reports/detailed", self.hosts.finance))
            .json(&json!({"dateFrom": from.to_string(), "dateTo": to.to_string(), "limit": limit, "rrdId": rrd_id, "period": period}));
        self.call(Dataset::WbFinance, &self.finance, req, |b| {
            if b.status == reqwest::StatusCode::NO_CONTENT {
                return Some(Ok(FinancePage::End));
            }
            // Before 2025-12 the end was `200 []`.
            json::<Vec<FinanceItem>>(b)
                .map(|r| r.map(|rows| if rows.is_empty() { FinancePage::End } else { FinancePage::Rows(rows) }))
        })
        .await
    }

    /// Report headers with WB's totals, for reports overlapping `from..=to`.
    pub async fn finance_reports(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<ReportHeader>, SourceError> {
        let req = self.net.http.post(format!("{}/api/finance/v1/sales-reports/list", self.hosts.finance)).json(
            &json!({"dateFrom": from.to_string(), "dateTo": to.to_string(), "limit": 1000, "offset": 0, "period": "weekly"}),
        );
        self.call(Dataset::WbFinanceReports, &self.finance_list, req, |b| {
            if b.status == reqwest::StatusCode::NO_CONTENT { Some(Ok(Vec::new())) } else { json(b) }
        })
        .await
    }

    pub async fn campaigns(&self) -> Result<PromotionCount, SourceError> {
        let req = self.net.http.get(format!("{}/adv/v1/promotion/count", self.hosts.advert));
        self.call(Dataset::WbAdCampaigns, &self.advert, req, json).await
    }

    /// Statistics of ≤ 50 campaigns over ≤ 31 days. A range WB has nothing for answers 400
    /// "there are no statistics for this advertising period": that is an empty result.
    pub async fn fullstats(&self, ids: &[i64], from: NaiveDate, to: NaiveDate) -> Result<Vec<FullStat>, SourceError> {
        let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let req = self.net.http.get(format!("{}/adv/v3/fullstats", self.hosts.advert)).query(&[
            ("ids", list),
            ("beginDate", from.to_string()),
            ("endDate", to.to_string()),
        ]);
        self.call(Dataset::WbAdStats, &self.fullstats, req, |b| {
            if b.status == reqwest::StatusCode::BAD_REQUEST
                && String::from_utf8_lossy(&b.bytes).contains("no statistics")
            {
                return Some(Ok(Vec::new()));
            }
            json(b)
        })
        .await
    }

    /// Spend documents over 1–31 days.
    pub async fn upd(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<UpdItem>, SourceError> {
        let req = self
            .net
            .http
            .get(format!("{}/adv/v1/upd", self.hosts.advert))
            .query(&[("from", from.to_string()), ("to", to.to_string())]);
        self.call(Dataset::WbAdSpend, &self.upd, req, |b| {
            if b.status == reqwest::StatusCode::NO_CONTENT { Some(Ok(Vec::new())) } else { json(b) }
        })
        .await
    }
}

/// WB error bodies differ per endpoint: `{title, detail}`, `{errors: [..]}` or `{errors: ".."}`,
/// or plain text.
pub fn error_message(bytes: &[u8]) -> String {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return http::excerpt(bytes);
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    if let Some(errors) = v.get("errors") {
        return match errors {
            serde_json::Value::Array(a) => a
                .iter()
                .map(|e| {
                    e.as_str().map_or_else(
                        || e.get("detail").and_then(|d| d.as_str()).map_or_else(|| e.to_string(), str::to_string),
                        str::to_string,
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    }
    match (text("title"), text("detail")) {
        (Some(t), Some(d)) => format!("{t}: {d}"),
        (t, d) => t.or(d).unwrap_or_else(|| http::excerpt(bytes)),
    }
}
