//! What the metrics could not place: operations the catalogue does not know (counted in payout,
//! `unclassified`), and Ozon sale lines whose units nobody can know (COGS unknown). Both are
//! named after every run, never silently absorbed.

use chrono::NaiveDate;
use polars::prelude::*;

use super::MetricsError;
use super::catalogue::Catalogue;
use super::engine::Streamed;
use super::events::{WbMoney, wb_classified};
use crate::dataset::Dataset;
use crate::lake::Lake;
use crate::lake::schema::accrual_kind as kind;

/// An operation the catalogue does not know, in a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnknownOperation {
    pub marketplace: &'static str,
    pub account: String,
    /// WB's `sellerOperName` (with the document type when that is the unknown part), or Ozon's
    /// accrual type name.
    pub name: String,
    pub rows: u64,
    /// What these rows add to the payout, in kopecks.
    #[serde(serialize_with = "crate::money::ser_kopecks")]
    pub amount: i128,
}

impl std::fmt::Display for UnknownOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mp = if self.marketplace == "wb" { "WB operation" } else { "Ozon accrual type" };
        write!(
            f,
            "{} row(s) of an unknown {mp} '{}' (account {}), {} ₽, counted in payout only: add it to the operation catalogue (data/operations.toml)",
            self.rows,
            self.name,
            self.account,
            crate::money::format_kopecks_human(self.amount)
        )
    }
}

fn texts(df: &DataFrame, name: &str) -> PolarsResult<Vec<String>> {
    Ok(df.column(name)?.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
}

/// Unknown operations with money days in `from..=to`.
pub fn unknown_operations(
    lake: &Lake,
    catalogue: &Catalogue,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<UnknownOperation>, MetricsError> {
    let mut out = Vec::new();
    let in_days = |c: &str| col(c).gt_eq(lit(from)).and(col(c).lt_eq(lit(to)));
    if let Some(lf) = super::kopecks::scan_months(lake, Dataset::WbFinance, from, to)? {
        let footers = super::classify::Footers { lake, from, to };
        let df = wb_classified(lf.filter(in_days("rr_date")), Some(footers), catalogue)?
            .filter(WbMoney::known().not())
            .group_by([col("account"), col("seller_oper_name"), col("doc_type_name")])
            .agg([len().alias("rows"), WbMoney::payout().sum().alias("amount")])
            .sort(["account", "seller_oper_name"], Default::default())
            .streamed()?;
        let (acc, op, doc) = (texts(&df, "account")?, texts(&df, "seller_oper_name")?, texts(&df, "doc_type_name")?);
        let rows: Vec<u32> = df.column("rows")?.u32()?.iter().map(|v| v.unwrap_or(0)).collect();
        let amount: Vec<i128> = df.column("amount")?.i64()?.iter().map(|v| i128::from(v.unwrap_or(0))).collect();
        for i in 0..df.height() {
            let name = if catalogue.wb(&op[i]).is_some() {
                format!("{} (document type '{}')", op[i], doc[i])
            } else {
                op[i].clone()
            };
            out.push(UnknownOperation {
                marketplace: "wb",
                account: acc[i].clone(),
                name,
                rows: u64::from(rows[i]),
                amount: amount[i],
            });
        }
    }
    if let Some(lf) = super::kopecks::scan_months(lake, Dataset::OzonAccruals, from, to)? {
        let types = super::classify::ozon_types(&lf, Some(super::classify::Footers { lake, from, to }), catalogue)?;
        let fee = kind::FEES.iter().fold(lit(false), |acc, k| acc.or(col("kind").eq(lit(*k))));
        let df = lf
            .filter(in_days("date"))
            .join(
                types,
                [col("type_name"), col("type_description")],
                [col("type_name"), col("type_description")],
                JoinArgs::new(JoinType::Left),
            )
            .filter(fee.and(col("oz_cat").is_null()).or(col("kind").eq(lit(kind::REMAINDER))))
            .with_column(
                when(col("kind").eq(lit(kind::REMAINDER)))
                    .then(lit("(total_amount beyond its components)"))
                    .otherwise(col("type_name"))
                    .alias("name"),
            )
            .group_by([col("account"), col("name")])
            .agg([len().alias("rows"), col("amount").sum().alias("amount")])
            .sort(["account", "name"], Default::default())
            .streamed()?;
        let (acc, name) = (texts(&df, "account")?, texts(&df, "name")?);
        let rows: Vec<u32> = df.column("rows")?.u32()?.iter().map(|v| v.unwrap_or(0)).collect();
        let amount: Vec<i128> = df.column("amount")?.i64()?.iter().map(|v| i128::from(v.unwrap_or(0))).collect();
        for i in 0..df.height() {
            out.push(UnknownOperation {
                marketplace: "ozon",
                account: acc[i].clone(),
                name: name[i].clone(),
                rows: u64::from(rows[i]),
                amount: amount[i],
            });
        }
    }
    Ok(out)
}

/// Ozon sale lines without a quantity whose posting is not in the lake either: their units, and
/// so their COGS, are unknown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnknownUnits {
    pub account: String,
    pub sku: i64,
    pub lines: u64,
}

impl std::fmt::Display for UnknownUnits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Ozon SKU {} (account {}): {} sale line(s) without a quantity, and their postings are not in the lake: units and COGS unknown (backfill the postings' months to fill them in)",
            self.sku, self.account, self.lines
        )
    }
}

pub fn unknown_units(lake: &Lake, from: NaiveDate, to: NaiveDate) -> Result<Vec<UnknownUnits>, MetricsError> {
    let Some(lf) = super::kopecks::scan_months(lake, Dataset::OzonAccruals, from, to)? else { return Ok(Vec::new()) };
    let lines = lf.filter(
        col("kind")
            .eq(lit(kind::SALE_PRICE))
            .and(col("quantity").is_null())
            .and(col("direction").neq(lit(0i64)))
            .and(col("date").gt_eq(lit(from)))
            .and(col("date").lt_eq(lit(to))),
    );
    let lines = super::events::with_posting_quantities(lake, lines)?.filter(col("posting_quantity").is_null());
    let df = lines
        .group_by([col("account"), col("sku")])
        .agg([len().alias("lines")])
        .sort(["account", "sku"], Default::default())
        .streamed()?;
    let acc = texts(&df, "account")?;
    let sku: Vec<i64> = df.column("sku")?.i64()?.iter().map(|v| v.unwrap_or(0)).collect();
    let lines: Vec<u32> = df.column("lines")?.u32()?.iter().map(|v| v.unwrap_or(0)).collect();
    Ok((0..df.height())
        .map(|i| UnknownUnits { account: acc[i].clone(), sku: sku[i], lines: u64::from(lines[i]) })
        .collect())
}
