//! The WB statistics client: one page per call, paced by the seller's bucket for the endpoint.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use super::models::StatsItem;
use crate::config::env_name;
use crate::dataset::Dataset;
use crate::http::{self, Buckets, Limiter, Quota};
use crate::sources::{Ctx, SourceError};

/// WB: orders 1/min with burst 10; sales 1/min with burst 1 (Personal and Service tokens).
pub const ORDERS_QUOTA: Quota = Quota::per_minute(10);
pub const SALES_QUOTA: Quota = Quota::per_minute(1);

pub struct WbClient {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    account: String,
    orders: Arc<Limiter>,
    sales: Arc<Limiter>,
}

impl WbClient {
    pub fn new(
        http: reqwest::Client,
        base: &str,
        token: SecretString,
        account: &str,
        buckets: &Buckets,
    ) -> WbClient {
        WbClient {
            http,
            base: base.to_string(),
            token,
            account: account.to_string(),
            orders: buckets.get(account, "wb_orders", ORDERS_QUOTA),
            sales: buckets.get(account, "wb_sales", SALES_QUOTA),
        }
    }

    fn ctx(&self, dataset: Dataset) -> Ctx {
        Ctx {
            account: self.account.clone(),
            dataset,
        }
    }

    /// Rows with `lastChangeDate >= date_from` (`flag=0`), oldest change first, up to WB's cap.
    pub async fn page<T: StatsItem>(
        &self,
        dataset: Dataset,
        date_from: &str,
    ) -> Result<Vec<T>, SourceError> {
        let (path, limiter) = match dataset {
            Dataset::WbOrders => ("/api/v1/supplier/orders", &self.orders),
            Dataset::WbSales => ("/api/v1/supplier/sales", &self.sales),
            other => unreachable!("{other} is not a WB statistics dataset"),
        };
        let ctx = self.ctx(dataset);
        limiter.acquire().await;
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("Authorization", self.token.expose_secret())
            .query(&[("dateFrom", date_from), ("flag", "0")]);
        let body = http::send(req)
            .await
            .map_err(|e| SourceError::transport(&ctx, e))?;
        let status = body.status.as_u16();
        if body.status.is_success() {
            return serde_json::from_slice(&body.bytes).map_err(|e| SourceError::decode(&ctx, e));
        }
        let message = error_message(&body.bytes);
        if status == 401 || status == 403 {
            return Err(SourceError::Auth {
                ctx,
                status,
                message,
                fix: format!(
                    "the WB token is wrong, expired or lacks the Statistics category. Create a Personal token with Statistics, Promotion and Finance in the seller profile (Settings → API access) and put it in {}",
                    env_name(&format!("accounts.{}.wb.token", self.account))
                ),
            });
        }
        Err(SourceError::Api {
            ctx,
            status,
            message,
        })
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
                .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_string))
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
