//! The sandbox seller's money: WB realization-report rows, WB ad campaigns and their statistics,
//! Ozon accruals, and the seller's purchase costs — all generated from the same sales and
//! postings the statistics and posting lists serve, so every ruble has a source.
//!
//! The rows follow what real reports contain (shared/reference/real-report-shapes.md): the full
//! WB operation mix at realistic frequencies (carrier refunds on most sales, ПВЗ credits,
//! logistics corrections and reversals, storno pairs, compensations, loyalty charges, ad
//! deductions, loans, one operation no catalogue knows) and Ozon accruals with points and
//! co-investment, acquiring, container fees, compensation pairs, lines without a quantity, a
//! total its components do not explain and a type no catalogue knows. Each row records what it
//! *is* ([`FinKind`], [`Cat`]), so the ground truth never asks mpetl's catalogue.

mod ads;
mod ozon;
mod wb;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::data::{Rng, SellerData, msk_naive};

pub use ozon::{Accrual, AccrualBody, AccrualProduct, Cat, OZON_TYPES, ozon_type};

/// WB serves realization reports from this day on.
pub const WB_FINANCE_START: (i32, u32, u32) = (2024, 1, 29);
/// WB posts logistics as «Доставка» from this day on (IG-API).
pub const WB_DELIVERY_RENAMED: (i32, u32, u32) = (2026, 9, 1);

/// What a WB realization row is. The sandbox knows because it made the row; the ground truth
/// reads money by this, never by the operation's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinKind {
    /// A sale or return document that moves goods: revenue, commission, units.
    Goods,
    /// Money on a sale document that moves no goods (sales or acquiring corrections).
    SaleMoney,
    /// WB pays for goods it lost, damaged or swapped; `units`: the unit is gone.
    Compensation {
        units: bool,
    },
    /// Logistics and its corrections (`deliveryService` as sent).
    Logistics,
    /// A logistics charge given back (`deliveryService` holds the magnitude).
    LogisticsReversal,
    /// forPay paid for a delivery the buyer paid for: logistics given back.
    PaidDelivery,
    /// WB's carriers and pickup points, paid out of WB's own fee: no money of the seller's.
    Informational,
    Storage,
    Acceptance,
    /// An acceptance charge given back.
    AcceptanceReversal,
    Penalty,
    AdDeduction,
    LoanDeduction,
    OtherDeduction,
    AdditionalPayment,
    /// Loyalty points and participation (cashback fields), signed by the document.
    LoyaltyCost,
    /// An operation nobody's catalogue knows.
    Unknown,
}

impl FinKind {
    pub fn reversal(self) -> bool {
        matches!(self, FinKind::LogisticsReversal | FinKind::AcceptanceReversal)
    }
}

/// One row of WB's `sales-reports/detailed`. Money in kopecks, `vw`/`vw_nds`/`ppvz_reward`/
/// `rebill` in ten-thousandths of a ruble; magnitudes, as WB sends them.
#[derive(Debug, Clone)]
pub struct WbFinRow {
    pub rrd_id: i64,
    pub rr_date: NaiveDate,
    /// Index into `wb_skus`, or None for rows about no article (nmId 0).
    pub sku: Option<usize>,
    pub kind: FinKind,
    pub doc_type: &'static str,
    pub oper: &'static str,
    pub bonus_type: String,
    pub srid: String,
    pub quantity: i64,
    pub retail_price: i64,
    pub retail_price_with_disc: i64,
    pub retail_amount: i64,
    pub for_pay: i64,
    pub acquiring: i64,
    pub vw: i64,
    pub vw_nds: i64,
    pub ppvz_reward: i64,
    pub rebill: i64,
    pub delivery: i64,
    pub delivery_amount: i64,
    pub return_amount: i64,
    pub storage: i64,
    pub acceptance: i64,
    pub penalty: i64,
    pub deduction: i64,
    pub additional: i64,
    pub cashback_amount: i64,
    pub cashback_discount: i64,
    pub cashback_commission_change: i64,
}

