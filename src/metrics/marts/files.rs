//! Where a mart's rows live: one file per month of `period_from`,
//! `marts/<mart>/<YYYY-MM>.parquet`. A nightly run reads and rewrites the month or two it
//! touched, not years of rows, and an analyst reads `marts/<mart>/*.parquet` as one table.
//!
//! Each file's footer says what a run needs without reading its rows: the span of its periods
//! that were still incomplete (they are recomputed once they have settled).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use polars::prelude::*;

use super::super::{Grain, MetricsError};
use crate::lake::memo::{Memo, Stamp};

/// The footer key; `mpetl.grain` and `mpetl.version` are there for readers of the data.
const INCOMPLETE: &str = "mpetl.incomplete";

/// The files of one mart, e.g. `marts/sku_day/`.
#[derive(Debug, Clone)]
pub struct MartDir {
    dir: PathBuf,
}

/// What a file's footer says.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Footer {
    /// The first and last `period_to` of the rows still marked incomplete.
    pub incomplete: Option<(NaiveDate, NaiveDate)>,
}

impl MartDir {
    pub fn new(marts: &Path, name: &str) -> Self {
        MartDir { dir: marts.join(name) }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    pub fn file(&self, month: NaiveDate) -> PathBuf {
        self.dir.join(format!("{}.parquet", month.format("%Y-%m")))
    }

    /// The month files present, by first day. Anything else in the directory (a copy, a temp
    /// file) is not the mart's and is neither read nor removed.
    pub fn months(&self) -> BTreeMap<NaiveDate, PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return BTreeMap::new() };
        entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.strip_suffix(".parquet")?.to_string();
                let month = NaiveDate::parse_from_str(&format!("{name}-01"), "%Y-%m-%d").ok()?;
                // Only the name this module writes: `2026-1.parquet` would parse but is not ours.
                (self.file(month) == e.path()).then_some((month, e.path()))
            })
            .collect()
    }

    pub fn read(&self, month: NaiveDate) -> Result<Option<DataFrame>, MetricsError> {
        let path = self.file(month);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(crate::lake::read_file(&path)?))
    }

    /// Writes a month (temp file + rename), or removes it when no row is left.
    pub fn write(&self, month: NaiveDate, df: &mut DataFrame, grain: Grain) -> Result<Option<PathBuf>, MetricsError> {
        let path = self.file(month);
        if df.height() == 0 {
            match std::fs::remove_file(&path) {
                Ok(()) => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(MetricsError::Write { path, detail: e.to_string() }),
            }
        }
        let mut meta = vec![
            ("mpetl.grain".to_string(), grain.name().to_string()),
            ("mpetl.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ];
        if let Some((first, last)) = incomplete(df)? {
            meta.push((INCOMPLETE.to_string(), format!("{first}..{last}")));
        }
        crate::lake::write_parquet_atomically(&path, df, meta, crate::lake::ALWAYS)
            .map_err(|e| MetricsError::Write { path: path.clone(), detail: e.to_string() })?;
        Ok(Some(path))
    }
}

/// The span of `period_to` of the rows marked incomplete, when the frame has such rows.
fn incomplete(df: &DataFrame) -> PolarsResult<Option<(NaiveDate, NaiveDate)>> {
    if df.schema().get("complete").is_none() {
        return Ok(None);
    }
    let to = super::dates(df, "period_to")?;
    let open = df.column("complete")?.bool()?.iter().zip(to).filter(|(c, _)| *c == Some(false)).map(|(_, t)| t);
    Ok(open.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((a, b)) => Some((a.min(t), b.max(t))),
    }))
}

/// Reads only the footer of a mart file.
pub fn footer(path: &Path) -> Result<Footer, MetricsError> {
    let f = File::open(path).map_err(|source| crate::lake::LakeError::Io { path: path.to_path_buf(), source })?;
    let mut reader = ParquetReader::new(f);
    let meta =
        reader.get_metadata().map_err(|source| crate::lake::LakeError::Polars { path: path.to_path_buf(), source })?;
    let mut out = Footer::default();
    for kv in meta.key_value_metadata().iter().flatten() {
        if let (INCOMPLETE, Some(v)) = (kv.key.as_str(), kv.value.as_deref()) {
            let parse = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
            out.incomplete = v.split_once("..").and_then(|(a, b)| Some((parse(a)?, parse(b)?)));
        }
    }
    Ok(out)
}

