//! The Parquet lake: `data/lake/<dataset>/account=<id>/month=YYYY-MM/part-0.parquet`.
//!
//! One file per partition, rewritten whole on upsert and published with temp file + fsync +
//! rename, so a reader or a crash sees the partition before or after a write, never half of it.
//! Rows are upserted by primary key: a re-read of the same data rewrites nothing, and a newer
//! version of a key replaces the older one.

pub mod batch;
pub mod columns;
mod listing;
pub mod memo;
pub mod names;
pub mod schema;
pub mod verify;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use crate::dataset::Dataset;

/// The name of every partition's one file.
const PART: &str = "part-0.parquet";

pub const LINEAGE: [&str; 2] = [crate::dataset::LOADED_AT, "_chunk"];
const SRC: &str = "_src";

#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("lake partition {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("lake partition {path}: {source}")]
    Polars { path: PathBuf, source: PolarsError },
    #[error(
        "lake partition {path} was written with another schema ({detail}). Fix: move the dataset directory aside and backfill it again"
    )]
    Schema { path: PathBuf, detail: String },
    #[error("lake dataset {dataset}: {source}")]
    Scan { dataset: Dataset, source: PolarsError },
    #[error("lake partition {path} was not published: {reason}")]
    NotPublished { path: PathBuf, reason: String },
}

/// Asked after a partition's temp file is synced and right before it is published (renamed); an
/// `Err` leaves the old partition as it was. A run checks its lease here: one that lost its
/// account to another process must not publish over that process's writes, and a check made
/// only before the (long) write would miss a lease lost during it.
pub type MayPublish<'a> = &'a dyn Fn() -> Result<(), String>;

/// For writes no lease guards (the marts, tests).
pub const ALWAYS: MayPublish<'static> = &|| Ok(());

/// What one upsert did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct UpsertStats {
    pub partitions_written: u64,
    /// Keys that were not in the lake before.
    pub inserted: u64,
    /// Incoming rows whose content was new (inserts, updates and superseded versions).
    pub changed: u64,
    pub rows_after: u64,
}

impl std::ops::AddAssign for UpsertStats {
    fn add_assign(&mut self, o: Self) {
        self.partitions_written += o.partitions_written;
        self.inserted += o.inserted;
        self.changed += o.changed;
        self.rows_after += o.rows_after;
    }
}

/// A lake handle. Clones share the partition locks: chunks of neighbouring windows can hold rows
/// of the same month (a posting at 00:00 on the 1st), and their read-modify-write upserts of
/// that partition must not interleave. Other processes are kept out by the state store's lock.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
    locks: Arc<std::sync::Mutex<HashMap<PathBuf, Arc<std::sync::Mutex<()>>>>>,
    /// Stray files already warned about: a metrics run scans each dataset many times.
    warned: Arc<std::sync::Mutex<std::collections::HashSet<PathBuf>>>,
    /// Scans read only these accounts' partitions ([`Lake::scoped`]).
    accounts: Option<Arc<[String]>>,
}

impl Lake {
    pub fn new(root: impl Into<PathBuf>) -> Lake {
        Lake { root: root.into(), locks: Arc::default(), warned: Arc::default(), accounts: None }
    }

    /// This lake with every scan (and file listing) limited to `accounts` (None: all): one
    /// seller's metrics on a lake of two hundred read that seller's files, and reconcile its
    /// statements alone (they read, listed and reconciled every seller's before).
    pub fn scoped(mut self, accounts: Option<&[String]>) -> Lake {
        self.accounts = accounts.map(Arc::from);
        self
    }

    fn partition_lock(&self, path: &Path) -> Arc<std::sync::Mutex<()>> {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).entry(path.to_path_buf()).or_default().clone()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dataset_dir(&self, ds: Dataset) -> PathBuf {
        self.root.join(ds.name())
    }

    pub fn partition_file(&self, ds: Dataset, account: &str, month: &str) -> PathBuf {
        self.dataset_dir(ds).join(format!("account={account}")).join(format!("month={month}")).join(PART)
    }

