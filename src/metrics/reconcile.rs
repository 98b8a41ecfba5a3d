//! Reconciliation: the marketplaces' own totals against the sum of our rows in the lake.
//!
//! - WB: each realization report's header (`sales-reports/list`: retail amount, for pay, every
//!   charge, the loyalty fields and «Итого к оплате») against its rows, with the payout formula
//!   the metrics use (`events::WbMoney`).
//! - Ozon: each half-month of the cash-flow statement (`/v1/finance/cash-flow-statement/list`,
//!   with details) against the accruals of its days.
//!
//! A statement is checked only when every month it spans is in the lake (its rows can all be
//! there). A disagreement is a defect of ours: it is reported with the statement, the field and
//! both figures, and the marts mark the periods it covers `reconciled = false`.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use super::MetricsError;
use super::catalogue::Catalogue;
use super::engine::Streamed;
use super::events::WbMoney;
use super::kopecks;
use crate::dataset::Dataset;
use crate::lake::Lake;
use crate::lake::schema::REPORT_SUMS;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    pub account: String,
    pub marketplace: &'static str,
    /// "report 300739123" (WB) or "2026-07-01 – 2026-07-15" (Ozon's half-month).
    pub statement: String,
    pub field: &'static str,
    /// What the marketplace says, in kopecks.
    #[serde(serialize_with = "crate::money::ser_kopecks")]
    pub header: i128,
    /// What the rows in the lake add up to.
    #[serde(serialize_with = "crate::money::ser_kopecks")]
    pub rows: i128,
}

/// One statement checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    pub account: String,
    pub marketplace: &'static str,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub ok: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reconciliation {
    /// WB reports checked.
    pub reports: usize,
    /// Ozon statement periods checked.
    pub periods: usize,
    pub checks: Vec<Check>,
    pub mismatches: Vec<Mismatch>,
}

impl Reconciliation {
    /// Whether every statement overlapping `from..=to` of `account` on `marketplace` agreed;
    /// None when none was checked.
    pub fn covers(&self, account: &str, marketplace: &str, from: NaiveDate, to: NaiveDate) -> Option<bool> {
        let mut seen = None;
        for c in self
            .checks
            .iter()
            .filter(|c| c.account == account && c.marketplace == marketplace && c.from <= to && c.to >= from)
        {
            seen = Some(seen.unwrap_or(true) && c.ok);
        }
        seen
    }
}

/// (account, YYYY-MM) of every partition of `ds` that can hold a day of `from..=to`: the months
/// the lake holds there.
fn lake_months(lake: &Lake, ds: Dataset, from: NaiveDate, to: NaiveDate) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let (lo, hi) = kopecks::month_range(from, to);
    for f in lake.partition_files_of_months(ds, &lo, &hi) {
        let part = |prefix: &str| {
            f.ancestors().filter_map(|a| a.file_name()?.to_str()?.strip_prefix(prefix).map(str::to_string)).next()
        };
        if let (Some(account), Some(month)) = (part("account="), part("month=")) {
            out.insert((account, month));
        }
    }
    out
}

