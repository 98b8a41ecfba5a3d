//! WB realization-report rows (`sales-reports/detailed`, a row per `rrd_id`) and each report's
//! own totals (`sales-reports/list`): their lake rows, partitioned by `rr_date` / the report's
//! first day, and their fetch loop.

use futures::future::BoxFuture;

use crate::config::{Account, Config};
use crate::pipeline::plan::{Chunk, PlanCx, PlanError, PlannedChunk};
use crate::pipeline::source::{Fetch, Need, Once};
use crate::state::ChunkRecord;
use chrono::{Datelike, NaiveDate, Utc};
use polars::prelude::{Column, PolarsResult};

use super::client::FinancePage;
use super::models::{FinanceItem, ReportHeader, WbFinanceRow, WbReportRow};
use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::{Batch, LakeRow, month_key};
use crate::lake::columns as c;
use crate::lake::schema::REPORT_SUMS;
use crate::pipeline::ChunkError;
use crate::pipeline::cx::{ChunkOutcome, FetchCx};
use crate::sources::SourceError;

pub const FINANCE: Spec = Spec {
    dataset: Dataset::WbFinance,
    name: "wb_finance",
    marketplace: Marketplace::Wb,
    endpoint: "POST /api/finance/v1/sales-reports/detailed",
    primary_key: &["rrd_id"],
    version_column: LOADED_AT,
    event_column: "rr_date",
    fetched_by: Dataset::WbFinance,
    by_month: true,
    fetch: Some(&Finance),
    pages: &[Page {
        path: "/api/finance/v1/sales-reports/detailed",
        rows: crate::sources::pages::items::<FinanceItem, WbFinanceRow>,
    }],
};

/// Report totals come with the finance rows.
pub const REPORTS: Spec = Spec {
    dataset: Dataset::WbFinanceReports,
    name: "wb_finance_reports",
    marketplace: Marketplace::Wb,
    endpoint: "POST /api/finance/v1/sales-reports/list",
    primary_key: &["report_id"],
    version_column: LOADED_AT,
    event_column: "date_from",
    fetched_by: Dataset::WbFinance,
    by_month: true,
    fetch: None,
    pages: &[Page {
        path: "/api/finance/v1/sales-reports/list",
        rows: crate::sources::pages::items::<ReportHeader, WbReportRow>,
    }],
};

impl LakeRow for WbFinanceRow {
    fn partition(&self) -> String {
        month_key(self.rr_date.year(), self.rr_date.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("rrd_id", r.iter().map(|x| x.rrd_id)),
            c::int("report_id", r.iter().map(|x| x.report_id)),
            c::date("rr_date", r.iter().map(|x| x.rr_date)),
            c::text("doc_type_name", r.iter().map(|x| x.doc_type_name.as_str())),
            c::text("seller_oper_name", r.iter().map(|x| x.seller_oper_name.as_str())),
            c::opt_int("nm_id", r.iter().map(|x| x.nm_id)),
            c::text("vendor_code", r.iter().map(|x| x.vendor_code.as_str())),
            c::text("srid", r.iter().map(|x| x.srid.as_str())),
            c::int("quantity", r.iter().map(|x| x.quantity)),
            c::money("retail_price", r.iter().map(|x| x.retail_price))?,
            c::money("retail_price_with_disc", r.iter().map(|x| x.retail_price_with_disc))?,
            c::money("retail_amount", r.iter().map(|x| x.retail_amount))?,
            c::money("for_pay", r.iter().map(|x| x.for_pay))?,
            c::money("acquiring_fee", r.iter().map(|x| x.acquiring_fee))?,
            c::precise("vw", r.iter().map(|x| x.vw))?,
            c::precise("vw_nds", r.iter().map(|x| x.vw_nds))?,
            c::precise("ppvz_reward", r.iter().map(|x| x.ppvz_reward))?,
            c::money("delivery_service", r.iter().map(|x| x.delivery_service))?,
            c::int("delivery_amount", r.iter().map(|x| x.delivery_amount)),
            c::int("return_amount", r.iter().map(|x| x.return_amount)),
            c::money("penalty", r.iter().map(|x| x.penalty))?,
            c::money("deduction", r.iter().map(|x| x.deduction))?,
            c::money("paid_storage", r.iter().map(|x| x.paid_storage))?,
            c::money("paid_acceptance", r.iter().map(|x| x.paid_acceptance))?,
            c::money("additional_payment", r.iter().map(|x| x.additional_payment))?,
            c::precise("rebill_logistic_cost", r.iter().map(|x| x.rebill_logistic_cost))?,
            c::money("cashback_amount", r.iter().map(|x| x.cashback_amount))?,
            c::money("cashback_discount", r.iter().map(|x| x.cashback_discount))?,
            c::money("cashback_commission_change", r.iter().map(|x| x.cashback_commission_change))?,
            c::money("payment_schedule", r.iter().map(|x| x.payment_schedule))?,
            c::text("bonus_type_name", r.iter().map(|x| x.bonus_type_name.as_str())),
        ])
    }
}

