//! Ozon's accruals: its type dictionary, each posting's sale and return components, the fees by
//! item and by account.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};

use crate::data::SellerData;

use super::*;

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

/// Ozon accrues a posting about two weeks after delivery, a return two weeks after it. Also
/// the postings the buyer returned (index, when), for the returns list.
pub(super) fn ozon_accruals(
    d: &SellerData,
    seed: u64,
    first_day: NaiveDate,
) -> (Vec<Accrual>, Vec<(usize, DateTime<Utc>)>) {
    let today_utc = d.now.date_naive();
    let mut accruals = Vec::new();
    let mut returns = Vec::new();
    for (index, p) in d.ozon_postings.iter().enumerate() {
        let Some(delivered) = p.delivered_at else { continue };
        let schema = match p.schema {
            crate::data::OzonSchema::Fbo => "FBO",
            crate::data::OzonSchema::Fbs => "FBS",
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
