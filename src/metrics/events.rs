//! Every lake dataset as one shape of events: (account, marketplace, day, sku, seller_sku) plus
//! every measure, zero where a source says nothing about it. Each source's contribution is
//! defined here, once.

use chrono_tz::Tz;
use polars::prelude::*;

use super::MetricsError;
use crate::dataset::Dataset;
use crate::lake::Lake;
use crate::lake::columns::MONEY;
use crate::sources::ozon::accruals::category as cat;

/// Additive counts. `returns` is null where the source cannot know it (Ozon postings).
pub const COUNTS: [&str; 6] = ["orders", "cancellations", "buyouts", "returns", "units_sold", "units_returned"];
/// Additive money, Decimal(18,2).
pub const AMOUNTS: [&str; 12] = [
    "orders_value",
    "buyouts_value",
    "returns_value",
    "revenue",
    "commission",
    "logistics",
    "storage",
    "acceptance",
    "penalties",
    "other_deductions",
    "additional_payments",
    "ad_spend",
];

pub fn zero_money() -> Expr {
    lit(0).strict_cast(MONEY)
}

fn neg(e: Expr) -> Expr {
    zero_money() - e
}

fn to_day(c: &str, tz: Tz) -> Expr {
    col(c).dt().convert_time_zone(TimeZone::from_chrono(&tz)).dt().date()
}

/// Which events count: the period's days and, optionally, some accounts.
#[derive(Debug, Clone)]
pub struct Scope<'a> {
    pub tz: Tz,
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub accounts: Option<&'a [String]>,
}

pub const KEYS: [&str; 4] = ["day", "account", "marketplace", "sku"];

/// The sum of a column that may hold unknowns (null): unknown if any part of the group is.
pub fn known_sum(c: &str, money: bool) -> Expr {
    let sum = if money { col(c).sum().strict_cast(MONEY) } else { col(c).sum() };
    let null = lit(NULL).cast(if money { MONEY } else { DataType::Int64 });
    when(col(c).null_count().gt(lit(0))).then(null).otherwise(sum).alias(c)
}

/// Sums of the event measures per group.
pub fn event_sums() -> Vec<Expr> {
    let mut v: Vec<Expr> = COUNTS.iter().map(|c| known_sum(c, false)).collect();
    v.extend(AMOUNTS.iter().map(|c| col(*c).sum().strict_cast(MONEY)));
    v
}

/// One source's events, already summed per day × SKU: the given measures, every other one zero.
/// Summing each source on its own keeps the wide event rows from ever being materialised.
fn part(
    lf: LazyFrame,
    scope: &Scope<'_>,
    marketplace: &str,
    day: Expr,
    sku: Expr,
    measures: Vec<(&str, Expr)>,
) -> LazyFrame {
    let mut cols = vec![
        col("account"),
        lit(marketplace.to_string()).alias("marketplace"),
        day.alias("day"),
        sku.cast(DataType::String).alias("sku"),
    ];
    let given = |name: &str| measures.iter().find(|(n, _)| *n == name).map(|(_, e)| e.clone());
    for c in COUNTS {
        cols.push(given(c).unwrap_or_else(|| lit(0i64)).cast(DataType::Int64).alias(c));
    }
    for c in AMOUNTS {
        cols.push(given(c).unwrap_or_else(zero_money).strict_cast(MONEY).alias(c));
    }
    let mut lf = lf.select(cols).filter(col("day").gt_eq(lit(scope.from)).and(col("day").lt_eq(lit(scope.to))));
    if let Some(a) = scope.accounts {
        let list = Series::new("accounts".into(), a.to_vec());
        lf = lf.filter(col("account").is_in(lit(list).implode(false), false));
    }
    lf.group_by(KEYS.map(col)).agg(event_sums())
}

fn when_then(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
    when(cond).then(then).otherwise(otherwise)
}

