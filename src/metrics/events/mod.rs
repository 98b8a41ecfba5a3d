//! Every lake dataset as one shape of events: (account, marketplace, day, sku, seller_sku) plus
//! every measure, zero where a source says nothing about it. Each source's contribution is
//! defined here, once.

use chrono_tz::Tz;
use polars::prelude::*;

mod ozon;

use super::MetricsError;
use super::catalogue::Catalogue;
pub(super) use super::classify::Footers;
use super::kopecks;
pub use super::kopecks::{neg, zero as zero_money};
use crate::dataset::Dataset;
use crate::lake::Lake;
use ozon::ozon_accruals;
pub(super) use ozon::with_posting_quantities;

/// Additive counts. `returns` is null where nobody can know it (Ozon, in a lake without its
/// returns list).
pub const COUNTS: [&str; 6] = ["orders", "cancellations", "buyouts", "returns", "units_sold", "units_returned"];
/// Additive money, Int64 kopecks inside the stage (see `kopecks`).
pub const AMOUNTS: [&str; 16] = [
    "orders_value",
    "buyouts_value",
    "returns_value",
    "revenue",
    "commission",
    "compensation",
    "logistics",
    "storage",
    "acceptance",
    "penalties",
    "other_deductions",
    "ad_deductions",
    "transfers",
    "additional_payments",
    "unclassified",
    "ad_spend",
];

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

impl Scope<'_> {
    /// The footers of the partitions this scope reads (see `classify::Footers`).
    pub fn footers<'l>(&self, lake: &'l Lake) -> Footers<'l> {
        Footers { lake, from: self.from, to: self.to }
    }
}

pub const KEYS: [&str; 4] = ["day", "account", "marketplace", "sku"];

/// The sum of a column that may hold unknowns (null): unknown if any part of the group is.
/// Counts and kopecks are both Int64.
pub fn known_sum(c: &str) -> Expr {
    when(col(c).null_count().gt(lit(0))).then(lit(NULL).cast(DataType::Int64)).otherwise(col(c).sum()).alias(c)
}

/// The sum of one measure per group: counts may be unknown, money is always known.
fn measure_sum(c: &str) -> Expr {
    if COUNTS.contains(&c) { known_sum(c) } else { col(c).sum().alias(c) }
}

/// Sums of the event measures per group.
pub fn event_sums() -> Vec<Expr> {
    COUNTS.iter().chain(AMOUNTS.iter()).map(|c| measure_sum(c)).collect()
}

/// One source's events, already summed per day × SKU: the given measures, every other one zero.
/// Only the given measures are computed and summed per source row; the zeros of the others are
/// added after the sum, to rows that are already one per day × SKU (a wide row of 22 measures per
/// source row was most of the stage's time and memory).
fn part(
    lf: LazyFrame,
    scope: &Scope<'_>,
    marketplace: &str,
    day: Expr,
    sku: Expr,
    measures: Vec<(&str, Expr)>,
) -> LazyFrame {
    // Grouped by the source's own SKU type (an integer id, mostly) and the account, with the
    // marketplace and the text SKU added to the summed rows: hashing text per source row cost
    // more than the sums.
    let mut cols = vec![col("account"), day.alias("day"), sku.alias("sku")];
    let given: Vec<&str> = measures.iter().map(|(n, _)| *n).collect();
    cols.extend(measures.into_iter().map(|(name, e)| e.strict_cast(DataType::Int64).alias(name)));
    let mut lf = lf.select(cols).filter(col("day").gt_eq(lit(scope.from)).and(col("day").lt_eq(lit(scope.to))));
    if let Some(a) = scope.accounts {
        let list = Series::new("accounts".into(), a.to_vec());
        lf = lf.filter(col("account").is_in(lit(list).implode(false), false));
    }
    let summed = lf
        .group_by([col("day"), col("account"), col("sku")])
        .agg(given.iter().map(|c| measure_sum(c)).collect::<Vec<_>>());
    let mut out = vec![
        col("day"),
        col("account"),
        lit(marketplace.to_string()).alias("marketplace"),
        col("sku").cast(DataType::String),
    ];
    for c in COUNTS.iter().chain(AMOUNTS.iter()) {
        out.push(if given.contains(c) { col(*c) } else { zero_money().alias(*c) });
    }
    summed.select(out)
}

fn when_then(cond: Expr, then: Expr, otherwise: Expr) -> Expr {
    when(cond).then(then).otherwise(otherwise)
}

