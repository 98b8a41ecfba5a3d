//! WB operation families, one fixture day each, worked out by hand.

use super::*;

/// WB operation families, one day each (article 111 costs 400.00; revenue tax 6 %).
fn wb_families() -> (tempfile::TempDir, Runner) {
    let wb = vec![
        // 03-10 compensations: a lost unit WB pays 900.00 for (the unit is gone: COGS), damage
        // 250.00, and a voluntary compensation on a return document: −100.00.
        WbFinanceRow {
            quantity: 1,
            for_pay: rub(900, 0),
            retail_amount: rub(1000, 0),
            ..fin(10, 10, "Оплата потерянного товара", "Продажа", Some(111))
        },
        WbFinanceRow {
            for_pay: rub(250, 0), ..fin(11, 10, "Компенсация ущерба", "Продажа", Some(111))
        },
        WbFinanceRow {
            for_pay: rub(100, 0),
            ..fin(12, 10, "Добровольная компенсация при возврате", "Возврат", Some(111))
        },
        // 03-11 a storno pair: the sale, its storno (a return document), the correct re-booking.
        goods(20, 11, "Продажа", "Продажа", rub(1000, 0), rub(760, 0)),
        goods(21, 11, "Сторно продаж", "Возврат", rub(1000, 0), rub(760, 0)),
        goods(22, 11, "Корректная продажа", "Продажа", rub(1000, 0), rub(760, 0)),
        // 03-12 logistics: 100.00, a correction of −20.00, a reversal giving 30.00 back, and
        // 45.00 paid to the seller for a delivery the buyer paid for.
        WbFinanceRow { delivery_service: rub(100, 0), ..fin(30, 12, "Логистика", "", Some(111)) },
        WbFinanceRow {
            delivery_service: rub(-20, 0), ..fin(31, 12, "Коррекция логистики", "", Some(111))
        },
        WbFinanceRow { delivery_service: rub(30, 0), ..fin(32, 12, "Логистика сторно", "", Some(111)) },
        WbFinanceRow {
            for_pay: rub(45, 0), ..fin(33, 12, "Услуга платной доставки", "Продажа", Some(111))
        },
        // 03-13 WB's carriers and pickup points, paid from WB's own fee: no money of the seller's.
        WbFinanceRow {
            rebill_logistic_cost: Precise(13_490),
            vw: Precise(-11_241),
            vw_nds: Precise(-2_249),
            quantity: 2,
            ..fin(40, 13, "Возмещение издержек по перевозке/по складским операциям с товаром", "", None)
        },
        WbFinanceRow {
            ppvz_reward: Precise(75_000),
            vw: Precise(-75_000),
            ..fin(41, 13, "Возмещение за выдачу и возврат товаров на ПВЗ", "", None)
        },
        // 03-14 storage 10.00 and a recalculation of −3.00; acceptance 200.00, a reversal of
        // 50.00 and processing 20.00.
        WbFinanceRow { paid_storage: rub(10, 0), ..fin(50, 14, "Хранение", "", Some(111)) },
        WbFinanceRow { paid_storage: rub(-3, 0), ..fin(51, 14, "Пересчет хранения", "", Some(111)) },
        WbFinanceRow { paid_acceptance: rub(200, 0), ..fin(52, 14, "Платная приемка", "", Some(111)) },
        WbFinanceRow {
            paid_acceptance: rub(50, 0), ..fin(53, 14, "Сторно платной приёмки", "", Some(111))
        },
        WbFinanceRow { paid_acceptance: rub(20, 0), ..fin(54, 14, "Обработка товара", "", Some(111)) },
        // 03-15 deductions: 70.00 of ads from the account (fullstats spent 70.00 on 111 that
        // day), a 1000.00 loan repayment, a 15.00 subscription.
        WbFinanceRow {
            deduction: rub(70, 0),
            bonus_type_name: "Оказание услуг «ВБ.Продвижение», документ № 91".into(),
            ..fin(60, 15, "Удержание", "", None)
        },
        WbFinanceRow {
            deduction: rub(1000, 0),
            bonus_type_name: "Погашение по займу".into(),
            ..fin(61, 15, "Удержание", "", None)
        },
        WbFinanceRow {
            deduction: rub(15, 0),
            bonus_type_name: "Джем-подписка".into(),
            ..fin(62, 15, "Удержание", "", None)
        },
        // 03-16 loyalty: participation 2.50 on a sale document, points 4.00 on a return
        // document (given back), a 19.00 discount compensation paid in forPay.
        WbFinanceRow {
            cashback_commission_change: rub(2, 50),
            ..fin(70, 16, "Стоимость участия в программе лояльности", "Продажа", Some(111))
        },
        WbFinanceRow {
            cashback_amount: rub(4, 0),
            ..fin(71, 16, "Сумма, удержанная за начисленные баллы программы лояльности", "Возврат", Some(111))
        },
        WbFinanceRow {
            for_pay: rub(19, 0),
            cashback_discount: rub(19, 0),
            ..fin(72, 16, "Компенсация скидки по программе лояльности", "Продажа", Some(111))
        },
        // 03-17 unknown: an operation no catalogue lists (a 250.00 deduction), and a known one
        // on a document type nobody knows (forPay 10.00).
        WbFinanceRow {
            deduction: rub(250, 0), ..fin(80, 17, "Корректировка стоимости складских услуг", "", None)
        },
        WbFinanceRow { for_pay: rub(10, 0), ..fin(81, 17, "Продажа", "Корректировка", Some(111)) },
        // 03-18 corrections: acquiring 5.00 given back on a return document, sales +100.00.
        WbFinanceRow {
            for_pay: rub(5, 0),
            acquiring_fee: rub(-5, 0),
            ..fin(90, 18, "Корректировка эквайринга", "Возврат", Some(111))
        },
        WbFinanceRow {
            for_pay: rub(100, 0), ..fin(91, 18, "Коррекция продаж", "Продажа", Some(111))
        },
    ];
    lake(
        vec![Batch::new(Dataset::WbFinance, wb), Batch::new(Dataset::WbAdStats, vec![ad_day(15, 111, rub(70, 0))])],
        COSTS,
        SIX_PERCENT_OF_REVENUE,
    )
}

