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

mod ozon;
mod wb;