/// Every source's events in scope, summed per day × SKU (a source may repeat a key; sum again).
pub fn events(lake: &Lake, scope: &Scope<'_>, catalogue: &Catalogue) -> Result<Option<LazyFrame>, MetricsError> {
    let tz = scope.tz;
    let scan = |ds: Dataset| kopecks::scan_months(lake, ds, scope.from, scope.to);
    let mut parts = Vec::new();
    let unknown = || lit(NULL).cast(DataType::Int64);
    if let Some(lf) = scan(Dataset::WbOrders)? {
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
    if let Some(lf) = scan(Dataset::WbSales)? {
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
    if let Some(lf) = scan(Dataset::WbFinance)? {
        parts.push(wb_finance(lf, scope, Some(scope.footers(lake)), catalogue)?);
    }
    if let Some(lf) = scan(Dataset::WbAdStats)? {
        // fullstats spend per article and day, summed over campaigns and apps.
        parts.push(part(lf, scope, "wb", col("date"), col("nm_id"), vec![("ad_spend", col("sum"))]));
    }
    if let Some(lf) = scan(Dataset::WbAdSpend)? {
        // Spend WB's bonuses or cashback paid for is no cost of the seller's. WB names the payment
        // per campaign document (upd), not per article, so it is taken off at the account level.
        let money = super::classify::ad_payment_types(&lf, Some(scope.footers(lake)))?;
        let bonus = lf
            .join(money, [col("payment_type")], [col("payment_type")], JoinArgs::new(JoinType::Left))
            .filter(col("paid_with_money").eq(lit(false)));
        parts.push(part(
            bonus,
            scope,
            "wb",
            to_day("upd_time", tz),
            lit(NULL).cast(DataType::Int64),
            vec![("ad_spend", neg(col("upd_sum")))],
        ));
    }
    // Ozon's returns come from its returns list: where the lake has none (a lake from before
    // mpetl fetched it), they are unknown, not zero.
    let ozon_returns = scan(Dataset::OzonReturns)?;
    let ozon_returns_unknown = ozon_returns.is_none();
    let no_returns = move || if ozon_returns_unknown { unknown() } else { lit(0i64) };
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        let Some(lf) = scan(ds)? else { continue };
        // Postings carry no delivery date on FBO: units ordered on a day are counted as
        // cancelled or bought out by their status now (an order-day cohort); the money side
        // comes from accruals.
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
                ("returns", no_returns()),
                ("buyouts_value", when_then(is("delivered"), value, zero_money())),
            ],
        ));
    }
    if let Some(lf) = ozon_returns {
        // A buyer giving back goods they had bought out counts on the day they handed them back,
        // at the price the list states. Cancellations and refusals at the pickup point
        // (`Cancellation`, `FullReturn`) are the postings' cancellations, counted above;
        // `Unknown` is Ozon's technical return.
        let is = |t: &str| col("return_type").eq(lit(t.to_string()));
        parts.push(part(
            lf.filter(is("ClientReturn").or(is("PartialReturn"))),
            scope,
            "ozon",
            to_day("return_date", tz),
            col("sku"),
            vec![("returns", col("quantity")), ("returns_value", col("price") * col("quantity"))],
        ));
    }
    if let Some(lf) = scan(Dataset::OzonAccruals)? {
        parts.extend(ozon_accruals(lf, lake, scope, catalogue, no_returns())?);
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat(parts, UnionArgs::default())?))
}

/// The realization report's rows with what the catalogue says of their operation (`op_cat`,
/// `op_units`, `op_reversal`) and, for deductions, of their `bonus_type_name` (`ded_class`).
pub fn wb_classified(
    lf: LazyFrame,
    footers: Option<Footers<'_>>,
    catalogue: &Catalogue,
) -> Result<LazyFrame, MetricsError> {
    let ops = super::classify::wb_operations(&lf, footers, catalogue)?;
    let deductions = super::classify::wb_deductions(&lf, footers, catalogue)?;
    Ok(lf.join(ops, [col("seller_oper_name")], [col("seller_oper_name")], JoinArgs::new(JoinType::Left)).join(
        deductions,
        [col("bonus_type_name")],
        [col("bonus_type_name")],
        JoinArgs::new(JoinType::Left),
    ))
}

/// Money fields of a classified WB report row, signed: one place for the payout formula, used by
/// the metrics and by the reconciliation with WB's own totals.
pub struct WbMoney;

impl WbMoney {
    /// A return document: its amounts are magnitudes to subtract.
    pub fn is_return() -> Expr {
        col("doc_type_name").eq(lit("Возврат"))
    }

