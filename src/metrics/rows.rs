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

impl MetricRow {
    pub fn count(&self, name: &str) -> Option<i64> {
        self.counts.get(name).copied().flatten()
    }
    pub fn money(&self, name: &str) -> Option<i128> {
        self.money.get(name).copied().flatten()
    }
    pub fn ratio(&self, name: &str) -> Option<f64> {
        self.ratios.get(name).copied().flatten()
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