impl Default for WbFinRow {
    fn default() -> Self {
        WbFinRow {
            rrd_id: 0,
            rr_date: NaiveDate::default(),
            sku: None,
            kind: FinKind::Informational,
            doc_type: "",
            oper: "",
            bonus_type: String::new(),
            srid: String::new(),
            quantity: 0,
            retail_price: 0,
            retail_price_with_disc: 0,
            retail_amount: 0,
            for_pay: 0,
            acquiring: 0,
            vw: 0,
            vw_nds: 0,
            ppvz_reward: 0,
            rebill: 0,
            delivery: 0,
            delivery_amount: 0,
            return_amount: 0,
            storage: 0,
            acceptance: 0,
            penalty: 0,
            deduction: 0,
            additional: 0,
            cashback_amount: 0,
            cashback_discount: 0,
            cashback_commission_change: 0,
        }
    }
}

impl WbFinRow {
    /// +1 on a sale document (and on service rows, whose document type is empty), −1 on a return.
    pub fn sign(&self) -> i64 {
        if self.doc_type == "Возврат" { -1 } else { 1 }
    }

    /// +1, or −1 when the row gives its service charges back.
    pub fn direction(&self) -> i64 {
        if self.kind.reversal() { -1 } else { 1 }
    }

    /// What the row adds to «Итого к оплате», the way WB's header adds it up: forPay by the
    /// document, less the charges, plus corrections of WB's reward, less loyalty charges.
    pub fn payout(&self) -> i64 {
        let (s, r) = (self.sign(), self.direction());
        s * self.for_pay - r * (self.delivery + self.storage + self.acceptance + self.penalty + self.deduction)
            + r * self.additional
            - s * (self.cashback_amount + self.cashback_commission_change)
    }
}

/// How a WB campaign is paid (upd `paymentType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdPayment {
    /// The ad balance, topped up separately: no report row.
    Balance,
    /// The seller's account: WB deducts the spend in the weekly report.
    Account,
    /// WB's bonuses: no money of the seller's.
    Bonuses,
}

impl AdPayment {
    pub fn name(self) -> &'static str {
        match self {
            AdPayment::Balance => "Баланс",
            AdPayment::Account => "Счёт",
            AdPayment::Bonuses => "Бонусы",
        }
    }
}

#[derive(Debug, Clone)]
pub struct AdCampaign {
    pub advert_id: i64,
    pub status: i64,
    pub name: String,
    pub change_time: DateTime<Utc>,
    pub nms: Vec<usize>,
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub payment: AdPayment,
}

/// One (campaign, day, app, article) cell of fullstats.
#[derive(Debug, Clone)]
pub struct AdStat {
    pub advert_id: i64,
    pub date: NaiveDate,
    pub app_type: i64,
    pub sku: usize,
    pub views: i64,
    pub clicks: i64,
    pub orders: i64,
    pub sum: i64,
    pub sum_price: i64,
}

/// A purchase cost of one SKU from a day on.
#[derive(Debug, Clone)]
pub struct Cost {
    pub marketplace: &'static str,
    pub sku: i64,
    pub unit_cost: i64,
    pub valid_from: NaiveDate,
}

#[derive(Debug, Default)]
pub struct Finance {
    /// Sorted by rrd_id (= by rr_date).
    pub wb_rows: Vec<WbFinRow>,
    /// Sorted by (date, id).
    pub accruals: Vec<Accrual>,
    pub campaigns: Vec<AdCampaign>,
    /// Sorted by (date, advert_id, app_type, sku).
    pub ad_stats: Vec<AdStat>,
    /// fullstats spend per (campaign, day), in kopecks.
    pub spend: std::collections::HashMap<(i64, NaiveDate), i64>,
    pub costs: Vec<Cost>,
    /// Ozon's returns list, sorted by id: the buyer returns the accruals refund, and refusals.
    pub ozon_returns: Vec<super::ozon_returns::OzonReturn>,
}

