//! The money metrics on small lakes worked out by hand: every expected number below is computed
//! in the comments, not taken from what the code printed. One fixture per WB operation family and
//! per Ozon type family, plus the seller's month put together from them.

use chrono::{NaiveDate, Utc};
use mpetl::config::Config;
use mpetl::dataset::Dataset;
use mpetl::events::Events;
use mpetl::lake::batch::{Batch, Lineage};
use mpetl::metrics::{self, Grain, MetricRow};
use mpetl::money::{Kopecks, Precise};
use mpetl::pipeline::Runner;
use mpetl::pipeline::plan::Period;
use mpetl::sources::ozon::accruals::{AccrualType, ByDay};
use mpetl::sources::ozon::models::OzonPostingRow;
use mpetl::sources::wb::ads::{WbAdSpendRow, WbAdStatRow};
use mpetl::sources::wb::models::WbFinanceRow;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

fn rub(r: i64, k: i64) -> Kopecks {
    Kopecks(r * 100 + k)
}

fn fin(rrd: i64, day: u32, oper: &str, doc: &str, nm: Option<i64>) -> WbFinanceRow {
    WbFinanceRow {
        rrd_id: rrd,
        rr_date: d(day),
        seller_oper_name: oper.into(),
        doc_type_name: doc.into(),
        nm_id: nm,
        ..Default::default()
    }
}

/// A sale-type document of article 111: one unit at `pwd`, WB pays `for_pay`.
fn goods(rrd: i64, day: u32, oper: &str, doc: &str, pwd: Kopecks, for_pay: Kopecks) -> WbFinanceRow {
    WbFinanceRow {
        quantity: 1,
        retail_price_with_disc: pwd,
        retail_amount: pwd,
        for_pay,
        ..fin(rrd, day, oper, doc, Some(111))
    }
}

fn ad_day(day: u32, nm: i64, sum: Kopecks) -> WbAdStatRow {
    WbAdStatRow {
        advert_id: 7,
        date: d(day),
        app_type: 32,
        nm_id: nm,
        views: 100,
        clicks: 5,
        orders: 0,
        sum,
        sum_price: Kopecks(0),
    }
}

/// Ozon's type dictionary as /v1/finance/accrual/types would give it.
fn types() -> Vec<AccrualType> {
    [
        (32, "Логистика"),
        (29, "Последняя миля"),
        (33, "Обратная логистика"),
        (41, "Услуга размещения товаров на складе"),
        (51, "Оплата за клик"),
        (61, "Штраф за отмену заказа"),
        (71, "Подписка Premium Plus"),
        (72, "Оплата эквайринга"),
        (81, "Компенсация за утерю товара"),
        (82, "Декомпенсация"),
        (91, "Корректировка продавцу"),
        (95, "Размещение контейнера на складе"),
        (99, "Корректировка взаиморасчётов"),
    ]
    .into_iter()
    .map(|(id, name)| AccrualType { id, name: name.into(), description: String::new() })
    .collect()
}

/// Accruals from by-day JSON, as the client turns them into lake rows.
fn accruals(json: &str) -> Batch {
    let page: ByDay = serde_json::from_str(json).unwrap();
    let t = types();
    Batch::new(Dataset::OzonAccruals, page.accruals.into_iter().flat_map(|a| a.into_rows(&t).unwrap()).collect())
}

fn posting(number: &str, sku: i64, quantity: i64) -> OzonPostingRow {
    let at = chrono::DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z").unwrap().with_timezone(&Utc);
    OzonPostingRow {
        posting_number: number.into(),
        sku,
        order_number: String::new(),
        order_id: None,
        status: "delivered".into(),
        substatus: String::new(),
        in_process_at: at,
        created_at: None,
        offer_id: format!("OZ-{sku}"),
        name: String::new(),
        quantity,
        price: rub(650, 0),
        currency: "RUB".into(),
    }
}