#[test]
fn wb_compensations_count_in_payout_and_lost_units_cost_goods() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "111", 10);
    // 900 + 250 − 100 = 1050.00 compensation and payout; the lost unit is gone: 1 unit, COGS
    // 450.00 (the cost from 03-03); gross 600.00; tax 6 % of (0 + 1050) = 63.00; net 537.00.
    assert_eq!(r.money("compensation"), k(1050));
    assert_eq!((r.money("revenue"), r.money("commission")), (k(0), k(0)));
    assert_eq!(r.money("payout"), k(1050));
    assert_eq!(r.count("units_sold"), Some(1));
    assert_eq!(r.money("cogs"), k(450));
    assert_eq!(r.money("tax"), k(63));
    assert_eq!(r.money("net_profit"), k(537));
}

#[test]
fn wb_storno_pair_books_the_sale_once() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "111", 11);
    // Revenue 1000 − 1000 + 1000 = 1000.00; commission 240.00; units 2 sold, 1 back: 1 net.
    assert_eq!(r.money("revenue"), k(1000));
    assert_eq!(r.money("commission"), k(240));
    assert_eq!((r.count("units_sold"), r.count("units_returned")), (Some(2), Some(1)));
    assert_eq!(r.money("payout"), k(760));
    assert_eq!(r.money("cogs"), k(450));
}

#[test]
fn wb_logistics_corrections_reversals_and_paid_delivery() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "111", 12);
    // 100 − 20 − 30 − 45 = 5.00 of logistics; payout −5.00.
    assert_eq!(r.money("logistics"), k(5));
    assert_eq!(r.money("payout"), k(-5));
    assert_eq!(r.money("unclassified"), k(0));
}

#[test]
fn wb_rebill_and_pickup_point_rows_move_no_money() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "", 13);
    // Rebill 1.349 with vw + vwNds = −1.349, and a ПВЗ credit in WB's reward: nothing in any
    // cost, nothing in the payout (WB's report header has no rebill total either).
    for c in ["logistics", "payout", "unclassified", "other_deductions"] {
        assert_eq!(r.money(c), k(0), "{c}");
    }
}

#[test]
fn wb_storage_and_acceptance_recalculations_and_reversals() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "111", 14);
    // Storage 10 − 3 = 7.00; acceptance 200 − 50 + 20 = 170.00; payout −177.00.
    assert_eq!(r.money("storage"), k(7));
    assert_eq!(r.money("acceptance"), k(170));
    assert_eq!(r.money("payout"), k(-177));
}

