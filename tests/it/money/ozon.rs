//! Ozon type families, one fixture day each, worked out by hand.

use super::*;

/// Ozon type families, one day each (SKU 222 costs 200.00; revenue tax 6 %).
fn ozon_families() -> (tempfile::TempDir, Runner) {
    let ozon = accruals(
        r#"{"accruals": [
        {"accrual_id": 10, "date": "2026-03-10", "unit_number": "P-10", "accrued_category": "POSTING", "total_amount": {"amount": "702.86"},
         "posting": {"products": [{"sku": 222, "quantity": 1,
           "commission": {"seller_price": {"amount": "1300"}, "sale_price": {"amount": "593.33"}, "bonus": {"amount": "700.74"},
                          "coinvestment": {"amount": "5.93"}, "sale_commission": {"amount": "-533"}, "commission": {"amount": "-533"}},
           "delivery": {"services": [{"type_id": 32, "accrued": {"amount": "-56"}}, {"type_id": 29, "accrued": {"amount": "-8.14"}}]}}]}},
        {"accrual_id": 11, "date": "2026-03-11", "unit_number": "P-10", "accrued_category": "POSTING", "total_amount": {"amount": "-807"},
         "posting": {"products": [{"sku": 222, "quantity": 1,
           "commission": {"sale_price": {"amount": "-593.33"}, "bonus": {"amount": "-700.74"}, "coinvestment": {"amount": "-5.93"},
                          "sale_commission": {"amount": "533"}},
           "delivery": {"services": [{"type_id": 33, "accrued": {"amount": "-40"}}]}}]}},
        {"accrual_id": 12, "date": "2026-03-12", "unit_number": "222", "accrued_category": "ITEM", "total_amount": {"amount": "-5"},
         "item_fees": {"fees": [{"sku": 222, "fees": [{"type_id": 41, "accrued": {"amount": "-5"}}]}]}},
        {"accrual_id": 13, "date": "2026-03-12", "accrued_category": "NON_ITEM", "total_amount": {"amount": "-50"},
         "non_item_fee": {"type_id": 61, "accrued": {"amount": "-50"}}},
        {"accrual_id": 14, "date": "2026-03-12", "accrued_category": "NON_ITEM", "total_amount": {"amount": "-299"},
         "non_item_fee": {"type_id": 71, "accrued": {"amount": "-299"}}},
        {"accrual_id": 15, "date": "2026-03-12", "accrued_category": "CONTAINER_FEES", "total_amount": {"amount": "-100"},
         "container_fees": {"fees": [{"type_id": 95, "accrued": {"amount": "-60"}}, {"type_id": 95, "accrued": {"amount": "-40"}}]}},
        {"accrual_id": 16, "date": "2026-03-12", "accrued_category": "NON_ITEM", "total_amount": {"amount": "-7"},
         "non_item_fee": {"type_id": 72, "accrued": {"amount": "-7"}}},
        {"accrual_id": 17, "date": "2026-03-13", "accrued_category": "NON_ITEM", "total_amount": {"amount": "9879.26"},
         "non_item_fee": {"type_id": 81, "accrued": {"amount": "9879.26"}}},
        {"accrual_id": 18, "date": "2026-03-13", "accrued_category": "NON_ITEM", "total_amount": {"amount": "-9879.26"},
         "non_item_fee": {"type_id": 82, "accrued": {"amount": "-9879.26"}}},
        {"accrual_id": 19, "date": "2026-03-13", "accrued_category": "NON_ITEM", "total_amount": {"amount": "45.60"},
         "non_item_fee": {"type_id": 91, "accrued": {"amount": "45.60"}}},
        {"accrual_id": 20, "date": "2026-03-14", "accrued_category": "NON_ITEM", "total_amount": {"amount": "-123.45"},
         "non_item_fee": {"type_id": 99, "accrued": {"amount": "-123.45"}}},
        {"accrual_id": 21, "date": "2026-03-14", "accrued_category": "UNSPECIFIED", "total_amount": {"amount": "-77"}},
        {"accrual_id": 22, "date": "2026-03-15", "unit_number": "P-1", "accrued_category": "POSTING", "total_amount": {"amount": "425"},
         "posting": {"products": [{"sku": 222, "commission": {"sale_price": {"amount": "500"}, "sale_commission": {"amount": "-75"}}}]}},
        {"accrual_id": 23, "date": "2026-03-15", "unit_number": "CB-9", "accrued_category": "POSTING", "total_amount": {"amount": "300"},
         "posting": {"products": [{"sku": 333, "commission": {"sale_price": {"amount": "300"}}}]}}
        ], "last_id": ""}"#,
    );
    // P-1 is in the FBO list with 2 units; the cross-border CB-9 is in no list.
    let fbo = Batch::new(Dataset::OzonFbo, vec![posting("P-1", 222, 2)]);
    let costs = format!("{COSTS}ozon,333,100.00,2026-01-01\n");
    lake(vec![ozon, fbo], &costs, SIX_PERCENT_OF_REVENUE)
}

