//! The Ozon posting-list client: cursor paging within a window, windows split to the API's limits.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::accruals::{AccrualType, ByDay, OzonAccrualRow, Types};
use super::cash_flow::{CashFlowResponse, OzonCashFlowRow};
use super::models::{ListResponse, OzonPostingRow, RpcError};
use crate::config::env_name;
use crate::dataset::Dataset;
use crate::http::{self, Limiter, Net, Quota};
use crate::sources::decode::DecodeError;
use crate::sources::{Ctx, SourceError, call};

/// 50 requests per second per Client-Id, shared by every method.
pub const SELLER_QUOTA: Quota = Quota::per_second(50);
/// The accrual methods are undocumented; practitioners saw 429 above ~3/s.
pub const ACCRUALS_QUOTA: Quota = Quota::per_second(3);

pub struct OzonClient {
    net: Net,
    base: String,
    client_id: String,
    api_key: SecretString,
    account: String,
    limiter: Arc<Limiter>,
    accruals: Arc<Limiter>,
    page_limit: u32,
}

enum Page {
    Ok(ListResponse),
    PeriodTooLong,
}

fn json_body<T: serde::de::DeserializeOwned>(b: &http::Body) -> Option<Result<T, DecodeError>> {
    b.status.is_success().then(|| crate::sources::decode::json(&b.bytes))
}

/// What fetching one window took.
#[derive(Debug, Default)]
pub struct WindowFetch {
    pub rows: Vec<OzonPostingRow>,
    pub requests: u64,
}

impl OzonClient {
    /// The client of `cx`'s account, with its keys and the configured host.
    pub fn for_chunk(cx: &crate::pipeline::cx::FetchCx<'_>) -> Result<OzonClient, crate::pipeline::ChunkError> {
        let account = &cx.chunk.account;
        let cfg = cx.config();
        let (client_id, api_key) = cfg.account(account).and_then(|a| a.ozon_keys()).map_err(|e| cx.config_error(e))?;
        Ok(OzonClient::new(cx.net(), &cfg.endpoints.ozon, &client_id, api_key, account, cfg.fetch.ozon_page_limit))
    }

    pub fn new(
        net: &Net,
        base: &str,
        client_id: &str,
        api_key: SecretString,
        account: &str,
        page_limit: u32,
    ) -> OzonClient {
        let buckets = &net.buckets;
        OzonClient {
            net: net.clone(),
            base: base.to_string(),
            client_id: client_id.to_string(),
            api_key,
            account: account.to_string(),
            limiter: buckets.get(account, "ozon", SELLER_QUOTA),
            accruals: buckets.get(account, "ozon_accruals", ACCRUALS_QUOTA),
            page_limit,
        }
    }

    fn ctx(&self, dataset: Dataset) -> Ctx {
        Ctx { account: self.account.clone(), dataset }
    }

    async fn page(
        &self,
        dataset: Dataset,
        since: DateTime<Utc>,
        to: DateTime<Utc>,
        cursor: &str,
    ) -> Result<Page, SourceError> {
        let (path, with) = match dataset {
            Dataset::OzonFbo => {
                ("/v3/posting/fbo/list", json!({"analytics_data": false, "financial_data": false, "legal_info": false}))
            }
            Dataset::OzonFbs => (
                "/v4/posting/fbs/list",
                json!({"analytics_data": false, "barcodes": false, "financial_data": false, "legal_info": false}),
            ),
            other => unreachable!("{other} is not an Ozon posting list"),
        };
        let body = json!({
            "cursor": cursor,
            "limit": self.page_limit,
            "sort_dir": "ASC",
            "translit": false,
            "filter": {
                "since": since.to_rfc3339_opts(SecondsFormat::Millis, true),
                "to": to.to_rfc3339_opts(SecondsFormat::Millis, true),
            },
            "with": with,
        });
        self.post(dataset, &self.limiter, path, &body, |b| {
            if b.status == reqwest::StatusCode::BAD_REQUEST
                && serde_json::from_slice::<RpcError>(&b.bytes).is_ok_and(|e| e.message.contains("PERIOD_IS_TOO_LONG"))
            {
                return Some(Ok(Page::PeriodTooLong));
            }
            b.status.is_success().then(|| crate::sources::decode::json(&b.bytes).map(Page::Ok))
        })
        .await
    }

    /// Sends a POST with the keys, paced by `limiter`, retried as `sources::call` says.
    async fn post<T>(
        &self,
        dataset: Dataset,
        limiter: &Limiter,
        path: &str,
        body: &serde_json::Value,
        decode: impl Fn(&http::Body) -> Option<Result<T, DecodeError>>,
    ) -> Result<T, SourceError> {
        let ctx = self.ctx(dataset);
        let req = self
            .net
            .http
            .post(format!("{}{path}", self.base))
            .header("Client-Id", &self.client_id)
            .header("Api-Key", self.api_key.expose_secret())
            .json(body);
        call(&self.net, limiter, &ctx, req, decode, |b| self.refused(&ctx, b)).await
    }

