//! Checking the lake against itself and against the chunk records (`mpetl lake verify`), and the
//! holes it finds. A hole is a partition known to be missing or damaged: a marker file under
//! `lake/.holes/` (outside every dataset, so no scan reads it) names it until a run fetches its
//! chunk again. Metrics refuse a period with a hole instead of reporting it short.

use std::path::{Path, PathBuf};

use super::{Lake, PART, read_file};
use crate::dataset::Dataset;

/// One partition that cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hole {
    pub dataset: Dataset,
    pub account: String,
    /// `YYYY-MM`.
    pub month: String,
    /// What is wrong with it.
    pub what: String,
}

impl std::fmt::Display for Hole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} account {} month {}: {}", self.dataset, self.account, self.month, self.what)
    }
}

const HOLES: &str = ".holes";

impl Lake {
    /// Every partition file read whole (footer and pages) and checked for the dataset's key
    /// columns and at least one row. A damaged file is moved aside (`part-0.parquet.damaged`, a
    /// file no scan reads) so the next write starts clean.
    pub fn set_aside_damaged(&self) -> Vec<Hole> {
        let mut out = Vec::new();
        for ds in Dataset::ALL {
            for path in self.partition_files(ds) {
                let Some((account, month)) = partition_of(&path) else { continue };
                let what = match read_file(&path) {
                    Err(e) => Some(format!("unreadable ({e})")),
                    Ok(df) if df.height() == 0 => Some("has no rows".to_string()),
                    Ok(df) => ds
                        .primary_key()
                        .iter()
                        .find(|k| df.column(k).is_err())
                        .map(|k| format!("lacks the key column {k}")),
                };
                if let Some(what) = what {
                    let aside = path.with_file_name(format!("{PART}.damaged"));
                    let what = match std::fs::rename(&path, &aside) {
                        Ok(()) => format!("{what}; moved to {}", aside.display()),
                        Err(e) => format!("{what}; could not be moved aside: {e}"),
                    };
                    out.push(Hole { dataset: ds, account, month, what });
                }
            }
        }
        out
    }

    /// Whether the partition of `ds`, `account`, `month` exists.
    pub fn has_partition(&self, ds: Dataset, account: &str, month: &str) -> bool {
        self.partition_file(ds, account, month).exists()
    }

    fn holes_dir(&self) -> PathBuf {
        self.root().join(HOLES)
    }

    fn hole_file(&self, ds: Dataset, account: &str, month: &str) -> PathBuf {
        self.holes_dir().join(format!("{}~{account}~{month}", ds.name()))
    }

    /// Records `hole` until a run fetches its chunk again.
    pub fn mark_hole(&self, hole: &Hole) -> std::io::Result<()> {
        super::write_file_atomically(&self.hole_file(hole.dataset, &hole.account, &hole.month), hole.what.as_bytes())
    }

    /// The recorded holes, sorted.
    pub fn holes(&self) -> Vec<Hole> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(self.holes_dir()).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let mut parts = name.splitn(3, '~');
            let (Some(ds), Some(account), Some(month)) = (parts.next(), parts.next(), parts.next()) else { continue };
            let Some(dataset) = Dataset::from_name(ds) else { continue };
            let what = std::fs::read_to_string(e.path()).unwrap_or_default();
            out.push(Hole { dataset, account: account.to_string(), month: month.to_string(), what });
        }
        out.sort();
        out
    }

    /// Forgets the holes a finished chunk refilled: its month, or (a WB statistics stream, which
    /// re-reads everything it still can) every month of the dataset and account.
    pub fn clear_holes(&self, ds: Dataset, account: &str, month: Option<&str>) {
        for h in self.holes() {
            if h.dataset == ds && h.account == account && month.is_none_or(|m| m == h.month) {
                let _ = std::fs::remove_file(self.hole_file(h.dataset, &h.account, &h.month));
            }
        }
    }
}

/// `account=<a>/month=<m>/part-0.parquet` → (a, m).
pub fn partition_of(path: &Path) -> Option<(String, String)> {
    let month = path.parent()?;
    let account = month.parent()?;
    let strip = |p: &Path, prefix: &str| p.file_name()?.to_str()?.strip_prefix(prefix).map(str::to_string);
    Some((strip(account, "account=")?, strip(month, "month=")?))
}