#[test]
fn wb_ad_deductions_and_fullstats_subtract_ad_spend_once() {
    let (_dir, runner) = wb_families();
    let rows = daily(&runner);
    // Account level: payout −70 − 1000 − 15 = −1085.00; ad deductions 70, transfers 1000, other 15.
    let acc = find(&rows, "wb", "", 15);
    assert_eq!(acc.money("payout"), k(-1085));
    assert_eq!(
        (acc.money("ad_deductions"), acc.money("transfers"), acc.money("other_deductions")),
        (k(70), k(1000), k(15))
    );
    // Gross adds back what is not a cost of its own (the ads, counted from fullstats, and the
    // loan): −1085 + 70 + 1000 = −15.00 = the subscription.
    assert_eq!(acc.money("gross_profit"), k(-15));
    assert_eq!(acc.money("net_profit"), k(-15));
    // The article carries fullstats' 70.00 of ad spend.
    let sku = find(&rows, "wb", "111", 15);
    assert_eq!(sku.money("ad_spend"), k(70));
    assert_eq!(sku.money("net_profit"), k(-70));
    // Over the day: −15 − 70 = −85.00: the 70.00 of advertising is subtracted once, not twice.
    let (_, totals) = runner.metrics(&Period { from: d(15), to: d(15) }, Grain::Day, None).unwrap();
    let t = metrics::rows(&totals).unwrap();
    let wb = t.iter().find(|r| r.account == "shop" && r.marketplace == "wb").unwrap();
    assert_eq!(wb.money("payout"), k(-1085));
    assert_eq!(wb.money("ad_spend"), k(70));
    assert_eq!(wb.money("net_profit"), k(-85));
}

#[test]
fn wb_loyalty_charges_are_signed_by_the_document() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "111", 16);
    // Other deductions 2.50 − 4.00 = −1.50; compensation 19.00; payout 19 + 1.50 = 20.50.
    assert_eq!(r.money("other_deductions"), Some(-150));
    assert_eq!(r.money("compensation"), k(19));
    assert_eq!(r.money("payout"), Some(2_050));
}

#[test]
fn wb_unknown_operations_count_in_payout_and_are_named() {
    let (_dir, runner) = wb_families();
    let rows = daily(&runner);
    assert_eq!(find(&rows, "wb", "", 17).money("unclassified"), k(-250));
    assert_eq!(find(&rows, "wb", "", 17).money("payout"), k(-250));
    assert_eq!(find(&rows, "wb", "111", 17).money("unclassified"), k(10));
    let catalogue = metrics::Catalogue::builtin();
    let unknown = metrics::unknown::unknown_operations(runner.lake(), &catalogue, d(1), d(31)).unwrap();
    let got: Vec<(&str, u64, i128)> = unknown.iter().map(|u| (u.name.as_str(), u.rows, u.amount)).collect();
    assert_eq!(
        got,
        [
            ("Корректировка стоимости складских услуг", 1, -25_000),
            ("Продажа (document type 'Корректировка')", 1, 1_000)
        ]
    );
    assert!(unknown[0].to_string().contains("counted in payout only"), "{}", unknown[0]);
}

#[test]
fn wb_acquiring_and_sales_corrections() {
    let (_dir, runner) = wb_families();
    let r = day_row(&runner, "wb", "111", 18);
    // Acquiring on a return document: forPay −5.00, commission +5.00; sales correction +100.00,
    // commission −100.00. Revenue 0, commission −95.00, payout 95.00.
    assert_eq!(r.money("revenue"), k(0));
    assert_eq!(r.money("commission"), k(-95));
    assert_eq!(r.money("payout"), k(95));
}

#[test]
fn wb_family_month_adds_up_to_the_days() {
    // The month's payout is the sum of the families': 1050 + 760 − 5 + 0 − 177 − 1085 + 20.50 −
    // 250 + 10 + 95 = 418.50.
    let (_dir, runner) = wb_families();
    let (_, totals) = runner.metrics(&MARCH, Grain::Month, None).unwrap();
    let t = metrics::rows(&totals).unwrap();
    let wb = t.iter().find(|r| r.account == "shop" && r.marketplace == "wb").unwrap();
    assert_eq!(wb.money("payout"), Some(41_850));
}
