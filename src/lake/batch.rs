//! Rows on their way to the lake. The lake knows partitions and columns, never a source's types:
//! a dataset's row type says which partition each row belongs to and how a group of them becomes
//! columns ([`LakeRow`]), and a [`Batch`] carries them here without the lake naming the type.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use polars::prelude::*;

use super::columns as c;
use crate::dataset::Dataset;

/// Where rows came from: when they were loaded and by which chunk.
#[derive(Debug, Clone)]
pub struct Lineage {
    pub loaded_at: DateTime<Utc>,
    pub chunk: String,
}

/// A dataset's row as the lake stores it.
pub trait LakeRow: Sized + Send + 'static {
    /// The partition the row belongs to: the month of its event in the source's own clock
    /// ("2026-03"; WB: Moscow, Ozon: UTC), which never changes for a key, so a key always lands
    /// in the same partition. A snapshot keyed by id uses one fixed name.
    fn partition(&self) -> String;

    /// One partition's rows as columns, without the lineage (the batch adds it).
    fn columns(rows: &[Self]) -> PolarsResult<Vec<Column>>;
}

/// The one partition of a dataset kept whole (a list as last seen, not by month).
pub const WHOLE: &str = "all";

/// "2026-03".
pub fn month_key(year: i32, month: u32) -> String {
    format!("{year:04}-{month:02}")
}

type Split = Box<dyn FnOnce(&Lineage) -> PolarsResult<Vec<(String, DataFrame)>> + Send>;

/// Rows of one dataset fetched by one chunk (or one page of it).
pub struct Batch {
    dataset: Dataset,
    len: usize,
    split: Split,
}

impl Batch {
    pub fn new<R: LakeRow>(dataset: Dataset, rows: Vec<R>) -> Batch {
        Batch { dataset, len: rows.len(), split: Box::new(move |lineage| partitions(rows, lineage)) }
    }

    pub fn dataset(&self) -> Dataset {
        self.dataset
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One frame per partition, lineage columns included.
    pub fn into_partitions(self, lineage: &Lineage) -> PolarsResult<Vec<(String, DataFrame)>> {
        (self.split)(lineage)
    }
}

fn partitions<R: LakeRow>(mut rows: Vec<R>, lineage: &Lineage) -> PolarsResult<Vec<(String, DataFrame)>> {
    let mut keys: Vec<String> = rows.iter().map(LakeRow::partition).collect();
    // Pages mostly come in date order, so their rows are already grouped by month and each group
    // becomes columns straight from its slice; otherwise a stable sort by partition groups them
    // (the order within a partition is kept: among equal keys, the later row wins the upsert).
    if !keys.is_sorted() {
        // Indices are sorted, not rows: a row is a kilobyte, moved once into its place.
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&i| &keys[i]);
        let mut slots: Vec<Option<(String, R)>> = keys.into_iter().zip(rows).map(Some).collect();
        (keys, rows) = order.iter().filter_map(|&i| slots[i].take()).unzip();
    }
    let mut out = Vec::new();
    let mut start = 0;
    for group in keys.chunk_by(|a, b| a == b) {
        let end = start + group.len();
        let mut cols = R::columns(&rows[start..end])?;
        cols.extend(lineage_columns(end - start, lineage));
        out.push((group[0].clone(), DataFrame::new_infer_height(cols)?));
        start = end;
    }
    Ok(out)
}

fn lineage_columns(n: usize, l: &Lineage) -> [Column; 2] {
    [
        c::instant(crate::dataset::LOADED_AT, std::iter::repeat_n(Some(l.loaded_at), n), Tz::UTC),
        c::text("_chunk", std::iter::repeat_n(l.chunk.as_str(), n)),
    ]
}
