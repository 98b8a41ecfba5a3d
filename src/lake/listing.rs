//! Finding a dataset's partition files, and scanning them.
//!
//! A scan lists its files itself and hands polars their names: given a glob, polars walks and
//! stats every month of the dataset before pruning by `month`, and a nightly run scans ten
//! datasets several times, so most of that walking was of years it never read.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::{Lake, LakeError, PART};
use crate::dataset::Dataset;

/// Which months a listing keeps: all, or `first..=last` (`YYYY-MM`). The partitions that are not
/// months (`whole`, `unknown`) sort after every digit, so a range of months never holds them.
#[derive(Debug, Clone, Copy)]
enum Months<'a> {
    All,
    Range(&'a str, &'a str),
}

impl Months<'_> {
    fn keeps(&self, month: &str) -> bool {
        match self {
            Months::All => true,
            Months::Range(first, last) => *first <= month && month <= *last,
        }
    }
}

impl Lake {
    /// A lazy scan of every partition of `ds`, with `account` and `month` from the paths, or
    /// `None` when nothing was loaded yet.
    pub fn scan(&self, ds: Dataset) -> Result<Option<LazyFrame>, LakeError> {
        self.scan_files(ds, self.files(ds, Months::All))
    }

    /// [`Lake::scan`] of the partitions of the months `first..=last` (`YYYY-MM`) only.
    pub fn scan_months(&self, ds: Dataset, first: &str, last: &str) -> Result<Option<LazyFrame>, LakeError> {
        self.scan_files(ds, self.files(ds, Months::Range(first, last)))
    }

    /// A lazy scan of the partition files `parts` of `ds` (from [`Lake::partition_files`]), or
    /// `None` when there are none.
    pub fn scan_partitions(&self, ds: Dataset, parts: Vec<PathBuf>) -> Result<Option<LazyFrame>, LakeError> {
        self.scan_files(ds, (parts, Vec::new()))
    }

    fn scan_files(
        &self,
        ds: Dataset,
        (parts, strangers): (Vec<PathBuf>, Vec<PathBuf>),
    ) -> Result<Option<LazyFrame>, LakeError> {
        // Only the files the lake writes: a stray copy in a partition (a backup, a sync
        // client's conflict file) would otherwise be read too and count every row twice.
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        for stranger in strangers {
            if warned.insert(stranger.clone()) {
                tracing::warn!(file = %stranger.display(), "not a lake file (the lake writes only {PART}): left out of every scan; move it away");
            }
        }
        drop(warned);
        if parts.is_empty() {
            return Ok(None);
        }
        let scan_err = |source| LakeError::Scan { dataset: ds, source };
        let sources =
            parts.iter().map(|p| PlRefPath::try_from_path(p)).collect::<PolarsResult<Vec<_>>>().map_err(scan_err)?;
        let hive_schema = Arc::new(Schema::from_iter([
            Field::new("account".into(), DataType::String),
            Field::new("month".into(), DataType::String),
        ]));
        let args = ScanArgsParquet {
            hive_options: HiveOptions {
                enabled: Some(true),
                hive_start_idx: 0,
                schema: Some(hive_schema),
                try_parse_dates: false,
            },
            // Names, not patterns: a lake under a directory with `[` in its name is still read.
            glob: false,
            ..Default::default()
        };
        LazyFrame::scan_parquet_files(sources.into(), args).map(Some).map_err(scan_err)
    }

    /// Every partition file of `ds`, sorted.
    pub fn partition_files(&self, ds: Dataset) -> Vec<PathBuf> {
        self.files(ds, Months::All).0
    }

    /// The partition files of `ds` of the months `first..=last` (`YYYY-MM`), sorted.
    pub fn partition_files_of_months(&self, ds: Dataset, first: &str, last: &str) -> Vec<PathBuf> {
        self.files(ds, Months::Range(first, last)).0
    }

    /// Parquet files under `ds` that the lake did not write (and never reads), sorted.
    pub fn strangers(&self, ds: Dataset) -> Vec<PathBuf> {
        self.files(ds, Months::All).1
    }

    /// The Parquet files under `ds` (of the accounts in scope), in one walk: the partition files
    /// and the strangers. For a range of months only those months' directories are walked.
    fn files(&self, ds: Dataset, months: Months<'_>) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut all = Vec::new();
        let dir = self.dataset_dir(ds);
        let accounts: Vec<PathBuf> = match &self.accounts {
            Some(scope) => scope.iter().map(|a| dir.join(format!("account={a}"))).collect(),
            None if matches!(months, Months::All) => vec![dir],
            None => subdirs(&dir, |n| n.starts_with("account=")),
        };
        for account in accounts {
            match months {
                Months::All => collect_parquet(&account, &mut all),
                Months::Range(..) => {
                    let wanted = |n: &str| n.strip_prefix("month=").is_some_and(|m| months.keeps(m));
                    for month in subdirs(&account, wanted) {
                        collect_parquet(&month, &mut all);
                    }
                }
            }
        }
        all.sort();
        all.into_iter().partition(|p| is_partition_file(p))
    }
}

/// The directories in `dir` whose names `keep` accepts.
fn subdirs(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(&keep) && e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// `<dataset>/account=<id>/month=<m>/part-0.parquet`: the one file per partition the lake writes.
pub(super) fn is_partition_file(p: &Path) -> bool {
    let dir_named = |p: Option<&Path>, prefix: &str| {
        p.and_then(Path::file_name).is_some_and(|n| n.to_string_lossy().starts_with(prefix))
    };
    let month = p.parent();
    p.file_name().is_some_and(|n| n == PART)
        && dir_named(month, "month=")
        && dir_named(month.and_then(Path::parent), "account=")
}

fn collect_parquet(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_parquet(&p, out);
        } else if p.extension().is_some_and(|x| x == "parquet")
            && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        {
            out.push(p);
        }
    }
}