/// A lake with `rows` and a runner over it (costs, tax as given).
fn lake(rows: Vec<Batch>, costs: &str, tax: &str) -> (tempfile::TempDir, Runner) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("costs.csv"), costs).unwrap();
    let toml =
        format!("data_dir = {:?}\n{tax}\n[accounts.shop.wb]\n[accounts.shop.ozon]\n", data.display().to_string());
    let cfg = Config::from_toml_and_env(&toml, "fixture", Vec::new()).unwrap();
    let runner = Runner::open(cfg, Events::none()).unwrap();
    let l = Lineage { loaded_at: Utc::now(), chunk: "fixture".into() };
    for rows in rows {
        let ds = rows.dataset();
        for (month, df) in rows.into_partitions(&l).unwrap() {
            runner.lake().upsert(ds, "shop", &month, df, mpetl::lake::ALWAYS).unwrap();
        }
    }
    (dir, runner)
}

const COSTS: &str = "marketplace,sku,unit_cost,valid_from\nwb,111,400.00,2026-01-01\nwb,111,450,2026-03-03\nozon,222,200.00,2026-01-01\n";
const SIX_PERCENT_OF_REVENUE: &str = "[tax]\nmode = \"revenue\"\nrate = \"0.06\"";
const MARCH: Period =
    Period { from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), to: NaiveDate::from_ymd_opt(2026, 3, 31).unwrap() };

fn find<'a>(rows: &'a [MetricRow], mp: &str, sku: &str, day: u32) -> &'a MetricRow {
    rows.iter()
        .find(|r| r.marketplace == mp && r.sku == sku && r.period_from == Some(d(day)))
        .unwrap_or_else(|| panic!("no row {mp} {sku} {day}: {rows:#?}"))
}

/// One day's row of (marketplace, SKU), owned.
fn day_row(runner: &Runner, mp: &str, sku: &str, day: u32) -> MetricRow {
    find(&daily(runner), mp, sku, day).clone()
}

fn daily(runner: &Runner) -> Vec<MetricRow> {
    let (sku, _) = runner.metrics(&MARCH, Grain::Day, None).unwrap();
    metrics::rows(&sku).unwrap()
}

/// The seller's first days of March:
/// - WB article 111: two sales on 03-01 (1000.00 each, WB pays 760.00 each) with 100.00 logistics;
///   a return on 03-02 (1000.00 / 760.00) with 50.00 return logistics and 12.34 storage, and a
///   150.00 ad day; on 03-03 a 300.00 penalty and a sale of 1100.00 (pays 836.00).
/// - WB account-level deduction of 500.00 on 03-03 (no article).
/// - Ozon SKU 222 on 03-01: sold for 500.00, commission 75.00, logistics 60.00, storage 5.00; an
///   account-level ad charge of 30.00.
/// - Costs: WB 111 costs 400.00 from January, 450.00 from 03-03; Ozon 222 costs 200.00.
fn seller(costs: &str, tax: &str) -> (tempfile::TempDir, Runner) {
    let wb = vec![
        goods(1, 1, "Продажа", "Продажа", rub(1000, 0), rub(760, 0)),
        goods(2, 1, "Продажа", "Продажа", rub(1000, 0), rub(760, 0)),
        WbFinanceRow { delivery_service: rub(100, 0), ..fin(3, 1, "Логистика", "", Some(111)) },
        goods(4, 2, "Возврат", "Возврат", rub(1000, 0), rub(760, 0)),
        WbFinanceRow { delivery_service: rub(50, 0), ..fin(5, 2, "Логистика", "", Some(111)) },
        WbFinanceRow { paid_storage: rub(12, 34), ..fin(6, 2, "Хранение", "", Some(111)) },
        WbFinanceRow { penalty: rub(300, 0), ..fin(7, 3, "Штраф", "", Some(111)) },
        goods(8, 3, "Продажа", "Продажа", rub(1100, 0), rub(836, 0)),
        WbFinanceRow {
            deduction: rub(500, 0),
            bonus_type_name: "Джем-подписка".into(),
            ..fin(9, 3, "Удержание", "", None)
        },
    ];
    let ozon = accruals(
        r#"{"accruals": [
        {"accrual_id": 1, "date": "2026-03-01", "unit_number": "0001-1", "accrued_category": "POSTING", "total_amount": {"amount": "365"},
         "posting": {"products": [{"sku": 222, "quantity": 1, "commission": {"sale_price": {"amount": "500"}, "sale_commission": {"amount": "-75"}},
                                   "delivery": {"services": [{"type_id": 32, "accrued": {"amount": "-60"}}]}}]}},
        {"accrual_id": 2, "date": "2026-03-01", "unit_number": "222", "accrued_category": "ITEM", "total_amount": {"amount": "-5"},
         "item_fees": {"fees": [{"sku": 222, "fees": [{"type_id": 41, "accrued": {"amount": "-5"}}]}]}},
        {"accrual_id": 3, "date": "2026-03-01", "accrued_category": "NON_ITEM", "total_amount": {"amount": "-30"},
         "non_item_fee": {"type_id": 51, "accrued": {"amount": "-30"}}}
        ], "last_id": ""}"#,
    );
    lake(
        vec![
            Batch::new(Dataset::WbFinance, wb),
            Batch::new(Dataset::WbAdStats, vec![ad_day(2, 111, rub(150, 0))]),
            ozon,
        ],
        costs,
        tax,
    )
}

