//! The sandbox's ground truth as a client reads it (`/__sandbox/truth`), and the comparison of
//! daily metrics with it cell by cell, to the kopeck: what the tests and `bench --sellers` check.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;

use crate::metrics::MetricRow;

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Truth {
    pub marketplace: String,
    pub day: NaiveDate,
    pub sku: String,
    pub seller_sku: String,
    pub orders: i64,
    pub orders_value: i64,
    pub cancellations: i64,
    pub buyouts: i64,
    pub returns: Option<i64>,
    pub buyouts_value: i64,
    pub returns_value: i64,
    pub units_sold: Option<i64>,
    pub units_returned: Option<i64>,
    pub revenue: i64,
    pub commission: i64,
    pub compensation: i64,
    pub logistics: i64,
    pub storage: i64,
    pub acceptance: i64,
    pub penalties: i64,
    pub other_deductions: i64,
    pub ad_deductions: i64,
    pub transfers: i64,
    pub additional_payments: i64,
    pub unclassified: i64,
    pub ad_spend: i64,
    pub cogs: Option<i64>,
}

impl Truth {
    /// What the marketplace transfers: every part of the payout, by its sign.
    pub fn payout(&self) -> i64 {
        self.revenue - self.commission + self.compensation
            - self.logistics
            - self.storage
            - self.acceptance
            - self.penalties
            - self.other_deductions
            - self.ad_deductions
            - self.transfers
            + self.additional_payments
            + self.unclassified
    }

    /// Every compared figure, by mart column name; money in kopecks.
    pub fn figures(&self) -> Vec<(&'static str, Option<i128>)> {
        let m = |v: i64| Some(i128::from(v));
        vec![
            ("orders", m(self.orders)),
            ("orders_value", m(self.orders_value)),
            ("cancellations", m(self.cancellations)),
            ("buyouts", m(self.buyouts)),
            ("returns", self.returns.map(i128::from)),
            ("buyouts_value", m(self.buyouts_value)),
            ("returns_value", m(self.returns_value)),
            ("sales_value", m(self.buyouts_value - self.returns_value)),
            ("units_sold", self.units_sold.map(i128::from)),
            ("units_returned", self.units_returned.map(i128::from)),
            ("revenue", m(self.revenue)),
            ("commission", m(self.commission)),
            ("compensation", m(self.compensation)),
            ("logistics", m(self.logistics)),
            ("storage", m(self.storage)),
            ("acceptance", m(self.acceptance)),
            ("penalties", m(self.penalties)),
            ("other_deductions", m(self.other_deductions)),
            ("ad_deductions", m(self.ad_deductions)),
            ("transfers", m(self.transfers)),
            ("additional_payments", m(self.additional_payments)),
            ("unclassified", m(self.unclassified)),
            ("payout", m(self.payout())),
            ("ad_spend", m(self.ad_spend)),
            ("cogs", self.cogs.map(i128::from)),
        ]
    }
}

/// The same figures read from a metrics row.
pub fn figures(m: &MetricRow) -> Vec<(&'static str, Option<i128>)> {
    FIGURES.iter().map(|name| (*name, m.money(name).or_else(|| m.count(name).map(i128::from)))).collect()
}

/// The compared figures, in the order `Truth::figures` lists them.
pub const FIGURES: [&str; 25] = [
    "orders",
    "orders_value",
    "cancellations",
    "buyouts",
    "returns",
    "buyouts_value",
    "returns_value",
    "sales_value",
    "units_sold",
    "units_returned",
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
    "payout",
    "ad_spend",
    "cogs",
];

/// Compares daily metrics with the truth cell by cell, to the kopeck; returns the differences.
pub fn diff(metrics: &[MetricRow], truth: &[Truth]) -> Vec<String> {
    let mut want: BTreeMap<(String, NaiveDate, String), &Truth> = BTreeMap::new();
    for t in truth {
        want.insert((t.marketplace.clone(), t.day, t.sku.clone()), t);
    }
    let mut out = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for m in metrics {
        let Some(day) = m.period_from else {
            out.push(format!("a metrics row without its day: {:?}", figures(m)));
            continue;
        };
        let key = (m.marketplace.clone(), day, m.sku.clone());
        let Some(t) = want.get(&key) else {
            out.push(format!("metrics have {key:?} which the truth lacks: {:?}", figures(m)));
            continue;
        };
        seen.insert(key.clone());
        let (got, exp) = (figures(m), t.figures());
        for ((name, g), (_, e)) in got.iter().zip(exp.iter()) {
            if g != e {
                out.push(format!("{key:?} {name}: got {g:?}, truth {e:?}"));
            }
        }
        if m.seller_sku != t.seller_sku {
            out.push(format!("{key:?} seller_sku: got {:?}, truth {:?}", m.seller_sku, t.seller_sku));
        }
    }
    for k in want.keys().filter(|k| !seen.contains(*k)).take(10) {
        out.push(format!("truth has {k:?} which the metrics lack"));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn figures_lists_its_names_in_the_order_of_figures() {
        let names: Vec<&str> = super::Truth::default().figures().into_iter().map(|f| f.0).collect();
        assert_eq!(names, super::FIGURES);
    }
}