fn h(parts: &[u64]) -> Rng {
    let mut x = 0xD1B5_4A32_D192_ED03u64;
    for p in parts {
        x = (x ^ p).wrapping_mul(0x100_0000_01B3).rotate_left(29);
    }
    Rng::new(x)
}

fn day_no(d: NaiveDate) -> u64 {
    d.num_days_from_ce() as u64
}

/// `vw + vwNds = total` split as WB splits its reward and the 20 % VAT on it (ten-thousandths).
fn reward_split(total: i64) -> (i64, i64) {
    let nds = total / 6;
    (total - nds, nds)
}

impl Finance {
    pub fn generate(d: &SellerData, seed: u64, first_day: NaiveDate) -> Finance {
        let today = msk_naive(d.now).date();
        let last_closed = today - Duration::days(1);
        let (campaigns, ad_stats) = ads::ads(d, seed, first_day, last_closed);
        let mut spend = std::collections::HashMap::new();
        for x in &ad_stats {
            *spend.entry((x.advert_id, x.date)).or_insert(0) += x.sum;
        }
        let wb_rows = wb::wb_rows(d, seed, first_day, last_closed, &campaigns, &spend);
        let (accruals, returned) = ozon::ozon_accruals(d, seed, first_day);
        let ozon_returns = super::ozon_returns::generate(d, seed, &returned);

        // Purchase costs: a price change mid-history for every third SKU. (Tests drop a SKU's
        // lines to see it reported missing instead of guessed.)
        let mut costs = Vec::new();
        let since = NaiveDate::from_ymd_opt(2020, 1, 1).expect("date");
        let change = today - Duration::days(120);
        for (i, s) in d.wb_skus.iter().enumerate() {
            let c = s.total_price_kop * (35 + (i as i64 % 20)) / 100 + 50;
            costs.push(Cost { marketplace: "wb", sku: s.nm_id, unit_cost: c, valid_from: since });
            if i % 3 == 0 {
                costs.push(Cost { marketplace: "wb", sku: s.nm_id, unit_cost: c * 110 / 100, valid_from: change });
            }
        }
        for (i, s) in d.ozon_skus.iter().enumerate() {
            let c = s.price_kop * (30 + (i as i64 % 25)) / 100 + 25;
            costs.push(Cost { marketplace: "ozon", sku: s.sku, unit_cost: c, valid_from: since });
            if i % 3 == 1 {
                costs.push(Cost { marketplace: "ozon", sku: s.sku, unit_cost: c * 95 / 100, valid_from: change });
            }
        }
        Finance { wb_rows, accruals, campaigns, ad_stats, spend, costs, ozon_returns }
    }

    /// The cost in force for (marketplace, sku) on `day`.
    pub fn cost_on(&self, marketplace: &str, sku: i64, day: NaiveDate) -> Option<i64> {
        self.costs
            .iter()
            .filter(|c| c.marketplace == marketplace && c.sku == sku && c.valid_from <= day)
            .max_by_key(|c| c.valid_from)
            .map(|c| c.unit_cost)
    }

    /// `data/costs.csv` of this seller.
    pub fn costs_csv(&self) -> String {
        let mut s = String::from("marketplace,sku,unit_cost,valid_from\n");
        for c in &self.costs {
            s.push_str(&format!(
                "{},{},{},{}\n",
                c.marketplace,
                c.sku,
                crate::format_kopecks(i128::from(c.unit_cost)),
                c.valid_from
            ));
        }
        s
    }

    /// What a campaign-day's upd documents say it cost, in whole rubles (WB's `updSum` is an
    /// integer of the account currency).
    pub fn upd_rubles(&self, advert_id: i64, day: NaiveDate) -> i64 {
        self.spend.get(&(advert_id, day)).copied().unwrap_or(0) / 100
    }
}