/// Whole rubles in kopecks.
fn k(rubles: i128) -> Option<i128> {
    Some(rubles * 100)
}

#[test]
fn hand_worked_days() {
    let (_dir, runner) = seller(COSTS, SIX_PERCENT_OF_REVENUE);
    let rows = daily(&runner);

    // 03-01, WB 111: revenue 2 × 1000 = 2000.00; commission 2 × (1000 − 760) = 480.00;
    // payout 2000 − 480 − 100 = 1420.00; COGS 2 × 400 = 800.00; gross 620.00;
    // tax 6 % × 2000 = 120.00; net 620 − 0 − 120 = 500.00; margin 500/2000; ROI 500/800.
    let r = find(&rows, "wb", "111", 1);
    assert_eq!(r.count("units_sold"), Some(2));
    assert_eq!(r.money("revenue"), k(2000));
    assert_eq!(r.money("commission"), k(480));
    assert_eq!(r.money("logistics"), k(100));
    assert_eq!(r.money("payout"), k(1420));
    assert_eq!(r.money("cogs"), k(800));
    assert_eq!(r.money("gross_profit"), k(620));
    assert_eq!(r.money("tax"), k(120));
    assert_eq!(r.money("net_profit"), k(500));
    assert_eq!(r.ratio("margin"), Some(0.25));
    assert_eq!(r.ratio("roi"), Some(0.625));
    assert_eq!(r.ratio("drr"), Some(0.0));

    // 03-02, WB 111: the return takes back 1000.00 of revenue and 240.00 of commission;
    // payout −1000 + 240 − 50 − 12.34 = −822.34; COGS −1 × 400 = −400.00 (the unit comes back);
    // gross −822.34 + 400 = −422.34; the tax base −1000 owes nothing (never below zero);
    // net −422.34 − 150 − 0 = −572.34.
    let r = find(&rows, "wb", "111", 2);
    assert_eq!((r.count("units_sold"), r.count("units_returned")), (Some(0), Some(1)));
    assert_eq!(r.money("revenue"), Some(-100_000));
    assert_eq!(r.money("commission"), Some(-24_000));
    assert_eq!(r.money("storage"), Some(1234));
    assert_eq!(r.money("payout"), Some(-82_234));
    assert_eq!(r.money("ad_spend"), Some(15_000));
    assert_eq!(r.money("cogs"), Some(-40_000));
    assert_eq!(r.money("gross_profit"), Some(-42_234));
    assert_eq!(r.money("tax"), Some(0));
    assert_eq!(r.money("net_profit"), Some(-57_234));

    // 03-03, WB 111: the new cost applies: payout 1100 − 264 − 300 = 536.00; COGS 450.00;
    // gross 86.00; tax 66.00; net 20.00.
    let r = find(&rows, "wb", "111", 3);
    assert_eq!(r.money("penalties"), Some(30_000));
    assert_eq!(r.money("payout"), Some(53_600));
    assert_eq!(r.money("cogs"), Some(45_000));
    assert_eq!(r.money("net_profit"), Some(2_000));

    // 03-03, WB account level: a 500.00 deduction, no article, no COGS: net −500.00.
    let r = find(&rows, "wb", "", 3);
    assert_eq!(r.money("other_deductions"), Some(50_000));
    assert_eq!(r.money("payout"), Some(-50_000));
    assert_eq!(r.money("net_profit"), Some(-50_000));

    // 03-01, Ozon 222: payout 500 − 75 − 60 − 5 = 360.00; COGS 200.00; tax 30.00; net 130.00.
    let r = find(&rows, "ozon", "222", 1);
    assert_eq!(r.money("payout"), Some(36_000));
    assert_eq!(r.money("cogs"), Some(20_000));
    assert_eq!(r.money("tax"), Some(3_000));
    assert_eq!(r.money("net_profit"), Some(13_000));
    assert_eq!(r.count("returns"), None, "Ozon returns are unknown, not zero");
    // The 30.00 ad charge belongs to no SKU. Ozon takes it from the payout (payout −30.00, an ad
    // deduction) and it is the ad spend: gross −30 + 30 = 0, net 0 − 30 = −30.00, counted once.
    let r = find(&rows, "ozon", "", 1);
    assert_eq!((r.money("ad_spend"), r.money("ad_deductions")), (k(30), k(30)));
    assert_eq!(r.money("payout"), Some(-3_000));
    assert_eq!(r.money("net_profit"), Some(-3_000));
}

