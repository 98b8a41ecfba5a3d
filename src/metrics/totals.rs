//! Totals over SKUs: per account and marketplace, `all` marketplaces per account, `all`
//! accounts.

use polars::prelude::*;

use super::{MetricsError, SKU_COLUMNS, additive, derive, money_columns};
use crate::config::Tax;

/// Totals per (period, account, marketplace) over SKUs, with `marketplace = "all"` per account
/// and `account = "all"` over accounts. Counts and COGS are unknown (null) wherever a part of the
/// total is unknown; `reconciled` is false if any part disagreed, null if none was checked;
/// `complete` only if every part is. Tax is computed on each total's own base.
pub fn totals(by_sku: &DataFrame, tax: &Tax) -> Result<DataFrame, MetricsError> {
    let mut aggs = additive();
    aggs.push(col("sku").n_unique().cast(DataType::Int64).alias("skus"));
    // Booleans order false < true and min skips nulls: any false is false, all null is null.
    aggs.push(col("reconciled").min().alias("reconciled"));
    aggs.push(col("complete").min().alias("complete"));
    let keys = ["period_from", "period_to"];
    // The in-memory engine, over one copy of the rows in kopecks: the frame is already in memory,
    // and the streaming engine's start-up cost more than these four small group-bys (half of a
    // nightly marts update's compute, 15–35 ms a grain).
    let base = super::kopecks::from_money(by_sku.clone().lazy(), &money_columns()).collect()?;
    let group = |by: &[&str], account: Option<&str>, mp: Option<&str>| {
        let mut lf =
            base.clone().lazy().group_by(keys.iter().chain(by).map(|c| col(*c)).collect::<Vec<_>>()).agg(aggs.clone());
        if let Some(a) = account {
            lf = lf.with_column(lit(a).alias("account"));
        }
        if let Some(m) = mp {
            lf = lf.with_column(lit(m).alias("marketplace"));
        }
        lf.select([
            col("period_from"),
            col("period_to"),
            col("account"),
            col("marketplace"),
            all().exclude_cols(["period_from", "period_to", "account", "marketplace"]).as_expr(),
        ])
    };
    let parts = vec![
        group(&["account", "marketplace"], None, None),
        group(&["account"], None, Some("all")),
        group(&["marketplace"], Some("all"), None),
        group(&[], Some("all"), Some("all")),
    ];
    let df = derive(concat(parts, UnionArgs::default())?.collect()?.lazy(), tax, Engine::InMemory)?;
    let cols: Vec<Expr> = total_columns().into_iter().map(col).collect();
    Ok(df.lazy().select(cols).sort(["period_from", "account", "marketplace"], Default::default()).collect()?)
}

/// The columns of `totals_<grain>.parquet`, in order: the SKU columns without the SKU, plus the
/// number of SKUs.
pub fn total_columns() -> Vec<&'static str> {
    // The measures start at `orders`; a unit test pins the column list.
    let measures = SKU_COLUMNS.iter().position(|c| *c == "orders").unwrap_or(0);
    ["period_from", "period_to", "account", "marketplace", "skus"]
        .into_iter()
        .chain(SKU_COLUMNS[measures..].iter().copied())
        .collect()
}
