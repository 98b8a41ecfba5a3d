//! WB sales and returns (`statistics-api` `/api/v1/supplier/sales`) in the lake: a row per
//! `saleID`, newest `lastChangeDate` wins, partitioned by the sale's month (Moscow).

use chrono::Datelike;
use chrono_tz::Europe::Moscow;
use polars::prelude::{Column, PolarsResult};

use super::models::{SaleItem, WbSaleRow};
use crate::dataset::{Dataset, Marketplace, Page, Spec};
use crate::lake::batch::{LakeRow, month_key};
use crate::lake::columns as c;

pub const SALES: Spec = Spec {
    dataset: Dataset::WbSales,
    name: "wb_sales",
    marketplace: Marketplace::Wb,
    endpoint: "GET /api/v1/supplier/sales",
    primary_key: &["sale_id"],
    version_column: "last_change_date",
    event_column: "date",
    fetched_by: Dataset::WbSales,
    by_month: true,
    fetch: Some(&super::stream::Stream(Dataset::WbSales)),
    pages: &[Page { path: "/api/v1/supplier/sales", rows: crate::sources::pages::items::<SaleItem, WbSaleRow> }],
};

impl LakeRow for WbSaleRow {
    fn partition(&self) -> String {
        month_key(self.date.year(), self.date.month())
    }

    fn columns(r: &[Self]) -> PolarsResult<Vec<Column>> {
        Ok(vec![
            c::text("sale_id", r.iter().map(|x| x.sale_id.as_str())),
            c::text("srid", r.iter().map(|x| x.srid.as_str())),
            c::flag("is_return", r.iter().map(|x| x.is_return)),
            c::local_instant("date", r.iter().map(|x| Some(x.date)), Moscow),
            c::local_instant("last_change_date", r.iter().map(|x| Some(x.last_change_date)), Moscow),
            c::int("nm_id", r.iter().map(|x| x.nm_id)),
            c::text("supplier_article", r.iter().map(|x| x.supplier_article.as_str())),
            c::text("barcode", r.iter().map(|x| x.barcode.as_str())),
            c::text("brand", r.iter().map(|x| x.brand.as_str())),
            c::text("subject", r.iter().map(|x| x.subject.as_str())),
            c::text("warehouse_name", r.iter().map(|x| x.warehouse_name.as_str())),
            c::text("region_name", r.iter().map(|x| x.region_name.as_str())),
            c::money("total_price", r.iter().map(|x| x.total_price))?,
            c::float("discount_percent", r.iter().map(|x| x.discount_percent)),
            c::float("spp", r.iter().map(|x| x.spp)),
            c::money("for_pay", r.iter().map(|x| x.for_pay))?,
            c::money("finished_price", r.iter().map(|x| x.finished_price))?,
            c::money("price_with_disc", r.iter().map(|x| x.price_with_disc))?,
            c::text("g_number", r.iter().map(|x| x.g_number.as_str())),
        ])
    }
}
