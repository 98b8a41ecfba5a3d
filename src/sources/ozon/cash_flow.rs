//! Ozon's own totals: the cash-flow statement (`POST /v1/finance/cash-flow-statement/list`, the
//! «Финансовый отчёт» of the seller's cabinet). Ozon forms it for half-months only (the 1st–15th
//! and the 16th–last day); with `with_details` it says what the period's accruals add up to, by
//! section, which the reconciliation compares with the sum of the accruals in the lake.

use chrono::{Datelike, NaiveDate};
use polars::prelude::{Column, PolarsResult};
use serde::Deserialize;

use crate::dataset::{Dataset, LOADED_AT, Marketplace, Page, Spec};
use crate::lake::batch::{LakeRow, month_key};
use crate::lake::columns as c;
use crate::money::{Kopecks, de_money};
use crate::sources::decode::or_default;

/// Ozon's statement comes with the accruals.
pub const CASH_FLOWS: Spec = Spec {
    dataset: Dataset::OzonCashFlows,
    name: "ozon_cash_flows",
    marketplace: Marketplace::Ozon,
    endpoint: "POST /v1/finance/cash-flow-statement/list",
    primary_key: &["period_begin"],
    version_column: LOADED_AT,
    event_column: "period_begin",
    fetched_by: Dataset::OzonAccruals,
    by_month: true,
    fetch: None,
    pages: &[Page { path: "/v1/finance/cash-flow-statement/list", rows: statement_page }],
};

#[derive(Debug, Deserialize)]
pub struct CashFlowResponse {
    pub result: CashFlowResult,
}

#[derive(Debug, Deserialize)]
pub struct CashFlowResult {
    #[serde(default, deserialize_with = "or_default")]
    pub cash_flows: Vec<CashFlow>,
    /// One object for a one-period request; tolerate a list.
    #[serde(default, deserialize_with = "or_default")]
    pub details: Option<OneOrMany<Details>>,
    #[serde(default, deserialize_with = "or_default")]
    pub page_count: i64,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

#[derive(Debug, Deserialize)]
pub struct Period {
    #[serde(default, deserialize_with = "or_default")]
    pub id: i64,
    pub begin: String,
    pub end: String,
}

fn zero() -> Kopecks {
    Kopecks(0)
}

/// The statement's summary of one period (Ozon sends doubles; parsed exactly, see `de_money`).
#[derive(Debug, Deserialize)]
pub struct CashFlow {
    pub period: Period,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub orders_amount: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub returns_amount: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub commission_amount: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub services_amount: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub item_delivery_and_return_amount: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub currency_code: String,
}

#[derive(Debug, Deserialize, Default)]
pub struct Section {
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub total: Kopecks,
}

#[derive(Debug, Deserialize)]
pub struct Details {
    pub period: Option<Period>,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub begin_balance_amount: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub end_balance_amount: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub invoice_transfer: Kopecks,
    #[serde(default = "zero", deserialize_with = "de_money")]
    pub loan: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub delivery: Section,
    #[serde(default, deserialize_with = "or_default", rename = "return")]
    pub returns: Section,
    #[serde(default, deserialize_with = "or_default")]
    pub services: Section,
    #[serde(default, deserialize_with = "or_default")]
    pub others: Section,
    #[serde(default, deserialize_with = "or_default")]
    pub rfbs: Section,
}

/// A row of `ozon_cash_flows`: one half-month of Ozon's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OzonCashFlowRow {
    pub period_id: i64,
    pub period_begin: NaiveDate,
    pub period_end: NaiveDate,
    pub orders_amount: Kopecks,
    pub returns_amount: Kopecks,
    pub commission_amount: Kopecks,
    pub services_amount: Kopecks,
    pub item_delivery_and_return_amount: Kopecks,
    /// Section totals of the details; None when Ozon sent no details for the period.
    pub delivery_total: Option<Kopecks>,
    pub return_total: Option<Kopecks>,
    pub services_total: Option<Kopecks>,
    pub others_total: Option<Kopecks>,
    pub rfbs_total: Option<Kopecks>,
    pub loan: Option<Kopecks>,
    pub invoice_transfer: Option<Kopecks>,
    pub begin_balance: Option<Kopecks>,
    pub end_balance: Option<Kopecks>,
    pub currency: String,
}

fn day(s: &str) -> Result<NaiveDate, String> {
    s.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| format!("cash-flow period date {s:?} is not a date"))
}

