//! Partition footers carry the distinct operation names the metrics classify by: every name the
//! rows have, and metrics computed from them equal metrics computed by scanning the rows (a lake
//! written by an older mpetl, which the reader falls back to).

use std::collections::BTreeSet;
use std::fs::File;

use mpetl::dataset::Dataset;
use mpetl::lake::{Lake, names, read_file};
use mpetl::metrics::{self, Grain};
use polars::prelude::*;

use crate::common::{harness, last_days, request, small};

/// Distinct rows of `columns` over every partition of `ds`, read from the rows themselves.
fn names_in_rows(lake: &Lake, ds: Dataset, columns: &[&str]) -> BTreeSet<Vec<Option<String>>> {
    let mut out = BTreeSet::new();
    for path in lake.partition_files(ds) {
        let df = read_file(&path).unwrap();
        let texts: Vec<Vec<Option<String>>> = columns
            .iter()
            .map(|c| df.column(c).unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect())
            .collect();
        out.extend((0..df.height()).map(|i| texts.iter().map(|t| t[i].clone()).collect::<Vec<_>>()));
    }
    out
}

fn names_in_footers(lake: &Lake, ds: Dataset, columns: &[&str]) -> Option<BTreeSet<Vec<Option<String>>>> {
    let df = lake.footer_names(ds, columns, "0000-00", "9999-12").unwrap()?;
    let texts: Vec<Vec<Option<String>>> = columns
        .iter()
        .map(|c| df.column(c).unwrap().str().unwrap().iter().map(|v| v.map(str::to_string)).collect())
        .collect();
    Some((0..df.height()).map(|i| texts.iter().map(|t| t[i].clone()).collect()).collect())
}

/// Rewrites a partition as an older mpetl wrote it: the same rows, no names in the footer.
fn strip_footer(path: &std::path::Path) {
    let mut df = read_file(path).unwrap();
    ParquetWriter::new(File::create(path).unwrap()).finish(&mut df).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn footers_name_every_operation_and_metrics_from_them_equal_metrics_from_a_scan() {
    let h = harness(small(80_000), |_| {}).await;
    let period = last_days(45);
    h.backfill(&request(period.clone())).await.expect("backfill");
    let lake = Lake::new(h.cfg.lake_dir());
    for ds in [Dataset::WbFinance, Dataset::OzonAccruals, Dataset::WbAdSpend] {
        for columns in names::groups(ds) {
            let rows = names_in_rows(&lake, ds, columns);
            assert!(rows.len() > 1, "{ds:?} {columns:?}: the sandbox has {} names, too few to tell", rows.len());
            assert_eq!(names_in_footers(&lake, ds, columns), Some(rows), "{ds:?} {columns:?}");
        }
    }
    let context = metrics::Context::load(&h.cfg).unwrap();
    let inputs = context.inputs();
    let (from, to) = (period.from, period.to);
    let compute = || {
        let sku = metrics::by_sku(&lake, &inputs, &period, Grain::Day, None).expect("metrics");
        let unknown = metrics::unknown::unknown_operations(&lake, &context.catalogue, from, to).expect("unknown");
        (sku, unknown)
    };
    let (from_footers, unknown_from_footers) = compute();
    assert!(from_footers.height() > 0);

    // One partition of an older mpetl is enough to send the reader back to the rows.
    let finance = lake.partition_files(Dataset::WbFinance);
    strip_footer(&finance[0]);
    assert_eq!(names_in_footers(&lake, Dataset::WbFinance, &["seller_oper_name"]), None);
    for ds in [Dataset::WbFinance, Dataset::OzonAccruals, Dataset::WbAdSpend] {
        lake.partition_files(ds).iter().for_each(|p| strip_footer(p));
    }
    let (from_rows, unknown_from_rows) = compute();
    assert!(from_footers.equals_missing(&from_rows), "metrics differ:\n{from_footers}\n{from_rows}");
    assert_eq!(unknown_from_footers, unknown_from_rows);
}
