//! Reconciliation: each WB realization report's header totals against the sum of its rows in
//! the lake. A mismatch is reported, never smoothed over.

use chrono::NaiveDate;
use polars::prelude::*;

use super::MetricsError;
use super::events::zero_money;
use crate::dataset::Dataset;
use crate::lake::Lake;
use crate::lake::columns::MONEY;
use crate::sources::wb::models::REPORT_SUMS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub account: String,
    pub report_id: i64,
    pub field: &'static str,
    /// What the header says, in kopecks.
    pub header: i128,
    /// What the rows in the lake add up to.
    pub rows: i128,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    pub reports: usize,
    pub mismatches: Vec<Mismatch>,
}

/// Checks the reports whose whole period lies in `from..=to` (their rows are all loaded then).
pub fn reconcile(lake: &Lake, from: NaiveDate, to: NaiveDate) -> Result<Reconciliation, MetricsError> {
    let Some(headers) = lake.scan(Dataset::WbFinanceReports)? else { return Ok(Reconciliation::default()) };
    let headers = headers.filter(col("date_from").gt_eq(lit(from)).and(col("date_to").lt_eq(lit(to))));
    let details = match lake.scan(Dataset::WbFinance)? {
        Some(lf) => lf,
        None => return Ok(Reconciliation::default()),
    };
    let sale = col("seller_oper_name").eq(lit("Продажа"));
    let ret = col("seller_oper_name").eq(lit("Возврат"));
    let signed =
        |c: &str| when(sale.clone()).then(col(c)).when(ret.clone()).then(zero_money() - col(c)).otherwise(zero_money());
    let sum = |e: Expr, name: &str| e.sum().strict_cast(MONEY).alias(name);
    let sums = details
        .group_by([col("account"), col("report_id")])
        .agg([
            sum(signed("retail_amount"), "retail_amount"),
            sum(signed("for_pay"), "for_pay"),
            sum(col("delivery_service"), "delivery_service"),
            sum(col("paid_storage"), "paid_storage"),
            sum(col("penalty"), "penalty"),
            sum(col("deduction"), "deduction"),
            sum(col("paid_acceptance"), "paid_acceptance"),
            sum(col("additional_payment"), "additional_payment"),
        ])
        .with_column(
            (col("for_pay")
                - col("delivery_service")
                - col("paid_storage")
                - col("penalty")
                - col("deduction")
                - col("paid_acceptance")
                + col("additional_payment"))
            .strict_cast(MONEY)
            .alias("bank_payment"),
        );
    let joined = headers
        .join(
            sums,
            [col("account"), col("report_id")],
            [col("account"), col("report_id")],
            JoinArgs::new(JoinType::Left),
        )
        .sort(["account", "report_id"], Default::default())
        .collect()?;
    let accounts: Vec<String> =
        joined.column("account")?.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect();
    let ids: Vec<i64> = joined.column("report_id")?.i64()?.iter().map(|v| v.unwrap_or_default()).collect();
    let mut out = Reconciliation { reports: joined.height(), mismatches: Vec::new() };
    for field in REPORT_SUMS {
        let header: Vec<Option<i128>> = joined.column(&format!("{field}_sum"))?.decimal()?.physical().iter().collect();
        // A report with no rows in the lake sums to zero.
        let rows: Vec<Option<i128>> = joined.column(field)?.decimal()?.physical().iter().collect();
        for i in 0..joined.height() {
            let (h, r) = (header[i].unwrap_or(0), rows[i].unwrap_or(0));
            if h != r {
                out.mismatches.push(Mismatch {
                    account: accounts[i].clone(),
                    report_id: ids[i],
                    field,
                    header: h,
                    rows: r,
                });
            }
        }
    }
    out.mismatches.sort_by_key(|m| (m.account.clone(), m.report_id));
    Ok(out)
}