    /// Upserts `incoming` (rows of one account and month) into its partition.
    pub fn upsert(
        &self,
        ds: Dataset,
        account: &str,
        month: &str,
        incoming: DataFrame,
        may_publish: MayPublish<'_>,
    ) -> Result<UpsertStats, LakeError> {
        let path = self.partition_file(ds, account, month);
        let lock = self.partition_lock(&path);
        let _guard = lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let pl = |source| LakeError::Polars { path: path.clone(), source };
        let old = if path.exists() { Some(read_file(&path)?) } else { None };
        let old_rows = old.as_ref().map_or(0, DataFrame::height) as u64;
        let data_cols: Vec<PlSmallStr> =
            incoming.get_column_names().into_iter().filter(|c| !LINEAGE.contains(&c.as_str())).cloned().collect();
        let pk: Vec<PlSmallStr> = ds.primary_key().iter().map(|c| PlSmallStr::from(*c)).collect();
        if let Some(o) = &old
            && o.schema() != incoming.schema()
        {
            return Err(LakeError::Schema { path: path.clone(), detail: schema_diff(o.schema(), incoming.schema()) });
        }
        // Only stored rows with a key the incoming rows also have can equal one or be replaced by
        // one; the others (all of them when a page adds rows, as a backfill's pages do) are kept
        // as they are, without hashing every column of a whole month for each page.
        let (hit, kept) = match old {
            Some(o) => split_by_keys(o, &incoming, &pk).map_err(pl)?,
            None => (None, None),
        };
        let mut order: Vec<PlSmallStr> = vec![ds.event_column().into()];
        order.extend(pk.iter().cloned());
        // No stored row shares a key and no two incoming rows do (a backfill's page): nothing can
        // equal, replace or shadow anything, so the rows are stored as they come, without hashing
        // every column of the page to find duplicates that cannot exist.
        if hit.is_none() && incoming.height() > 0 && keys_unique(&incoming, &pk).map_err(pl)? {
            let changed = incoming.height() as u64;
            let mut all = vec![incoming.lazy()];
            all.extend(kept.map(DataFrame::lazy));
            let merged = concat(all, UnionArgs::default())
                .map_err(pl)?
                .sort(order, SortMultipleOptions::default().with_maintain_order(true))
                .collect()
                .map_err(pl)?;
            return self.commit(ds, &path, merged, old_rows, changed, may_publish);
        }
        let mut parts = Vec::with_capacity(2);
        if let Some(h) = hit {
            parts.push(h.lazy().with_column(lit(0i32).alias(SRC)));
        }
        parts.push(incoming.lazy().with_column(lit(1i32).alias(SRC)));
        // Incoming rows identical to stored ones (lineage aside) are dropped first, so a re-read
        // keeps the stored row and its lineage, and a partition with nothing new is not rewritten.
        let fresh = concat(parts, UnionArgs::default())
            .map_err(pl)?
            .unique_stable(Some(cols(data_cols)), UniqueKeepStrategy::First)
            .collect()
            .map_err(pl)?;
        let changed = fresh.column(SRC).map_err(pl)?.i32().map_err(pl)?.iter().filter(|v| *v == Some(1)).count() as u64;
        if changed == 0 {
            return Ok(UpsertStats { rows_after: old_rows, ..Default::default() });
        }
        // Latest version per key wins; on a tie the incoming row (after the stored one) wins.
        let resolved = fresh
            .lazy()
            .sort([ds.version_column()], SortMultipleOptions::default().with_maintain_order(true))
            .unique_stable(Some(cols(pk)), UniqueKeepStrategy::Last);
        let mut all = vec![resolved];
        if let Some(k) = kept {
            all.push(k.lazy().with_column(lit(0i32).alias(SRC)));
        }
        // Keys are unique by now, so (event, key) orders the rows whatever order they come in.
        let merged = concat(all, UnionArgs::default())
            .map_err(pl)?
            .sort(order, SortMultipleOptions::default().with_maintain_order(true))
            .drop(cols([SRC]))
            .collect()
            .map_err(pl)?;
        self.commit(ds, &path, merged, old_rows, changed, may_publish)
    }

    /// Writes a partition's merged rows in place of the old file, with the footer's names.
    fn commit(
        &self,
        ds: Dataset,
        path: &Path,
        mut merged: DataFrame,
        old_rows: u64,
        changed: u64,
        may_publish: MayPublish<'_>,
    ) -> Result<UpsertStats, LakeError> {
        let rows_after = merged.height() as u64;
        let mut meta = vec![
            ("mpetl.dataset".to_string(), ds.name().to_string()),
            ("mpetl.version".to_string(), env!("CARGO_PKG_VERSION").to_string()),
        ];
        meta.extend(
            names::footer(ds, &merged).map_err(|source| LakeError::Polars { path: path.to_path_buf(), source })?,
        );
        write_parquet_atomically(path, &mut merged, meta, may_publish)?;
        Ok(UpsertStats { partitions_written: 1, inserted: rows_after.saturating_sub(old_rows), changed, rows_after })
    }
}

/// Whether no two rows of `df` share a key (null matching null, as the dedupe by key does).
fn keys_unique(df: &DataFrame, pk: &[PlSmallStr]) -> PolarsResult<bool> {
    let distinct = df
        .clone()
        .lazy()
        .select(pk.iter().map(|c| col(c.clone())).collect::<Vec<_>>())
        .unique(None, UniqueKeepStrategy::Any)
        .collect()?;
    Ok(distinct.height() == df.height())
}