#[test]
fn hand_worked_month_and_totals() {
    let (_dir, runner) = seller(COSTS, SIX_PERCENT_OF_REVENUE);
    let (sku, totals) = runner.metrics(&MARCH, Grain::Month, None).unwrap();
    let rows = metrics::rows(&sku).unwrap();
    // WB 111 in March: revenue 2000 − 1000 + 1100 = 2100.00; payout 1420 − 822.34 + 536 = 1133.66;
    // COGS 800 − 400 + 450 = 850.00; gross 283.66; tax 6 % × 2100 = 126.00;
    // net 283.66 − 150 − 126 = 7.66.
    let r = find(&rows, "wb", "111", 1);
    assert_eq!(r.period_to, Some(d(31)));
    assert_eq!(r.money("revenue"), Some(210_000));
    assert_eq!(r.money("payout"), Some(113_366));
    assert_eq!(r.money("cogs"), Some(85_000));
    assert_eq!(r.money("tax"), Some(12_600));
    assert_eq!(r.money("net_profit"), Some(766));
    // DRR 150 / 2100.
    assert_eq!(r.ratio("drr"), Some(150.0 / 2100.0));

    // WB total adds the 500.00 deduction: payout 633.66, net 7.66 − 500 = −492.34.
    let t = metrics::rows(&totals).unwrap();
    let total = |account: &str, mp: &str| t.iter().find(|r| r.account == account && r.marketplace == mp).unwrap();
    let wb = total("shop", "wb");
    assert_eq!(wb.money("payout"), Some(63_366));
    assert_eq!(wb.money("net_profit"), Some(-49_234));
    assert_eq!(total("all", "wb"), &MetricRow { account: "all".into(), ..wb.clone() }, "one account: the same");
    // Ozon: revenue 500; payout 360 − 30 = 330.00; gross 330 + 30 − 200 = 160; tax 30; net 160 − 30
    // − 30 = 100.00. All: revenue 2600.00; net −492.34 + 100 = −392.34.
    assert_eq!(total("shop", "ozon").money("payout"), Some(33_000));
    assert_eq!(total("shop", "ozon").money("net_profit"), Some(10_000));
    let all = total("all", "all");
    assert_eq!(all.money("revenue"), Some(260_000));
    assert_eq!(all.money("net_profit"), Some(-39_234));
}