/// Every source's events in scope, summed per day × SKU (a source may repeat a key; sum again).
pub fn events(lake: &Lake, scope: &Scope<'_>) -> Result<Option<LazyFrame>, MetricsError> {
    let tz = scope.tz;
    let mut parts = Vec::new();
    let unknown = || lit(NULL).cast(DataType::Int64);
    if let Some(lf) = lake.scan(Dataset::WbOrders)? {
        // One WB order row is one unit, counted on its order day; a cancellation too.
        parts.push(part(
            lf,
            scope,
            "wb",
            to_day("date", tz),
            col("nm_id"),
            vec![("orders", lit(1i64)), ("orders_value", col("price_with_disc")), ("cancellations", col("is_cancel"))],
        ));
    }
    if let Some(lf) = lake.scan(Dataset::WbSales)? {
        // S rows are buyouts and R rows returns, each on its own day, at the seller's price
        // after the seller's discount.
        let sale = col("is_return").not();
        parts.push(part(
            lf,
            scope,
            "wb",
            to_day("date", tz),
            col("nm_id"),
            vec![
                ("buyouts", sale.clone()),
                ("returns", col("is_return")),
                ("buyouts_value", when_then(sale.clone(), col("price_with_disc"), zero_money())),
                ("returns_value", when_then(sale, zero_money(), col("price_with_disc"))),
            ],
        ));
    }
    if let Some(lf) = lake.scan(Dataset::WbFinance)? {
        // The realization report: sales add and returns subtract at retailPriceWithDisc; WB
        // keeps `retailPriceWithDisc − forPay` of each as its commission (acquiring included).
        let sale = col("seller_oper_name").eq(lit("Продажа"));
        let ret = col("seller_oper_name").eq(lit("Возврат"));
        let signed =
            |e: Expr| when(sale.clone()).then(e.clone()).when(ret.clone()).then(neg(e)).otherwise(zero_money());
        parts.push(part(
            lf,
            scope,
            "wb",
            col("rr_date"),
            col("nm_id"),
            vec![
                ("units_sold", when_then(sale.clone(), col("quantity"), lit(0i64))),
                ("units_returned", when_then(ret.clone(), col("quantity"), lit(0i64))),
                ("revenue", signed(col("retail_price_with_disc"))),
                ("commission", signed(col("retail_price_with_disc") - col("for_pay"))),
                ("logistics", col("delivery_service") + col("rebill_logistic_cost")),
                ("storage", col("paid_storage")),
                ("acceptance", col("paid_acceptance")),
                ("penalties", col("penalty")),
                ("other_deductions", col("deduction")),
                ("additional_payments", col("additional_payment")),
            ],
        ));
    }
    if let Some(lf) = lake.scan(Dataset::WbAdStats)? {
        // fullstats spend per article and day, summed over campaigns and apps.
        parts.push(part(lf, scope, "wb", col("date"), col("nm_id"), vec![("ad_spend", col("sum"))]));
    }
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        let Some(lf) = lake.scan(ds)? else { continue };
        // Postings carry no delivery date on FBO and no returns at all: units ordered on a day
        // are counted as cancelled or bought out by their status now (an order-day cohort), and
        // returns stay unknown (null); the money side comes from accruals.
        let value = col("price") * col("quantity");
        let is = |s: &str| col("status").eq(lit(s.to_string()));
        parts.push(part(
            lf,
            scope,
            "ozon",
            to_day("in_process_at", tz),
            col("sku"),
            vec![
                ("orders", col("quantity")),
                ("orders_value", value.clone()),
                ("cancellations", when_then(is("cancelled"), col("quantity"), lit(0i64))),
                ("buyouts", when_then(is("delivered"), col("quantity"), lit(0i64))),
                ("returns", unknown()),
                ("buyouts_value", when_then(is("delivered"), value, zero_money())),
            ],
        ));
    }
    if let Some(lf) = lake.scan(Dataset::OzonAccruals)? {
        // Accrual components are signed as Ozon sends them: charges negative, income positive.
        let is = |c: &str| col("category").eq(lit(c));
        let charge = |c: &str| when_then(is(c), neg(col("amount")), zero_money());
        let revenue = is(cat::REVENUE);
        let qty = col("quantity").fill_null(lit(0i64));
        parts.push(part(
            lf,
            scope,
            "ozon",
            col("date"),
            col("sku"),
            vec![
                ("returns", unknown()),
                ("units_sold", when_then(revenue.clone().and(col("amount").gt(lit(0))), qty.clone(), lit(0i64))),
                ("units_returned", when_then(revenue.clone().and(col("amount").lt(lit(0))), qty, lit(0i64))),
                ("revenue", when_then(revenue, col("amount"), zero_money())),
                ("commission", charge(cat::COMMISSION)),
                ("logistics", charge(cat::LOGISTICS)),
                ("storage", charge(cat::STORAGE)),
                ("acceptance", charge(cat::ACCEPTANCE)),
                ("penalties", charge(cat::PENALTIES)),
                ("other_deductions", charge(cat::OTHER)),
                ("additional_payments", when_then(is(cat::ADDITIONAL), col("amount"), zero_money())),
                ("ad_spend", charge(cat::ADS)),
            ],
        ));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat(parts, UnionArgs::default())?))
}

/// The seller's own article per marketplace SKU, from every order and posting ever loaded.
pub fn labels(lake: &Lake) -> Result<Option<LazyFrame>, MetricsError> {
    let mut parts = Vec::new();
    let pick = |lf: LazyFrame, mp: &str, sku: &str, label: &str| {
        lf.select([
            lit(mp.to_string()).alias("marketplace"),
            col(sku).cast(DataType::String).alias("sku"),
            col(label).alias("seller_sku"),
        ])
    };
    if let Some(lf) = lake.scan(Dataset::WbOrders)? {
        parts.push(pick(lf, "wb", "nm_id", "supplier_article"));
    }
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        if let Some(lf) = lake.scan(ds)? {
            parts.push(pick(lf, "ozon", "sku", "offer_id"));
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        concat(parts, UnionArgs::default())?.group_by([col("marketplace"), col("sku")]).agg([col("seller_sku").last()]),
    ))
}