/// `old` split into the rows whose primary key `incoming` also has and the others; None for an
/// empty side. Keys are matched null to null, as the dedupe by key does.
fn split_by_keys(
    old: DataFrame,
    incoming: &DataFrame,
    pk: &[PlSmallStr],
) -> PolarsResult<(Option<DataFrame>, Option<DataFrame>)> {
    const ROW: &str = "_row";
    let keys = incoming
        .clone()
        .lazy()
        .select(pk.iter().map(|c| col(c.clone())).collect::<Vec<_>>())
        .unique(None, UniqueKeepStrategy::Any);
    let on: Vec<Expr> = pk.iter().map(|c| col(c.clone())).collect();
    let mut args = JoinArgs::new(JoinType::Inner);
    args.nulls_equal = true;
    let hits = old
        .clone()
        .lazy()
        .select(on.clone())
        .with_row_index(ROW, None)
        .join(keys, on.clone(), on, args)
        .select([col(ROW)])
        .collect()?;
    if hits.height() == 0 {
        return Ok((None, Some(old)));
    }
    let mut mask = vec![false; old.height()];
    for i in hits.column(ROW)?.idx()?.into_no_null_iter() {
        mask[i as usize] = true;
    }
    let mask = BooleanChunked::from_slice("hit".into(), &mask);
    let (hit, kept) = (old.filter(&mask)?, old.filter(&!&mask)?);
    Ok((Some(hit), (kept.height() > 0).then_some(kept)))
}

pub fn read_file(path: &Path) -> Result<DataFrame, LakeError> {
    let f = File::open(path).map_err(|source| LakeError::Io { path: path.to_path_buf(), source })?;
    ParquetReader::new(f).finish().map_err(|source| LakeError::Polars { path: path.to_path_buf(), source })
}

/// Rows per row group. A reader decodes a row group whole, and the streaming engine has a few in
/// flight per scan: polars' default (~285 000 rows of a WB finance month, 48 MB decoded) put the
/// large year's metrics stage at 0.98–1.20 GiB; 64 Ki rows, 0.84–0.90 GiB, the same totals.
const ROW_GROUP_ROWS: usize = 65_536;

/// Writes `df` to `path` with temp file + fsync + rename + directory fsync: readers and crashes
/// see the old file or the new one, never a part. `may_publish` has the last word before the
/// rename.
pub fn write_parquet_atomically(
    path: &Path,
    df: &mut DataFrame,
    meta: Vec<(String, String)>,
    may_publish: MayPublish<'_>,
) -> Result<(), LakeError> {
    let io = |source| LakeError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    // A dot name and a .tmp suffix keep half-written files out of every `*.parquet` glob.
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    remove_stale_temps(dir, &name);
    let written = (|| {
        // Buffered: polars' writer sends the footer's thrift a byte or two at a time, which
        // unbuffered was ~60 000 write calls for a nightly's nine mart files.
        let mut out = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp).map_err(io)?);
        let meta = KeyValueMetadata::from_static(meta);
        ParquetWriter::new(&mut out)
            .with_compression(ParquetCompression::Zstd(None))
            // Min, max and nulls, which readers prune by; not the distinct counts of `full()`,
            // which no reader uses and whose HyperLogLog was 3 % of a nightly run's samples.
            .with_statistics(StatisticsOptions::default())
            .with_row_group_size(Some(ROW_GROUP_ROWS))
            .with_key_value_metadata(Some(meta))
            .finish(df)
            .map_err(|source| LakeError::Polars { path: path.to_path_buf(), source })?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        drop(file);
        crate::failpoint::hit("lake.before_rename");
        may_publish().map_err(|reason| LakeError::NotPublished { path: path.to_path_buf(), reason })?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if written.is_err() {
        // A disk that filled up mid-file leaves no part of it behind.
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // The rename is durable only once the directory entry is.
    File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

/// Temp files of this partition left by a process that died mid-write. Leases keep any other
/// live writer off the partition, so every `.<name>.*.tmp` not of this process is dead.
fn remove_stale_temps(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let (prefix, ours) = (format!(".{name}."), format!(".{name}.{}.tmp", std::process::id()));
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        if n.starts_with(&prefix) && n.ends_with(".tmp") && n != ours {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Writes `bytes` to `path` with temp file + fsync + rename (the demo's chart, markers, memos,
/// and any file a reader must see whole or not at all). Each call has a temp file of its own, so
/// two threads writing the same path at once each publish a whole file (the last rename wins);
/// a write that fails leaves no temp file behind.
pub fn write_file_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    File::open(dir).and_then(|d| d.sync_all())
}

fn schema_diff(old: &Schema, new: &Schema) -> String {
    let mut diffs = Vec::new();
    for (name, dt) in new.iter() {
        match old.get(name) {
            None => diffs.push(format!("new column {name}")),
            Some(o) if o != dt => diffs.push(format!("{name}: stored {o}, now {dt}")),
            _ => {}
        }
    }
    for (name, _) in old.iter() {
        if new.get(name).is_none() {
            diffs.push(format!("column {name} is gone"));
        }
    }
    if diffs.is_empty() { "column order differs".into() } else { diffs.join(", ") }
}
