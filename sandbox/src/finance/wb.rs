//! WB's realization report, sale by sale and day by day, with the operation mix real reports
//! carry.

use chrono::{Datelike, Duration, NaiveDate};

use crate::data::{Rng, SellerData};

use super::*;

fn ymd(t: (i32, u32, u32)) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.0, t.1, t.2).expect("date")
}

/// The realization report's rows, sale by sale and day by day.
pub(super) fn wb_rows(
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
