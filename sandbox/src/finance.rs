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

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::data::{Rng, SellerData, msk_naive};

/// WB serves realization reports from this day on.
pub const WB_FINANCE_START: (i32, u32, u32) = (2024, 1, 29);
/// WB posts logistics as «Доставка» from this day on (IG-API).
pub const WB_DELIVERY_RENAMED: (i32, u32, u32) = (2026, 9, 1);

/// What an Ozon fee is, as the sandbox (playing Ozon) knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cat {
    Logistics,
    Storage,
    Acceptance,
    Penalties,
    Ads,
    Other,
    Commission,
    Compensation,
    Additional,
    /// A type the sandbox made up for the test of unknown operations.
    Unknown,
}

/// Ozon's accrual type dictionary as the sandbox serves it (`/v1/finance/accrual/types`): names
/// in the words public tools met them in, one that no catalogue knows.
pub const OZON_TYPES: [(i32, &str, &str, Cat); 17] = [
    (32, "Логистика", "Доставка товара от склада до места выдачи", Cat::Logistics),
    (29, "Последняя миля", "Доставка до покупателя", Cat::Logistics),
    (33, "Обратная логистика", "Возврат товара на склад", Cat::Logistics),
    (34, "Обработка отправления Drop-off", "Приём отправления в пункте", Cat::Logistics),
    (41, "Услуга размещения товаров на складе", "Хранение товаров", Cat::Storage),
    (42, "Обработка поставки", "Приёмка поставки на склад", Cat::Acceptance),
    (51, "Оплата за клик", "Продвижение с оплатой за клик", Cat::Ads),
    (52, "Продвижение в поиске", "Трафик из поиска", Cat::Ads),
    (61, "Штраф за отмену заказа", "Отмена по вине продавца", Cat::Penalties),
    (71, "Подписка Premium Plus", "Ежемесячная подписка", Cat::Other),
    (72, "Оплата эквайринга", "Приём платежа покупателя", Cat::Commission),
    (81, "Компенсация за утерю товара", "Ozon потерял товар", Cat::Compensation),
    (82, "Декомпенсация", "Отмена компенсации", Cat::Compensation),
    (91, "Корректировка продавцу", "Доплата по претензии", Cat::Additional),
    (95, "Размещение контейнера на складе", "Плата за контейнер", Cat::Storage),
    (99, "Корректировка взаиморасчётов", "Прочие корректировки", Cat::Unknown),
    (12, "Превышение индекса ошибок", "Штраф за ошибки", Cat::Penalties),
];

pub fn ozon_type(id: i32) -> (&'static str, Cat) {
    OZON_TYPES.iter().find(|t| t.0 == id).map(|t| (t.1, t.3)).expect("known type id")
}

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

#[derive(Debug, Clone)]
pub struct AccrualProduct {
    pub sku: usize,
    pub quantity: i64,
    /// Ozon sends no quantity on this line (then units come from the posting, if there is one).
    pub hide_quantity: bool,
    /// The seller's price of the line; what moves is sale_price + bonus + coinvestment of it.
    pub seller_price: i64,
    /// What the buyer paid; negative on returns.
    pub sale_price: i64,
    pub bonus: i64,
    pub coinvestment: i64,
    /// Negative on sales (charged), positive on returns (refunded).
    pub sale_commission: i64,
    pub services: Vec<(i32, i64)>,
}

impl AccrualProduct {
    pub fn revenue(&self) -> i64 {
        self.sale_price + self.bonus + self.coinvestment
    }
}

#[derive(Debug, Clone)]
pub enum AccrualBody {
    /// `in_lists`: the posting is in the FBO/FBS lists (a cross-border one is not).
    Posting {
        posting_number: String,
        schema: &'static str,
        in_lists: bool,
        products: Vec<AccrualProduct>,
    },
    Item {
        sku: usize,
        fees: Vec<(i32, i64)>,
    },
    NonItem {
        type_id: i32,
        accrued: i64,
    },
    Container {
        fees: Vec<(i32, i64)>,
    },
    /// A total and nothing that explains it.
    Bare {
        accrued: i64,
    },
}

