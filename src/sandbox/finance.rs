//! The sandbox seller's money: WB realization-report rows, WB ad campaigns and their statistics,
//! Ozon accruals, and the seller's purchase costs — all generated from the same sales and
//! postings the statistics and posting lists serve, so every ruble has a source.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use super::data::{Rng, SellerData, msk_naive};

/// WB serves realization reports from this day on.
pub const WB_FINANCE_START: (i32, u32, u32) = (2024, 1, 29);

/// Where an amount goes in the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cat {
    Logistics,
    Storage,
    Acceptance,
    Penalties,
    Ads,
    Other,
    Additional,
}

/// Ozon's accrual type dictionary as the sandbox serves it (`/v1/finance/accrual/types`).
pub const OZON_TYPES: [(i32, &str, Cat); 10] = [
    (101, "Логистика", Cat::Logistics),
    (102, "Доставка до места выдачи", Cat::Logistics),
    (103, "Обратная логистика", Cat::Logistics),
    (201, "Размещение товаров на складах Ozon", Cat::Storage),
    (202, "Обработка поставки", Cat::Acceptance),
    (301, "Продвижение в поиске", Cat::Ads),
    (302, "Оплата за клик", Cat::Ads),
    (401, "Штраф за отмену заказа", Cat::Penalties),
    (501, "Подписка Premium Plus", Cat::Other),
    (601, "Компенсация за утерю товара", Cat::Additional),
];

pub fn ozon_type(id: i32) -> (&'static str, Cat) {
    OZON_TYPES.iter().find(|t| t.0 == id).map(|t| (t.1, t.2)).expect("known type id")
}

/// One row of WB's `sales-reports/detailed`. Money in kopecks, positive as WB sends it.
#[derive(Debug, Clone, Default)]
pub struct WbFinRow {
    pub rrd_id: i64,
    pub rr_date: NaiveDate,
    /// Index into `wb_skus`, or None for rows about no article (nmId 0).
    pub sku: Option<usize>,
    pub doc_type: &'static str,
    pub oper: &'static str,
    pub bonus_type: &'static str,
    pub srid: String,
    pub quantity: i64,
    pub retail_price: i64,
    pub retail_price_with_disc: i64,
    pub retail_amount: i64,
    pub for_pay: i64,
    pub acquiring: i64,
    pub delivery: i64,
    pub delivery_amount: i64,
    pub return_amount: i64,
    pub storage: i64,
    pub acceptance: i64,
    pub penalty: i64,
    pub deduction: i64,
    pub additional: i64,
}

#[derive(Debug, Clone)]
pub struct AccrualProduct {
    pub sku: usize,
    pub quantity: i64,
    /// Negative on returns.
    pub seller_price: i64,
    /// Negative on sales (charged), positive on returns (refunded).
    pub sale_commission: i64,
    pub services: Vec<(i32, i64)>,
}

