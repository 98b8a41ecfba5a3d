//! Ozon's part of the events: its accruals, each component where it belongs, and the units of
//! its sale lines.

use polars::prelude::*;

use super::*;

/// Ozon accruals: every component signed as Ozon sends it (charges negative, income positive).
/// Units come from the line's `sale_price` component: Ozon's quantity, or when Ozon sent none
/// the quantity of that posting's line in the posting lists; unknown (null) without either.
pub(super) fn ozon_accruals(
    lf: LazyFrame,
    lake: &Lake,
    scope: &Scope<'_>,
    catalogue: &Catalogue,
    no_returns: Expr,
) -> Result<Vec<LazyFrame>, MetricsError> {
    use crate::lake::schema::accrual_kind as kind;
    let types = super::super::classify::ozon_types(&lf, Some(scope.footers(lake)), catalogue)?;
    let classified = lf.clone().join(
        types,
        [col("type_name"), col("type_description")],
        [col("type_name"), col("type_description")],
        JoinArgs::new(JoinType::Left),
    );
    let is_kind = |k: &str| col("kind").eq(lit(k.to_string()));
    let fee = kind::FEES.iter().fold(lit(false), |acc, k| acc.or(is_kind(k)));
    let cat = |c: &str| fee.clone().and(col("oz_cat").eq(lit(c.to_string())));
    let charge = |cond: Expr| when_then(cond, neg(col("amount")), zero_money());
    let income = |cond: Expr| when_then(cond, col("amount"), zero_money());
    let revenue = is_kind(kind::SALE_PRICE).or(is_kind(kind::BONUS)).or(is_kind(kind::COINVESTMENT));
    let unclassified = is_kind(kind::REMAINDER).or(fee.clone().and(col("oz_cat").is_null()));
    let money = part(
        classified,
        scope,
        "ozon",
        col("date"),
        col("sku"),
        vec![
            ("returns", no_returns.clone()),
            ("revenue", income(revenue)),
            ("commission", charge(is_kind(kind::SALE_COMMISSION).or(cat("commission")))),
            ("logistics", charge(cat("logistics"))),
            ("storage", charge(cat("storage"))),
            ("acceptance", charge(cat("acceptance"))),
            ("penalties", charge(cat("penalty"))),
            ("other_deductions", charge(cat("other"))),
            // Ozon takes ad charges from the payout: they are the ad spend, and an ad deduction.
            ("ad_deductions", charge(cat("ads"))),
            ("ad_spend", charge(cat("ads"))),
            ("transfers", charge(cat("transfer"))),
            ("compensation", income(cat("compensation"))),
            ("additional_payments", income(cat("additional_payment"))),
            ("unclassified", income(unclassified)),
        ],
    );
    // Only lines Ozon sent without a quantity need the posting lists.
    let lines = lf.filter(is_kind(kind::SALE_PRICE));
    let sent = lines.clone().filter(col("quantity").is_not_null());
    let missing = lines.filter(col("quantity").is_null()).drop(cols(["quantity"]));
    let found = with_posting_quantities(lake, missing)?;
    let units = |lf: LazyFrame, qty: Expr| {
        part(
            lf,
            scope,
            "ozon",
            col("date"),
            col("sku"),
            vec![
                ("returns", no_returns.clone()),
                ("units_sold", when_then(col("direction").gt(lit(0i64)), qty.clone(), lit(0i64))),
                ("units_returned", when_then(col("direction").lt(lit(0i64)), qty, lit(0i64))),
            ],
        )
    };
    Ok(vec![money, units(sent, col("quantity")), units(found, col("posting_quantity"))])
}

/// `lines` (accrual lines with `unit_number` and `sku`) with `posting_quantity`: that posting
/// line's quantity from the posting lists, null where they do not have it. The lists are read
/// only when there is a line to look up: they hold every posting ever loaded, and Ozon sends most
/// lines with their quantity, so most runs need none of them.
pub(in crate::metrics) fn with_posting_quantities(lake: &Lake, lines: LazyFrame) -> Result<LazyFrame, MetricsError> {
    let no_quantity = |lines: LazyFrame| lines.with_column(lit(NULL).cast(DataType::Int64).alias("posting_quantity"));
    // Whether there is one: the lines themselves stay lazy (a year of them can be many).
    if lines.clone().select([col("unit_number")]).limit(1).collect()?.height() == 0 {
        return Ok(no_quantity(lines));
    }
    Ok(match posting_quantities(lake)? {
        Some(q) => lines.join(
            q,
            [col("unit_number"), col("sku")],
            [col("posting_number"), col("sku")],
            JoinArgs::new(JoinType::Left),
        ),
        None => no_quantity(lines),
    })
}

/// Each posting line's quantity from the FBO and FBS lists (a posting is in one of them).
fn posting_quantities(lake: &Lake) -> Result<Option<LazyFrame>, MetricsError> {
    let mut parts = Vec::new();
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        if let Some(lf) = kopecks::scan(lake, ds)? {
            parts.push(lf.select([col("posting_number"), col("sku"), col("quantity").alias("posting_quantity")]));
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        concat(parts, UnionArgs::default())?
            .group_by([col("posting_number"), col("sku")])
            .agg([col("posting_quantity").first()]),
    ))
}
