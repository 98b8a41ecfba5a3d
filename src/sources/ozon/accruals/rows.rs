//! The lake row of `ozon_accruals` and how an accrual splits into it.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use polars::prelude::{Column, PolarsResult};

use super::model::{AccrualItem, AccrualType, Money};
use crate::lake::batch::{LakeRow, month_key};
use crate::lake::columns as c;
use crate::lake::schema::accrual_kind as kind;
use crate::money::Kopecks;

/// A row of `ozon_accruals`: one component of one accrual, keyed by what it is (never by its
/// position in a list, so a re-read in another order replaces rows instead of adding them).
/// `amount` is signed as Ozon sends it: charges negative, income positive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OzonAccrualRow {
    pub accrual_id: i64,
    pub component: String,
    pub date: NaiveDate,
    pub accrued_category: String,
    pub unit_number: String,
    pub sku: Option<i64>,
    pub type_id: Option<i64>,
    pub type_name: String,
    pub type_description: String,
    pub kind: &'static str,
    pub amount: Kopecks,
    /// Ozon's quantity, on the `sale_price` component; None where Ozon sent none.
    pub quantity: Option<i64>,
    /// +1 the line sold goods, −1 it returned them, 0 it moved none (on `sale_price` only).
    pub direction: i64,
}

impl AccrualItem {
    /// Splits the accrual into components. Components that share a key (a product listed twice,
    /// a fee type repeated) are summed; whatever `total_amount` holds beyond the components is a
    /// `remainder` component, so the rows always add up to Ozon's total.
    pub fn into_rows(self, types: &[AccrualType]) -> Result<Vec<OzonAccrualRow>, String> {
        let date = NaiveDate::parse_from_str(self.date.get(..10).unwrap_or(""), "%Y-%m-%d")
            .map_err(|_| format!("accrual {}: `date` = {:?} is not a date", self.accrual_id, self.date))?;
        let type_of = |id: i64| {
            types
                .iter()
                .find(|t| t.id == id)
                .map_or_else(|| (format!("type {id}"), String::new()), |t| (t.name.clone(), t.description.clone()))
        };
        // (kind, sku, type id) → (amount, quantity); BTreeMap keeps the output order stable.
        type Key = (&'static str, Option<i64>, Option<i64>);
        let mut parts: BTreeMap<Key, (i64, Option<i64>)> = BTreeMap::new();
        let mut add = |k: &'static str, sku: Option<i64>, type_id: Option<i64>, amount: i64, qty: Option<i64>| {
            let e = parts.entry((k, sku, type_id)).or_insert((0, Some(0)));
            e.0 += amount;
            e.1 = match (e.1, qty) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        };
        let amount = |m: &Option<Money>| m.as_ref().map_or(0, |m| m.amount.0);
        for p in self.posting.iter().flat_map(|p| p.products.iter()) {
            let sku = Some(p.sku);
            if let Some(c) = &p.commission {
                add(kind::SALE_PRICE, sku, None, amount(&c.sale_price), p.quantity);
                for (k, m) in [
                    (kind::BONUS, &c.bonus),
                    (kind::COINVESTMENT, &c.coinvestment),
                    (kind::SALE_COMMISSION, &c.sale_commission),
                ] {
                    if amount(m) != 0 {
                        add(k, sku, None, amount(m), Some(0));
                    }
                }
            }
            for f in p.delivery.iter().flat_map(|d| d.services.iter()) {
                add(kind::SERVICE, sku, Some(f.type_id), f.accrued.amount.0, Some(0));
            }
        }
        for sf in self.item_fees.iter().flat_map(|f| f.fees.iter()) {
            for f in &sf.fees {
                add(kind::ITEM_FEE, Some(sf.sku), Some(f.type_id), f.accrued.amount.0, Some(0));
            }
        }
        if let Some(f) = &self.non_item_fee {
            add(kind::NON_ITEM_FEE, None, Some(f.type_id), f.accrued.amount.0, Some(0));
        }
        for f in self.container_fees.iter().flat_map(|c| c.fees.iter()) {
            add(kind::CONTAINER_FEE, None, Some(f.type_id), f.accrued.amount.0, Some(0));
        }
        let explained: i64 = parts.values().map(|v| v.0).sum();
        if let Some(total) = &self.total_amount
            && total.amount.0 != explained
        {
            parts.insert((kind::REMAINDER, None, None), (total.amount.0 - explained, Some(0)));
        }
        // A line's direction: the sign of what the buyer and Ozon's programmes paid, or failing
        // that of the commission (charged on a sale, refunded on a return).
        let direction = |sku: Option<i64>| {
            let get = |k| parts.get(&(k, sku, None)).map_or(0, |v| v.0);
            let revenue = get(kind::SALE_PRICE) + get(kind::BONUS) + get(kind::COINVESTMENT);
            if revenue != 0 { revenue.signum() } else { -get(kind::SALE_COMMISSION).signum() }
        };
        let unit_number = self.unit_number.clone().unwrap_or_default();
        let mut rows = Vec::with_capacity(parts.len());
        for (&(k, sku, type_id), &(amount, qty)) in &parts {
            let (type_name, type_description) = type_id.map_or_else(Default::default, type_of);
            let key = |parts: &[String]| parts.join(":");
            let component = match (sku, type_id) {
                (Some(s), Some(t)) => key(&[k.into(), s.to_string(), t.to_string()]),
                (Some(s), None) => key(&[k.into(), s.to_string()]),
                (None, Some(t)) => key(&[k.into(), t.to_string()]),
                (None, None) => k.to_string(),
            };
            let is_line = k == kind::SALE_PRICE;
            rows.push(OzonAccrualRow {
                accrual_id: self.accrual_id,
                component,
                date,
                accrued_category: self.accrued_category.clone(),
                unit_number: unit_number.clone(),
                sku,
                type_id,
                type_name,
                type_description,
                kind: k,
                amount: Kopecks(amount),
                quantity: if is_line { qty } else { None },
                direction: if is_line { direction(sku) } else { 0 },
            });
        }
        Ok(rows)
    }
}