#[test]
fn ozon_points_and_co_investment_are_revenue_and_the_accrual_is_the_payout() {
    let (_dir, runner) = ozon_families();
    let r = day_row(&runner, "ozon", "222", 10);
    // Revenue 593.33 + 700.74 + 5.93 = 1300.00 (the seller's price); commission 533.00;
    // logistics 56 + 8.14 = 64.14; payout 1300 − 533 − 64.14 = 702.86, Ozon's own total;
    // COGS 200; gross 502.86; tax 6 % × 1300 = 78.00; net 424.86.
    assert_eq!(r.money("revenue"), k(1300));
    assert_eq!(r.money("commission"), k(533));
    assert_eq!(r.money("logistics"), Some(6_414));
    assert_eq!(r.money("payout"), Some(70_286));
    assert_eq!(r.count("units_sold"), Some(1));
    assert_eq!(r.money("net_profit"), Some(42_486));
}

#[test]
fn ozon_return_reverses_the_sale() {
    let (_dir, runner) = ozon_families();
    let r = day_row(&runner, "ozon", "222", 11);
    // Revenue −1300.00; commission −533.00 (refunded); return logistics 40.00; payout −807.00,
    // Ozon's total; the unit comes back: COGS −200.00; gross −607.00; no tax on a loss.
    assert_eq!(r.money("revenue"), k(-1300));
    assert_eq!(r.money("commission"), k(-533));
    assert_eq!(r.money("payout"), k(-807));
    assert_eq!(r.count("units_returned"), Some(1));
    assert_eq!(r.money("cogs"), k(-200));
    assert_eq!(r.money("tax"), k(0));
    assert_eq!(r.money("net_profit"), k(-607));
}

#[test]
fn ozon_fees_land_by_their_type_names() {
    let (_dir, runner) = ozon_families();
    let rows = daily(&runner);
    assert_eq!(find(&rows, "ozon", "222", 12).money("storage"), k(5));
    let acc = find(&rows, "ozon", "", 12);
    // Penalty 50, subscription 299 (other), the container fee 60 + 40 = 100 (storage: two fees of
    // one type in one list are summed), acquiring 7 (commission): payout −456.00.
    assert_eq!(acc.money("penalties"), k(50));
    assert_eq!(acc.money("other_deductions"), k(299));
    assert_eq!(acc.money("storage"), k(100));
    assert_eq!(acc.money("commission"), k(7));
    assert_eq!(acc.money("payout"), k(-456));
}

#[test]
fn ozon_compensation_storno_pair_nets_to_nothing() {
    let (_dir, runner) = ozon_families();
    let r = day_row(&runner, "ozon", "", 13);
    // +9879.26 − 9879.26 = 0 compensation; a 45.60 correction paid: payout 45.60.
    assert_eq!(r.money("compensation"), k(0));
    assert_eq!(r.money("additional_payments"), Some(4_560));
    assert_eq!(r.money("payout"), Some(4_560));
}

