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
    month_bytes(lake, None).into_keys().collect()
}

/// The bytes of Parquet each month of the lake holds (or each of `first..=last`), over every
/// dataset.
fn month_bytes(lake: &Lake, range: Option<(NaiveDate, NaiveDate)>) -> std::collections::BTreeMap<NaiveDate, u64> {
    let mut out = std::collections::BTreeMap::new();
    let key = |d: NaiveDate| d.format("%Y-%m").to_string();
    for ds in crate::dataset::Dataset::ALL {
        let files = match range {
            Some((first, last)) => lake.partition_files_of_months(ds, &key(first), &key(last)),
            None => lake.partition_files(ds),
        };
        for f in files {
            let month = f
                .ancestors()
                .filter_map(|a| a.file_name()?.to_str()?.strip_prefix("month=").map(str::to_string))
                .next();
            if let Some(d) = month.and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok()) {
                *out.entry(d).or_default() += std::fs::metadata(&f).map_or(0, |m| m.len());
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
    /// The SKU rows of the period asked for beside the marts (see [`update`]), when one span's
    /// days covered it.
    pub also: Option<DataFrame>,
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

/// The Parquet bytes of lake months summed and written at once (a large seller's month is
/// ~15 MB): the stage holds one such span of days and of mart rows, so its memory follows this,
/// not the length of the period. Each span costs a pass of its own, so small lakes go in one.
pub const CHUNK_BYTES: u64 = 48 << 20;

/// `runs` cut into spans of consecutive months of at most `budget` bytes of lake (at least a
/// month each): (first day, last day).
fn chunks(
    months: &BTreeSet<NaiveDate>,
    bytes: &std::collections::BTreeMap<NaiveDate, u64>,
    budget: u64,
) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for (from, to) in runs(months) {
        let mut held = 0;
        for m in months.range(from..=to) {
            let size = bytes.get(m).copied().unwrap_or(0);
            match out.last_mut() {
                Some(last) if last.1 + chrono::Duration::days(1) == *m && held + size <= budget => {
                    last.1 = Grain::Month.end(*m);
                    held += size;
                }
                _ => {
                    out.push((*m, Grain::Month.end(*m)));
                    held = size;
                }
            }
        }
    }
    out
}

/// The periods of `grain` a chunk recomputes for the grain's run of months `rf..=rt` (first day,
/// last day) inside it: (first day of the first period, last day of the last). A period that
/// crosses into the next chunk (a week) is left to that chunk, which has its days too: computed
/// here as well, it would only be replaced there.
fn periods(grain: Grain, months: &BTreeSet<NaiveDate>, rf: NaiveDate, rt: NaiveDate) -> Period {
    let last = grain.start(rt);
    let continues = months.contains(&(rt + chrono::Duration::days(1)));
    let to = if continues && grain.end(last) > rt { last - chrono::Duration::days(1) } else { grain.end(last) };
    Period { from: grain.start(rf), to }
}

/// One grain's part of an update.
struct Plan {
    grain: Grain,
    marts: GrainMarts,
    whole: bool,
    months: BTreeSet<NaiveDate>,
    existing: std::collections::BTreeMap<NaiveDate, PathBuf>,
    /// Month files this update has written, so a later chunk that recomputes a period of one
    /// (a week across the chunks' edge) keeps the rest of it.
    written: BTreeSet<NaiveDate>,
}

/// Recomputes the marts of `grains` for `touched` months (first days), or for every month of the
/// lake when `rewrite` (then nothing old is kept). Only the month files of the recomputed
/// periods are read and written, a few months at a time (`inputs.chunk_bytes` of lake).
///
/// `also`: a period and grain whose SKU rows the caller wants too (`mpetl metrics --from --to`
/// prints them). When the days one span sums cover that period, they come from those days and
/// that statements check, as [`super::by_sku`] would compute them, instead of a second read of
/// the same files; otherwise [`MartUpdate::also`] is None.
pub fn update(
    lake: &Lake,
    inputs: &Inputs<'_>,
    dir: &Path,
    touched: &BTreeSet<NaiveDate>,
    grains: &[Grain],
    rewrite: bool,
    also: Option<(&Period, Grain)>,
) -> Result<MartUpdate, MetricsError> {
    let mut out = MartUpdate::default();
    let settled = inputs.today - chrono::Duration::days(i64::from(inputs.settle_days));
    let started = std::time::Instant::now();
    let lap = |what: &str| {
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "marts: {what}");
    };
    let columns = GrainMarts::columns(inputs)?;
    // Every month's bytes of lake, listed once when a whole rewrite needs the lake's months;
    // otherwise only the recomputed months' are (below), for the spans.
    let mut every_month = None;
    let mut plans = Vec::new();
    let mut footers = files::Footers::load(dir);
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
        let mut months = if whole {
            every_month.get_or_insert_with(|| month_bytes(lake, None)).keys().copied().collect()
        } else {
            touched.clone()
        };
        if !whole {
            // Periods a mart still marks incomplete that have settled since get their final
            // numbers: the footer says which months hold such periods.
            for (m, path) in &existing {
                if let Some((first, last)) = footers.footer(path)?.incomplete
                    && first <= settled
                {
                    months.extend(months_of(*m, last));
                }
            }
        }
        out.months.extend(months.iter().copied());
        plans.push(Plan { grain, marts, whole, months, existing, written: BTreeSet::new() });
    }
    footers.save();
    lap("months chosen");
    let (Some(&first), Some(&last)) = (out.months.first(), out.months.last()) else {
        return finish(out, plans, &columns);
    };
    // One check of every statement the recomputed periods can overlap, at any grain: their
    // months, widened by a week either side for the weeks that cross a month's edge. Only that
    // span is read (a nightly run's is a month or two, not the whole lake).
    let span =
        Period { from: first - chrono::Duration::days(7), to: Grain::Month.end(last) + chrono::Duration::days(7) };
    let bytes = every_month.unwrap_or_else(|| month_bytes(lake, Some((first, last))));
    let spans = chunks(&out.months, &bytes, inputs.chunk_bytes);
    // A chunk's days, with the week either side a week's period can reach, summed once for every
    // grain; the first chunk's beside the statements check.
    let days = |(a, b): (NaiveDate, NaiveDate)| {
        super::daily(
            lake,
            inputs,
            &Period { from: a - chrono::Duration::days(6), to: b + chrono::Duration::days(6) },
            None,
        )
    };
    let (rec, first) = super::beside(|| statements_around(lake, inputs, &span), || spans.first().map(|c| days(*c)))?;
    let (rec, mut first) = (rec?, first.transpose()?);
    lap("statements checked, first days summed");
    let mut labels = super::labels::Labels::load(lake)?;
    for &(a, b) in &spans {
        let daily = match first.take() {
            Some(d) => d,
            None => days((a, b))?,
        };
        labels.cover(lake, daily.as_ref())?;
        if let Some((period, grain)) = also
            && out.also.is_none()
            && a - chrono::Duration::days(6) <= period.from
            && period.to <= b + chrono::Duration::days(6)
        {
            super::refuse_holes(lake, period, None)?;
            out.also = Some(super::from_daily(&labels, inputs, daily.as_ref(), period, grain, &rec)?);
        }
        let mut work = Vec::new();
        for plan in &mut plans {
            let inside: BTreeSet<NaiveDate> = plan.months.range(a..=b).copied().collect();
            let mut fresh_sku = Vec::new();
            let mut fresh_totals = Vec::new();
            let mut replaced = Vec::new();
            for (rf, rt) in runs(&inside) {
                let period = periods(plan.grain, &plan.months, rf, rt);
                super::refuse_holes(lake, &period, None)?;
                let sku = super::from_daily(&labels, inputs, daily.as_ref(), &period, plan.grain, &rec)?;
                fresh_totals.push(totals(&sku, &inputs.tax)?);
                fresh_sku.push(sku);
                replaced.push((period.from, plan.grain.start(period.to)));
            }
            // The month files the recomputed periods start in.
            let files: BTreeSet<NaiveDate> = replaced.iter().flat_map(|(f, l)| months_of(*f, *l)).collect();
            let keep = if plan.whole { plan.written.intersection(&files).copied().collect() } else { files.clone() };
            plan.written.extend(files.iter().copied());
            work.push(write::Recomputed {
                grain: plan.grain,
                marts: &plan.marts,
                keep,
                fresh_sku: one(fresh_sku)?,
                fresh_totals: one(fresh_totals)?,
                replaced,
                files,
            });
        }
        lap(&format!("{a} … {b} computed"));
        // Every month file of the chunk, several at a time: most of a write is waiting on fsync.
        out.files.extend(write::all(&work)?);
        lap(&format!("{a} … {b} written"));
    }
    finish(out, plans, &columns)
}