    /// The document types whose direction we know; WB leaves it empty on service rows.
    pub fn doc_known() -> Expr {
        let doc = col("doc_type_name");
        doc.clone().eq(lit("Продажа")).or(doc.clone().eq(lit("Возврат"))).or(doc.eq(lit("")))
    }

    /// `e` signed by the document type: Продажа (and service rows) add, Возврат subtracts.
    pub fn by_doc(e: Expr) -> Expr {
        when(Self::is_return()).then(neg(e.clone())).otherwise(e)
    }

    /// A service field, given back when the operation is a reversal (`Логистика сторно`).
    pub fn service(field: &str) -> Expr {
        when(col("op_reversal").eq(lit(true))).then(neg(col(field))).otherwise(col(field))
    }

    /// Loyalty costs (points and participation), signed by the document type.
    pub fn loyalty() -> Expr {
        Self::by_doc(col("cashback_amount") + col("cashback_commission_change"))
    }

    /// What the row adds to the transfer («Итого к оплате»):
    /// ±forPay − logistics − storage − acceptance − penalty − deduction + additional − loyalty.
    pub fn payout() -> Expr {
        Self::by_doc(col("for_pay"))
            - Self::service("delivery_service")
            - Self::service("paid_storage")
            - Self::service("paid_acceptance")
            - Self::service("penalty")
            - Self::service("deduction")
            + Self::service("additional_payment")
            - Self::loyalty()
    }

    /// The catalogue knows the operation and the document type.
    pub fn known() -> Expr {
        col("op_cat").is_not_null().and(Self::doc_known())
    }
}

/// The realization report. Payout is the same formula for every row; the operation catalogue
/// only decides which column each part lands in, and a row it does not know lands whole in
/// `unclassified`.
fn wb_finance(
    lf: LazyFrame,
    scope: &Scope<'_>,
    footers: Option<Footers<'_>>,
    catalogue: &Catalogue,
) -> Result<LazyFrame, MetricsError> {
    use super::catalogue::WbCategory as C;
    use super::classify::is_wb as is;
    let lf = wb_classified(lf, footers, catalogue)?;
    let known = WbMoney::known();
    let fp = WbMoney::by_doc(col("for_pay"));
    let rpwd = WbMoney::by_doc(col("retail_price_with_disc"));
    // For known rows only: `e` where `cond`, else zero.
    let k = |cond: Expr, e: Expr| when_then(known.clone().and(cond), e, zero_money());
    let all = || lit(true);
    let ded = |class: &str| col("ded_class").eq(lit(class.to_string()));
    let units = known.clone().and(col("op_units").eq(lit(true)));
    Ok(part(
        lf,
        scope,
        "wb",
        col("rr_date"),
        col("nm_id"),
        vec![
            ("units_sold", when_then(units.clone().and(WbMoney::is_return().not()), col("quantity"), lit(0i64))),
            ("units_returned", when_then(units.and(WbMoney::is_return()), col("quantity"), lit(0i64))),
            ("revenue", k(is(C::Sale), rpwd.clone())),
            // What WB keeps of a sale (acquiring included): the price minus what it pays for it.
            ("commission", k(is(C::Sale), rpwd - fp.clone())),
            ("compensation", k(is(C::Compensation), fp.clone())),
            // Typed fields keep their meaning; forPay on a service row refunds that service.
            ("logistics", k(all(), WbMoney::service("delivery_service")) + k(is(C::Logistics), neg(fp.clone()))),
            ("storage", k(all(), WbMoney::service("paid_storage")) + k(is(C::Storage), neg(fp.clone()))),
            ("acceptance", k(all(), WbMoney::service("paid_acceptance")) + k(is(C::Acceptance), neg(fp.clone()))),
            ("penalties", k(all(), WbMoney::service("penalty")) + k(is(C::Penalty), neg(fp.clone()))),
            ("ad_deductions", k(ded("ads"), WbMoney::service("deduction"))),
            ("transfers", k(ded("transfer"), WbMoney::service("deduction"))),
            (
                "other_deductions",
                k(ded("ads").or(ded("transfer")).not(), WbMoney::service("deduction"))
                    + k(all(), WbMoney::loyalty())
                    + k(is(C::Deduction).or(is(C::Loyalty)), neg(fp.clone())),
            ),
            (
                "additional_payments",
                k(all(), WbMoney::service("additional_payment")) + k(is(C::AdditionalPayment), fp.clone()),
            ),
            ("unclassified", when_then(known.clone().not(), WbMoney::payout(), zero_money()) + k(is(C::Info), fp)),
        ],
    ))
}