#[test]
fn ozon_unknown_types_and_unexplained_totals_count_in_payout_and_are_named() {
    let (_dir, runner) = ozon_families();
    let r = day_row(&runner, "ozon", "", 14);
    // −123.45 of an unknown type and a bare −77.00 total: unclassified −200.45, in the payout.
    assert_eq!(r.money("unclassified"), Some(-20_045));
    assert_eq!(r.money("payout"), Some(-20_045));
    let unknown =
        metrics::unknown::unknown_operations(runner.lake(), &metrics::Catalogue::builtin(), d(1), d(31)).unwrap();
    let got: Vec<(&str, i128)> = unknown.iter().map(|u| (u.name.as_str(), u.amount)).collect();
    assert_eq!(got, [("(total_amount beyond its components)", -7_700), ("Корректировка взаиморасчётов", -12_345)]);
}

#[test]
fn ozon_line_without_quantity_takes_the_postings_or_stays_unknown() {
    let (_dir, runner) = ozon_families();
    let rows = daily(&runner);
    // P-1 carries no quantity; the FBO list says 2 units: COGS 2 × 200 = 400.00.
    let r = find(&rows, "ozon", "222", 15);
    assert_eq!(r.count("units_sold"), Some(2));
    assert_eq!(r.money("cogs"), k(400));
    // CB-9 is in no list: units unknown, so COGS and profit are unknown, never 0; the money stays.
    let r = find(&rows, "ozon", "333", 15);
    assert_eq!(r.money("revenue"), k(300));
    assert_eq!((r.count("units_sold"), r.money("cogs"), r.money("net_profit")), (None, None, None));
    let unknown = metrics::unknown::unknown_units(runner.lake(), d(1), d(31)).unwrap();
    assert_eq!(unknown.len(), 1);
    assert_eq!((unknown[0].sku, unknown[0].lines), (333, 1));
}

#[test]
fn wb_ad_spend_paid_with_wb_bonuses_is_no_cost() {
    // fullstats spent 300.00 on article 111 on 03-20: 120.00 of campaign 7 (paid from the
    // balance) and 180.00 of campaign 8, whose spend documents say WB's bonuses paid 180 ₽.
    let upd = |advert_id: i64, rubles: i64, payment: &str| WbAdSpendRow {
        advert_id,
        upd_time: Some(chrono::DateTime::parse_from_rfc3339("2026-03-20T12:12:54+03:00").unwrap().with_timezone(&Utc)),
        upd_num: 0,
        upd_sum: rub(rubles, 0),
        camp_name: String::new(),
        advert_type: 9,
        advert_status: 9,
        payment_type: payment.into(),
    };
    let stats = vec![ad_day(20, 111, rub(120, 0)), WbAdStatRow { advert_id: 8, ..ad_day(20, 111, rub(180, 0)) }];
    let (_dir, runner) = lake(
        vec![
            Batch::new(Dataset::WbAdStats, stats),
            Batch::new(Dataset::WbAdSpend, vec![upd(7, 120, "Баланс"), upd(8, 180, "Бонусы")]),
        ],
        COSTS,
        "",
    );
    // The article carries the 300.00 fullstats attributes to it; the bonus-paid 180.00 is taken
    // off at the account level, where WB names the payment: 300 − 180 = 120.00 of real spend.
    let rows = daily(&runner);
    assert_eq!(find(&rows, "wb", "111", 20).money("ad_spend"), k(300));
    assert_eq!(find(&rows, "wb", "", 20).money("ad_spend"), k(-180));
    let (_, totals) = runner.metrics(&Period { from: d(20), to: d(20) }, Grain::Day, None).unwrap();
    let t = metrics::rows(&totals).unwrap();
    let wb = t.iter().find(|r| r.account == "shop" && r.marketplace == "wb").unwrap();
    assert_eq!((wb.money("ad_spend"), wb.money("net_profit")), (k(120), k(-120)));
}
