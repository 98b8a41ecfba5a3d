//! The marts: `sku_<grain>.parquet` and `totals_<grain>.parquet` under `data/marts/`, upserted
//! by period. A run recomputes, from the whole lake, every month it touched (and every month a
//! mart still marks incomplete that has settled since); rows of other periods are kept as they
//! were, so a nightly run or a `/report` never turns a month into a part of itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

use super::{Grain, Inputs, MetricsError, statements_around, totals};
use crate::lake::Lake;
use crate::period::Period;

/// The first day of every month of `from..=to`.
pub fn months_of(from: NaiveDate, to: NaiveDate) -> BTreeSet<NaiveDate> {
    let mut out = BTreeSet::new();
    let mut m = Grain::Month.start(from);
    while m <= to {
        out.insert(m);
        match m.checked_add_months(chrono::Months::new(1)) {
            Some(next) => m = next,
            None => break,
        }
    }
    out
}

/// Every month any dataset of the lake holds rows of.
pub fn lake_months(lake: &Lake) -> BTreeSet<NaiveDate> {
    let mut out = BTreeSet::new();
    for ds in crate::dataset::Dataset::ALL {
        for f in lake.partition_files(ds) {
            let month = f
                .ancestors()
                .filter_map(|a| a.file_name()?.to_str()?.strip_prefix("month=").map(str::to_string))
                .next();
            if let Some(d) = month.and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()) {
                out.insert(d);
            }
        }
    }
    out
}

/// Runs of consecutive months: (first day of the first, last day of the last).
fn runs(months: &BTreeSet<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for &m in months {
        let end = Grain::Month.end(m);
        match out.last_mut() {
            Some(last) if last.1 + chrono::Duration::days(1) == m => last.1 = end,
            _ => out.push((m, end)),
        }
    }
    out
}

/// What one update wrote.
#[derive(Debug, Default, Clone)]
pub struct MartUpdate {
    pub files: Vec<PathBuf>,
    /// The months recomputed (first days), over every grain.
    pub months: BTreeSet<NaiveDate>,
    /// Marts written by an mpetl with other columns, rewritten whole from the lake.
    pub rewritten: Vec<PathBuf>,
}

fn read(path: &Path) -> Result<Option<DataFrame>, MetricsError> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(crate::lake::read_file(path)?))
}

pub(super) fn dates(df: &DataFrame, name: &str) -> PolarsResult<Vec<NaiveDate>> {
    Ok(df.column(name)?.date()?.as_date_iter().map(|d| d.unwrap_or_default()).collect())
}