#[derive(Debug, Clone)]
pub struct Accrual {
    pub id: i64,
    pub date: NaiveDate,
    pub body: AccrualBody,
}

impl Accrual {
    pub fn total(&self) -> i64 {
        match &self.body {
            AccrualBody::Posting { products, .. } => products
                .iter()
                .map(|p| p.revenue() + p.sale_commission + p.services.iter().map(|s| s.1).sum::<i64>())
                .sum(),
            AccrualBody::Item { fees, .. } | AccrualBody::Container { fees } => fees.iter().map(|f| f.1).sum(),
            AccrualBody::NonItem { accrued, .. } | AccrualBody::Bare { accrued } => *accrued,
        }
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
        let (campaigns, ad_stats) = ads(d, seed, first_day, last_closed);
        let mut spend = std::collections::HashMap::new();
        for x in &ad_stats {
            *spend.entry((x.advert_id, x.date)).or_insert(0) += x.sum;
        }
        let wb_rows = wb_rows(d, seed, first_day, last_closed, &campaigns, &spend);
        let (accruals, returned) = ozon_accruals(d, seed, first_day);
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

/// WB ad campaigns: one never started (status 4: no statistics), the rest ran for a while, paid
/// from the ad balance, the seller's account or WB's bonuses.
fn ads(d: &SellerData, seed: u64, first_day: NaiveDate, last_closed: NaiveDate) -> (Vec<AdCampaign>, Vec<AdStat>) {
    let n_campaigns = (d.wb_skus.len() / 8).max(3);
    let history = (last_closed - first_day).num_days().max(1);
    let mut campaigns = Vec::new();
    for c in 0..n_campaigns {
        let mut r = h(&[seed, 5, c as u64]);
        let start = first_day + Duration::days(r.below(history as u64 / 2) as i64);
        let end = (start + Duration::days(60 + r.below(history as u64) as i64)).min(last_closed);
        let status = match c % 4 {
            0 => 4,
            1 => 7,
            2 => 11,
            _ => 9,
        };
        let payment = match c % 4 {
            1 => AdPayment::Account,
            2 => AdPayment::Bonuses,
            _ => AdPayment::Balance,
        };
        let nms: Vec<usize> = (0..2 + r.below(3) as usize)
            .map(|k| (c * 5 + k * 3) % d.wb_skus.len())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        campaigns.push(AdCampaign {
            advert_id: 20_000_000 + c as i64 * 37,
            status,
            name: format!("Кампания {c}"),
            change_time: super::data::SellerData::msk_to_utc(end.and_hms_opt(12, 12, 52).expect("time")),
            nms,
            first_day: start,
            last_day: end,
            payment,
        });
    }
    let mut ad_stats = Vec::new();
    for c in campaigns.iter().filter(|c| c.status != 4) {
        let mut day = c.first_day;
        while day <= c.last_day {
            for &sku in &c.nms {
                let mut r = h(&[seed, 6, c.advert_id as u64, day_no(day), sku as u64]);
                let sum = 5000 + r.below(35_000) as i64;
                let site = sum * 40 / 100;
                for (app, part) in [(1, site), (32, sum - site)] {
                    ad_stats.push(AdStat {
                        advert_id: c.advert_id,
                        date: day,
                        app_type: app,
                        sku,
                        views: 50 + r.below(1000) as i64,
                        clicks: 1 + r.below(30) as i64,
                        orders: r.below(3) as i64,
                        sum: part,
                        sum_price: r.below(3) as i64 * d.wb_skus[sku].total_price_kop / 2,
                    });
                }
            }
            day += Duration::days(1);
        }
    }
    ad_stats.sort_by_key(|s| (s.date, s.advert_id, s.app_type, s.sku));
    (campaigns, ad_stats)
}

fn ymd(t: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.0, t.1, t.2).expect("date")
}

/// The realization report's rows, sale by sale and day by day.
fn wb_rows(
    d: &SellerData,
    seed: u64,
    first_day: NaiveDate,
    last_closed: NaiveDate,
    campaigns: &[AdCampaign],
    spend: &std::collections::HashMap<(i64, NaiveDate), i64>,
) -> Vec<WbFinRow> {
    let finance_start = ymd(WB_FINANCE_START);
    let renamed = ymd(WB_DELIVERY_RENAMED);
    let mut rows = Vec::new();
    let in_reports = |day: NaiveDate| day >= finance_start && day <= last_closed;
    for s in &d.wb_sale_facts {
        let day = s.date.date();
        if !in_reports(day) {
            continue;
        }
        let sku = &d.wb_skus[s.sku];
        let mut r = h(&[seed, 1, day_no(day), s.sale_id.len() as u64, s.sale_id.bytes().map(u64::from).sum()]);
        let base = WbFinRow { rr_date: day, sku: Some(s.sku), srid: s.srid.clone(), ..Default::default() };
        let doc = if s.is_return { "Возврат" } else { "Продажа" };
        let acquiring = s.price_with_disc_kop * 15 / 1000;
        // ppvz_for_pay = retail_amount − vw − vw_nds − acquiring: WB's reward, negative when WB
        // pays for its own discount to the buyer.
        let (vw, vw_nds) = reward_split((s.finished_price_kop - s.for_pay_kop - acquiring) * 100);
        let goods = WbFinRow {
            kind: FinKind::Goods,
            doc_type: doc,
            oper: doc,
            quantity: 1,
            retail_price: sku.total_price_kop,
            retail_price_with_disc: s.price_with_disc_kop,
            retail_amount: s.finished_price_kop,
            for_pay: s.for_pay_kop,
            acquiring,
            vw,
            vw_nds,
            ..base.clone()
        };
        rows.push(goods.clone());
        // A storno pair now and then: the document reversed, then booked again correctly.
        if r.chance(0.004) {
            let later = day + Duration::days(7);
            if in_reports(later) {
                let (storno, correct, storno_doc, correct_doc) = if s.is_return {
                    ("Сторно возвратов", "Корректный возврат", "Продажа", "Возврат")
                } else {
                    ("Сторно продаж", "Корректная продажа", "Возврат", "Продажа")
                };
                rows.push(WbFinRow { rr_date: later, doc_type: storno_doc, oper: storno, ..goods.clone() });
                rows.push(WbFinRow { rr_date: later, doc_type: correct_doc, oper: correct, ..goods.clone() });
            }
        }
        // Logistics, often a day later (crossing weeks and months as in real reports).
        let leg_day = day + Duration::days(i64::from(r.chance(0.3)));
        if in_reports(leg_day) {
            let delivery = if s.is_return { 5000 } else { 5000 + r.below(4000) as i64 };
            let leg = WbFinRow {
                rr_date: leg_day,
                kind: FinKind::Logistics,
                oper: if leg_day >= renamed { "Доставка" } else { "Логистика" },
                bonus_type: if s.is_return {
                    "От клиента при возврате"
                } else {
                    "К клиенту при продаже"
                }
                .into(),
                delivery,
                delivery_amount: i64::from(!s.is_return),
                return_amount: i64::from(s.is_return),
                ..base.clone()
            };
            rows.push(leg.clone());
            let fix_day = leg_day + Duration::days(1 + r.below(3) as i64);
            if r.chance(0.025) && in_reports(fix_day) {
                let amount = r.below(6000) as i64 - 3000;
                rows.push(WbFinRow {
                    rr_date: fix_day,
                    kind: FinKind::Logistics,
                    oper: "Коррекция логистики",
                    bonus_type: "Коррекция логистики".into(),
                    delivery: amount,
                    delivery_amount: 0,
                    return_amount: 0,
                    ..base.clone()
                });
            } else if r.chance(0.006) && in_reports(fix_day) {
                rows.push(WbFinRow {
                    rr_date: fix_day,
                    kind: FinKind::LogisticsReversal,
                    oper: "Логистика сторно",
                    delivery_amount: 0,
                    return_amount: 0,
                    ..leg
                });
            }
        }
        // Carriers and pickup points WB pays out of its own reward: rebillLogisticCost with
        // vw + vwNds = −rebill and forPay 0; no article on most (U1, U2).
        if !s.is_return && r.chance(0.85) {
            for k in 0..1 + r.below(3) {
                let rebill = 10_000 + r.below(290_000) as i64 + if k == 0 { 49 } else { 0 };
                let (vw, vw_nds) = reward_split(-rebill);
                rows.push(WbFinRow {
                    kind: FinKind::Informational,
                    oper: "Возмещение издержек по перевозке/по складским операциям с товаром",
                    sku: if r.chance(0.58) { None } else { Some(s.sku) },
                    srid: String::new(),
                    quantity: r.below(3) as i64,
                    rebill,
                    vw,
                    vw_nds,
                    ..base.clone()
                });
            }
        }
        if r.chance(0.45) {
            let reward = 30_000 + r.below(120_000) as i64;
            let (vw, vw_nds) = reward_split(-reward);
            rows.push(WbFinRow {
                kind: FinKind::Informational,
                oper: "Возмещение за выдачу и возврат товаров на ПВЗ",
                sku: None,
                srid: String::new(),
                ppvz_reward: reward,
                vw,
                vw_nds,
                ..base.clone()
            });
        }
    }
    // Orders cancelled after shipping still cost both legs of logistics.
    for o in d.wb_orders.iter().filter(|o| o.cancel_date.is_some()) {
        let day = o.cancel_date.expect("cancelled").date();
        let mut r = h(&[seed, 7, day_no(day), o.srid.bytes().map(u64::from).sum()]);
        if !in_reports(day) || !r.chance(0.3) {
            continue;
        }
        for (leg, delivery) in [("К клиенту при отмене", 4000 + r.below(3000) as i64), ("От клиента при отмене", 5000)]
        {
            rows.push(WbFinRow {
                rr_date: day,
                sku: Some(o.sku),
                srid: o.srid.clone(),
                kind: FinKind::Logistics,
                oper: if day >= renamed { "Доставка" } else { "Логистика" },
                bonus_type: leg.into(),
                delivery,
                ..Default::default()
            });
        }
    }
    let n_skus = d.wb_skus.len() as u64;
    let mut day = first_day.max(finance_start);
    while day <= last_closed {
        let mut r = h(&[seed, 2, day_no(day)]);
        let any_sku = |r: &mut Rng| r.below(n_skus) as usize;
        let price = |i: usize| d.wb_skus[i].total_price_kop * (100 - d.wb_skus[i].discount_percent) / 100;
        for i in 0..d.wb_skus.len() {
            rows.push(WbFinRow {
                rr_date: day,
                sku: Some(i),
                kind: FinKind::Storage,
                oper: "Хранение",
                storage: 100 + r.below(600) as i64,
                ..Default::default()
            });
            if day.weekday() == chrono::Weekday::Mon && i % 4 == 0 {
                rows.push(WbFinRow {
                    rr_date: day,
                    sku: Some(i),
                    kind: FinKind::Acceptance,
                    oper: "Платная приемка",
                    acceptance: 1500 + r.below(18_500) as i64,
                    ..Default::default()
                });
            }
        }
        let mut push = |row: WbFinRow| rows.push(WbFinRow { rr_date: day, ..row });
        if day.weekday() == chrono::Weekday::Tue {
            for _ in 0..2 {
                push(WbFinRow {
                    sku: Some(any_sku(&mut r)),
                    kind: FinKind::Storage,
                    oper: "Пересчет хранения",
                    storage: r.below(1000) as i64 - 500,
                    ..Default::default()
                });
            }
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::Acceptance,
                oper: "Обработка товара",
                acceptance: 2000 + r.below(3000) as i64,
                ..Default::default()
            });
        }
        if day.day() == 5 {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::Acceptance,
                oper: "Пересчет платной приемки",
                acceptance: r.below(20_000) as i64 - 10_000,
                ..Default::default()
            });
        }
        if day.day() == 18 {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::AcceptanceReversal,
                oper: "Сторно платной приемки",
                acceptance: 3000 + r.below(5000) as i64,
                ..Default::default()
            });
        }
        if day.num_days_from_ce() % 10 == 0 {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::Penalty,
                oper: "Штраф",
                bonus_type: "Штраф МП. Невыполненный заказ (отмена клиентом после недовоза)".into(),
                penalty: 30_000,
                ..Default::default()
            });
        }
        if day.day() == 1 {
            // Deductions are about the account, not an article.
            push(WbFinRow {
                kind: FinKind::OtherDeduction,
                oper: "Удержание",
                bonus_type: "Джем-подписка".into(),
                deduction: 150_000,
                ..Default::default()
            });
        }
        if day.num_days_from_ce() % 45 == 11 {
            push(WbFinRow {
                kind: FinKind::LoanDeduction,
                oper: "Удержание",
                bonus_type: "Погашение по займу".into(),
                deduction: 1_000_000,
                ..Default::default()
            });
        }
        if day.num_days_from_ce() % 20 == 3 {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::AdditionalPayment,
                oper: "Доплата",
                additional: 12_345,
                ..Default::default()
            });
        }
        if day.day() == 15 {
            // An operation no public tool lists: the catalogue cannot know it.
            push(WbFinRow {
                kind: FinKind::Unknown,
                oper: "Корректировка стоимости складских услуг",
                bonus_type: "Корректировка стоимости складских услуг".into(),
                deduction: 25_000,
                ..Default::default()
            });
        }
        // Compensations: goods WB lost, swapped or damaged, and advances.
        let comp = |r: &mut Rng, oper: &'static str, units: bool, share: i64| {
            let i = any_sku(r);
            let p = price(i);
            WbFinRow {
                sku: Some(i),
                kind: FinKind::Compensation { units },
                doc_type: "Продажа",
                oper,
                quantity: i64::from(units),
                retail_price: d.wb_skus[i].total_price_kop,
                retail_amount: p,
                for_pay: p * share / 100,
                ..Default::default()
            }
        };
        if r.chance(0.05) {
            push(comp(&mut r, "Оплата потерянного товара", true, 90));
        }
        if r.chance(0.03) {
            push(comp(&mut r, "Компенсация подмененного товара", true, 76));
        }
        if r.chance(0.03) {
            push(comp(&mut r, "Компенсация ущерба", false, 30));
        }
        if r.chance(0.01) {
            push(comp(&mut r, "Частичная компенсация брака", false, 20));
        }
        if r.chance(0.01) {
            push(comp(&mut r, "Добровольная компенсация при возврате", false, 50));
        }
        if r.chance(0.005) {
            push(comp(&mut r, "Авансовая оплата за товар без движения", false, 300));
        }
        if r.chance(0.03) {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::SaleMoney,
                doc_type: "Продажа",
                oper: "Коррекция продаж",
                for_pay: 5000 + r.below(200_000) as i64,
                ..Default::default()
            });
        }
        if r.chance(0.04) {
            let fee = 50 + r.below(1650) as i64;
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::SaleMoney,
                doc_type: if r.chance(0.5) { "Продажа" } else { "Возврат" },
                oper: "Корректировка эквайринга",
                for_pay: fee,
                acquiring: -fee,
                ..Default::default()
            });
        }
        if r.chance(0.05) {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::PaidDelivery,
                doc_type: "Продажа",
                oper: "Услуга платной доставки",
                for_pay: 3000 + r.below(7000) as i64,
                ..Default::default()
            });
        }
        if r.chance(0.03) {
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::LoyaltyCost,
                doc_type: "Продажа",
                oper: "Стоимость участия в программе лояльности",
                cashback_commission_change: 20 + r.below(5000) as i64,
                ..Default::default()
            });
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::LoyaltyCost,
                doc_type: if r.chance(0.2) { "Возврат" } else { "Продажа" },
                oper: "Сумма, удержанная за начисленные баллы программы лояльности",
                cashback_amount: 200 + r.below(10_000) as i64,
                ..Default::default()
            });
            let disc = 1900 + r.below(20_000) as i64;
            push(WbFinRow {
                sku: Some(any_sku(&mut r)),
                kind: FinKind::Compensation { units: false },
                doc_type: "Продажа",
                oper: "Компенсация скидки по программе лояльности",
                for_pay: disc,
                cashback_discount: disc,
                ..Default::default()
            });
        }
        // Ads paid from the seller's account: WB deducts the week's spend on its last day.
        if day.weekday() == chrono::Weekday::Sun {
            for c in campaigns.iter().filter(|c| c.payment == AdPayment::Account) {
                let week: i64 =
                    (0..7).map(|k| spend.get(&(c.advert_id, day - Duration::days(k))).copied().unwrap_or(0)).sum();
                if week > 0 {
                    push(WbFinRow {
                        kind: FinKind::AdDeduction,
                        oper: "Удержание",
                        bonus_type: format!(
                            "Оказание услуг «ВБ.Продвижение», документ № {}",
                            c.advert_id * 1000 + (day_no(day) % 1000) as i64
                        ),
                        deduction: week,
                        ..Default::default()
                    });
                }
            }
        }
        day += Duration::days(1);
    }
    rows.sort_by_key(|r| r.rr_date);
    for (i, r) in rows.iter_mut().enumerate() {
        r.rrd_id = 1_200_000_000 + i as i64 * 3;
    }
    rows
}