impl LakeRow for OzonAccrualRow {
    fn partition(&self) -> String {
        month_key(self.date.year(), self.date.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::int("accrual_id", r.iter().map(|x| x.accrual_id)),
            c::text("component", r.iter().map(|x| x.component.as_str())),
            c::date("date", r.iter().map(|x| x.date)),
            c::text("accrued_category", r.iter().map(|x| x.accrued_category.as_str())),
            c::text("unit_number", r.iter().map(|x| x.unit_number.as_str())),
            c::opt_int("sku", r.iter().map(|x| x.sku)),
            c::opt_int("type_id", r.iter().map(|x| x.type_id)),
            c::text("type_name", r.iter().map(|x| x.type_name.as_str())),
            c::text("type_description", r.iter().map(|x| x.type_description.as_str())),
            c::text("kind", r.iter().map(|x| x.kind)),
            c::money("amount", r.iter().map(|x| x.amount))?,
            c::opt_int("quantity", r.iter().map(|x| x.quantity)),
            c::int("direction", r.iter().map(|x| x.direction)),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Vec<OzonAccrualRow> {
        let a: AccrualItem = serde_json::from_str(json).unwrap();
        let types = vec![
            AccrualType { id: 32, name: "Логистика".into(), description: String::new() },
            AccrualType { id: 29, name: "Последняя миля".into(), description: String::new() },
        ];
        a.into_rows(&types).unwrap()
    }

    #[test]
    fn a_sale_with_ozon_points_adds_up_to_its_total() {
        // A real-shaped POSTING accrual (public tool's fixture): 593.33 + 700.74 + 5.93 − 533
        // − 56 − 8.14 = 702.86, the total; the seller's price 1300 moves no money.
        let rows = parse(
            r#"{"accrual_id": 59787844001, "date": "2026-08-15", "total_amount": {"amount": "702.86", "currency": "RUB"},
            "unit_number": "95159405-0066-1", "accrued_category": "POSTING",
            "posting": {"delivery_schema": "Fbo", "products": [{"sku": 4004598018, "quantity": 1,
              "delivery": {"total_accrued": {"amount": "-64.14", "currency": "RUB"}, "services": [
                {"type_id": 32, "accrued": {"amount": "-56", "currency": "RUB"}},
                {"type_id": 29, "accrued": {"amount": "-8.14", "currency": "RUB"}}]},
              "commission": {"seller_price": {"amount": "1300", "currency": "RUB"}, "sale_price": {"amount": "593.33", "currency": "RUB"},
                "sale_commission": {"amount": "-533", "currency": "RUB"}, "commission": {"amount": "-533", "currency": "RUB"},
                "commission_ratio": "value:\"0.410000\"", "sale_amount": {"amount": "1300", "currency": "RUB"},
                "coinvestment": {"amount": "5.93", "currency": "RUB"}, "bonus": {"amount": "700.74", "currency": "RUB"}}}]},
            "item_fees": null, "non_item_fee": null, "container_fees": null}"#,
        );
        let got: Vec<(&str, i64)> = rows.iter().map(|r| (r.component.as_str(), r.amount.0)).collect();
        assert_eq!(
            got,
            [
                ("bonus:4004598018", 70_074),
                ("coinvestment:4004598018", 593),
                ("sale_commission:4004598018", -53_300),
                ("sale_price:4004598018", 59_333),
                ("service:4004598018:29", -814),
                ("service:4004598018:32", -5_600),
            ]
        );
        assert_eq!(rows.iter().map(|r| r.amount.0).sum::<i64>(), 70_286);
        let line = rows.iter().find(|r| r.kind == kind::SALE_PRICE).unwrap();
        assert_eq!((line.quantity, line.direction), (Some(1), 1));
        assert_eq!(rows.iter().find(|r| r.type_id == Some(32)).unwrap().type_name, "Логистика");
    }

    #[test]
    fn a_return_without_quantity_and_a_total_its_parts_do_not_explain() {
        let rows = parse(
            r#"{"accrual_id": 7, "date": "2026-08-20", "total_amount": {"amount": "-990.00"}, "unit_number": "1-2-1",
            "accrued_category": "POSTING", "posting": {"products": [{"sku": 5,
              "commission": {"sale_price": {"amount": "-1000"}, "sale_commission": {"amount": "150"}},
              "delivery": {"services": [{"type_id": 32, "accrued": {"amount": "-40"}}]}}]}}"#,
        );
        let line = rows.iter().find(|r| r.kind == kind::SALE_PRICE).unwrap();
        assert_eq!((line.quantity, line.direction), (None, -1), "no quantity stays unknown, never 0");
        // −1000 + 150 − 40 = −890 explained; Ozon says −990: −100 more, kept as a remainder.
        let rest = rows.iter().find(|r| r.kind == kind::REMAINDER).unwrap();
        assert_eq!(rest.amount, Kopecks(-10_000));
        assert_eq!(rows.iter().map(|r| r.amount.0).sum::<i64>(), -99_000);
    }

