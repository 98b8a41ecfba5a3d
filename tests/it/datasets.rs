//! The datasets added as one component each (issue #13): fetched over HTTP from the sandbox,
//! compared with what the sandbox served and with its ground truth.

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
    let served: Vec<_> = h
        .sandbox
        .data()
        .finance
        .ozon_returns
        .iter()
        .filter(|r| r.return_at.date_naive() >= first_month && r.return_at <= Utc::now())
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
    while month <= Utc::now().date_naive() {
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