/// Regression (issue #14, defect 7): metrics read every `*.parquet` under a dataset, so a copy of
/// a partition left beside it (a backup, a sync client's conflict file) doubled its revenue.
#[test]
fn a_stray_copy_in_a_partition_is_not_summed() {
    let (_dir, runner) = seller(COSTS, SIX_PERCENT_OF_REVENUE);
    let before = daily(&runner);
    let part = runner.lake().partition_files(Dataset::WbFinance).into_iter().next().expect("a finance partition");
    let stray = part.with_file_name("part-0 (conflicted copy).parquet");
    std::fs::copy(&part, &stray).unwrap();
    std::fs::copy(&part, part.parent().unwrap().parent().unwrap().join("backup.parquet")).unwrap();
    assert_eq!(daily(&runner), before, "the copies are left out");
    assert_eq!(find(&before, "wb", "111", 1).money("revenue"), k(2000));
    assert_eq!(runner.lake().strangers(Dataset::WbFinance).len(), 2);
}

#[test]
fn tax_modes_and_tax_never_below_zero() {
    // Profit mode, 15 %: WB 111 in March has base gross − ads = 283.66 − 150 = 133.66;
    // 15 % is 20.049 → 20.05 (half away from zero, to the kopeck); net 133.66 − 20.05 = 113.61.
    let (_dir, runner) = seller(COSTS, "[tax]\nmode = \"profit\"\nrate = 0.15");
    let (sku, _) = runner.metrics(&MARCH, Grain::Month, None).unwrap();
    let r = metrics::rows(&sku).unwrap();
    let r = find(&r, "wb", "111", 1);
    assert_eq!(r.money("tax"), Some(2_005));
    assert_eq!(r.money("net_profit"), Some(11_361));
    // On 03-02 the base is −422.34 − 150 = −572.34: a loss owes no tax (it used to be −85.85,
    // which raised the net profit of a loss).
    let rows = daily(&runner);
    let r = find(&rows, "wb", "111", 2);
    assert_eq!(r.money("tax"), Some(0));
    assert_eq!(r.money("net_profit"), Some(-57_234));
    for r in &rows {
        assert!(r.money("tax").unwrap_or(0) >= 0, "tax below zero: {r:?}");
    }

    // No tax: net = gross − ads = 133.66.
    let (_dir, runner) = seller(COSTS, "");
    let (sku, _) = runner.metrics(&MARCH, Grain::Month, None).unwrap();
    let r = metrics::rows(&sku).unwrap();
    let r = find(&r, "wb", "111", 1);
    assert_eq!(r.money("tax"), Some(0));
    assert_eq!(r.money("net_profit"), Some(13_366));
}

#[test]
fn missing_cost_is_reported_not_guessed() {
    // Only the Ozon SKU has a cost.
    let (_dir, runner) =
        seller("marketplace,sku,unit_cost,valid_from\nozon,222,200.00,2026-01-01\n", SIX_PERCENT_OF_REVENUE);
    let (sku, totals) = runner.metrics(&MARCH, Grain::Month, None).unwrap();
    let rows = metrics::rows(&sku).unwrap();
    let r = find(&rows, "wb", "111", 1);
    assert_eq!(r.money("revenue"), Some(210_000), "money known without costs stays");
    assert_eq!((r.money("cogs"), r.money("gross_profit"), r.money("net_profit")), (None, None, None));
    assert_eq!((r.ratio("margin"), r.ratio("roi")), (None, None));
    // Net units 2 − 1 + 1 = 2 sold without a cost.
    let missing = metrics::missing_costs(&sku).unwrap();
    assert_eq!(missing.len(), 1);
    assert_eq!((missing[0].marketplace.as_str(), missing[0].sku.as_str(), missing[0].units), ("wb", "111", 2));
    let t = metrics::rows(&totals).unwrap();
    let total = |mp: &str| t.iter().find(|r| r.account == "shop" && r.marketplace == mp).unwrap();
    assert_eq!(total("wb").money("net_profit"), None, "a total with an unknown part is unknown");
    assert_eq!(total("ozon").money("net_profit"), Some(10_000), "Ozon: 130 − 30");
}

#[test]
fn a_bad_costs_file_fails_with_the_line() {
    let (_dir, runner) =
        seller("marketplace,sku,unit_cost,valid_from\nwb,111,400.00,2026-01-01\nwb,111,-1,2026-02-01\n", "");
    let e = runner.metrics(&MARCH, Grain::Day, None).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("unit_cost") && e.contains("negative"), "{e}");
}

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