#[derive(Debug, Clone)]
pub enum AccrualBody {
    Posting { posting_number: String, schema: &'static str, products: Vec<AccrualProduct> },
    Item { sku: usize, fees: Vec<(i32, i64)> },
    NonItem { type_id: i32, accrued: i64 },
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
                .map(|p| p.seller_price + p.sale_commission + p.services.iter().map(|s| s.1).sum::<i64>())
                .sum(),
            AccrualBody::Item { fees, .. } => fees.iter().map(|f| f.1).sum(),
            AccrualBody::NonItem { accrued, .. } => *accrued,
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
    pub costs: Vec<Cost>,
}

fn h(parts: &[u64]) -> Rng {
    let mut x = 0xD1B5_4A32_D192_ED03u64;
    for p in parts {
        x = (x ^ p).wrapping_mul(0x100_0000_01B3).rotate_left(29);
    }
    Rng::new(x)
}

impl Finance {
    pub fn generate(d: &SellerData, seed: u64, first_day: NaiveDate) -> Finance {
        let today = msk_naive(d.now).date();
        let last_closed = today - Duration::days(1);
        let finance_start =
            NaiveDate::from_ymd_opt(WB_FINANCE_START.0, WB_FINANCE_START.1, WB_FINANCE_START.2).expect("date");
        let mut wb_rows = Vec::new();
        for s in &d.wb_sale_facts {
            let day = s.date.date();
            if day < finance_start || day > last_closed {
                continue;
            }
            let sku = &d.wb_skus[s.sku];
            let mut r = h(&[
                seed,
                1,
                day.num_days_from_ce() as u64,
                s.sale_id.len() as u64,
                s.sale_id.bytes().map(u64::from).sum(),
            ]);
            let base = WbFinRow { rr_date: day, sku: Some(s.sku), srid: s.srid.clone(), ..Default::default() };
            wb_rows.push(WbFinRow {
                doc_type: if s.is_return { "Возврат" } else { "Продажа" },
                oper: if s.is_return { "Возврат" } else { "Продажа" },
                quantity: 1,
                retail_price: sku.total_price_kop,
                retail_price_with_disc: s.price_with_disc_kop,
                retail_amount: s.finished_price_kop,
                for_pay: s.for_pay_kop,
                acquiring: s.price_with_disc_kop * 15 / 1000,
                ..base.clone()
            });
            wb_rows.push(WbFinRow {
                oper: "Логистика",
                delivery: if s.is_return { 5000 } else { 5000 + r.below(4000) as i64 },
                delivery_amount: i64::from(!s.is_return),
                return_amount: i64::from(s.is_return),
                ..base
            });
        }
        let mut day = first_day.max(finance_start);
        while day <= last_closed {
            let mut r = h(&[seed, 2, day.num_days_from_ce() as u64]);
            for (i, _) in d.wb_skus.iter().enumerate() {
                wb_rows.push(WbFinRow {
                    rr_date: day,
                    sku: Some(i),
                    oper: "Хранение",
                    storage: 100 + r.below(600) as i64,
                    ..Default::default()
                });
                if day.weekday() == chrono::Weekday::Mon && i % 4 == 0 {
                    wb_rows.push(WbFinRow {
                        rr_date: day,
                        sku: Some(i),
                        oper: "Платная приемка",
                        acceptance: 1500 + r.below(18_500) as i64,
                        ..Default::default()
                    });
                }
            }
            if day.num_days_from_ce() % 10 == 0 {
                wb_rows.push(WbFinRow {
                    rr_date: day,
                    sku: Some(r.below(d.wb_skus.len() as u64) as usize),
                    oper: "Штраф",
                    bonus_type: "Штраф за невыполненную поставку",
                    penalty: 30_000,
                    ..Default::default()
                });
            }
            if day.day() == 1 {
                // Deductions are about the account, not an article.
                wb_rows.push(WbFinRow {
                    rr_date: day,
                    sku: None,
                    oper: "Удержание",
                    deduction: 150_000,
                    ..Default::default()
                });
            }
            if day.num_days_from_ce() % 20 == 3 {
                wb_rows.push(WbFinRow {
                    rr_date: day,
                    sku: Some(r.below(d.wb_skus.len() as u64) as usize),
                    oper: "Доплата",
                    additional: 12_345,
                    ..Default::default()
                });
            }
            day += Duration::days(1);
        }
        wb_rows.sort_by_key(|r| r.rr_date);
        for (i, r) in wb_rows.iter_mut().enumerate() {
            r.rrd_id = 1_200_000_000 + i as i64 * 3;
        }

        // Ozon accrues a posting about two weeks after delivery, a return two weeks after it.
        let today_utc = d.now.date_naive();
        let mut accruals = Vec::new();
        for p in &d.ozon_postings {
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
            let products: Vec<AccrualProduct> = p
                .products
                .iter()
                .map(|pr| {
                    let price = d.ozon_skus[pr.sku].price_kop * pr.quantity;
                    AccrualProduct {
                        sku: pr.sku,
                        quantity: pr.quantity,
                        seller_price: price,
                        sale_commission: -(price * 15 / 100),
                        services: vec![(101, -(6000 + r.below(3000) as i64)), (102, -2500)],
                    }
                })
                .collect();
            let returned = r.chance(0.08);
            let back = delivered + Duration::days(3 + r.below(11) as i64) + Duration::days(14);
            accruals.push(Accrual {
                id: 0,
                date,
                body: AccrualBody::Posting {
                    posting_number: p.posting_number.clone(),
                    schema,
                    products: products.clone(),
                },
            });
            if returned && back.date_naive() < today_utc {
                let refunds = products
                    .iter()
                    .map(|x| AccrualProduct {
                        sku: x.sku,
                        quantity: x.quantity,
                        seller_price: -x.seller_price,
                        sale_commission: -x.sale_commission,
                        services: vec![(103, -4000)],
                    })
                    .collect();
                accruals.push(Accrual {
                    id: 0,
                    date: back.date_naive(),
                    body: AccrualBody::Posting { posting_number: p.posting_number.clone(), schema, products: refunds },
                });
            }
        }
        let mut day = first_day;
        while day < today_utc {
            let mut r = h(&[seed, 4, day.num_days_from_ce() as u64]);
            for i in 0..d.ozon_skus.len() {
                let mut fees = vec![(201, -(50 + r.below(350) as i64))];
                if i % 3 == 0 {
                    fees.push((302, -(2000 + r.below(13_000) as i64)));
                }
                if day.weekday() == chrono::Weekday::Tue && i % 4 == 1 {
                    fees.push((202, -(3000 + r.below(9000) as i64)));
                }
                accruals.push(Accrual { id: 0, date: day, body: AccrualBody::Item { sku: i, fees } });
            }
            accruals.push(Accrual {
                id: 0,
                date: day,
                body: AccrualBody::NonItem { type_id: 301, accrued: -(30_000 + r.below(60_000) as i64) },
            });
            if day.num_days_from_ce() % 15 == 0 {
                accruals.push(Accrual {
                    id: 0,
                    date: day,
                    body: AccrualBody::NonItem { type_id: 401, accrued: -50_000 },
                });
            }
            if day.day() == 1 {
                accruals.push(Accrual {
                    id: 0,
                    date: day,
                    body: AccrualBody::NonItem { type_id: 501, accrued: -299_000 },
                });
            }
            if day.num_days_from_ce() % 40 == 7 {
                accruals.push(Accrual {
                    id: 0,
                    date: day,
                    body: AccrualBody::NonItem { type_id: 601, accrued: 150_000 },
                });
            }
            day += Duration::days(1);
        }
        accruals.sort_by_key(|a| a.date);
        for (i, a) in accruals.iter_mut().enumerate() {
            a.id = 80_000_000_000 + i as i64;
        }

        // WB ad campaigns: one never started (status 4: no statistics), the rest ran for a while.
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
            });
        }
        let mut ad_stats = Vec::new();
        for c in campaigns.iter().filter(|c| c.status != 4) {
            let mut day = c.first_day;
            while day <= c.last_day {
                for &sku in &c.nms {
                    let mut r = h(&[seed, 6, c.advert_id as u64, day.num_days_from_ce() as u64, sku as u64]);
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
        Finance { wb_rows, accruals, campaigns, ad_stats, costs }
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
                crate::money::format_kopecks(i128::from(c.unit_cost)),
                c.valid_from
            ));
        }
        s
    }
}
