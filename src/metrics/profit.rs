//! COGS, tax, profit and the ratios: computed in Rust over the aggregated rows, where the rounding
//! and the "unknown stays unknown" rules are explicit.

use polars::prelude::*;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::config::{Tax, TaxMode};
use crate::costs::Costs;

use super::kopecks::{column as money_column, values as money_values};

/// Adds `cogs` (net units × the cost in force that day; null when units moved and no cost is
/// known) and `missing_cost_units` to a per-day frame.
pub fn add_cogs(df: &mut DataFrame, costs: &Costs) -> PolarsResult<()> {
    let mp: Vec<Option<&str>> = df.column("marketplace")?.str()?.iter().collect();
    let sku: Vec<Option<&str>> = df.column("sku")?.str()?.iter().collect();
    let day: Vec<Option<chrono::NaiveDate>> = df.column("day")?.date()?.as_date_iter().collect();
    let sold: Vec<Option<i64>> = df.column("units_sold")?.i64()?.iter().collect();
    let returned: Vec<Option<i64>> = df.column("units_returned")?.i64()?.iter().collect();
    let mut cogs = Vec::with_capacity(df.height());
    let mut missing = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        // Units nobody can know (an Ozon line without quantity or posting) make COGS unknown.
        let Some(net) = sold[i].zip(returned[i]).map(|(s, r)| s - r) else {
            cogs.push(None);
            missing.push(0);
            continue;
        };
        let cost = match (mp[i], sku[i], day[i]) {
            (Some(m), Some(s), Some(d)) if net != 0 => costs.on(m, s, d),
            _ => None,
        };
        match (net, cost) {
            (0, _) => {
                cogs.push(Some(0));
                missing.push(0);
            }
            (n, Some(c)) => {
                cogs.push(Some(i128::from(n) * i128::from(c.0)));
                missing.push(0);
            }
            (n, None) => {
                cogs.push(None);
                missing.push(n);
            }
        }
    }
    df.with_column(money_column("cogs", cogs)?)?;
    df.with_column(Column::new("missing_cost_units".into(), missing))?;
    Ok(())
}

fn ratio(a: Option<i128>, b: Option<i128>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0 => Some(a as f64 / b as f64),
        _ => None,
    }
}

/// Adds gross_profit, tax, net_profit, margin, roi and drr.
///
/// gross = payout + ad deductions + transfers − COGS: what the sales earned after the
/// marketplace's fees and the goods, before advertising (ad charges the marketplace took from the
/// payout are counted in ad spend instead, and loan transfers are neither cost nor income);
/// net = gross − ad spend − tax. Tax is rounded half away from zero to the kopeck and never
/// below zero for a period: `revenue` mode taxes revenue + compensation (УСН «доходы» taxes all
/// income received), `profit` mode taxes gross − ad spend (УСН «доходы минус расходы»), and a
/// loss owes nothing. Unknown COGS makes every figure that depends on it unknown.
pub fn add_profit(df: &mut DataFrame, tax: &Tax) -> PolarsResult<()> {
    let revenue = money_values(df, "revenue")?;
    let compensation = money_values(df, "compensation")?;
    let payout = money_values(df, "payout")?;
    let ads = money_values(df, "ad_spend")?;
    let ad_deductions = money_values(df, "ad_deductions")?;
    let transfers = money_values(df, "transfers")?;
    let cogs = money_values(df, "cogs")?;
    let n = df.height();
    let (mut gross, mut taxes, mut net) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut margin, mut roi, mut drr) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    let rate = |base: i128| -> i128 {
        if base <= 0 {
            return 0;
        }
        let mut t = (Decimal::from_i128_with_scale(base, 2) * tax.rate)
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        t.rescale(2);
        t.mantissa()
    };
    let v = |x: &[Option<i128>], i: usize| x[i].unwrap_or(0);
    for i in 0..n {
        let (rev, ad) = (v(&revenue, i), v(&ads, i));
        let g = match (payout[i], cogs[i]) {
            (Some(p), Some(c)) => Some(p + v(&ad_deductions, i) + v(&transfers, i) - c),
            _ => None,
        };
        let t = match tax.mode {
            TaxMode::None => Some(0),
            TaxMode::Revenue => Some(rate(rev + v(&compensation, i))),
            TaxMode::Profit => g.map(|g| rate(g - ad)),
        };
        let nt = match (g, t) {
            (Some(g), Some(t)) => Some(g - ad - t),
            _ => None,
        };
        margin.push(ratio(nt, Some(rev)));
        roi.push(ratio(nt, cogs[i]));
        drr.push(ratio(Some(ad), Some(rev)));
        gross.push(g);
        taxes.push(t);
        net.push(nt);
    }
    df.with_column(money_column("gross_profit", gross)?)?;
    df.with_column(money_column("tax", taxes)?)?;
    df.with_column(money_column("net_profit", net)?)?;
    df.with_column(Column::new("margin".into(), margin))?;
    df.with_column(Column::new("roi".into(), roi))?;
    df.with_column(Column::new("drr".into(), drr))?;
    Ok(())
}

/// SKUs that sold units with no cost in the costs file, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingCost {
    pub marketplace: String,
    pub sku: String,
    pub seller_sku: String,
    pub units: i64,
}

pub fn missing_costs(by_sku: &DataFrame) -> PolarsResult<Vec<MissingCost>> {
    let df = by_sku
        .clone()
        .lazy()
        .filter(col("missing_cost_units").neq(lit(0i64)))
        .group_by([col("marketplace"), col("sku")])
        .agg([col("seller_sku").first(), col("missing_cost_units").sum()])
        .sort(["marketplace", "sku"], Default::default())
        .collect()?;
    let text = |n: &str| -> PolarsResult<Vec<String>> {
        Ok(df.column(n)?.str()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
    };
    let (mp, sku, label) = (text("marketplace")?, text("sku")?, text("seller_sku")?);
    let units: Vec<i64> = df.column("missing_cost_units")?.i64()?.iter().map(|v| v.unwrap_or(0)).collect();
    Ok((0..df.height())
        .map(|i| MissingCost {
            marketplace: mp[i].clone(),
            sku: sku[i].clone(),
            seller_sku: label[i].clone(),
            units: units[i],
        })
        .collect())
}
