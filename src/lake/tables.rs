//! Normalised source rows → one DataFrame per (account, month) partition.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Moscow;
use chrono_tz::Tz;
use polars::prelude::*;

use super::columns as c;
use crate::dataset::Dataset;
use crate::sources::ozon::models::OzonPostingRow;
use crate::sources::wb::models::{WbOrderRow, WbSaleRow};

/// Where rows came from: when they were loaded and by which chunk.
#[derive(Debug, Clone)]
pub struct Lineage {
    pub loaded_at: DateTime<Utc>,
    pub chunk: String,
}

/// Rows of one dataset fetched by one chunk (or one page of it).
pub enum Rows {
    WbOrders(Vec<WbOrderRow>),
    WbSales(Vec<WbSaleRow>),
    Ozon(Dataset, Vec<OzonPostingRow>),
}

impl Rows {
    pub fn dataset(&self) -> Dataset {
        match self {
            Rows::WbOrders(_) => Dataset::WbOrders,
            Rows::WbSales(_) => Dataset::WbSales,
            Rows::Ozon(ds, _) => *ds,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Rows::WbOrders(r) => r.len(),
            Rows::WbSales(r) => r.len(),
            Rows::Ozon(_, r) => r.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Splits by month of the event in the source's own clock (WB: Moscow, Ozon: UTC), which
    /// never changes for a key, so a key always lands in the same partition.
    pub fn into_partitions(self, lineage: &Lineage) -> PolarsResult<Vec<(String, DataFrame)>> {
        fn split<R>(rows: Vec<R>, month: impl Fn(&R) -> String) -> BTreeMap<String, Vec<R>> {
            let mut m: BTreeMap<String, Vec<R>> = BTreeMap::new();
            for r in rows {
                m.entry(month(&r)).or_default().push(r);
            }
            m
        }
        let ym = |y: i32, m: u32| format!("{y:04}-{m:02}");
        let mut out = Vec::new();
        match self {
            Rows::WbOrders(rows) => {
                for (k, v) in split(rows, |r| ym(r.date.year(), r.date.month())) {
                    out.push((k, wb_orders(&v, lineage)?));
                }
            }
            Rows::WbSales(rows) => {
                for (k, v) in split(rows, |r| ym(r.date.year(), r.date.month())) {
                    out.push((k, wb_sales(&v, lineage)?));
                }
            }
            Rows::Ozon(_, rows) => {
                for (k, v) in split(rows, |r| {
                    ym(r.in_process_at.year(), r.in_process_at.month())
                }) {
                    out.push((k, ozon_postings(&v, lineage)?));
                }
            }
        }
        Ok(out)
    }
}

fn lineage_cols(n: usize, l: &Lineage) -> [Column; 2] {
    [
        c::instant(
            "_loaded_at",
            std::iter::repeat_n(Some(l.loaded_at), n),
            Tz::UTC,
        ),
        c::text("_chunk", std::iter::repeat_n(l.chunk.as_str(), n)),
    ]
}

fn wb_orders(r: &[WbOrderRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::text("srid", r.iter().map(|x| x.srid.as_str())),
        c::local_instant("date", r.iter().map(|x| Some(x.date)), Moscow),
        c::local_instant(
            "last_change_date",
            r.iter().map(|x| Some(x.last_change_date)),
            Moscow,
        ),
        c::int("nm_id", r.iter().map(|x| x.nm_id)),
        c::text(
            "supplier_article",
            r.iter().map(|x| x.supplier_article.as_str()),
        ),
        c::text("barcode", r.iter().map(|x| x.barcode.as_str())),
        c::text("brand", r.iter().map(|x| x.brand.as_str())),
        c::text("subject", r.iter().map(|x| x.subject.as_str())),
        c::text(
            "warehouse_name",
            r.iter().map(|x| x.warehouse_name.as_str()),
        ),
        c::text("region_name", r.iter().map(|x| x.region_name.as_str())),
        c::money("total_price", r.iter().map(|x| x.total_price))?,
        c::float("discount_percent", r.iter().map(|x| x.discount_percent)),
        c::float("spp", r.iter().map(|x| x.spp)),
        c::money("finished_price", r.iter().map(|x| x.finished_price))?,
        c::money("price_with_disc", r.iter().map(|x| x.price_with_disc))?,
        c::flag("is_cancel", r.iter().map(|x| x.is_cancel)),
        c::local_instant("cancel_date", r.iter().map(|x| x.cancel_date), Moscow),
        c::text("g_number", r.iter().map(|x| x.g_number.as_str())),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn wb_sales(r: &[WbSaleRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::text("sale_id", r.iter().map(|x| x.sale_id.as_str())),
        c::text("srid", r.iter().map(|x| x.srid.as_str())),
        c::flag("is_return", r.iter().map(|x| x.is_return)),
        c::local_instant("date", r.iter().map(|x| Some(x.date)), Moscow),
        c::local_instant(
            "last_change_date",
            r.iter().map(|x| Some(x.last_change_date)),
            Moscow,
        ),
        c::int("nm_id", r.iter().map(|x| x.nm_id)),
        c::text(
            "supplier_article",
            r.iter().map(|x| x.supplier_article.as_str()),
        ),
        c::text("barcode", r.iter().map(|x| x.barcode.as_str())),
        c::text("brand", r.iter().map(|x| x.brand.as_str())),
        c::text("subject", r.iter().map(|x| x.subject.as_str())),
        c::text(
            "warehouse_name",
            r.iter().map(|x| x.warehouse_name.as_str()),
        ),
        c::text("region_name", r.iter().map(|x| x.region_name.as_str())),
        c::money("total_price", r.iter().map(|x| x.total_price))?,
        c::float("discount_percent", r.iter().map(|x| x.discount_percent)),
        c::float("spp", r.iter().map(|x| x.spp)),
        c::money("for_pay", r.iter().map(|x| x.for_pay))?,
        c::money("finished_price", r.iter().map(|x| x.finished_price))?,
        c::money("price_with_disc", r.iter().map(|x| x.price_with_disc))?,
        c::text("g_number", r.iter().map(|x| x.g_number.as_str())),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn ozon_postings(r: &[OzonPostingRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::text(
            "posting_number",
            r.iter().map(|x| x.posting_number.as_str()),
        ),
        c::int("sku", r.iter().map(|x| x.sku)),
        c::text("order_number", r.iter().map(|x| x.order_number.as_str())),
        c::opt_int("order_id", r.iter().map(|x| x.order_id)),
        c::text("status", r.iter().map(|x| x.status.as_str())),
        c::text("substatus", r.iter().map(|x| x.substatus.as_str())),
        c::instant(
            "in_process_at",
            r.iter().map(|x| Some(x.in_process_at)),
            Tz::UTC,
        ),
        c::instant("created_at", r.iter().map(|x| x.created_at), Tz::UTC),
        c::text("offer_id", r.iter().map(|x| x.offer_id.as_str())),
        c::text("name", r.iter().map(|x| x.name.as_str())),
        c::int("quantity", r.iter().map(|x| x.quantity)),
        c::money("price", r.iter().map(|x| x.price))?,
        c::text("currency", r.iter().map(|x| x.currency.as_str())),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}