/// Frames stacked into one, or None.
fn one(frames: Vec<DataFrame>) -> PolarsResult<Option<DataFrame>> {
    if frames.is_empty() {
        return Ok(None);
    }
    concat(frames.into_iter().map(DataFrame::lazy).collect::<Vec<_>>(), UnionArgs::default())?.collect().map(Some)
}

/// The end of an update: a whole rewrite removes the month files it did not write (months the
/// lake no longer holds), the one-file marts go, and each grain's marker says the files are whole.
fn finish(mut out: MartUpdate, plans: Vec<Plan>, columns: &str) -> Result<MartUpdate, MetricsError> {
    let stale: Vec<write::Recomputed<'_>> = plans
        .iter()
        .filter(|p| p.whole)
        .map(|p| write::Recomputed {
            grain: p.grain,
            marts: &p.marts,
            keep: BTreeSet::new(),
            fresh_sku: None,
            fresh_totals: None,
            replaced: Vec::new(),
            files: p.existing.keys().filter(|m| !p.written.contains(m)).copied().collect(),
        })
        .collect();
    write::all(&stale)?;
    // A week across two chunks writes its month file twice.
    out.files.sort();
    out.files.dedup();
    for p in &plans {
        for path in &p.marts.legacy {
            std::fs::remove_file(path)
                .map_err(|e| MetricsError::Write { path: path.clone(), detail: e.to_string() })?;
        }
        if std::fs::read_to_string(&p.marts.marker).ok().as_deref() != Some(columns) {
            crate::lake::write_file_atomically(&p.marts.marker, columns.as_bytes())
                .map_err(|e| MetricsError::Write { path: p.marts.marker.clone(), detail: e.to_string() })?;
        }
    }
    Ok(out)
}

