//! Ozon finance accruals (`/v1/finance/accrual/by-day`, `/types`): every ruble Ozon charges or
//! pays, one row per component, with our category for it.

use chrono::NaiveDate;
use serde::Deserialize;

use crate::money::{Kopecks, de_money};

#[derive(Debug, Deserialize)]
pub struct ByDay {
    #[serde(default)]
    pub accruals: Vec<AccrualItem>,
    #[serde(default)]
    pub last_id: String,
}

#[derive(Debug, Deserialize)]
pub struct AccrualItem {
    pub accrual_id: i64,
    pub date: String,
    #[serde(default)]
    pub unit_number: String,
    #[serde(default)]
    pub accrued_category: String,
    pub total_amount: Option<Money>,
    pub posting: Option<AccPosting>,
    pub item_fees: Option<ItemFees>,
    pub non_item_fee: Option<Fee>,
}

#[derive(Debug, Deserialize)]
pub struct Money {
    #[serde(deserialize_with = "de_money")]
    pub amount: Kopecks,
    #[serde(default)]
    pub currency: String,
}

#[derive(Debug, Deserialize)]
pub struct AccPosting {
    #[serde(default)]
    pub products: Vec<AccProduct>,
}

#[derive(Debug, Deserialize)]
pub struct AccProduct {
    pub sku: i64,
    #[serde(default)]
    pub quantity: Option<i64>,
    pub commission: Option<AccCommission>,
    pub delivery: Option<AccDelivery>,
}

#[derive(Debug, Deserialize)]
pub struct AccCommission {
    pub seller_price: Option<Money>,
    pub sale_commission: Option<Money>,
}

#[derive(Debug, Deserialize)]
pub struct AccDelivery {
    #[serde(default)]
    pub services: Vec<Fee>,
}

#[derive(Debug, Deserialize)]
pub struct Fee {
    pub type_id: i64,
    pub accrued: Money,
}

#[derive(Debug, Deserialize)]
pub struct ItemFees {
    #[serde(default)]
    pub fees: Vec<SkuFees>,
}

#[derive(Debug, Deserialize)]
pub struct SkuFees {
    pub sku: i64,
    #[serde(default)]
    pub fees: Vec<Fee>,
}

#[derive(Debug, Deserialize)]
pub struct Types {
    #[serde(default)]
    pub accrual_types: Vec<AccrualType>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccrualType {
    pub id: i64,
    pub name: String,
}

/// Our categories for an accrual component; the metrics sum by these.
pub mod category {
    pub const REVENUE: &str = "revenue";
    pub const COMMISSION: &str = "commission";
    pub const LOGISTICS: &str = "logistics";
    pub const STORAGE: &str = "storage";
    pub const ACCEPTANCE: &str = "acceptance";
    pub const PENALTIES: &str = "penalties";
    pub const ADS: &str = "ads";
    pub const ADDITIONAL: &str = "additional_payments";
    pub const OTHER: &str = "other_deductions";
}

/// Maps an accrual type to a category by its name: Ozon has 100+ types and adds more, so the
/// rule is by keyword, and anything unrecognised lands in `other_deductions` (never dropped).
pub fn categorize(type_name: &str) -> &'static str {
    let n = type_name.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
    if has(&["продвижени", "реклам", "оплата за клик", "трафарет"]) {
        category::ADS
    } else if has(&["штраф"]) {
        category::PENALTIES
    } else if has(&["компенсац", "доплат"]) {
        category::ADDITIONAL
    } else if has(&["размещени", "хранени"]) {
        category::STORAGE
    } else if has(&["приемк", "приёмк", "обработка поставки"]) {
        category::ACCEPTANCE
    } else if has(&["логистик", "доставк", "магистрал", "последняя миля"]) {
        category::LOGISTICS
    } else {
        category::OTHER
    }
}

/// A row of `ozon_accruals`: one component of one accrual. `amount` is signed as Ozon sends it
/// (charges negative, income positive).
#[derive(Debug, Clone, Default)]
pub struct OzonAccrualRow {
    pub accrual_id: i64,
    pub component: String,
    pub date: NaiveDate,
    pub accrued_category: String,
    pub unit_number: String,
    pub sku: Option<i64>,
    pub type_id: Option<i64>,
    pub type_name: String,
    pub category: &'static str,
    pub amount: Kopecks,
    pub quantity: Option<i64>,
}

impl AccrualItem {
    /// Splits the accrual into components; checks that they add up to `total_amount`.
    pub fn into_rows(self, types: &[AccrualType]) -> Result<Vec<OzonAccrualRow>, String> {
        let date = NaiveDate::parse_from_str(self.date.get(..10).unwrap_or(""), "%Y-%m-%d")
            .map_err(|_| format!("accrual {}: `date` = {:?} is not a date", self.accrual_id, self.date))?;
        let name_of =
            |id: i64| types.iter().find(|t| t.id == id).map_or_else(|| format!("type {id}"), |t| t.name.clone());
        let base = |component: String,
                    sku: Option<i64>,
                    type_id: Option<i64>,
                    type_name: String,
                    category: &'static str,
                    amount: Kopecks,
                    quantity: Option<i64>| OzonAccrualRow {
            accrual_id: self.accrual_id,
            component,
            date,
            accrued_category: self.accrued_category.clone(),
            unit_number: self.unit_number.clone(),
            sku,
            type_id,
            type_name,
            category,
            amount,
            quantity,
        };
        let mut rows = Vec::new();
        let fee = |rows: &mut Vec<OzonAccrualRow>, prefix: &str, sku: Option<i64>, i: usize, f: &Fee| {
            let name = name_of(f.type_id);
            let cat = categorize(&name);
            rows.push(base(
                format!("{prefix}:{}:{}:{i}", sku.map_or(String::new(), |s| s.to_string()), f.type_id),
                sku,
                Some(f.type_id),
                name,
                cat,
                f.accrued.amount,
                None,
            ));
        };
        if let Some(p) = &self.posting {
            for pr in &p.products {
                if let Some(c) = &pr.commission {
                    if let Some(m) = &c.seller_price {
                        rows.push(base(
                            format!("revenue:{}", pr.sku),
                            Some(pr.sku),
                            None,
                            "Выручка".into(),
                            category::REVENUE,
                            m.amount,
                            pr.quantity,
                        ));
                    }
                    if let Some(m) = &c.sale_commission {
                        rows.push(base(
                            format!("commission:{}", pr.sku),
                            Some(pr.sku),
                            None,
                            "Комиссия за продажу".into(),
                            category::COMMISSION,
                            m.amount,
                            None,
                        ));
                    }
                }
                for (i, f) in pr.delivery.iter().flat_map(|d| d.services.iter()).enumerate() {
                    fee(&mut rows, "service", Some(pr.sku), i, f);
                }
            }
        }
        if let Some(fees) = &self.item_fees {
            for sf in &fees.fees {
                for (i, f) in sf.fees.iter().enumerate() {
                    fee(&mut rows, "item", Some(sf.sku), i, f);
                }
            }
        }
        if let Some(f) = &self.non_item_fee {
            fee(&mut rows, "nonitem", None, 0, f);
        }
        if let Some(total) = &self.total_amount {
            let sum: i64 = rows.iter().map(|r| r.amount.0).sum();
            if sum != total.amount.0 {
                return Err(format!(
                    "accrual {}: its components add up to {} but total_amount is {}",
                    self.accrual_id,
                    Kopecks(sum),
                    total.amount
                ));
            }
        }
        Ok(rows)
    }
}
