//! The operation catalogue as small frames to join on: the distinct names a lake dataset holds,
//! each with what the catalogue says of it. The matching rules live in Rust (`catalogue.rs`),
//! once; the lake keeps the marketplaces' raw names, so a catalogue change re-classifies history.

use chrono::NaiveDate;
use polars::prelude::*;

use super::MetricsError;
use super::catalogue::{Catalogue, DeductionClass, WbCategory, normalise};
use super::engine::Streamed;
use crate::dataset::Dataset;
use crate::lake::Lake;

/// Where a classification may find a dataset's distinct names without reading its rows: the
/// footers of its partitions holding `from..=to` (`lake::names`). A superset of the period's
/// names is as good: a name no row has joins to nothing.
#[derive(Clone, Copy)]
pub struct Footers<'a> {
    pub lake: &'a Lake,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// The distinct `columns` of `lf` (rows of `ds`): from `footers` when every partition in range
/// carries them, else by reading the rows.
fn distinct(
    lf: &LazyFrame,
    columns: &[&str],
    footers: Option<(Footers<'_>, Dataset)>,
) -> Result<DataFrame, MetricsError> {
    if let Some((f, ds)) = footers {
        let (lo, hi) = super::kopecks::month_range(f.from, f.to);
        if let Some(names) = f.lake.footer_names(ds, columns, &lo, &hi)? {
            return Ok(names);
        }
    }
    Ok(lf
        .clone()
        .select(columns.iter().map(|c| col(*c)).collect::<Vec<_>>())
        .unique(None, UniqueKeepStrategy::Any)
        .streamed()?)
}

fn texts<'a>(df: &'a DataFrame, column: &str) -> PolarsResult<Vec<&'a str>> {
    Ok(df.column(column)?.str()?.iter().map(|v| v.unwrap_or_default()).collect())
}

/// `seller_oper_name` → `op_cat` (the catalogue's category code, null when unknown),
/// `op_units`, `op_reversal`.
pub fn wb_operations(
    finance: &LazyFrame,
    footers: Option<Footers<'_>>,
    catalogue: &Catalogue,
) -> Result<LazyFrame, MetricsError> {
    let d = distinct(finance, &["seller_oper_name"], footers.map(|f| (f, Dataset::WbFinance)))?;
    let names = texts(&d, "seller_oper_name")?;
    let ops: Vec<_> = names.iter().map(|n| catalogue.wb(n)).collect();
    Ok(df!(
        "seller_oper_name" => names.clone(),
        "op_cat" => ops.iter().map(|o| o.map(|o| o.category.code())).collect::<Vec<_>>(),
        "op_units" => ops.iter().map(|o| o.map(|o| o.units)).collect::<Vec<_>>(),
        "op_reversal" => ops.iter().map(|o| o.map(|o| o.reversal)).collect::<Vec<_>>(),
    )?
    .lazy())
}

/// `bonus_type_name` → `ded_class` (`ads`, `transfer`, or `other`).
pub fn wb_deductions(
    finance: &LazyFrame,
    footers: Option<Footers<'_>>,
    catalogue: &Catalogue,
) -> Result<LazyFrame, MetricsError> {
    // Only deductions need a class: a scan reads the names of those rows alone.
    let rows = finance.clone().filter(col("deduction").neq(lit(0)));
    let d = distinct(&rows, &["bonus_type_name"], footers.map(|f| (f, Dataset::WbFinance)))?;
    let names = texts(&d, "bonus_type_name")?;
    let classes: Vec<&str> = names
        .iter()
        .map(|n| match catalogue.deduction_class(n) {
            DeductionClass::Ads => "ads",
            DeductionClass::Transfer => "transfer",
            DeductionClass::Other => "other",
        })
        .collect();
    Ok(df!("bonus_type_name" => names, "ded_class" => classes)?.lazy())
}

/// (`type_name`, `type_description`) of Ozon fees → `oz_cat` (null when unknown).
pub fn ozon_types(
    accruals: &LazyFrame,
    footers: Option<Footers<'_>>,
    catalogue: &Catalogue,
) -> Result<LazyFrame, MetricsError> {
    let d = distinct(accruals, &["type_name", "type_description"], footers.map(|f| (f, Dataset::OzonAccruals)))?;
    let (names, descriptions) = (texts(&d, "type_name")?, texts(&d, "type_description")?);
    let cats: Vec<Option<&str>> =
        names.iter().zip(&descriptions).map(|(n, d)| catalogue.ozon(n, d).map(|c| c.code())).collect();
    Ok(df!("type_name" => names, "type_description" => descriptions, "oz_cat" => cats)?.lazy())
}

/// `upd` payment types (normalised, see `normalise`) that are WB's bonuses or cashback, not money.
pub const BONUS_PAYMENT_TYPES: [&str; 7] = ["бонусы", "бонус", "кэшбэк", "кешбэк", "кэшбек", "cashback", "bonus"];

/// WB ad spend paid with WB's bonuses or cashback is not the seller's money: `upd` payment types
/// (`Баланс`, `Счёт`, `Бонусы`, `Кэшбэк`; WB's sample also writes `Счет`, so not a closed set) →
/// `paid_with_money`. An unknown type counts as money: a cost is never dropped on a guess.
pub fn ad_payment_types(upd: &LazyFrame, footers: Option<Footers<'_>>) -> Result<LazyFrame, MetricsError> {
    let d = distinct(upd, &["payment_type"], footers.map(|f| (f, Dataset::WbAdSpend)))?;
    let names = texts(&d, "payment_type")?;
    let money: Vec<bool> = names.iter().map(|n| !BONUS_PAYMENT_TYPES.contains(&normalise(n).as_str())).collect();
    Ok(df!("payment_type" => names, "paid_with_money" => money)?.lazy())
}

/// Whether a catalogue category code is `category` (null, an unknown operation, is not).
pub fn is_wb(category: WbCategory) -> Expr {
    col("op_cat").eq(lit(category.code()))
}
