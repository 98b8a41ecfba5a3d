//! The money metrics on a small lake worked out by hand: every expected number below is computed
//! in the comments, not taken from what the code printed.

use chrono::{NaiveDate, Utc};
use mpetl::config::Config;
use mpetl::dataset::Dataset;
use mpetl::lake::tables::{Lineage, Rows};
use mpetl::metrics::{self, Grain, MetricRow};
use mpetl::money::Kopecks;
use mpetl::notify::Events;
use mpetl::plan::Period;
use mpetl::run::Runner;
use mpetl::sources::ozon::accruals::{OzonAccrualRow, category as cat};
use mpetl::sources::wb::ads::WbAdStatRow;
use mpetl::sources::wb::models::WbFinanceRow;

fn d(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
}

fn rub(r: i64, k: i64) -> Kopecks {
    Kopecks(r * 100 + k)
}

fn fin(rrd: i64, day: u32, oper: &str, nm: Option<i64>) -> WbFinanceRow {
    WbFinanceRow { rrd_id: rrd, rr_date: d(day), seller_oper_name: oper.into(), nm_id: nm, ..Default::default() }
}

fn sale(rrd: i64, day: u32, oper: &str, pwd: Kopecks, for_pay: Kopecks) -> WbFinanceRow {
    WbFinanceRow {
        quantity: 1,
        retail_price_with_disc: pwd,
        for_pay,
        doc_type_name: oper.into(),
        ..fin(rrd, day, oper, Some(111))
    }
}

fn acc(
    id: i64,
    component: &str,
    sku: Option<i64>,
    category: &'static str,
    amount: Kopecks,
    qty: Option<i64>,
) -> OzonAccrualRow {
    OzonAccrualRow {
        accrual_id: id,
        component: component.into(),
        date: d(1),
        sku,
        category,
        amount,
        quantity: qty,
        ..Default::default()
    }
}

/// The fixture:
/// - WB article 111: two sales on 03-01 (1000.00 each, WB pays 760.00 each) with 100.00 logistics;
///   a return on 03-02 (1000.00 / 760.00) with 50.00 return logistics and 12.34 storage, and a
///   150.00 ad day; on 03-03 a 300.00 penalty and a sale of 1100.00 (pays 836.00).
/// - WB account-level deduction of 500.00 on 03-03 (no article).
/// - Ozon SKU 222 on 03-01: sold for 500.00, commission 75.00, logistics 60.00, storage 5.00; an
///   account-level ad charge of 30.00.
/// - Costs: WB 111 costs 400.00 from January, 450.00 from 03-03; Ozon 222 costs 200.00.
fn fixture(costs: &str, tax: &str) -> (tempfile::TempDir, Runner) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("costs.csv"), costs).unwrap();
    let toml =
        format!("data_dir = {:?}\n{tax}\n[accounts.shop.wb]\n[accounts.shop.ozon]\n", data.display().to_string());
    let cfg = Config::from_toml_and_env(&toml, "fixture", Vec::new()).unwrap();
    let runner = Runner::open(cfg, Events::none()).unwrap();
    let lake = runner.lake();
    let l = Lineage { loaded_at: Utc::now(), chunk: "fixture".into() };
    let wb = vec![
        sale(1, 1, "Продажа", rub(1000, 0), rub(760, 0)),
        sale(2, 1, "Продажа", rub(1000, 0), rub(760, 0)),
        WbFinanceRow { delivery_service: rub(100, 0), ..fin(3, 1, "Логистика", Some(111)) },
        sale(4, 2, "Возврат", rub(1000, 0), rub(760, 0)),
        WbFinanceRow { delivery_service: rub(50, 0), ..fin(5, 2, "Логистика", Some(111)) },
        WbFinanceRow { paid_storage: rub(12, 34), ..fin(6, 2, "Хранение", Some(111)) },
        WbFinanceRow { penalty: rub(300, 0), ..fin(7, 3, "Штраф", Some(111)) },
        sale(8, 3, "Продажа", rub(1100, 0), rub(836, 0)),
        WbFinanceRow { deduction: rub(500, 0), ..fin(9, 3, "Удержание", None) },
    ];
    let ads = vec![WbAdStatRow {
        advert_id: 7,
        date: d(2),
        app_type: 32,
        nm_id: 111,
        views: 100,
        clicks: 5,
        orders: 0,
        sum: rub(150, 0),
        sum_price: Kopecks(0),
    }];
    let ozon = vec![
        acc(1, "revenue:222", Some(222), cat::REVENUE, rub(500, 0), Some(1)),
        acc(1, "commission:222", Some(222), cat::COMMISSION, rub(-75, 0), None),
        acc(1, "service:222:101:0", Some(222), cat::LOGISTICS, rub(-60, 0), None),
        acc(2, "item:222:201:0", Some(222), cat::STORAGE, rub(-5, 0), None),
        acc(3, "nonitem::301:0", None, cat::ADS, rub(-30, 0), None),
    ];
    for rows in [Rows::WbFinance(wb), Rows::WbAdStats(ads), Rows::OzonAccruals(ozon)] {
        let ds = rows.dataset();
        for (month, df) in rows.into_partitions(&l).unwrap() {
            lake.upsert(ds, "shop", &month, df).unwrap();
        }
    }
    assert!(!lake.partition_files(Dataset::WbFinance).is_empty());
    (dir, runner)
}

