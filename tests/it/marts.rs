//! Marts recomputed a few months at a time equal the marts recomputed at once: the weeks across
//! two spans, the month files written twice, the ABC classes of each month.

use std::collections::BTreeSet;

use mpetl::lake::Lake;
use mpetl::metrics::{self, Grain};

use crate::common::{harness, last_days, request, small};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marts_recomputed_a_month_at_a_time_equal_marts_recomputed_at_once() {
    let h = harness(small(80_000), |_| {}).await;
    // Three months or more: several month edges, and weeks across them.
    let period = last_days(100);
    h.backfill(&request(period.clone())).await.expect("backfill");
    let lake = Lake::new(h.cfg.lake_dir());
    let context = metrics::Context::load(&h.cfg).unwrap();
    let write = |dir: &std::path::Path, chunk_bytes: u64| {
        let inputs = metrics::Inputs { chunk_bytes, ..context.inputs() };
        metrics::marts::update(&lake, &inputs, dir, &BTreeSet::new(), &Grain::ALL, true).expect("marts")
    };
    let (at_once, by_month) = (h.dir.path().join("at-once"), h.dir.path().join("by-month"));
    let whole = write(&at_once, u64::MAX);
    // One byte: every month a span of its own.
    let chunked = write(&by_month, 1);
    assert!(whole.months.len() >= 4, "the lake spans {} months", whole.months.len());
    assert_eq!(whole.months, chunked.months);
    assert_eq!(whole.files.len(), chunked.files.len(), "each month file written once in the list");
    let mut crossing = 0;
    for mart in ["sku", "totals", "abc"] {
        for grain in Grain::ALL {
            let name = format!("{mart}_{}", grain.name());
            let a = metrics::marts::read_all(&at_once, &name).unwrap().expect("rows");
            let b = metrics::marts::read_all(&by_month, &name).unwrap().expect("rows");
            assert!(a.height() > 0, "{name} is empty");
            assert!(a.equals_missing(&b), "{name} differs:\n{a}\n{b}");
            if mart == "sku" && grain == Grain::Week {
                let month = |c: &str| -> Vec<String> {
                    a.column(c)
                        .unwrap()
                        .cast(&polars::prelude::DataType::String)
                        .unwrap()
                        .str()
                        .unwrap()
                        .iter()
                        .map(|v| v.unwrap_or_default()[..7].to_string())
                        .collect()
                };
                crossing = month("period_from").iter().zip(month("period_to")).filter(|(f, t)| **f != *t).count();
            }
        }
    }
    assert!(crossing > 0, "no week crosses a month's edge: the test would not check the weeks split between spans");
}
