//! The marts: `sku_<grain>/`, `totals_<grain>/` and `abc_<grain>/` under `data/marts/`, one file
//! per month (see `files`), upserted by period. A run recomputes, from the whole lake, every
//! month it touched (and every month a mart still marks incomplete that has settled since); rows
//! of other periods are kept as they were, so a nightly run or a `/report` never turns a month
//! into a part of itself.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

mod files;
mod write;

pub use files::{MartDir, read_all};

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
    /// Every month file written (removed months are not listed).
    pub files: Vec<PathBuf>,
    /// The months recomputed (first days), over every grain.
    pub months: BTreeSet<NaiveDate>,
    /// Marts written by an mpetl with other columns or in the one-file layout, rewritten whole
    /// from the lake.
    pub rewritten: Vec<PathBuf>,
}

pub(super) fn dates(df: &DataFrame, name: &str) -> PolarsResult<Vec<NaiveDate>> {
    Ok(df.column(name)?.date()?.as_date_iter().map(|d| d.unwrap_or_default()).collect())
}

/// The three marts of one grain and the columns each is written with.
pub(super) struct GrainMarts {
    pub(super) sku: MartDir,
    pub(super) totals: MartDir,
    pub(super) abc: MartDir,
    /// The one-file marts of mpetl before month files (`sku_day.parquet`…), removed once the
    /// month files replace them.
    pub(super) legacy: Vec<PathBuf>,
    /// `marts/.<grain>.columns`: the columns of the month files (see `other_version`).
    marker: PathBuf,
}

impl GrainMarts {
    fn new(dir: &Path, grain: Grain) -> Self {
        let name = |m: &str| format!("{m}_{}", grain.name());
        let legacy = ["sku", "totals", "abc"]
            .iter()
            .map(|m| dir.join(format!("{}.parquet", name(m))))
            .filter(|p| p.exists())
            .collect();
        GrainMarts {
            sku: MartDir::new(dir, &name("sku")),
            totals: MartDir::new(dir, &name("totals")),
            abc: MartDir::new(dir, &name("abc")),
            legacy,
            marker: dir.join(format!(".{}.columns", grain.name())),
        }
    }

    /// The columns this version writes to the three marts, as one string.
    fn columns(inputs: &Inputs<'_>) -> Result<String, MetricsError> {
        let sku = super::empty_sku_frame()?;
        let schemas = [
            sku.schema().clone(),
            totals(&sku, &inputs.tax)?.schema().clone(),
            super::abc::abc(&sku)?.schema().clone(),
        ];
        Ok(schemas
            .iter()
            .map(|s| s.iter().map(|(n, t)| format!("{n}:{t}")).collect::<Vec<_>>().join(","))
            .collect::<Vec<_>>()
            .join("\n"))
    }

    /// Whether the month files were written with other columns than `columns`, or in the one-file
    /// layout: the marker a whole rewrite leaves when it ends is missing or says otherwise. A
    /// rewrite removes the marker before it starts, so one stopped halfway is done again.
    fn other_version(&self, columns: &str) -> bool {
        if !self.legacy.is_empty() {
            return true;
        }
        let has_files = [&self.sku, &self.totals, &self.abc].iter().any(|m| !m.months().is_empty());
        has_files && std::fs::read_to_string(&self.marker).ok().as_deref() != Some(columns)
    }
}

/// Recomputes the marts of `grains` for `touched` months (first days), or for every month of the
/// lake when `rewrite` (then nothing old is kept). Only the month files of the recomputed
/// periods are read and written.
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
    let mut labels: Option<super::labels::Labels> = None;
    let started = std::time::Instant::now();
    let lap = |what: &str, grain: Grain| {
        tracing::debug!(ms = started.elapsed().as_millis() as u64, grain = grain.name(), "marts: {what}");
    };
    let columns = GrainMarts::columns(inputs)?;
    let mut work = Vec::new();
    for &grain in grains {
        let marts = GrainMarts::new(dir, grain);
        let other_version = marts.other_version(&columns);
        if other_version {
            // Columns of another version: nothing of it can be kept next to new rows.
            out.rewritten.push(marts.legacy.first().cloned().unwrap_or_else(|| marts.sku.path().to_path_buf()));
        }
        let whole = rewrite || other_version;
        if whole {
            std::fs::remove_file(&marts.marker).or_else(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Ok(()),
                _ => Err(MetricsError::Write { path: marts.marker.clone(), detail: e.to_string() }),
            })?;
        }
        let existing = marts.sku.months();
        let mut months = if whole { lake_months(lake) } else { touched.clone() };
        if !whole {
            // Periods a mart still marks incomplete that have settled since get their final
            // numbers: the footer says which months hold such periods.
            for (m, path) in &existing {
                if let Some((first, last)) = files::footer(path)?.incomplete
                    && first <= settled
                {
                    months.extend(months_of(*m, last));
                }
            }
        }
        lap("months chosen", grain);
        let mut fresh_sku = Vec::new();
        let mut fresh_totals = Vec::new();
        // The recomputed periods: (first day of the first, first day of the last).
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
            let labels = match labels {
                Some(ref mut l) => l,
                None => labels.insert(super::labels::Labels::load(lake)?),
            };
            labels.cover(lake, days.get(&key).and_then(Option::as_ref))?;
            let sku = super::from_daily(labels, inputs, days.get(&key).and_then(Option::as_ref), &period, grain, rec)?;
            fresh_totals.push(totals(&sku, &inputs.tax)?);
            fresh_sku.push(sku);
            replaced.push((from, grain.start(run_to)));
        }
        out.months.extend(months.iter().copied());
        lap("recomputed", grain);
        // The month files the recomputed periods start in; on a whole rewrite also every file
        // present, so a month the lake no longer holds is removed.
        let mut files: BTreeSet<NaiveDate> = replaced.iter().flat_map(|(f, l)| months_of(*f, *l)).collect();
        if whole {
            files.extend(existing.keys().copied());
        }
        let one = |frames: Vec<DataFrame>| -> PolarsResult<Option<DataFrame>> {
            if frames.is_empty() {
                return Ok(None);
            }
            concat(frames.into_iter().map(DataFrame::lazy).collect::<Vec<_>>(), UnionArgs::default())?
                .collect()
                .map(Some)
        };
        let (fresh_sku, fresh_totals) = (one(fresh_sku)?, one(fresh_totals)?);
        work.push(write::Recomputed { grain, marts, whole, fresh_sku, fresh_totals, replaced, files });
    }
    // Every month file of every grain, several at a time: most of a write is waiting on fsync.
    out.files = write::all(&work)?;
    tracing::debug!(ms = started.elapsed().as_millis() as u64, files = out.files.len(), "marts: written");
    for w in &work {
        for path in &w.marts.legacy {
            std::fs::remove_file(path)
                .map_err(|e| MetricsError::Write { path: path.clone(), detail: e.to_string() })?;
        }
        if std::fs::read_to_string(&w.marts.marker).ok().as_deref() != Some(columns.as_str()) {
            crate::lake::write_file_atomically(&w.marts.marker, columns.as_bytes())
                .map_err(|e| MetricsError::Write { path: w.marts.marker.clone(), detail: e.to_string() })?;
        }
    }
    Ok(out)
}

/// The months a run over `period` touched: every month the period overlaps.
pub fn touched(period: &Period) -> BTreeSet<NaiveDate> {
    months_of(period.from, period.to)
}
