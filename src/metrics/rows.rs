//! Mart frames read back into Rust rows: money as kopecks, counts, ratios, by column type.

use chrono::NaiveDate;
use polars::prelude::*;

use super::{MetricsError, SKU_COLUMNS};

/// A metrics row in Rust types; money in kopecks, `sku` "" where the mart has null.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricRow {
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    pub account: String,
    pub marketplace: String,
    pub sku: String,
    pub seller_sku: String,
    pub counts: std::collections::BTreeMap<&'static str, Option<i64>>,
    pub money: std::collections::BTreeMap<&'static str, Option<i128>>,
    pub ratios: std::collections::BTreeMap<&'static str, Option<f64>>,
    pub reconciled: Option<bool>,
    pub complete: Option<bool>,
}

/// The mart's columns as types: product code names a figure by its variant, so a misspelt or
/// retired column is a compile error rather than a `None` at run time.
macro_rules! columns {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $column:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant,)* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The column's name in the marts.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $column,)* }
            }
        }

        impl ColumnName for $name {
            fn column(&self) -> &str {
                self.name()
            }
        }
    };
}

/// Anything that names a mart column: a typed one, or its name (generic code that walks every
/// column, such as the tests' comparison with the truth).
pub trait ColumnName {
    fn column(&self) -> &str;
}

impl ColumnName for &str {
    fn column(&self) -> &str {
        self
    }
}

impl<T: ColumnName> ColumnName for &T {
    fn column(&self) -> &str {
        (**self).column()
    }
}

columns!(
    /// Counts (Int64; null where unknown).
    Count {
        Orders = "orders",
        Cancellations = "cancellations",
        Buyouts = "buyouts",
        Returns = "returns",
        UnitsSold = "units_sold",
        UnitsReturned = "units_returned",
        MissingCostUnits = "missing_cost_units",
    }
);

columns!(
    /// Money (Decimal(18,2), read as kopecks).
    Money {
        OrdersValue = "orders_value",
        BuyoutsValue = "buyouts_value",
        ReturnsValue = "returns_value",
        SalesValue = "sales_value",
        Revenue = "revenue",
        Commission = "commission",
        Compensation = "compensation",
        Logistics = "logistics",
        Storage = "storage",
        Acceptance = "acceptance",
        Penalties = "penalties",
        OtherDeductions = "other_deductions",
        AdDeductions = "ad_deductions",
        Transfers = "transfers",
        AdditionalPayments = "additional_payments",
        Unclassified = "unclassified",
        Payout = "payout",
        AdSpend = "ad_spend",
        Cogs = "cogs",
        GrossProfit = "gross_profit",
        Tax = "tax",
        NetProfit = "net_profit",
    }
);

columns!(
    /// Ratios (Float64; null on division by zero or unknown parts).
    Ratio {
        BuyoutRate = "buyout_rate",
        Margin = "margin",
        Roi = "roi",
        Drr = "drr",
    }
);

impl MetricRow {
    pub fn count(&self, c: impl ColumnName) -> Option<i64> {
        self.counts.get(c.column()).copied().flatten()
    }
    pub fn money(&self, c: impl ColumnName) -> Option<i128> {
        self.money.get(c.column()).copied().flatten()
    }
    pub fn ratio(&self, c: impl ColumnName) -> Option<f64> {
        self.ratios.get(c.column()).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_typed_column_is_a_mart_column() {
        let names = Count::ALL.iter().map(|c| c.name()).chain(Money::ALL.iter().map(|c| c.name()));
        for name in names.chain(Ratio::ALL.iter().map(|c| c.name())) {
            assert!(SKU_COLUMNS.contains(&name), "{name} is not a column of the SKU mart");
        }
    }
}

/// Reads a `by_sku` or `totals` frame back into rows, by column type.
pub fn rows(df: &DataFrame) -> Result<Vec<MetricRow>, MetricsError> {
    let mut out = vec![MetricRow::default(); df.height()];
    for c in df.columns() {
        let name = c.name().as_str();
        match c.dtype() {
            DataType::Date => {
                for (r, v) in out.iter_mut().zip(c.date()?.as_date_iter()) {
                    match name {
                        "period_from" => r.period_from = v,
                        "period_to" => r.period_to = v,
                        _ => {}
                    }
                }
            }
            DataType::String => {
                for (r, v) in out.iter_mut().zip(c.str()?.iter()) {
                    let v = v.unwrap_or_default().to_string();
                    match name {
                        "account" => r.account = v,
                        "marketplace" => r.marketplace = v,
                        "sku" => r.sku = v,
                        "seller_sku" => r.seller_sku = v,
                        _ => {}
                    }
                }
            }
            DataType::Boolean => {
                for (r, v) in out.iter_mut().zip(c.bool()?.iter()) {
                    match name {
                        "reconciled" => r.reconciled = v,
                        "complete" => r.complete = v,
                        _ => {}
                    }
                }
            }
            DataType::Int64 => {
                let key = leak(name);
                for (r, v) in out.iter_mut().zip(c.i64()?.iter()) {
                    r.counts.insert(key, v);
                }
            }
            DataType::Float64 => {
                let key = leak(name);
                for (r, v) in out.iter_mut().zip(c.f64()?.iter()) {
                    r.ratios.insert(key, v);
                }
            }
            DataType::Decimal(_, _) => {
                let key = leak(name);
                for (r, v) in out.iter_mut().zip(c.decimal()?.physical().iter()) {
                    r.money.insert(key, v);
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Column names are a small fixed set; interning them keeps `MetricRow` cheap to index.
fn leak(name: &str) -> &'static str {
    SKU_COLUMNS.iter().chain(["skus"].iter()).find(|c| **c == name).copied().unwrap_or("other")
}
