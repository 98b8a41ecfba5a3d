//! A scan of a range of months lists and reads those months' partition files only, of the
//! accounts in scope, and never a file the lake did not write; the rows expected below are the
//! ones put into those partitions by hand.

use std::collections::BTreeSet;

use chrono::{TimeZone, Utc};
use mpetl::dataset::Dataset;
use mpetl::lake::batch::{Batch, Lineage};
use mpetl::lake::{ALWAYS, Lake};
use mpetl::money::Kopecks;
use mpetl::sources::ozon::models::OzonPostingRow;
use polars::prelude::*;

fn posting(number: &str, month: u32) -> OzonPostingRow {
    OzonPostingRow {
        posting_number: number.into(),
        sku: 7,
        order_number: String::new(),
        order_id: None,
        status: "delivered".into(),
        substatus: String::new(),
        in_process_at: Utc.with_ymd_and_hms(2026, month, 10, 12, 0, 0).unwrap(),
        created_at: None,
        offer_id: "OZ-7".into(),
        name: String::new(),
        quantity: 1,
        price: Kopecks(65_000),
        currency: "RUB".into(),
    }
}

/// Stores one posting per (account, month) into the partition `as_month` (the month's own key
/// unless given, so a `whole` partition can be made too).
fn put(lake: &Lake, account: &str, month: u32, as_month: Option<&str>) {
    let lineage = Lineage { loaded_at: Utc::now(), chunk: "test".into() };
    let number = format!("{account}-{month}");
    let parts = Batch::new(Dataset::OzonFbo, vec![posting(&number, month)]).into_partitions(&lineage).unwrap();
    for (key, df) in parts {
        lake.upsert(Dataset::OzonFbo, account, as_month.unwrap_or(&key), df, ALWAYS).unwrap();
    }
}

/// (account, month, posting) of every row a scan reads.
fn rows(lf: LazyFrame) -> BTreeSet<(String, String, String)> {
    let df = lf.collect().unwrap();
    let text = |c: &str| -> Vec<String> {
        df.column(c).unwrap().str().unwrap().iter().map(|v| v.unwrap_or_default().to_string()).collect()
    };
    let (a, m, p) = (text("account"), text("month"), text("posting_number"));
    (0..df.height()).map(|i| (a[i].clone(), m[i].clone(), p[i].clone())).collect()
}

fn row(account: &str, month: &str, posting: &str) -> (String, String, String) {
    (account.into(), month.into(), posting.into())
}

#[test]
fn a_scan_of_months_reads_only_those_months_of_the_accounts_in_scope() {
    let dir = tempfile::tempdir().unwrap();
    let lake = Lake::new(dir.path().join("lake"));
    for m in [1, 3, 4, 5] {
        put(&lake, "shop", m, None);
    }
    for m in [3, 4] {
        put(&lake, "other", m, None);
    }
    put(&lake, "shop", 6, Some("whole"));
    // A sync client's copy inside a month that is read: it must be neither read nor listed.
    let april = lake.partition_file(Dataset::OzonFbo, "shop", "2026-04");
    std::fs::copy(&april, april.with_file_name("part-0 (conflict).parquet")).unwrap();

    let both = rows(lake.scan_months(Dataset::OzonFbo, "2026-03", "2026-04").unwrap().unwrap());
    let expected: BTreeSet<_> = [
        row("other", "2026-03", "other-3"),
        row("other", "2026-04", "other-4"),
        row("shop", "2026-03", "shop-3"),
        row("shop", "2026-04", "shop-4"),
    ]
    .into();
    assert_eq!(both, expected);
    let listed = lake.partition_files_of_months(Dataset::OzonFbo, "2026-03", "2026-04");
    assert_eq!(listed.len(), 4, "{listed:?}");
    // One row per file: a stray copy read too would show as a fifth row.
    assert_eq!(
        lake.scan_months(Dataset::OzonFbo, "2026-03", "2026-04").unwrap().unwrap().collect().unwrap().height(),
        4
    );

    let scoped = lake.clone().scoped(Some(&["other".to_string()]));
    let other = rows(scoped.scan_months(Dataset::OzonFbo, "2026-01", "2026-12").unwrap().unwrap());
    assert_eq!(other, [row("other", "2026-03", "other-3"), row("other", "2026-04", "other-4")].into());

    // A range of months never holds the partitions that are not months; the whole scan does.
    let all = rows(lake.scan(Dataset::OzonFbo).unwrap().unwrap());
    assert!(all.contains(&row("shop", "whole", "shop-6")) && all.contains(&row("shop", "2026-01", "shop-1")));
    assert_eq!(all.len(), 7);
    assert!(lake.scan_months(Dataset::OzonFbo, "2026-07", "2026-12").unwrap().is_none());
}