/// Every month of one mart as one frame (what an analyst's `read_parquet('<mart>/*.parquet')`
/// sees), or `None` when the mart has no file.
pub fn read_all(marts: &Path, name: &str) -> Result<Option<DataFrame>, MetricsError> {
    let files: Vec<PathBuf> = MartDir::new(marts, name).months().into_values().collect();
    if files.is_empty() {
        return Ok(None);
    }
    let frames =
        files.iter().map(|p| Ok(crate::lake::read_file(p)?.lazy())).collect::<Result<Vec<_>, MetricsError>>()?;
    Ok(Some(concat(frames, UnionArgs::default())?.collect()?))
}

/// The footers of a mart directory's files, read once per version of each file: a nightly run
/// rewrites a month or two, and reading every month file's footer to find the incomplete periods
/// grew with the marts (17–40 ms of a nightly's update on a 3-year lake).
pub struct Footers(Memo<Footer>);

impl Footers {
    /// The footers known under `marts` (the directory holding every mart).
    pub fn load(marts: &Path) -> Self {
        Footers(Memo::load(marts.join(".memo/footers.json"), marts.to_path_buf()))
    }

    /// What the footer of `path` says, read only when this version of the file was not.
    pub fn footer(&mut self, path: &Path) -> Result<Footer, MetricsError> {
        let stamp = Stamp::of(path);
        if let Some(known) = self.0.get(path, stamp) {
            return Ok(known.clone());
        }
        let read = footer(path)?;
        if let Some(stamp) = stamp {
            self.0.put(path, stamp, read.clone());
        }
        Ok(read)
    }

    pub fn save(self) {
        self.0.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_file_keeps_its_columns_and_incomplete_span_in_the_footer_and_strays_are_not_months() {
        let dir = tempfile::tempdir().unwrap();
        let mart = MartDir::new(dir.path(), "sku_day");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let days = ["2026-11-03", "2026-11-05", "2026-11-09", "2026-11-12"];
        let mut df = DataFrame::new_infer_height(vec![
            crate::lake::columns::date("period_from", days.iter().map(|s| d(s))),
            crate::lake::columns::date("period_to", days.iter().map(|s| d(s))),
            Column::new("complete".into(), [true, false, true, false]),
        ])
        .unwrap();
        let month = d("2026-11-01");
        let path = mart.write(month, &mut df, Grain::Day).unwrap().expect("written");
        assert_eq!(path, dir.path().join("sku_day/2026-11.parquet"));
        let f = footer(&path).unwrap();
        assert_eq!(f.incomplete, Some((d("2026-11-05"), d("2026-11-12"))));
        // Remembered between runs for this version of the file only: the month written again
        // with every period complete says so at once.
        let mut footers = Footers::load(dir.path());
        assert_eq!(footers.footer(&path).unwrap(), f);
        footers.save();
        assert!(dir.path().join(".memo/footers.json").exists());
        let mut settled = df.clone();
        settled.with_column(Column::new("complete".into(), [true; 4])).unwrap();
        mart.write(month, &mut settled, Grain::Day).unwrap();
        assert_eq!(Footers::load(dir.path()).footer(&path).unwrap().incomplete, None);
        mart.write(month, &mut df, Grain::Day).unwrap();
        // Copies and names this module does not write are not months of the mart.
        for stray in ["2026-1.parquet", "copy.parquet", ".2026-10.parquet.1.tmp", "2026-10.parquet.bak"] {
            std::fs::write(dir.path().join("sku_day").join(stray), b"x").unwrap();
        }
        assert_eq!(mart.months().into_keys().collect::<Vec<_>>(), [month]);
        // A month left with no row is removed, not written empty.
        assert_eq!(mart.write(month, &mut DataFrame::empty(), Grain::Day).unwrap(), None);
        assert!(mart.months().is_empty() && !path.exists());
    }
}
