//! The write half of a marts update: each month file a recomputation reaches gets the rows of its
//! periods that were not recomputed, the fresh rows, and its ABC classes; several months are
//! written at a time.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use polars::prelude::*;

use super::super::{Grain, MetricsError};
use super::GrainMarts;

/// Month files written at once. The work is mostly fsync waits, so more than the cores.
const WRITERS: usize = 4;

/// One grain's recomputed periods, ready to be written.
pub(super) struct Recomputed<'a> {
    pub grain: Grain,
    pub marts: &'a GrainMarts,
    /// The month files whose periods that were not recomputed are kept; the others are written
    /// from the fresh rows alone.
    pub keep: BTreeSet<NaiveDate>,
    pub fresh_sku: Option<DataFrame>,
    pub fresh_totals: Option<DataFrame>,
    /// The recomputed periods: (first day of the first, first day of the last).
    pub replaced: Vec<(NaiveDate, NaiveDate)>,
    /// The month files to write (first days).
    pub files: BTreeSet<NaiveDate>,
}

/// Writes every month file of `work`; the files written, in order.
pub(super) fn all(work: &[Recomputed<'_>]) -> Result<Vec<PathBuf>, MetricsError> {
    let jobs: Vec<(&Recomputed<'_>, NaiveDate)> =
        work.iter().flat_map(|w| w.files.iter().map(move |m| (w, *m))).collect();
    let next = AtomicUsize::new(0);
    type Written = Result<Vec<PathBuf>, MetricsError>;
    let done: Mutex<Vec<(usize, Written)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WRITERS.min(jobs.len()) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((w, month)) = jobs.get(i) else { break };
                    let r = month_file(w, *month);
                    let failed = r.is_err();
                    done.lock().unwrap_or_else(|p| p.into_inner()).push((i, r));
                    if failed {
                        // The others stop taking work; the first error is reported.
                        next.store(jobs.len(), Ordering::Relaxed);
                        break;
                    }
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|p| p.into_inner());
    done.sort_by_key(|(i, _)| *i);
    let mut out = Vec::new();
    for (_, r) in done {
        out.extend(r?);
    }
    Ok(out)
}

/// Rows of `df` whose period starts in the month of `month`.
fn of_month(df: &DataFrame, month: NaiveDate) -> LazyFrame {
    let (lo, hi) = (month, Grain::Month.end(month));
    df.clone().lazy().filter(col("period_from").gt_eq(lit(lo)).and(col("period_from").lt_eq(lit(hi))))
}

/// The SKU, totals and ABC files of one month.
fn month_file(w: &Recomputed<'_>, month: NaiveDate) -> Result<Vec<PathBuf>, MetricsError> {
    let untouched = |df: DataFrame| -> LazyFrame {
        let hit = w.replaced.iter().fold(lit(false), |acc, (f, l)| {
            acc.or(col("period_from").gt_eq(lit(*f)).and(col("period_from").lt_eq(lit(*l))))
        });
        df.lazy().filter(hit.not())
    };
    let mut out = Vec::new();
    let mut written_sku = None;
    for (mart, fresh, order) in [
        (&w.marts.sku, &w.fresh_sku, vec!["period_from", "marketplace", "account", "sku"]),
        (&w.marts.totals, &w.fresh_totals, vec!["period_from", "account", "marketplace"]),
    ] {
        let mut frames: Vec<LazyFrame> = Vec::new();
        if w.keep.contains(&month)
            && let Some(old) = mart.read(month)?
        {
            frames.push(untouched(old));
        }
        if let Some(f) = fresh {
            frames.push(of_month(f, month));
        }
        let mut df = match frames.is_empty() {
            true => DataFrame::empty(),
            false => concat(frames, UnionArgs::default())?
                .sort(order, SortMultipleOptions::default().with_nulls_last(true).with_maintain_order(true))
                .collect()?,
        };
        out.extend(mart.write(month, &mut df, w.grain)?);
        if written_sku.is_none() {
            written_sku = Some(df);
        }
    }
    // The ABC classes of a month's periods, from the SKU rows just written.
    let mut abc = match written_sku {
        Some(df) if df.height() > 0 => super::super::abc::abc(&df)?,
        _ => DataFrame::empty(),
    };
    out.extend(w.marts.abc.write(month, &mut abc, w.grain)?);
    Ok(out)
}
