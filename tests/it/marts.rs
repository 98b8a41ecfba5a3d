//! Marts recomputed a few months at a time equal the marts recomputed at once: the weeks across
//! two spans, the month files written twice, the ABC classes of each month. A period's rows
//! computed beside the marts equal the rows computed on their own.

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
        metrics::marts::update(&lake, &inputs, dir, &BTreeSet::new(), &Grain::ALL, true, None).expect("marts")
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

    // `metrics --from --to`'s own rows, taken from the days the marts' update sums: the rows
    // `by_sku` computes for that period on its own, at every grain. Ten days either side of a
    // month's first day: one span covers it when the update is one span, none when each month is.
    let edge = mpetl::clock::first_of_month(period.to - chrono::Duration::days(40));
    let mid = mpetl::period::Period::new(edge - chrono::Duration::days(10), edge + chrono::Duration::days(10)).unwrap();
    let touched = metrics::marts::touched(&mid);
    for grain in Grain::ALL {
        let inputs = context.inputs();
        let dir = h.dir.path().join("beside");
        let up = metrics::marts::update(&lake, &inputs, &dir, &touched, &Grain::ALL, false, Some((&mid, grain)));
        let beside = up.expect("marts").also.expect("one span covers the period");
        let apart = metrics::by_sku(&lake, &inputs, &mid, grain, None).expect("metrics");
        assert!(apart.height() > 0, "no rows in {mid:?}");
        assert!(beside.equals_missing(&apart), "{} rows differ:\n{beside}\n{apart}", grain.name());
        let inputs = metrics::Inputs { chunk_bytes: 1, ..context.inputs() };
        let up = metrics::marts::update(&lake, &inputs, &dir, &touched, &Grain::ALL, false, Some((&mid, grain)));
        assert!(up.expect("marts").also.is_none(), "a month per span covers no period across a month's edge");
    }
}