/// Recomputes the marts of `grains` for `touched` months (first days), or for every month of the
/// lake when `rewrite` (then nothing old is kept).
pub fn update(
    lake: &Lake,
    inputs: &Inputs<'_>,
    dir: &Path,
    touched: &BTreeSet<NaiveDate>,
    grains: &[Grain],
    rewrite: bool,
) -> Result<MartUpdate, MetricsError> {
    let mut out = MartUpdate::default();
    // Every statement the recomputed periods can overlap, checked once for all grains.
    let mut checked: Option<(Period, super::reconcile::Reconciliation)> = None;
    // `daily` rows per run of months (first day, last day), shared by the grains.
    let mut days: std::collections::HashMap<(NaiveDate, NaiveDate), Option<DataFrame>> = Default::default();
    let settled = inputs.today - chrono::Duration::days(i64::from(inputs.settle_days));
    for &grain in grains {
        let sku_path = dir.join(format!("sku_{}.parquet", grain.name()));
        let totals_path = dir.join(format!("totals_{}.parquet", grain.name()));
        let (mut old_sku, mut old_totals) =
            if rewrite { (None, None) } else { (read(&sku_path)?, read(&totals_path)?) };
        let expected = super::empty_sku_frame()?;
        let other_version = old_sku.as_ref().is_some_and(|df| df.schema() != expected.schema());
        if other_version {
            // Columns of another version: nothing of it can be kept next to new rows.
            out.rewritten.push(sku_path.clone());
            (old_sku, old_totals) = (None, None);
        }
        let mut months = if rewrite || other_version { lake_months(lake) } else { touched.clone() };
        // Periods a mart still marks incomplete that have settled since get their final numbers.
        if let Some(df) = &old_sku {
            let to = dates(df, "period_to")?;
            let complete: Vec<Option<bool>> = df.column("complete")?.bool()?.iter().collect();
            for (t, c) in to.iter().zip(complete) {
                if c == Some(false) && *t <= settled {
                    months.extend(months_of(grain.start(*t), *t));
                }
            }
        }
        let mut fresh_sku = Vec::new();
        let mut fresh_totals = Vec::new();
        let mut replaced = Vec::new();
        for (run_from, run_to) in runs(&months) {
            // Whole periods: a week that starts in the previous month is recomputed whole.
            let (from, to) = (grain.start(run_from), grain.end(grain.start(run_to)));
            let period = Period { from, to };
            if !checked.as_ref().is_some_and(|(p, _)| p.from <= from && p.to >= to) {
                // One check over every period this update recomputes, at any grain: its months,
                // widened by a week either side for the weeks that cross a month's edge. Only that
                // span is read (a nightly run's is a month or two, not the whole lake).
                let (first, last) = (
                    months.first().map_or(from, |m| *m - chrono::Duration::days(7)).min(from),
                    months.last().map_or(to, |m| Grain::Month.end(*m) + chrono::Duration::days(7)).max(to),
                );
                let span = Period { from: first, to: last };
                checked = Some((span, statements_around(lake, inputs, &span)?));
            }
            let Some((_, rec)) = &checked else { continue };
            super::refuse_holes(lake, &period, None)?;
            // The days of a run of months, with the week either side a week's period can reach,
            // are summed once for every grain.
            let key = (run_from, run_to);
            if let std::collections::hash_map::Entry::Vacant(slot) = days.entry(key) {
                let span =
                    Period { from: run_from - chrono::Duration::days(6), to: run_to + chrono::Duration::days(6) };
                slot.insert(super::daily(lake, inputs, &span, None)?);
            }
            let sku = super::from_daily(lake, inputs, days.get(&key).and_then(Option::as_ref), &period, grain, rec)?;
            fresh_totals.push(totals(&sku, &inputs.tax)?);
            fresh_sku.push(sku);
            replaced.push((from, to));
        }
        out.months.extend(months.iter().copied());
        let untouched = |df: DataFrame| -> PolarsResult<DataFrame> {
            let hit = replaced.iter().fold(lit(false), |acc, (f, t)| {
                acc.or(col("period_from").gt_eq(lit(*f)).and(col("period_from").lt_eq(lit(*t))))
            });
            df.lazy().filter(hit.not()).collect()
        };
        for (path, old, fresh, order) in [
            (&sku_path, old_sku, fresh_sku, vec!["period_from", "marketplace", "account", "sku"]),
            (&totals_path, old_totals, fresh_totals, vec!["period_from", "account", "marketplace"]),
        ] {
            let mut frames: Vec<LazyFrame> = Vec::new();
            if let Some(o) = old {
                frames.push(untouched(o)?.lazy());
            }
            frames.extend(fresh.into_iter().map(DataFrame::lazy));
            if frames.is_empty() {
                continue;
            }
            let mut df = concat(frames, UnionArgs::default())?
                .sort(order, SortMultipleOptions::default().with_nulls_last(true).with_maintain_order(true))
                .collect()?;
            let meta = vec![
                ("mpetl.grain".to_string(), grain.name().to_string()),
                ("mpetl.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
            ];
            crate::lake::write_parquet_atomically(path, &mut df, meta, crate::lake::ALWAYS)
                .map_err(|e| MetricsError::Write { path: path.clone(), detail: e.to_string() })?;
            out.files.push(path.clone());
        }
        out.files.extend(super::abc::write(dir, grain)?);
    }
    Ok(out)
}

/// The months a run over `period` touched: every month the period overlaps.
pub fn touched(period: &Period) -> BTreeSet<NaiveDate> {
    months_of(period.from, period.to)
}
