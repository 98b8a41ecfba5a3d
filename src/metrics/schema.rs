//! The SKU mart's columns and types: the one list the marts, the totals and the row reader share.

use polars::prelude::*;

use super::events::COUNTS;
use super::{MetricsError, Money};
use crate::lake::columns::MONEY;

/// The columns of `sku_<grain>.parquet`, in order.
pub const SKU_COLUMNS: [&str; 44] = [
    "period_from",
    "period_to",
    "account",
    "marketplace",
    "sku",
    "seller_sku",
    "product_name",
    "brand",
    "category",
    "orders",
    "orders_value",
    "cancellations",
    "buyouts",
    "returns",
    "buyouts_value",
    "returns_value",
    "sales_value",
    "buyout_rate",
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
    "missing_cost_units",
    "gross_profit",
    "tax",
    "net_profit",
    "margin",
    "roi",
    "drr",
    "reconciled",
    "complete",
];

/// Every money column of the marts: Int64 kopecks inside the stage, Decimal(18,2) outside.
pub(super) fn money_columns() -> Vec<&'static str> {
    Money::ALL.iter().map(|m| m.name()).collect()
}

/// An SKU mart with no rows, in the mart's schema.
pub(super) fn empty_sku_frame() -> Result<DataFrame, MetricsError> {
    let mut fields = Vec::new();
    for c in SKU_COLUMNS {
        let dt = match c {
            "period_from" | "period_to" => DataType::Date,
            "account" | "marketplace" | "sku" | "seller_sku" | "product_name" | "brand" | "category" => {
                DataType::String
            }
            "buyout_rate" | "margin" | "roi" | "drr" => DataType::Float64,
            "reconciled" | "complete" => DataType::Boolean,
            c if COUNTS.contains(&c) || c == "missing_cost_units" => DataType::Int64,
            _ => MONEY,
        };
        fields.push(Field::new(c.into(), dt));
    }
    Ok(DataFrame::empty_with_schema(&Schema::from_iter(fields)))
}