    /// A POST on the seller bucket (50/s per Client-Id), its 2xx body decoded as `T`.
    pub(super) async fn post_seller<T: serde::de::DeserializeOwned>(
        &self,
        dataset: Dataset,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, SourceError> {
        self.post(dataset, &self.limiter, path, body, json_body).await
    }

    fn refused(&self, ctx: &Ctx, resp: &http::Body) -> SourceError {
        let ctx = ctx.clone();
        let status = resp.status.as_u16();
        let err: Option<RpcError> = serde_json::from_slice(&resp.bytes).ok();
        let message =
            err.as_ref().map_or_else(|| http::excerpt(&resp.bytes), |e| format!("{} (code {})", e.message, e.code));
        let key_env = env_name(&format!("accounts.{}.ozon.api_key", self.account));
        let fix = match status {
            401 => Some(format!("send both Client-Id and Api-Key: set accounts.{}.ozon.client_id and {key_env}", self.account)),
            // Ozon answers a wrong key with 404 code 5, not 401.
            404 if err.as_ref().is_some_and(|e| e.code == 5 || e.message.contains("Api-Key")) => Some(format!(
                "the Ozon Api-Key is wrong, expired or belongs to another Client-Id. Create a key in Seller → Settings → API keys and put it in {key_env}"
            )),
            403 => Some("the Api-Key lacks a role for this method or is bound to other IP addresses: give the key the Admin or Posting FBO/FBS and Finance roles".to_string()),
            _ => None,
        };
        match fix {
            Some(fix) => SourceError::Auth { ctx, status, message, fix },
            None => SourceError::Api { ctx, status, message },
        }
    }

    /// The accrual type dictionary.
    pub async fn accrual_types(&self) -> Result<Vec<AccrualType>, SourceError> {
        let ds = Dataset::OzonAccruals;
        let types: Types = self.post(ds, &self.accruals, "/v1/finance/accrual/types", &json!({}), json_body).await?;
        Ok(types.accrual_types)
    }

    /// Every accrual of one day, following `last_id`.
    pub async fn accruals_of_day(
        &self,
        day: NaiveDate,
        types: &[AccrualType],
    ) -> Result<(Vec<OzonAccrualRow>, u64), SourceError> {
        let ds = Dataset::OzonAccruals;
        let ctx = self.ctx(ds);
        let (mut rows, mut requests, mut last_id) = (Vec::new(), 0u64, String::new());
        loop {
            requests += 1;
            let body = json!({"date": day.to_string(), "last_id": last_id});
            let page: ByDay = self.post(ds, &self.accruals, "/v1/finance/accrual/by-day", &body, json_body).await?;
            let n = page.accruals.len();
            for a in page.accruals {
                rows.extend(a.into_rows(types).map_err(|e| SourceError::decode(&ctx, e))?);
            }
            if page.last_id.is_empty() || n == 0 {
                return Ok((rows, requests));
            }
            if page.last_id == last_id {
                return Err(SourceError::Stuck {
                    ctx,
                    detail: format!(
                        "last_id {last_id} came back unchanged for {day}; paging would never end. Fix: run again later; if it repeats, report it to Ozon's support"
                    ),
                });
            }
            last_id = page.last_id;
        }
    }

    /// Ozon's statement of one half-month `begin..=end` (the only periods it forms).
    pub async fn cash_flow(&self, begin: NaiveDate, end: NaiveDate) -> Result<Vec<OzonCashFlowRow>, SourceError> {
        let ds = Dataset::OzonCashFlows;
        let body = json!({
            "date": {"from": format!("{begin}T00:00:00.000Z"), "to": format!("{end}T23:59:59.999Z")},
            "page": 1,
            "page_size": 100,
            "with_details": true,
        });
        let page: CashFlowResponse =
            self.post(ds, &self.limiter, "/v1/finance/cash-flow-statement/list", &body, json_body).await?;
        page.result.into_rows().map_err(|e| SourceError::decode(&self.ctx(ds), e))
    }

    /// All postings with `in_process_at` in `since..=to`. Windows longer than `max_days` are
    /// split up front; one that the API still calls `PERIOD_IS_TOO_LONG` is halved.
    pub async fn fetch_window(
        &self,
        dataset: Dataset,
        since: DateTime<Utc>,
        to: DateTime<Utc>,
        max_days: u32,
    ) -> Result<WindowFetch, SourceError> {
        let max = Duration::days(i64::from(max_days));
        let mut windows = Vec::new();
        let mut s = since;
        while s < to {
            let e = (s + max).min(to);
            windows.push((s, e));
            s = e;
        }
        windows.reverse(); // a stack: oldest on top
        let mut out = WindowFetch::default();
        'windows: while let Some((s, e)) = windows.pop() {
            let mut cursor = String::new();
            let mut seen = std::collections::HashSet::new();
            let mut rows = Vec::new();
            loop {
                out.requests += 1;
                match self.page(dataset, s, e, &cursor).await? {
                    Page::PeriodTooLong => {
                        if e - s <= Duration::days(1) {
                            return Err(SourceError::Stuck {
                                ctx: self.ctx(dataset),
                                detail: format!("the API calls even a one-day window ({s} – {e}) PERIOD_IS_TOO_LONG"),
                            });
                        }
                        let mid = s + (e - s) / 2;
                        windows.push((mid, e));
                        windows.push((s, mid));
                        continue 'windows;
                    }
                    Page::Ok(page) => {
                        let n = page.postings.len();
                        rows.extend(page.postings.into_iter().flat_map(|p| p.into_rows()));
                        if !page.has_next {
                            break;
                        }
                        if n == 0 || page.cursor.is_empty() {
                            return Err(SourceError::Stuck {
                                ctx: self.ctx(dataset),
                                detail: "the API said has_next=true but sent no cursor to continue from".into(),
                            });
                        }
                        // A cursor sent twice would page forever, holding every page in
                        // memory: a server bug, said as one.
                        if !seen.insert(page.cursor.clone()) {
                            return Err(SourceError::Stuck {
                                ctx: self.ctx(dataset),
                                detail: format!(
                                    "the API sent cursor {:?} a second time ({} pages into {s} – {e}); paging would never end. Fix: run again later; if it repeats, report it to Ozon's support",
                                    page.cursor,
                                    seen.len() + 1
                                ),
                            });
                        }
                        cursor = page.cursor;
                    }
                }
            }
            out.rows.extend(rows);
        }
        Ok(out)
    }
}
