//! WB statistics rows as the API sends them, and as the lake keeps them.

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::clock::{parse_wb_naive, parse_wb_optional};
use crate::money::{Kopecks, de_money};

/// `OrdersItem`: one row is one unit. Unknown fields are ignored; optional ones may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub date: String,
    pub last_change_date: String,
    pub srid: String,
    pub nm_id: i64,
    #[serde(default)]
    pub supplier_article: String,
    #[serde(default)]
    pub barcode: String,
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub warehouse_name: String,
    #[serde(default)]
    pub region_name: String,
    #[serde(deserialize_with = "de_money")]
    pub total_price: Kopecks,
    #[serde(default)]
    pub discount_percent: f64,
    #[serde(default)]
    pub spp: f64,
    #[serde(deserialize_with = "de_money")]
    pub finished_price: Kopecks,
    #[serde(deserialize_with = "de_money")]
    pub price_with_disc: Kopecks,
    pub is_cancel: bool,
    #[serde(default)]
    pub cancel_date: String,
    #[serde(default)]
    pub g_number: String,
}

/// `SalesItem`: `saleID` starting with S is a buyout, with R a return.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SaleItem {
    pub date: String,
    pub last_change_date: String,
    #[serde(rename = "saleID")]
    pub sale_id: String,
    #[serde(default)]
    pub srid: String,
    pub nm_id: i64,
    #[serde(default)]
    pub supplier_article: String,
    #[serde(default)]
    pub barcode: String,
    #[serde(default)]
    pub brand: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub warehouse_name: String,
    #[serde(default)]
    pub region_name: String,
    #[serde(deserialize_with = "de_money")]
    pub total_price: Kopecks,
    #[serde(default)]
    pub discount_percent: f64,
    #[serde(default)]
    pub spp: f64,
    #[serde(deserialize_with = "de_money")]
    pub for_pay: Kopecks,
    #[serde(deserialize_with = "de_money")]
    pub finished_price: Kopecks,
    #[serde(deserialize_with = "de_money")]
    pub price_with_disc: Kopecks,
    #[serde(default)]
    pub g_number: String,
}

/// A row of `wb_orders`. Times are naive Moscow, as WB sends them.
#[derive(Debug, Clone)]
pub struct WbOrderRow {
    pub srid: String,
    pub date: NaiveDateTime,
    pub last_change_date: NaiveDateTime,
    pub nm_id: i64,
    pub supplier_article: String,
    pub barcode: String,
    pub brand: String,
    pub subject: String,
    pub warehouse_name: String,
    pub region_name: String,
    pub total_price: Kopecks,
    pub discount_percent: f64,
    pub spp: f64,
    pub finished_price: Kopecks,
    pub price_with_disc: Kopecks,
    pub is_cancel: bool,
    pub cancel_date: Option<NaiveDateTime>,
    pub g_number: String,
}

/// A row of `wb_sales`. Money is positive on returns too; `is_return` carries the direction.
#[derive(Debug, Clone)]
pub struct WbSaleRow {
    pub sale_id: String,
    pub srid: String,
    pub is_return: bool,
    pub date: NaiveDateTime,
    pub last_change_date: NaiveDateTime,
    pub nm_id: i64,
    pub supplier_article: String,
    pub barcode: String,
    pub brand: String,
    pub subject: String,
    pub warehouse_name: String,
    pub region_name: String,
    pub total_price: Kopecks,
    pub discount_percent: f64,
    pub spp: f64,
    pub for_pay: Kopecks,
    pub finished_price: Kopecks,
    pub price_with_disc: Kopecks,
    pub g_number: String,
}

fn time(field: &str, key: &str, v: &str) -> Result<NaiveDateTime, String> {
    parse_wb_naive(v).ok_or_else(|| format!("row {key}: `{field}` = {v:?} is not a WB date-time"))
}

impl TryFrom<OrderItem> for WbOrderRow {
    type Error = String;
    fn try_from(o: OrderItem) -> Result<Self, String> {
        Ok(WbOrderRow {
            date: time("date", &o.srid, &o.date)?,
            last_change_date: time("lastChangeDate", &o.srid, &o.last_change_date)?,
            cancel_date: parse_wb_optional(&o.cancel_date),
            srid: o.srid,
            nm_id: o.nm_id,
            supplier_article: o.supplier_article,
            barcode: o.barcode,
            brand: o.brand,
            subject: o.subject,
            warehouse_name: o.warehouse_name,
            region_name: o.region_name,
            total_price: o.total_price,
            discount_percent: o.discount_percent,
            spp: o.spp,
            finished_price: o.finished_price,
            price_with_disc: o.price_with_disc,
            is_cancel: o.is_cancel,
            g_number: o.g_number,
        })
    }
}

impl TryFrom<SaleItem> for WbSaleRow {
    type Error = String;
    fn try_from(s: SaleItem) -> Result<Self, String> {
        let is_return = match s.sale_id.chars().next() {
            Some('S') => false,
            Some('R') => true,
            _ => {
                return Err(format!(
                    "saleID {:?} starts with neither S (sale) nor R (return)",
                    s.sale_id
                ));
            }
        };
        // The sign of money on R rows is undocumented and seen both ways: the prefix decides.
        Ok(WbSaleRow {
            date: time("date", &s.sale_id, &s.date)?,
            last_change_date: time("lastChangeDate", &s.sale_id, &s.last_change_date)?,
            is_return,
            sale_id: s.sale_id,
            srid: s.srid,
            nm_id: s.nm_id,
            supplier_article: s.supplier_article,
            barcode: s.barcode,
            brand: s.brand,
            subject: s.subject,
            warehouse_name: s.warehouse_name,
            region_name: s.region_name,
            total_price: s.total_price.abs(),
            discount_percent: s.discount_percent,
            spp: s.spp,
            for_pay: s.for_pay.abs(),
            finished_price: s.finished_price.abs(),
            price_with_disc: s.price_with_disc.abs(),
            g_number: s.g_number,
        })
    }
}

/// What the WB client needs from a statistics row to page through them.
pub trait StatsItem: serde::de::DeserializeOwned {
    fn last_change_date(&self) -> &str;
}

impl StatsItem for OrderItem {
    fn last_change_date(&self) -> &str {
        &self.last_change_date
    }
}

impl StatsItem for SaleItem {
    fn last_change_date(&self) -> &str {
        &self.last_change_date
    }
}