/// Ozon accrues a posting about two weeks after delivery, a return two weeks after it. Also
/// the postings the buyer returned (index, when), for the returns list.
fn ozon_accruals(d: &SellerData, seed: u64, first_day: NaiveDate) -> (Vec<Accrual>, Vec<(usize, DateTime<Utc>)>) {
    let today_utc = d.now.date_naive();
    let mut accruals = Vec::new();
    let mut returns = Vec::new();
    for (index, p) in d.ozon_postings.iter().enumerate() {
        let Some(delivered) = p.delivered_at else { continue };
        let schema = match p.schema {
            super::data::OzonSchema::Fbo => "FBO",
            super::data::OzonSchema::Fbs => "FBS",
        };
        let mut r = h(&[seed, 3, p.order_id as u64]);
        let date = (delivered + Duration::days(14)).date_naive();
        if date >= today_utc {
            continue;
        }
        // Ozon sends no quantity on some lines; mpetl then takes the posting's own (which it has
        // whenever the posting was fetched: it is in the same month here).
        let same_month = (p.in_process_at.year(), p.in_process_at.month()) == (date.year(), date.month());
        let products: Vec<AccrualProduct> = p
            .products
            .iter()
            .map(|pr| {
                let price = d.ozon_skus[pr.sku].price_kop * pr.quantity;
                // Ozon's points pay part of the price on some orders, its co-investment a bit.
                let bonus = if r.chance(0.3) { price * (10 + r.below(40) as i64) / 100 } else { 0 };
                let coinvestment = if r.chance(0.2) { price / 100 } else { 0 };
                AccrualProduct {
                    sku: pr.sku,
                    quantity: pr.quantity,
                    hide_quantity: same_month && r.chance(0.05),
                    seller_price: price,
                    sale_price: price - bonus - coinvestment,
                    bonus,
                    coinvestment,
                    sale_commission: -(price * 15 / 100),
                    services: vec![(32, -(6000 + r.below(3000) as i64)), (29, -2500), (72, -(price * 15 / 1000))],
                }
            })
            .collect();
        let returned = r.chance(0.08);
        let handed_back = delivered + Duration::days(3 + r.below(11) as i64);
        let back = handed_back + Duration::days(14);
        if returned {
            returns.push((index, handed_back));
        }
        accruals.push(Accrual {
            id: 0,
            date,
            body: AccrualBody::Posting {
                posting_number: p.posting_number.clone(),
                schema,
                in_lists: true,
                products: products.clone(),
            },
        });
        if returned && back.date_naive() < today_utc {
            let refunds = products
                .iter()
                .map(|x| AccrualProduct {
                    hide_quantity: false,
                    sale_price: -x.sale_price,
                    bonus: -x.bonus,
                    coinvestment: -x.coinvestment,
                    sale_commission: -x.sale_commission,
                    services: vec![(33, -4000), (72, -x.services[2].1)],
                    ..x.clone()
                })
                .collect();
            accruals.push(Accrual {
                id: 0,
                date: back.date_naive(),
                body: AccrualBody::Posting {
                    posting_number: p.posting_number.clone(),
                    schema,
                    in_lists: true,
                    products: refunds,
                },
            });
        }
    }
    let mut day = first_day;
    while day < today_utc {
        let mut r = h(&[seed, 4, day_no(day)]);
        for i in 0..d.ozon_skus.len() {
            let mut fees = vec![(41, -(50 + r.below(350) as i64))];
            if i % 3 == 0 {
                fees.push((51, -(2000 + r.below(13_000) as i64)));
            }
            if day.weekday() == chrono::Weekday::Tue && i % 4 == 1 {
                fees.push((42, -(3000 + r.below(9000) as i64)));
            }
            accruals.push(Accrual { id: 0, date: day, body: AccrualBody::Item { sku: i, fees } });
        }
        let mut non_item = |type_id: i32, accrued: i64| {
            accruals.push(Accrual { id: 0, date: day, body: AccrualBody::NonItem { type_id, accrued } })
        };
        non_item(52, -(30_000 + r.below(60_000) as i64));
        if day.num_days_from_ce() % 15 == 0 {
            non_item(61, -50_000);
        }
        if day.num_days_from_ce() % 29 == 4 {
            non_item(12, -70_000);
        }
        if day.day() == 1 {
            non_item(71, -299_000);
        }
        if day.num_days_from_ce() % 40 == 7 {
            non_item(81, 150_000);
        }
        if day.num_days_from_ce() % 40 == 27 {
            // A compensation and its storno the same day (MK-FX saw +9 879.26 / −9 879.26).
            non_item(81, 987_926);
            non_item(82, -987_926);
        }
        if day.num_days_from_ce() % 33 == 9 {
            non_item(91, 45_600);
        }
        if day.day() == 20 {
            non_item(99, -12_345);
        }
        if day.weekday() == chrono::Weekday::Wed {
            // Two fees of one type in one list: they are one component, summed.
            let fees = vec![(95, -(50_000 + r.below(100_000) as i64)), (95, -25_000)];
            accruals.push(Accrual { id: 0, date: day, body: AccrualBody::Container { fees } });
        }
        if day.day() == 10 {
            // A total Ozon sends with nothing that explains it.
            accruals.push(Accrual { id: 0, date: day, body: AccrualBody::Bare { accrued: -7_700 } });
        }
        if day == today_utc - Duration::days(45) && !d.ozon_skus.is_empty() {
            // A cross-border posting: not in the FBO/FBS lists, sent without a quantity, so
            // nobody can know its units. Once: the month it falls in has no Ozon profit.
            let sku = r.below(d.ozon_skus.len() as u64) as usize;
            let price = d.ozon_skus[sku].price_kop;
            accruals.push(Accrual {
                id: 0,
                date: day,
                body: AccrualBody::Posting {
                    posting_number: format!("CB-{}-1", day_no(day)),
                    schema: "CROSSBORDER",
                    in_lists: false,
                    products: vec![AccrualProduct {
                        sku,
                        quantity: 1,
                        hide_quantity: true,
                        seller_price: price,
                        sale_price: price,
                        bonus: 0,
                        coinvestment: 0,
                        sale_commission: -(price * 20 / 100),
                        services: vec![(32, -9000)],
                    }],
                },
            });
        }
        day += Duration::days(1);
    }
    accruals.sort_by_key(|a| a.date);
    for (i, a) in accruals.iter_mut().enumerate() {
        a.id = 80_000_000_000 + i as i64;
    }
    (accruals, returns)
}