const COSTS: &str = "marketplace,sku,unit_cost,valid_from\nwb,111,400.00,2026-01-01\nwb,111,450,2026-03-03\nozon,222,200.00,2026-01-01\n";
const SIX_PERCENT_OF_REVENUE: &str = "[tax]\nmode = \"revenue\"\nrate = \"0.06\"";
const MARCH_1_3: Period =
    Period { from: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), to: NaiveDate::from_ymd_opt(2026, 3, 3).unwrap() };

fn find<'a>(rows: &'a [MetricRow], mp: &str, sku: &str, day: u32) -> &'a MetricRow {
    rows.iter()
        .find(|r| r.marketplace == mp && r.sku == sku && r.period_start == Some(d(day)))
        .unwrap_or_else(|| panic!("no row {mp} {sku} {day}: {rows:?}"))
}

/// Whole rubles in kopecks.
fn k(rubles: i128) -> Option<i128> {
    Some(rubles * 100)
}

#[test]
fn hand_worked_days() {
    let (_dir, runner) = fixture(COSTS, SIX_PERCENT_OF_REVENUE);
    let (sku, _) = runner.metrics(&MARCH_1_3, Grain::Day, None).unwrap();
    let rows = metrics::rows(&sku).unwrap();

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
    // gross −822.34 + 400 = −422.34; tax 6 % × −1000 = −60.00; net −422.34 − 150 + 60 = −512.34.
    let r = find(&rows, "wb", "111", 2);
    assert_eq!((r.count("units_sold"), r.count("units_returned")), (Some(0), Some(1)));
    assert_eq!(r.money("revenue"), Some(-100_000));
    assert_eq!(r.money("commission"), Some(-24_000));
    assert_eq!(r.money("storage"), Some(1234));
    assert_eq!(r.money("payout"), Some(-82_234));
    assert_eq!(r.money("ad_spend"), Some(15_000));
    assert_eq!(r.money("cogs"), Some(-40_000));
    assert_eq!(r.money("gross_profit"), Some(-42_234));
    assert_eq!(r.money("tax"), Some(-6_000));
    assert_eq!(r.money("net_profit"), Some(-51_234));

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
    // The 30.00 ad charge belongs to no SKU: net −30.00.
    let r = find(&rows, "ozon", "", 1);
    assert_eq!(r.money("ad_spend"), Some(3_000));
    assert_eq!(r.money("net_profit"), Some(-3_000));
}