fn spans(months: &BTreeSet<(String, String)>, account: &str, from: NaiveDate, to: NaiveDate) -> bool {
    let mut m = from.with_day(1).unwrap_or(from);
    while m <= to {
        if !months.contains(&(account.to_string(), format!("{:04}-{:02}", m.year(), m.month()))) {
            return false;
        }
        match m.checked_add_months(chrono::Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    true
}

/// Checks every statement whose whole period lies in `from..=to`.
pub fn reconcile(
    lake: &Lake,
    catalogue: &Catalogue,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Reconciliation, MetricsError> {
    let mut out = Reconciliation::default();
    wb(lake, catalogue, from, to, &mut out)?;
    ozon(lake, from, to, &mut out)?;
    out.mismatches
        .sort_by(|a, b| (&a.account, a.marketplace, &a.statement).cmp(&(&b.account, b.marketplace, &b.statement)));
    Ok(out)
}

fn dates(df: &DataFrame, name: &str) -> PolarsResult<Vec<NaiveDate>> {
    Ok(df.column(name)?.date()?.as_date_iter().map(|d| d.unwrap_or_default()).collect())
}

fn texts(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(df.column(name)?.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

fn money(df: &DataFrame, name: &str) -> PolarsResult<Vec<i128>> {
    Ok(df.column(name)?.i64()?.iter().map(|v| i128::from(v.unwrap_or(0))).collect())
}

fn wb(
    lake: &Lake,
    catalogue: &Catalogue,
    from: NaiveDate,
    to: NaiveDate,
    out: &mut Reconciliation,
) -> Result<(), MetricsError> {
    // A report's rows are dated in its week, a service charge a few days after it at most.
    let slack = chrono::Duration::days(31);
    let (Some(headers), Some(details)) = (
        // Headers are partitioned by `date_from`, which the filter below keeps inside the period.
        kopecks::scan_months(lake, Dataset::WbFinanceReports, from, to)?,
        kopecks::scan_months(lake, Dataset::WbFinance, from - slack, to + slack)?,
    ) else {
        return Ok(());
    };
    let headers = headers.filter(col("date_from").gt_eq(lit(from)).and(col("date_to").lt_eq(lit(to))));
    let details = details.filter(col("rr_date").gt_eq(lit(from - slack)).and(col("rr_date").lt_eq(lit(to + slack))));
    // Every field enters a report's sum signed by the row's document type and operation only, so
    // the rows are summed as they are per (report, document type, operation) first and signed on
    // that handful of sums: no expression runs per row, and the catalogue joins the small frame.
    // Every header field is a column of the rows, but the payout: that is computed from them.
    let raw: Vec<Expr> = REPORT_SUMS.iter().filter(|f| **f != "bank_payment").map(|f| col(*f).sum()).collect();
    let keys = [col("account"), col("report_id"), col("doc_type_name"), col("seller_oper_name")];
    let by_kind = details.group_by(keys).agg(raw).streamed()?.lazy();
    let signed = [
        (WbMoney::by_doc(col("retail_amount")), "retail_amount"),
        (WbMoney::by_doc(col("for_pay")), "for_pay"),
        (WbMoney::service("delivery_service"), "delivery_service"),
        (WbMoney::service("paid_storage"), "paid_storage"),
        (WbMoney::service("penalty"), "penalty"),
        (WbMoney::service("deduction"), "deduction"),
        (WbMoney::service("paid_acceptance"), "paid_acceptance"),
        (WbMoney::service("additional_payment"), "additional_payment"),
        (WbMoney::by_doc(col("cashback_amount")), "cashback_amount"),
        (WbMoney::by_doc(col("cashback_discount")), "cashback_discount"),
        (WbMoney::by_doc(col("cashback_commission_change")), "cashback_commission_change"),
        (col("payment_schedule"), "payment_schedule"),
        (WbMoney::payout(), "bank_payment"),
    ];
    let mut select = vec![col("account"), col("report_id")];
    select.extend(signed.iter().map(|(e, name)| e.clone().alias(*name)));
    let ops = super::classify::wb_operations(&by_kind, None, catalogue)?;
    let sums = by_kind
        .join(ops, [col("seller_oper_name")], [col("seller_oper_name")], JoinArgs::new(JoinType::Left))
        .select(select)
        .group_by([col("account"), col("report_id")])
        .agg(signed.iter().map(|(_, name)| col(*name).sum()).collect::<Vec<_>>());
    let joined = headers
        .join(
            sums,
            [col("account"), col("report_id")],
            [col("account"), col("report_id")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["account", "report_id"], Default::default())
        .streamed()?;
    let months = lake_months(lake, Dataset::WbFinance, from, to);
    let accounts = texts(&joined, "account")?;
    let ids: Vec<i64> = joined.column("report_id")?.i64()?.iter().map(|v| v.unwrap_or_default()).collect();
    let (starts, ends) = (dates(&joined, "date_from")?, dates(&joined, "date_to")?);
    let mut fields = Vec::new();
    for field in REPORT_SUMS {
        // A report with no rows in the lake sums to zero.
        fields.push((field, money(&joined, &format!("{field}_sum"))?, money(&joined, field)?));
    }
    for i in 0..joined.height() {
        if !spans(&months, &accounts[i], starts[i], ends[i]) {
            continue;
        }
        out.reports += 1;
        let mut ok = true;
        for (field, header, rows) in &fields {
            if header[i] != rows[i] {
                ok = false;
                out.mismatches.push(Mismatch {
                    account: accounts[i].clone(),
                    marketplace: "wb",
                    statement: format!("report {}", ids[i]),
                    field,
                    header: header[i],
                    rows: rows[i],
                });
            }
        }
        out.checks.push(Check { account: accounts[i].clone(), marketplace: "wb", from: starts[i], to: ends[i], ok });
    }
    Ok(())
}

fn ozon(lake: &Lake, from: NaiveDate, to: NaiveDate, out: &mut Reconciliation) -> Result<(), MetricsError> {
    let (Some(statements), Some(accruals)) =
        // Statements are partitioned by `period_begin`, which the filter below keeps inside the
        // period: only the period's months are read, not every statement ever loaded.
        (
            kopecks::scan_months(lake, Dataset::OzonCashFlows, from, to)?,
            kopecks::scan_months(lake, Dataset::OzonAccruals, from, to)?,
        )
    else {
        return Ok(());
    };
    let statements = statements
        .filter(col("period_begin").gt_eq(lit(from)).and(col("period_end").lt_eq(lit(to))))
        .filter(col("delivery_total").is_not_null())
        .select([
            col("account"),
            col("period_begin"),
            col("period_end"),
            (col("delivery_total") + col("return_total") + col("services_total") + col("others_total"))
                .alias("statement"),
        ])
        .sort(["account", "period_begin"], Default::default())
        .streamed()?;
    if statements.height() == 0 {
        return Ok(());
    }
    let daily = accruals
        .filter(col("date").gt_eq(lit(from)).and(col("date").lt_eq(lit(to))))
        .group_by([col("account"), col("date")])
        .agg([col("amount").sum()])
        .streamed()?;
    let (d_accounts, d_days, d_amounts) = (texts(&daily, "account")?, dates(&daily, "date")?, money(&daily, "amount")?);
    let months = lake_months(lake, Dataset::OzonAccruals, from, to);
    let accounts = texts(&statements, "account")?;
    let (begins, ends) = (dates(&statements, "period_begin")?, dates(&statements, "period_end")?);
    let totals = money(&statements, "statement")?;
    for i in 0..statements.height() {
        if !spans(&months, &accounts[i], begins[i], ends[i]) {
            continue;
        }
        out.periods += 1;
        let rows: i128 = (0..daily.height())
            .filter(|&k| d_accounts[k] == accounts[i] && d_days[k] >= begins[i] && d_days[k] <= ends[i])
            .map(|k| d_amounts[k])
            .sum();
        let ok = rows == totals[i];
        if !ok {
            out.mismatches.push(Mismatch {
                account: accounts[i].clone(),
                marketplace: "ozon",
                statement: format!("{} – {}", begins[i], ends[i]),
                field: "accruals",
                header: totals[i],
                rows,
            });
        }
        out.checks.push(Check { account: accounts[i].clone(), marketplace: "ozon", from: begins[i], to: ends[i], ok });
    }
    Ok(())
}
