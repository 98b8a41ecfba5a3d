//! The ABC marts (`marts/abc_<grain>/`): per period and account × marketplace, each SKU ranked by
//! revenue and by net profit and put in class A, B or C. Computed from each month of the SKU mart
//! of the same grain as it is written, so the two never disagree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use polars::prelude::*;

use super::{MetricRow, MetricsError, Money};
use crate::lake::columns as c;
use crate::money::Kopecks;

/// A SKU is in class A while the SKUs ranked above it hold less than 80 % of the positive total,
/// B below 95 %, C after that; a SKU whose figure is zero or negative is C, an unknown one (a
/// profit without COGS) has no class.
pub const A_BELOW: f64 = 0.80;
pub const B_BELOW: f64 = 0.95;

/// The class of each value of one group, by the rule above; ties ranked by SKU.
pub fn classes(values: &[(String, Option<i128>)]) -> Vec<Option<char>> {
    let total: i128 = values.iter().filter_map(|(_, v)| *v).filter(|v| *v > 0).sum();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].1.cmp(&values[a].1).then_with(|| values[a].0.cmp(&values[b].0)));
    let mut out = vec![None; values.len()];
    let mut above: i128 = 0;
    for i in order {
        let Some(v) = values[i].1 else { continue };
        out[i] = Some(if v <= 0 || total <= 0 {
            'C'
        } else {
            let share = above as f64 / total as f64;
            if share < A_BELOW {
                'A'
            } else if share < B_BELOW {
                'B'
            } else {
                'C'
            }
        });
        above += v.max(0);
    }
    out
}

/// Per (period, account, marketplace, SKU) of a SKU mart: revenue and net profit, their shares of
/// the group's positive total, and their classes. Money that belongs to no SKU is left out.
pub fn abc(sku: &DataFrame) -> Result<DataFrame, MetricsError> {
    // Only the columns the ranking reads: the whole mart as rows cost most of a nightly run.
    let needed = ["period_from", "period_to", "account", "marketplace", "sku", "seller_sku", "revenue", "net_profit"];
    let rows: Vec<MetricRow> = super::rows(&sku.select(needed)?)?.into_iter().filter(|r| !r.sku.is_empty()).collect();
    type Key = (Option<NaiveDate>, String, String);
    let mut groups: BTreeMap<Key, Vec<usize>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        groups.entry((r.period_from, r.account.clone(), r.marketplace.clone())).or_default().push(i);
    }
    let n = rows.len();
    let (mut revenue_class, mut profit_class) = (vec![None; n], vec![None; n]);
    let (mut revenue_share, mut profit_share) = (vec![None; n], vec![None; n]);
    for members in groups.values() {
        for (figure, class, share) in [
            (Money::Revenue, &mut revenue_class, &mut revenue_share),
            (Money::NetProfit, &mut profit_class, &mut profit_share),
        ] {
            let values: Vec<(String, Option<i128>)> =
                members.iter().map(|&i| (rows[i].sku.clone(), rows[i].money(figure))).collect();
            let total: i128 = values.iter().filter_map(|(_, v)| *v).filter(|v| *v > 0).sum();
            for (k, cl) in classes(&values).into_iter().enumerate() {
                let i = members[k];
                class[i] = cl.map(String::from);
                share[i] = values[k].1.filter(|_| total > 0).map(|v| v.max(0) as f64 / total as f64);
            }
        }
    }
    // A mart's Decimal(18,2) always fits; a value that does not is an error, not a clamp.
    let kop = |v: Option<i128>| -> Result<Option<Kopecks>, MetricsError> {
        v.map(|v| {
            i64::try_from(v).map(Kopecks).map_err(|_| {
                MetricsError::Polars(polars_err!(ComputeError: "an ABC amount of {v} kopecks is beyond Decimal(18,2)"))
            })
        })
        .transpose()
    };
    let revenue = rows.iter().map(|r| kop(r.money(Money::Revenue))).collect::<Result<Vec<_>, _>>()?;
    let net_profit = rows.iter().map(|r| kop(r.money(Money::NetProfit))).collect::<Result<Vec<_>, _>>()?;
    let date = |d: Option<NaiveDate>| d.unwrap_or(crate::clock::EPOCH);
    let df = DataFrame::new_infer_height(vec![
        c::date("period_from", rows.iter().map(|r| date(r.period_from))),
        c::date("period_to", rows.iter().map(|r| date(r.period_to))),
        c::text("account", rows.iter().map(|r| r.account.as_str())),
        c::text("marketplace", rows.iter().map(|r| r.marketplace.as_str())),
        c::text("sku", rows.iter().map(|r| r.sku.as_str())),
        c::text("seller_sku", rows.iter().map(|r| r.seller_sku.as_str())),
        c::opt_money("revenue", revenue.into_iter())?,
        Column::new("revenue_share".into(), revenue_share),
        c::opt_text("revenue_class", revenue_class.iter().map(|c| c.as_deref())),
        c::opt_money("net_profit", net_profit.into_iter())?,
        Column::new("profit_share".into(), profit_share),
        c::opt_text("profit_class", profit_class.iter().map(|c| c.as_deref())),
    ])?;
    Ok(df)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[(&str, Option<i128>)]) -> Vec<(String, Option<i128>)> {
        items.iter().map(|(s, v)| (s.to_string(), *v)).collect()
    }

    #[test]
    fn classes_follow_the_cumulative_share_above_each_sku() {
        // Total 1000: a (500) has 0 above → A; b (300) 50 % → A; c (150) 80 % → B; d (50) 95 % → C.
        let got = classes(&v(&[("d", Some(50)), ("b", Some(300)), ("a", Some(500)), ("c", Some(150))]));
        assert_eq!(got, [Some('C'), Some('A'), Some('A'), Some('B')]);
        // One SKU holding 90 % is still A; a loss is C; an unknown profit has no class.
        let got = classes(&v(&[("x", Some(900)), ("y", Some(100)), ("z", Some(-40)), ("u", None)]));
        assert_eq!(got, [Some('A'), Some('B'), Some('C'), None]);
        // Ties are ranked by SKU (p before q, both A); r, with 80 % above it, is B.
        let got = classes(&v(&[("q", Some(400)), ("p", Some(400)), ("r", Some(200))]));
        assert_eq!(got, [Some('A'), Some('A'), Some('B')]);
        assert_eq!(classes(&v(&[("a", Some(0))])), [Some('C')]);
    }
}