impl LakeRow for WbReportRow {
    fn partition(&self) -> String {
        month_key(self.date_from.year(), self.date_from.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        let mut cols = vec![
            c::int("report_id", r.iter().map(|x| x.report_id)),
            c::date("date_from", r.iter().map(|x| x.date_from)),
            c::date("date_to", r.iter().map(|x| x.date_to)),
        ];
        for (i, name) in REPORT_SUMS.iter().enumerate() {
            cols.push(c::money(&format!("{name}_sum"), r.iter().map(|x| x.sums[i]))?);
        }
        Ok(cols)
    }
}

/// Reads the realization-report rows of `from..=to`, page by page (rrdId cursor, 204 ends),
/// from the page after `rec.page_cursor` when an interrupted run left one, and moves that
/// cursor after each page is in the lake: at WB's one request a minute, a crash late in a
/// big month does not cost its pages again. Then the reports' own totals.
pub async fn fetch(
    cx: &FetchCx<'_>,
    rec: &mut ChunkRecord,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<ChunkOutcome, ChunkError> {
    let client = super::WbClient::for_chunk(cx)?;
    let src = |e| cx.source_error(e);
    let mut out = ChunkOutcome { rows: rec.rows, ..ChunkOutcome::default() };
    let mut cursor = rec.page_cursor.as_deref().and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
    loop {
        cx.check_stop()?;
        out.requests += 1;
        let items = match client.finance_page(from, to, cursor, 100_000, "weekly").await.map_err(src)? {
            FinancePage::End => break,
            FinancePage::Rows(items) => items,
        };
        let last = items.last().map_or(cursor, |i| i.rrd_id);
        if last <= cursor {
            let ctx = cx.ctx(Dataset::WbFinance);
            return Err(src(SourceError::Stuck {
                ctx,
                detail: format!(
                    "the page after rrdId {cursor} ends at rrdId {last}: the cursor would not advance and paging would never end. Fix: run again later; if it repeats, report it to WB's support"
                ),
            }));
        }
        let rows = items
            .into_iter()
            .map(WbFinanceRow::try_from)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| cx.decode_error(Dataset::WbFinance, e))?;
        count_months(&mut out, rows.iter().map(|r| r.rr_date));
        let n = rows.len() as u64;
        out.rows += n;
        let stored = cx.store(Batch::new(Dataset::WbFinance, rows)).await?;
        out.lake += stored.stats();
        cx.rows_stored(n);
        cursor = last;
        (rec.page_cursor, rec.rows, rec.updated_at) = (Some(cursor.to_string()), out.rows, Utc::now());
        cx.advance_page(rec, &stored)?;
    }
    // WB's own totals per report, for the reconciliation with the rows.
    out.requests += 1;
    let reports = client
        .finance_reports(from, to)
        .await
        .map_err(src)?
        .into_iter()
        .map(WbReportRow::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cx.decode_error(Dataset::WbFinanceReports, e))?;
    count_months(&mut out, reports.iter().map(|r| r.date_from));
    out.rows += reports.len() as u64;
    out.lake += cx.store(Batch::new(Dataset::WbFinanceReports, reports)).await?.stats();
    Ok(out)
}

/// Adds rows to their month's count (see [`ChunkOutcome::months`]), by the date each is
/// partitioned by: a page's rows fall in a month or two, so the keys are formatted once per
/// month, not once per row.
fn count_months(out: &mut ChunkOutcome, dates: impl Iterator<Item = NaiveDate>) {
    let mut n: std::collections::BTreeMap<(i32, u32), u64> = Default::default();
    for d in dates {
        *n.entry((d.year(), d.month())).or_default() += 1;
    }
    for ((y, m), k) in n {
        *out.months.entry(month_key(y, m)).or_default() += k;
    }
}

/// Months of the realization report (one, or a run of them), with the reports' own totals.
#[derive(Debug)]
pub struct Finance;

impl Fetch for Finance {
    /// Consecutive months not cached are one window paged by `rrdId`: WB pages any range, and
    /// at one request a minute a year a month at a time cost 26 minutes.
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError> {
        Ok(crate::pipeline::plan::spans(cx.days(Dataset::WbFinance, account)?))
    }

    fn cost(&self, _: &Chunk, _: &Config, _: &mut Once) -> Vec<Need> {
        use super::client::FINANCE_QUOTA;
        vec![
            // A page of rows and the 204 that ends them, for one month or a span of them; the
            // report list has a bucket of its own.
            Need { bucket: "wb_finance", quota: FINANCE_QUOTA, requests: 2 },
            Need { bucket: "wb_finance_list", quota: FINANCE_QUOTA, requests: 1 },
        ]
    }

    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        rec: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>> {
        Box::pin(async move {
            let (from, to) = cx.days()?;
            fetch(cx, rec, from, to).await
        })
    }
}
