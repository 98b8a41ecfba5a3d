//! The datasets added as one component each (issue #13): fetched over HTTP from the sandbox,
//! compared with what the sandbox served and with its ground truth.

use mpetl_sandbox::ozon_catalogue;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, TimeZone, Utc};

use crate::common::*;
use mpetl::dataset::Dataset;
use mpetl::lake::read_file;
use mpetl_sandbox::SandboxConfig;
use polars::prelude::*;

/// Every row of `ds` in the lake.
fn lake_rows(h: &Harness, ds: Dataset) -> DataFrame {
    let lake = mpetl::lake::Lake::new(h.cfg.lake_dir());
    let frames: Vec<DataFrame> = lake.partition_files(ds).iter().map(|p| read_file(p).expect("partition")).collect();
    assert!(!frames.is_empty(), "{ds} has partitions");
    let mut all = frames[0].clone();
    for f in &frames[1..] {
        all.vstack_mut(f).expect("same columns");
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ozon_returns_are_paged_by_last_id_and_only_buyer_returns_count() {
    // Pages of 7 returns, so every month pages several times and the last page is short.
    let h = harness(small(50_000), |f| f.ozon_returns_page_limit = 7).await;
    let period = last_days(120);
    h.backfill(&request(period)).await.expect("backfill");

    // The chunks read whole UTC months from the one the period's first Moscow midnight falls in.
    let start = chrono_tz::Europe::Moscow
        .from_local_datetime(&period.from.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .with_timezone(&Utc);
    let first_month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap();
    // …through the month of the period's last day (its Moscow end is earlier in UTC, so in that
    // month too). Regression: the test counted up to today's month, so on the 1st of a month,
    // when the period ends the day before, it expected a page of a month nobody asked for.
    let last_month = NaiveDate::from_ymd_opt(period.to.year(), period.to.month(), 1).unwrap();
    let end = mpetl::metrics::Grain::Month.end(last_month);
    let served: Vec<_> = h
        .sandbox
        .data()
        .finance
        .ozon_returns
        .iter()
        .filter(|r| r.return_at.date_naive() >= first_month && r.return_at.date_naive() <= end)
        .filter(|r| r.return_at <= Utc::now())
        .collect();
    let kinds: BTreeSet<&str> = served.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, BTreeSet::from(["ClientReturn", "FullReturn"]), "both kinds are served");

    // The lake holds exactly the served lines, each once, with what the list said of it.
    let rows = lake_rows(&h, Dataset::OzonReturns);
    let ids: Vec<i64> = rows.column("return_id").unwrap().i64().unwrap().into_no_null_iter().collect();
    let unique: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no line is stored twice");
    assert_eq!(unique, served.iter().map(|r| r.id).collect::<BTreeSet<_>>());
    let types: Vec<&str> = rows.column("return_type").unwrap().str().unwrap().iter().map(|t| t.unwrap()).collect();
    let quantity: Vec<i64> = rows.column("quantity").unwrap().i64().unwrap().into_no_null_iter().collect();
    let by_id: BTreeMap<i64, (&str, i64)> =
        ids.iter().zip(types.iter().zip(quantity.iter())).map(|(i, (t, q))| (*i, (*t, *q))).collect();
    for r in &served {
        assert_eq!(by_id[&r.id], (r.kind, r.quantity), "return {}", r.id);
    }

    // Paged by last_id: ceil(n / 7) pages per month (one for an empty month), nothing more.
    let mut per_month: BTreeMap<(i32, u32), usize> = BTreeMap::new();
    let mut month = first_month;
    while month <= last_month {
        per_month.insert((month.year(), month.month()), 0);
        month = month.checked_add_months(chrono::Months::new(1)).unwrap();
    }
    for r in &served {
        *per_month.get_mut(&(r.return_at.year(), r.return_at.month())).unwrap() += 1;
    }
    let pages: usize = per_month.values().map(|n| n.div_ceil(7).max(1)).sum();
    assert_eq!(h.sandbox.requests().get("/v1/returns/list").copied().unwrap_or(0), pages as u64);

    // Ozon returns and buyout rates are numbers now, equal to the truth day by day (refusals at
    // the pickup point are the postings' cancellations, not returns).
    let truth = h.truth(&period).await;
    let returned: i64 = truth.iter().filter(|t| t.marketplace == "ozon").filter_map(|t| t.returns).sum();
    assert!(returned > 0, "the period has Ozon returns");
    assert_matches_truth(&h.daily(&period), &truth);
    let (_, totals) = h.runner().metrics(&period, mpetl::metrics::Grain::Month, None).unwrap();
    for t in mpetl::metrics::rows(&totals).unwrap().iter().filter(|t| t.marketplace == "ozon") {
        assert!(t.count("returns").is_some(), "{} {:?}: Ozon returns are known", t.account, t.period_from);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returns_page_that_repeats_has_next_without_a_later_id_is_stuck_not_endless() {
    let h =
        harness(SandboxConfig { ozon_returns_stuck: true, ..small(50_000) }, |f| f.ozon_returns_page_limit = 3).await;
    let err = h.backfill(&request(last_days(40))).await.expect_err("a list that never ends fails");
    let text = err.to_string();
    assert!(text.contains("/v1/returns/list") && text.contains("paging would never end"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wb_stock_is_snapshotted_once_a_day_and_its_days_of_cover_match_the_sandbox() {
    let h = harness(small(50_000), |_| {}).await;
    let period = last_days(40);
    let report = h.backfill(&request(period)).await.expect("backfill");
    let today = Utc::now().with_timezone(&chrono_tz::Europe::Moscow).date_naive();
    let data = h.sandbox.data();

    // The lake holds today's snapshot: every served row, once.
    let rows = lake_rows(&h, Dataset::WbStocks);
    assert_eq!(rows.height(), data.wb_stocks.len());
    let days: BTreeSet<i32> =
        rows.column("snapshot_date").unwrap().date().unwrap().physical().into_no_null_iter().collect();
    assert_eq!(days, BTreeSet::from([(today - mpetl::clock::EPOCH).num_days() as i32]));

    // The mart, against the sandbox's own stock and orders: stock per article, units ordered and
    // not cancelled in the 30 days before today, and the days that stock lasts at that pace.
    let mart = report.marts.iter().find(|p| p.ends_with("stock.parquet")).expect("the stock mart is written");
    let mart = read_file(mart).unwrap();
    let skus: Vec<&str> = mart.column("sku").unwrap().str().unwrap().iter().map(|s| s.unwrap()).collect();
    let stock: Vec<i64> = mart.column("stock").unwrap().i64().unwrap().into_no_null_iter().collect();
    let orders: Vec<i64> = mart.column("orders").unwrap().i64().unwrap().into_no_null_iter().collect();
    let cover: Vec<Option<f64>> = mart.column("days_of_cover").unwrap().f64().unwrap().iter().collect();
    assert_eq!(skus.len(), data.wb_skus.len(), "every article has stock rows");
    let window = (today - chrono::Duration::days(30))..today;
    for (i, sku) in skus.iter().enumerate() {
        let index = data.wb_skus.iter().position(|s| s.nm_id.to_string() == *sku).expect("a sandbox article");
        let want_stock: i64 = data.wb_stocks.iter().filter(|s| s.sku == index).map(|s| s.quantity).sum();
        let want_orders = data
            .wb_orders
            .iter()
            .filter(|o| o.sku == index && o.cancel_date.is_none() && window.contains(&o.date.date()))
            .count() as i64;
        assert_eq!((stock[i], orders[i]), (want_stock, want_orders), "article {sku}");
        match cover[i] {
            Some(c) => assert!((c - want_stock as f64 * 30.0 / want_orders as f64).abs() < 1e-9, "{sku}: {c}"),
            None => assert_eq!(want_orders, 0, "{sku}: no cover only without orders"),
        }
    }
    assert!(cover.iter().filter(|c| c.is_some()).count() > skus.len() / 2, "most articles sell: cover is computed");

    // Once a day: the same backfill again asks no stock.
    h.backfill(&request(period)).await.expect("again");
    assert_eq!(h.sandbox.requests().get("/api/v1/supplier/stocks").copied(), Some(1));

    // A period that ends before yesterday takes no snapshot: WB's stock is only ever "now".
    let old = harness(small(50_000), |_| {}).await;
    let ended = mpetl::pipeline::plan::Period::new(period.from, period.to - chrono::Duration::days(10)).unwrap();
    old.backfill(&request(ended)).await.expect("an older period");
    assert_eq!(old.sandbox.requests().get("/api/v1/supplier/stocks"), None);
}

/// The ABC rule, written again from the README for the test: ranked by the figure (ties by
/// SKU), A while those above hold < 80 % of the positive total, B < 95 %, else C; ≤ 0 is C.
fn abc_by_hand(values: &BTreeMap<String, i64>) -> BTreeMap<String, char> {
    let total: i64 = values.values().filter(|v| **v > 0).sum();
    let mut ranked: Vec<(&String, &i64)> = values.iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut above = 0i64;
    let mut out = BTreeMap::new();
    for (sku, v) in ranked {
        let share = above as f64 / total as f64;
        let class = if *v <= 0 {
            'C'
        } else if share < 0.80 {
            'A'
        } else if share < 0.95 {
            'B'
        } else {
            'C'
        };
        out.insert(sku.clone(), class);
        above += (*v).max(0);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abc_classes_of_whole_months_match_the_truths_revenue() {
    let h = harness(small(50_000), |_| {}).await;
    let period = last_days(100);
    let report = h.backfill(&request(period)).await.expect("backfill");
    assert!(report.marts.iter().any(|p| p.parent().is_some_and(|d| d.ends_with("abc_month"))), "{:?}", report.marts);
    let abc =
        mpetl::metrics::marts::read_all(&h.cfg.marts_dir(), "abc_month").unwrap().expect("the ABC mart is written");
    let col_str = |name: &str| -> Vec<String> {
        abc.column(name).unwrap().str().unwrap().iter().map(|s| s.unwrap_or_default().to_string()).collect()
    };
    let (mp, sku, class, profit_class) =
        (col_str("marketplace"), col_str("sku"), col_str("revenue_class"), col_str("profit_class"));
    let from: Vec<NaiveDate> =
        abc.column("period_from").unwrap().date().unwrap().as_date_iter().map(|d| d.unwrap()).collect();
    let profit_known: Vec<bool> =
        abc.column("net_profit").unwrap().decimal().unwrap().physical().iter().map(|v| v.is_some()).collect();
    for (known, class) in profit_known.iter().zip(&profit_class) {
        assert_eq!(*known, !class.is_empty(), "a profit class exactly where the profit is known");
    }

    // Every month wholly inside the period, against the truth's revenue per SKU.
    let mut month = NaiveDate::from_ymd_opt(period.from.year(), period.from.month(), 1).unwrap();
    let mut checked = 0;
    while month <= period.to {
        let next = month.checked_add_months(chrono::Months::new(1)).unwrap();
        if month >= period.from && next - chrono::Duration::days(1) <= period.to {
            let truth =
                h.truth(&mpetl::pipeline::plan::Period::new(month, next - chrono::Duration::days(1)).unwrap()).await;
            for marketplace in ["wb", "ozon"] {
                let mut revenue: BTreeMap<String, i64> = BTreeMap::new();
                for t in truth.iter().filter(|t| t.marketplace == marketplace && !t.sku.is_empty()) {
                    *revenue.entry(t.sku.clone()).or_default() += t.revenue;
                }
                let want = abc_by_hand(&revenue);
                let got: BTreeMap<String, char> = (0..abc.height())
                    .filter(|&i| from[i] == month && mp[i] == marketplace)
                    .map(|i| (sku[i].clone(), class[i].chars().next().unwrap()))
                    .collect();
                assert_eq!(got, want, "{marketplace} {month}");
                assert!(want.values().any(|c| *c == 'A') && want.values().any(|c| *c != 'A'), "{marketplace} {month}");
                checked += 1;
            }
        }
        month = next;
    }
    assert!(checked >= 4, "two whole months of two marketplaces: {checked}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogues_page_through_every_product_and_name_each_sku_in_the_marts() {
    // Pages of 3 cards and 4 products, so both lists page and end as the APIs say.
    let h = harness(small(50_000), |f| {
        f.wb_cards_page_limit = 3;
        f.ozon_products_page_limit = 4;
    })
    .await;
    let period = last_days(30);
    h.backfill(&request(period)).await.expect("backfill");
    let data = h.sandbox.data();
    let (wb, ozon) = (data.wb_skus.len(), data.ozon_skus.len());
    assert_eq!(lake_rows(&h, Dataset::WbProducts).height(), wb);
    assert_eq!(lake_rows(&h, Dataset::OzonProducts).height(), ozon);
    let asked = h.sandbox.requests();
    // WB: ⌈n/3⌉ pages, one more when the last is full (its total equals the limit).
    assert_eq!(asked.get("/content/v2/get/cards/list").copied(), Some((wb / 3 + 1) as u64));
    assert_eq!(asked.get("/v3/product/list").copied(), Some((ozon / 4 + 1) as u64));
    assert_eq!(asked.get("/v3/product/info/list").copied(), Some(ozon.div_ceil(4) as u64));
    // Each page's characteristics in one call; the category tree once per account and run.
    assert_eq!(asked.get("/v4/product/info/attributes").copied(), Some(ozon.div_ceil(4) as u64));
    assert_eq!(asked.get("/v1/description-category/tree").copied(), Some(1));
    // The lake keeps the product type beside the category, both named from the tree.
    let products = lake_rows(&h, Dataset::OzonProducts);
    let (psku, ptype) =
        (products.column("sku").unwrap().i64().unwrap(), products.column("type_name").unwrap().str().unwrap());
    for i in 0..products.height() {
        let k = data.ozon_skus.iter().position(|s| Some(s.sku) == psku.get(i)).expect("a sandbox SKU");
        assert_eq!(ptype.get(i), Some(ozon_catalogue::ozon_category(k).3), "type of {:?}", psku.get(i));
    }

    // Every SKU row of the marts carries its product's name, brand and category as the sandbox
    // seller wrote them.
    let mart = mpetl::metrics::marts::read_all(&h.cfg.marts_dir(), "sku_month").unwrap().expect("the SKU mart");
    let text = |name: &str| -> Vec<Option<String>> {
        mart.column(name).unwrap().str().unwrap().iter().map(|s| s.map(str::to_string)).collect()
    };
    let (mp, sku, name, brand, category) =
        (text("marketplace"), text("sku"), text("product_name"), text("brand"), text("category"));
    let mut named = 0;
    for i in 0..mart.height() {
        let Some(sku) = sku[i].as_deref() else { continue };
        let want = match mp[i].as_deref() {
            Some("wb") => {
                let k = data.wb_skus.iter().position(|s| s.nm_id.to_string() == sku).expect("a sandbox article");
                let s = &data.wb_skus[k];
                (format!("{} {} {}", s.subject, s.brand, s.article), Some(s.brand.to_string()), s.subject.to_string())
            }
            _ => {
                let k = data.ozon_skus.iter().position(|s| s.sku.to_string() == sku).expect("a sandbox SKU");
                let brand = ozon_catalogue::ozon_brand(k).map(str::to_string);
                (data.ozon_skus[k].name.clone(), brand, ozon_catalogue::ozon_category(k).1.to_string())
            }
        };
        assert_eq!(
            (name[i].clone(), brand[i].clone(), category[i].clone()),
            (Some(want.0), want.1, Some(want.2)),
            "{sku}"
        );
        named += 1;
    }
    assert!(named >= wb + ozon, "every SKU is named in some month: {named}");
    // The sandbox's catalogue has products without a brand attribute and ones "Нет бренда":
    // the first stay null, the second say so.
    assert!(brand.iter().zip(&mp).any(|(b, m)| b.is_none() && m.as_deref() == Some("ozon")));
    assert!(brand.iter().any(|b| b.as_deref() == Some("Нет бренда")));
}

/// Issue #15: articles come from the catalogues so a nightly run need not read every order ever
/// loaded. A SKU no catalogue lists (a card since deleted) still gets its article from the orders
/// and postings: with both catalogues gone from the lake, every SKU row's article is the one the
/// sandbox seller sold it under.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sku_no_catalogue_lists_keeps_the_article_of_its_orders() {
    let h = harness(small(50_000), |_| {}).await;
    let period = last_days(30);
    h.backfill(&request(period)).await.expect("backfill");
    let lake = mpetl::lake::Lake::new(h.cfg.lake_dir());
    for ds in [Dataset::WbProducts, Dataset::OzonProducts] {
        let files = lake.partition_files(ds);
        assert!(!files.is_empty(), "{ds} was fetched");
        files.iter().for_each(|f| std::fs::remove_file(f).unwrap());
    }
    let truth: BTreeMap<(String, String), String> =
        h.truth(&period).await.into_iter().map(|t| ((t.marketplace.to_string(), t.sku), t.seller_sku)).collect();
    let rows: Vec<_> = h.daily(&period).into_iter().filter(|r| !r.sku.is_empty()).collect();
    assert!(rows.len() > 100, "{} SKU rows", rows.len());
    for r in &rows {
        let want = truth.get(&(r.marketplace.clone(), r.sku.clone()));
        assert_eq!(Some(&r.seller_sku), want, "{} {} on {:?}", r.marketplace, r.sku, r.period_from);
    }
}