/// The months a run over `period` touched: every month the period overlaps.
pub fn touched(period: &Period) -> BTreeSet<NaiveDate> {
    months_of(period.from, period.to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn months_are_chunked_by_lake_bytes_and_a_week_across_two_chunks_goes_to_the_later() {
        const MIB: u64 = 1 << 20;
        let months: BTreeSet<NaiveDate> = [1, 2, 3, 4, 5, 6, 8].into_iter().map(|m| d(m, 1)).collect();
        let bytes = [(1, 30), (2, 20), (3, 10), (4, 50), (5, 1), (6, 1), (8, 1)]
            .into_iter()
            .map(|(m, mib)| (d(m, 1), mib * MIB))
            .collect();
        // 30 + 20 > 48: January alone; February and March (30); April over the budget on its
        // own; May and June; August after a gap.
        assert_eq!(
            chunks(&months, &bytes, 48 * MIB),
            [(d(1, 1), d(1, 31)), (d(2, 1), d(3, 31)), (d(4, 1), d(4, 30)), (d(5, 1), d(6, 30)), (d(8, 1), d(8, 31))]
        );
        // 2026-01-31 is a Saturday: the week of Monday 26 January ends on 1 February, in the next
        // chunk, so January's chunk stops at Sunday the 25th and February's starts on the 26th.
        let jan_feb: BTreeSet<NaiveDate> = [d(1, 1), d(2, 1)].into_iter().collect();
        let jan = periods(Grain::Week, &jan_feb, d(1, 1), d(1, 31));
        assert_eq!((jan.from, jan.to), (NaiveDate::from_ymd_opt(2025, 12, 29).unwrap(), d(1, 25)));
        let feb = periods(Grain::Week, &jan_feb, d(2, 1), d(2, 28));
        // 28 February is a Saturday; March is not recomputed, so its week is whole here.
        assert_eq!((feb.from, feb.to), (d(1, 26), d(3, 1)));
        // Without February, January's last week is its own.
        let jan_alone: BTreeSet<NaiveDate> = [d(1, 1)].into_iter().collect();
        assert_eq!(periods(Grain::Week, &jan_alone, d(1, 1), d(1, 31)).to, d(2, 1));
        // Days and months never cross.
        let m = periods(Grain::Month, &jan_feb, d(1, 1), d(1, 31));
        assert_eq!((m.from, m.to), (d(1, 1), d(1, 31)));
    }
}
