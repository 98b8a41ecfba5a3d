//! What Ozon's accrual endpoints answer, as serde reads it.

use serde::Deserialize;

use crate::money::{Kopecks, de_money};
use crate::sources::decode::or_default;

#[derive(Debug, Deserialize)]
pub struct ByDay {
    #[serde(default, deserialize_with = "or_default")]
    pub accruals: Vec<AccrualItem>,
    #[serde(default, deserialize_with = "or_default")]
    pub last_id: String,
}

#[derive(Debug, Deserialize)]
pub struct AccrualItem {
    pub accrual_id: i64,
    pub date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub unit_number: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub accrued_category: String,
    pub total_amount: Option<Money>,
    pub posting: Option<AccPosting>,
    pub item_fees: Option<ItemFees>,
    pub non_item_fee: Option<Fee>,
    pub container_fees: Option<ContainerFees>,
}

#[derive(Debug, Deserialize)]
pub struct Money {
    #[serde(deserialize_with = "de_money")]
    pub amount: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub currency: String,
}

#[derive(Debug, Deserialize)]
pub struct AccPosting {
    #[serde(default, deserialize_with = "or_default")]
    pub products: Vec<AccProduct>,
}

#[derive(Debug, Deserialize)]
pub struct AccProduct {
    pub sku: i64,
    /// Not every answer carries it; units then come from the posting lists (see `metrics`).
    #[serde(default, deserialize_with = "or_default")]
    pub quantity: Option<i64>,
    pub commission: Option<AccCommission>,
    pub delivery: Option<AccDelivery>,
}

#[derive(Debug, Deserialize)]
pub struct AccCommission {
    /// What the buyer paid.
    pub sale_price: Option<Money>,
    /// Ozon's points (booked under Продажи in Ozon's accrual report).
    pub bonus: Option<Money>,
    pub coinvestment: Option<Money>,
    /// Negative on a sale, positive (refunded) on a return.
    pub sale_commission: Option<Money>,
}

#[derive(Debug, Deserialize)]
pub struct AccDelivery {
    #[serde(default, deserialize_with = "or_default")]
    pub services: Vec<Fee>,
}

#[derive(Debug, Deserialize)]
pub struct Fee {
    pub type_id: i64,
    pub accrued: Money,
}

#[derive(Debug, Deserialize)]
pub struct ItemFees {
    #[serde(default, deserialize_with = "or_default")]
    pub fees: Vec<SkuFees>,
}

#[derive(Debug, Deserialize)]
pub struct SkuFees {
    pub sku: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub fees: Vec<Fee>,
}

#[derive(Debug, Deserialize)]
pub struct ContainerFees {
    #[serde(default, deserialize_with = "or_default")]
    pub fees: Vec<Fee>,
}

#[derive(Debug, Deserialize)]
pub struct Types {
    #[serde(default, deserialize_with = "or_default")]
    pub accrual_types: Vec<AccrualType>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccrualType {
    pub id: i64,
    pub name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub description: String,
}