    #[test]
    fn fee_lists_in_another_order_give_the_same_rows() {
        let a = r#"{"accrual_id": 9, "date": "2026-08-20", "accrued_category": "ITEM", "item_fees": {"fees": [
            {"sku": 5, "fees": [{"type_id": 32, "accrued": {"amount": "-1"}}, {"type_id": 29, "accrued": {"amount": "-2"}},
                                {"type_id": 32, "accrued": {"amount": "-4"}}]}]},
            "container_fees": {"fees": [{"type_id": 29, "accrued": {"amount": "-3"}}]}}"#;
        let b = r#"{"accrual_id": 9, "date": "2026-08-20", "accrued_category": "ITEM", "item_fees": {"fees": [
            {"sku": 5, "fees": [{"type_id": 32, "accrued": {"amount": "-4"}}, {"type_id": 29, "accrued": {"amount": "-2"}},
                                {"type_id": 32, "accrued": {"amount": "-1"}}]}]},
            "container_fees": {"fees": [{"type_id": 29, "accrued": {"amount": "-3"}}]}}"#;
        assert_eq!(parse(a), parse(b));
        let comps: Vec<String> = parse(a).into_iter().map(|r| format!("{}={}", r.component, r.amount.0)).collect();
        assert_eq!(comps, ["container_fee:29=-300", "item_fee:5:29=-200", "item_fee:5:32=-500"]);
    }
}
