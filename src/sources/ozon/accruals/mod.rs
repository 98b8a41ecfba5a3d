//! Ozon finance accruals (`/v1/finance/accrual/by-day`, `/types`): every ruble Ozon charges or
//! pays, one row per component. The lake keeps what Ozon sent (type id, name, amount signed as
//! Ozon signs it); `metrics` classifies the fees through the operation catalogue.
//!
//! A POSTING accrual's product adds up as `sale_price + bonus + coinvestment + sale_commission +
//! Σ delivery.services = total_amount` (verified on live answers by public tools; `seller_price`
//! is the nominal price the commission is computed on, not money that moves).

mod model;
mod rows;

pub use model::*;
pub use rows::OzonAccrualRow;

use futures::future::BoxFuture;

use chrono::NaiveDate;

use crate::config::{Account, Config};
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::Batch;
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};
use crate::pipeline::plan::{Chunk, ChunkKind, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::sources::ozon::{OzonClient, cash_flow};
use crate::state::ChunkRecord;

pub const ACCRUALS: Spec = Spec {
    dataset: Dataset::OzonAccruals,
    name: "ozon_accruals",
    marketplace: Marketplace::Ozon,
    endpoint: "POST /v1/finance/accrual/by-day",
    primary_key: &["accrual_id", "component"],
    version_column: LOADED_AT,
    event_column: "date",
    fetched_by: Dataset::OzonAccruals,
    by_month: true,
    fetch: Some(&Accruals),
    pages: &[
        Page { path: "/v1/finance/accrual/types", rows: types_page },
        Page { path: "/v1/finance/accrual/by-day", rows: accruals_page },
    ],
};

/// Every accrual of every day in `from..=to` (one day per call, `last_id` paging), then Ozon's
/// statement of the half-months that ended, for the reconciliation.
pub async fn fetch(cx: &FetchCx<'_>, from: NaiveDate, to: NaiveDate) -> Result<ChunkOutcome, ChunkError> {
    let client = OzonClient::for_chunk(cx)?;
    let src = |e| cx.source_error(e);
    let mut out = ChunkOutcome::default();
    let (types, fetched) =
        cx.once_per_run("ozon_accrual_types", || async { client.accrual_types().await.map_err(src) }).await?;
    out.requests += u64::from(fetched);
    let mut rows = Vec::new();
    let mut day = from;
    while day <= to {
        if cx.stopping() {
            // Keep the days fetched so far; the chunk stays undone and resumes whole.
            let _ = cx.store(Batch::new(Dataset::OzonAccruals, rows)).await?;
            return Err(cx.stopped());
        }
        let (r, n) = client.accruals_of_day(day, &types).await.map_err(src)?;
        out.requests += n;
        rows.extend(r);
        day += chrono::Duration::days(1);
        // A large seller's month is ~500 000 rows: held whole, it was gigabytes per chunk in
        // flight. Whole days go to the partition once a group is this big (upserts by key, so a
        // resumed chunk that fetches them again replaces them).
        if rows.len() >= cx.fetch_config().store_every_rows as usize || day > to {
            let n = rows.len() as u64;
            out.lake += cx.store(Batch::new(Dataset::OzonAccruals, std::mem::take(&mut rows))).await?.stats();
            out.rows += n;
            cx.rows_stored(n);
        }
    }
    let mut statements = Vec::new();
    for (begin, end) in cash_flow::half_months(from, to) {
        cx.check_stop()?;
        out.requests += 1;
        statements.extend(client.cash_flow(begin, end).await.map_err(src)?);
    }
    out.rows += statements.len() as u64;
    out.lake += cx.store(Batch::new(Dataset::OzonCashFlows, statements)).await?.stats();
    Ok(out)
}

/// One month of accruals, day by day, with the statements of its half-months that ended.
#[derive(Debug)]
pub struct Accruals;

impl Fetch for Accruals {
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        cx.days(Dataset::OzonAccruals, account)
    }

    fn cost(&self, chunk: &Chunk, _: &Config, once: &mut Once) -> Vec<Need> {
        use crate::sources::ozon::client::{ACCRUALS_QUOTA, SELLER_QUOTA};
        let ChunkKind::Days { from, to, .. } = &chunk.kind else { return Vec::new() };
        // The type dictionary once per account and run, then a call per day.
        let types = once.first(&chunk.account, "ozon_types");
        let days = (*to - *from).num_days().max(0) as u64 + 1;
        let statements = cash_flow::half_months(*from, *to).len() as u64;
        vec![
            Need { bucket: "ozon_accruals", quota: ACCRUALS_QUOTA, requests: types + days },
            Need { bucket: "ozon", quota: SELLER_QUOTA, requests: statements },
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

fn types_page(bytes: &[u8]) -> Result<usize, String> {
    Ok(crate::sources::pages::decode::<Types>(bytes)?.accrual_types.len())
}

fn accruals_page(bytes: &[u8]) -> Result<usize, String> {
    let page: ByDay = crate::sources::pages::decode(bytes)?;
    let mut n = 0;
    for a in page.accruals {
        n += a.into_rows(&[])?.len();
    }
    Ok(n)
}