#[test]
fn hand_worked_month_and_totals() {
    let (_dir, runner) = fixture(COSTS, SIX_PERCENT_OF_REVENUE);
    let (sku, totals) = runner.metrics(&MARCH_1_3, Grain::Month, None).unwrap();
    let rows = metrics::rows(&sku).unwrap();
    // WB 111 in March: revenue 2000 − 1000 + 1100 = 2100.00; payout 1420 − 822.34 + 536 = 1133.66;
    // COGS 800 − 400 + 450 = 850.00; gross 283.66; tax 6 % × 2100 = 126.00;
    // net 283.66 − 150 − 126 = 7.66 (= 500 − 512.34 + 20 by day).
    let r = find(&rows, "wb", "111", 1);
    assert_eq!(r.money("revenue"), Some(210_000));
    assert_eq!(r.money("payout"), Some(113_366));
    assert_eq!(r.money("cogs"), Some(85_000));
    assert_eq!(r.money("tax"), Some(12_600));
    assert_eq!(r.money("net_profit"), Some(766));
    // DRR 150 / 2100.
    assert_eq!(r.ratio("drr"), Some(150.0 / 2100.0));

    // WB total adds the 500.00 deduction: payout 633.66, net 7.66 − 500 = −492.34.
    let t = metrics::rows(&totals).unwrap();
    let wb = t.iter().find(|r| r.marketplace == "wb").unwrap();
    assert_eq!(wb.money("payout"), Some(63_366));
    assert_eq!(wb.money("net_profit"), Some(-49_234));
    // All: WB −492.34 + Ozon (130 − 30) = −392.34; revenue 2100 + 500 = 2600.00.
    let all = t.iter().find(|r| r.marketplace == "all").unwrap();
    assert_eq!(all.money("revenue"), Some(260_000));
    assert_eq!(all.money("net_profit"), Some(-39_234));
}

#[test]
fn tax_modes() {
    // Profit mode, 15 %: WB 111 in March has base gross − ads = 283.66 − 150 = 133.66;
    // 15 % is 20.049 → 20.05 (half away from zero, to the kopeck); net 133.66 − 20.05 = 113.61.
    let (_dir, runner) = fixture(COSTS, "[tax]\nmode = \"profit\"\nrate = 0.15");
    let (sku, _) = runner.metrics(&MARCH_1_3, Grain::Month, None).unwrap();
    let r = metrics::rows(&sku).unwrap();
    let r = find(&r, "wb", "111", 1);
    assert_eq!(r.money("tax"), Some(2_005));
    assert_eq!(r.money("net_profit"), Some(11_361));
    // On 03-02 the base is −422.34 − 150 = −572.34; 15 % is −85.851 → −85.85 (a loss lowers the tax).
    let (sku, _) = runner.metrics(&MARCH_1_3, Grain::Day, None).unwrap();
    let r = metrics::rows(&sku).unwrap();
    assert_eq!(find(&r, "wb", "111", 2).money("tax"), Some(-8_585));

    // No tax: net = gross − ads = 133.66.
    let (_dir, runner) = fixture(COSTS, "");
    let (sku, _) = runner.metrics(&MARCH_1_3, Grain::Month, None).unwrap();
    let r = metrics::rows(&sku).unwrap();
    let r = find(&r, "wb", "111", 1);
    assert_eq!(r.money("tax"), Some(0));
    assert_eq!(r.money("net_profit"), Some(13_366));
}

#[test]
fn missing_cost_is_reported_not_guessed() {
    // Only the Ozon SKU has a cost.
    let (_dir, runner) =
        fixture("marketplace,sku,unit_cost,valid_from\nozon,222,200.00,2026-01-01\n", SIX_PERCENT_OF_REVENUE);
    let (sku, totals) = runner.metrics(&MARCH_1_3, Grain::Month, None).unwrap();
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
    assert_eq!(
        t.iter().find(|r| r.marketplace == "wb").unwrap().money("net_profit"),
        None,
        "a total with an unknown part is unknown"
    );
    assert_eq!(t.iter().find(|r| r.marketplace == "ozon").unwrap().money("net_profit"), Some(10_000), "Ozon: 130 − 30");
}

#[test]
fn a_bad_costs_file_fails_with_the_line() {
    let (_dir, runner) =
        fixture("marketplace,sku,unit_cost,valid_from\nwb,111,400.00,2026-01-01\nwb,111,-1,2026-02-01\n", "");
    let e = runner.metrics(&MARCH_1_3, Grain::Day, None).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("unit_cost") && e.contains("negative"), "{e}");
}