impl CashFlowResult {
    /// One row per period, with the details of the period they describe.
    pub fn into_rows(self) -> Result<Vec<OzonCashFlowRow>, String> {
        let details: Vec<Details> = match self.details {
            None => Vec::new(),
            Some(OneOrMany::One(d)) => vec![d],
            Some(OneOrMany::Many(v)) => v,
        };
        let only_one = details.len() == 1 && self.cash_flows.len() == 1;
        let mut rows = Vec::with_capacity(self.cash_flows.len());
        for cf in self.cash_flows {
            let (begin, end) = (day(&cf.period.begin)?, day(&cf.period.end)?);
            let d = details.iter().find(|d| {
                d.period
                    .as_ref()
                    .map_or(only_one, |p| day(&p.begin).ok() == Some(begin) && day(&p.end).ok() == Some(end))
            });
            rows.push(OzonCashFlowRow {
                period_id: cf.period.id,
                period_begin: begin,
                period_end: end,
                orders_amount: cf.orders_amount,
                returns_amount: cf.returns_amount,
                commission_amount: cf.commission_amount,
                services_amount: cf.services_amount,
                item_delivery_and_return_amount: cf.item_delivery_and_return_amount,
                delivery_total: d.map(|d| d.delivery.total),
                return_total: d.map(|d| d.returns.total),
                services_total: d.map(|d| d.services.total),
                others_total: d.map(|d| d.others.total),
                rfbs_total: d.map(|d| d.rfbs.total),
                loan: d.map(|d| d.loan),
                invoice_transfer: d.map(|d| d.invoice_transfer),
                begin_balance: d.map(|d| d.begin_balance_amount),
                end_balance: d.map(|d| d.end_balance_amount),
                currency: cf.currency_code,
            });
        }
        Ok(rows)
    }
}

/// Ozon's statement periods: the 1st–15th and the 16th–last day of each month overlapping
/// `from..=to`, keeping those that ended by `to` (an open period has no statement yet).
pub fn half_months(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    use chrono::Datelike;
    let mut out = Vec::new();
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        let next = m.checked_add_months(chrono::Months::new(1)).unwrap_or(m);
        let mid = m.with_day(15).unwrap_or(m);
        for (b, e) in [(m, mid), (mid + chrono::Duration::days(1), next - chrono::Duration::days(1))] {
            if e >= from && e <= to {
                out.push((b, e));
            }
        }
        if next <= m {
            break;
        }
        m = next;
    }
    out
}

impl LakeRow for OzonCashFlowRow {
    fn partition(&self) -> String {
        month_key(self.period_begin.year(), self.period_begin.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("period_id", r.iter().map(|x| x.period_id)),
            c::date("period_begin", r.iter().map(|x| x.period_begin)),
            c::date("period_end", r.iter().map(|x| x.period_end)),
            c::money("orders_amount", r.iter().map(|x| x.orders_amount))?,
            c::money("returns_amount", r.iter().map(|x| x.returns_amount))?,
            c::money("commission_amount", r.iter().map(|x| x.commission_amount))?,
            c::money("services_amount", r.iter().map(|x| x.services_amount))?,
            c::money("item_delivery_and_return_amount", r.iter().map(|x| x.item_delivery_and_return_amount))?,
            c::opt_money("delivery_total", r.iter().map(|x| x.delivery_total))?,
            c::opt_money("return_total", r.iter().map(|x| x.return_total))?,
            c::opt_money("services_total", r.iter().map(|x| x.services_total))?,
            c::opt_money("others_total", r.iter().map(|x| x.others_total))?,
            c::opt_money("rfbs_total", r.iter().map(|x| x.rfbs_total))?,
            c::opt_money("loan", r.iter().map(|x| x.loan))?,
            c::opt_money("invoice_transfer", r.iter().map(|x| x.invoice_transfer))?,
            c::opt_money("begin_balance", r.iter().map(|x| x.begin_balance))?,
            c::opt_money("end_balance", r.iter().map(|x| x.end_balance))?,
            c::text("currency", r.iter().map(|x| x.currency.as_str())),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_rows_carry_their_details() {
        let r: CashFlowResponse = serde_json::from_str(
            r#"{"result": {"cash_flows": [{"period": {"id": 11, "begin": "2026-07-01T00:00:00Z", "end": "2026-07-15T23:59:59Z"},
               "orders_amount": 1000.5, "returns_amount": -100, "commission_amount": -150.25, "services_amount": -20,
               "item_delivery_and_return_amount": -60, "currency_code": "RUB"}],
               "details": {"period": {"id": 11, "begin": "2026-07-01T00:00:00Z", "end": "2026-07-15T23:59:59Z"},
                 "begin_balance_amount": 0, "delivery": {"total": 790.25}, "return": {"total": -100},
                 "services": {"total": -20}, "others": {"total": 5.5}, "invoice_transfer": 675.75, "end_balance_amount": 675.75},
               "page_count": 1}}"#,
        )
        .unwrap();
        let rows = r.result.into_rows().unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(
            (row.period_begin.to_string(), row.period_end.to_string()),
            ("2026-07-01".into(), "2026-07-15".into())
        );
        assert_eq!(row.orders_amount, Kopecks(100_050));
        assert_eq!(row.delivery_total, Some(Kopecks(79_025)));
        assert_eq!(row.others_total, Some(Kopecks(550)));
    }

    #[test]
    fn half_months_end_by_the_last_day_asked() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(
            half_months(d("2026-02-01"), d("2026-03-20")),
            [
                (d("2026-02-01"), d("2026-02-15")),
                (d("2026-02-16"), d("2026-02-28")),
                (d("2026-03-01"), d("2026-03-15"))
            ]
        );
    }
}

fn statement_page(bytes: &[u8]) -> Result<usize, String> {
    crate::sources::pages::decode::<CashFlowResponse>(bytes)?.result.into_rows().map(|v| v.len())
}
