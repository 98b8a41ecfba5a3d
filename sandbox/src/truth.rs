//! The ground truth: every metric per (marketplace, day, SKU), computed from the facts the
//! sandbox generated (what each row *is*), never from what it served or from mpetl's code.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;

use super::data::{SellerData, msk_naive};

impl SellerData {
    /// Ground truth per (marketplace, day, SKU) for `from..=to`, computed from the facts.
    /// Operational days are Moscow days of the events; money days are the report/accrual dates.
    /// `sku` is "" for amounts that belong to no article.
    pub fn truth(&self, from: NaiveDate, to: NaiveDate) -> Vec<TruthRow> {
        use super::finance::{AccrualBody, AdPayment, Cat, FinKind, ozon_type};
        type Cells = BTreeMap<(&'static str, NaiveDate, String), TruthRow>;
        fn cell<'a>(
            rows: &'a mut Cells,
            mp: &'static str,
            day: NaiveDate,
            sku: Option<i64>,
            seller_sku: &str,
        ) -> &'a mut TruthRow {
            let sku = sku.map_or_else(String::new, |s| s.to_string());
            rows.entry((mp, day, sku.clone())).or_insert_with(|| TruthRow {
                marketplace: mp,
                day,
                sku,
                seller_sku: seller_sku.to_string(),
                returns: Some(0),
                units_sold: Some(0),
                units_returned: Some(0),
                ..TruthRow::default()
            })
        }
        let mut rows = Cells::new();
        let in_range = |d: NaiveDate| d >= from && d <= to;
        for o in self.wb_orders.iter().filter(|o| in_range(o.date.date())) {
            let s = &self.wb_skus[o.sku];
            let r = cell(&mut rows, "wb", o.date.date(), Some(s.nm_id), &s.article);
            r.orders += 1;
            r.orders_value += o.price_with_disc_kop;
            r.cancellations += i64::from(o.cancel_date.is_some());
        }
        for x in self.wb_sales.iter().filter(|x| in_range(x.date.date())) {
            let s = &self.wb_skus[x.sku];
            let r = cell(&mut rows, "wb", x.date.date(), Some(s.nm_id), &s.article);
            if x.is_return {
                *r.returns.as_mut().expect("wb cells know returns") += 1;
                r.returns_value += x.price_with_disc_kop;
            } else {
                r.buyouts += 1;
                r.buyouts_value += x.price_with_disc_kop;
            }
        }
        for p in &self.ozon_postings {
            let day = msk_naive(p.in_process_at).date();
            if !in_range(day) {
                continue;
            }
            for pr in &p.products {
                let s = &self.ozon_skus[pr.sku];
                let r = cell(&mut rows, "ozon", day, Some(s.sku), &s.offer_id);
                r.orders += pr.quantity;
                r.orders_value += pr.quantity * s.price_kop;
                match p.status {
                    "cancelled" => r.cancellations += pr.quantity,
                    "delivered" => {
                        r.buyouts += pr.quantity;
                        r.buyouts_value += pr.quantity * s.price_kop;
                    }
                    _ => {}
                }
            }
        }
        // A buyer's return counts on the Moscow day it was handed back, at the seller's price.
        for x in self.finance.ozon_returns.iter().filter(|x| x.is_buyer_return()) {
            let day = msk_naive(x.return_at).date();
            if !in_range(day) {
                continue;
            }
            let s = &self.ozon_skus[x.sku];
            let r = cell(&mut rows, "ozon", day, Some(s.sku), &s.offer_id);
            *r.returns.as_mut().expect("ozon cells know returns") += x.quantity;
            r.returns_value += x.quantity * s.price_kop;
        }
        // Only rows of published weekly reports (the Monday after their week) are known yet.
        let today = msk_naive(self.now).date();
        let published = |d: NaiveDate| {
            d - Duration::days(i64::from(d.weekday().num_days_from_monday())) + Duration::days(7) <= today
        };
        for f in self.finance.wb_rows.iter().filter(|f| in_range(f.rr_date) && published(f.rr_date)) {
            let (nm, article) =
                f.sku.map_or((None, ""), |i| (Some(self.wb_skus[i].nm_id), self.wb_skus[i].article.as_str()));
            let r = cell(&mut rows, "wb", f.rr_date, nm, article);
            // Money by what the row is (the sandbox made it), signed by its document.
            let (s, dir) = (f.sign(), f.direction());
            let paid = s * f.for_pay;
            let units = |r: &mut TruthRow| {
                if s > 0 {
                    *r.units_sold.as_mut().expect("wb units are known") += f.quantity;
                } else {
                    *r.units_returned.as_mut().expect("wb units are known") += f.quantity;
                }
            };
            match f.kind {
                FinKind::Goods | FinKind::SaleMoney => {
                    r.revenue += s * f.retail_price_with_disc;
                    r.commission += s * f.retail_price_with_disc - paid;
                    if f.kind == FinKind::Goods {
                        units(r);
                    }
                }
                FinKind::Compensation { units: moved } => {
                    r.compensation += paid;
                    if moved {
                        units(r);
                    }
                }
                FinKind::Logistics | FinKind::LogisticsReversal => r.logistics += dir * f.delivery,
                FinKind::PaidDelivery => r.logistics -= paid,
                FinKind::Informational => {}
                FinKind::Storage => r.storage += f.storage,
                FinKind::Acceptance | FinKind::AcceptanceReversal => r.acceptance += dir * f.acceptance,
                FinKind::Penalty => r.penalties += f.penalty,
                FinKind::AdDeduction => r.ad_deductions += f.deduction,
                FinKind::LoanDeduction => r.transfers += f.deduction,
                FinKind::OtherDeduction => r.other_deductions += f.deduction,
                FinKind::AdditionalPayment => r.additional_payments += f.additional,
                FinKind::LoyaltyCost => r.other_deductions += s * (f.cashback_amount + f.cashback_commission_change),
                FinKind::Unknown => r.unclassified += f.payout(),
            }
        }
        let charge = |r: &mut TruthRow, type_id: i32, accrued: i64| match ozon_type(type_id).1 {
            Cat::Logistics => r.logistics -= accrued,
            Cat::Storage => r.storage -= accrued,
            Cat::Acceptance => r.acceptance -= accrued,
            Cat::Penalties => r.penalties -= accrued,
            Cat::Ads => {
                r.ad_spend -= accrued;
                r.ad_deductions -= accrued;
            }
            Cat::Other => r.other_deductions -= accrued,
            Cat::Commission => r.commission -= accrued,
            Cat::Compensation => r.compensation += accrued,
            Cat::Additional => r.additional_payments += accrued,
            Cat::Unknown => r.unclassified += accrued,
        };
        for a in self.finance.accruals.iter().filter(|a| in_range(a.date)) {
            match &a.body {
                AccrualBody::Posting { products, in_lists, .. } => {
                    for p in products {
                        let s = &self.ozon_skus[p.sku];
                        let r = cell(&mut rows, "ozon", a.date, Some(s.sku), &s.offer_id);
                        // Units are known when Ozon sends them, or when the posting is in the lists.
                        let known = !p.hide_quantity || *in_lists;
                        let slot = if p.revenue() >= 0 { &mut r.units_sold } else { &mut r.units_returned };
                        *slot = slot.and_then(|u| known.then_some(u + p.quantity));
                        r.revenue += p.revenue();
                        r.commission -= p.sale_commission;
                        for (t, v) in &p.services {
                            charge(r, *t, *v);
                        }
                    }
                }
                AccrualBody::Item { sku, fees } => {
                    let s = &self.ozon_skus[*sku];
                    let r = cell(&mut rows, "ozon", a.date, Some(s.sku), &s.offer_id);
                    for (t, v) in fees {
                        charge(r, *t, *v);
                    }
                }
                AccrualBody::NonItem { type_id, accrued } => {
                    charge(cell(&mut rows, "ozon", a.date, None, ""), *type_id, *accrued)
                }
                AccrualBody::Container { fees } => {
                    let r = cell(&mut rows, "ozon", a.date, None, "");
                    for (t, v) in fees {
                        charge(r, *t, *v);
                    }
                }
                AccrualBody::Bare { accrued } => cell(&mut rows, "ozon", a.date, None, "").unclassified += accrued,
            }
        }
        // Ad spend is fullstats' per article; what WB's bonuses paid is no money of the seller's,
        // taken off at the account level on the day of the spend documents.
        for st in self.finance.ad_stats.iter().filter(|s| in_range(s.date)) {
            let s = &self.wb_skus[st.sku];
            cell(&mut rows, "wb", st.date, Some(s.nm_id), &s.article).ad_spend += st.sum;
        }
        for c in self.finance.campaigns.iter().filter(|c| c.payment == AdPayment::Bonuses && c.status != 4) {
            let mut day = c.first_day.max(from);
            while day <= c.last_day.min(to) {
                let rubles = self.finance.upd_rubles(c.advert_id, day);
                if rubles != 0 {
                    cell(&mut rows, "wb", day, None, "").ad_spend -= rubles * 100;
                }
                day += Duration::days(1);
            }
        }
        for r in rows.values_mut() {
            r.cogs = match (r.units_sold, r.units_returned) {
                (Some(sold), Some(returned)) => {
                    let net = sold - returned;
                    if net == 0 {
                        Some(0)
                    } else {
                        r.sku
                            .parse()
                            .ok()
                            .and_then(|sku| self.finance.cost_on(r.marketplace, sku, r.day))
                            .map(|c| c * net)
                    }
                }
                _ => None,
            };
        }
        rows.into_values().collect()
    }
}

/// One ground-truth cell. Money in kopecks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TruthRow {
    pub marketplace: &'static str,
    pub day: NaiveDate,
    pub sku: String,
    pub seller_sku: String,
    pub orders: i64,
    pub orders_value: i64,
    pub cancellations: i64,
    pub buyouts: i64,
    /// Returned units (WB's R rows; Ozon's buyer returns from its returns list). Always known
    /// here; an option because mpetl reports it unknown where a lake lacks the returns list.
    pub returns: Option<i64>,
    pub buyouts_value: i64,
    pub returns_value: i64,
    /// None where nobody can know them (an Ozon line without quantity or posting).
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
    /// Net units × the cost in force that day; None when units moved and no cost is known, or
    /// the units are unknown.
    pub cogs: Option<i64>,
}
