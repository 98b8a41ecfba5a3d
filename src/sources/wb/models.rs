//! WB statistics rows as the API sends them, and as the lake keeps them.

use chrono::NaiveDateTime;
use serde::Deserialize;

use crate::clock::{parse_wb_naive, parse_wb_optional};
use crate::money::{Kopecks, Precise, de_money, de_money_or_zero, de_precise_or_zero};
use crate::sources::decode::or_default;

/// `OrdersItem`: one row is one unit. Unknown fields are ignored; optional ones may be missing.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub date: String,
    pub last_change_date: String,
    pub srid: String,
    pub nm_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub supplier_article: String,
    #[serde(default, deserialize_with = "or_default")]
    pub barcode: String,
    #[serde(default, deserialize_with = "or_default")]
    pub brand: String,
    #[serde(default, deserialize_with = "or_default")]
    pub subject: String,
    #[serde(default, deserialize_with = "or_default")]
    pub warehouse_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub region_name: String,
    #[serde(deserialize_with = "de_money")]
    pub total_price: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub discount_percent: f64,
    #[serde(default, deserialize_with = "or_default")]
    pub spp: f64,
    #[serde(deserialize_with = "de_money")]
    pub finished_price: Kopecks,
    #[serde(deserialize_with = "de_money")]
    pub price_with_disc: Kopecks,
    pub is_cancel: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub cancel_date: String,
    #[serde(default, deserialize_with = "or_default")]
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
    #[serde(default, deserialize_with = "or_default")]
    pub srid: String,
    pub nm_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub supplier_article: String,
    #[serde(default, deserialize_with = "or_default")]
    pub barcode: String,
    #[serde(default, deserialize_with = "or_default")]
    pub brand: String,
    #[serde(default, deserialize_with = "or_default")]
    pub subject: String,
    #[serde(default, deserialize_with = "or_default")]
    pub warehouse_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub region_name: String,
    #[serde(deserialize_with = "de_money")]
    pub total_price: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub discount_percent: f64,
    #[serde(default, deserialize_with = "or_default")]
    pub spp: f64,
    #[serde(deserialize_with = "de_money")]
    pub for_pay: Kopecks,
    #[serde(deserialize_with = "de_money")]
    pub finished_price: Kopecks,
    #[serde(deserialize_with = "de_money")]
    pub price_with_disc: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
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
                return Err(format!("saleID {:?} starts with neither S (sale) nor R (return)", s.sale_id));
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

/// A realization-report row (`sales-reports/detailed`). Money comes as strings. Direction comes
/// from `docTypeName` (Продажа adds, Возврат subtracts); the amounts are magnitudes.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinanceItem {
    pub rrd_id: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub report_id: i64,
    pub rr_date: String,
    #[serde(default, deserialize_with = "or_default")]
    pub doc_type_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub seller_oper_name: String,
    /// 0 or missing (null in 2023 reports) on rows about no article.
    #[serde(default, deserialize_with = "or_default")]
    pub nm_id: Option<i64>,
    #[serde(default, deserialize_with = "or_default")]
    pub vendor_code: String,
    #[serde(default, deserialize_with = "or_default")]
    pub srid: String,
    #[serde(default, deserialize_with = "or_default")]
    pub quantity: i64,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub retail_price: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub retail_price_with_disc: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub retail_amount: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub for_pay: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub acquiring_fee: Kopecks,
    #[serde(default, deserialize_with = "de_precise_or_zero")]
    pub vw: Precise,
    #[serde(default, deserialize_with = "de_precise_or_zero")]
    pub vw_nds: Precise,
    #[serde(default, deserialize_with = "de_precise_or_zero")]
    pub ppvz_reward: Precise,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub delivery_service: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub delivery_amount: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub return_amount: i64,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub penalty: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub deduction: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub paid_storage: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub paid_acceptance: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub additional_payment: Kopecks,
    /// WB's spec itself shows "1.349": kept to four places.
    #[serde(default, deserialize_with = "de_precise_or_zero")]
    pub rebill_logistic_cost: Precise,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub cashback_amount: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub cashback_discount: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub cashback_commission_change: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub payment_schedule: Kopecks,
    #[serde(default, deserialize_with = "or_default")]
    pub bonus_type_name: String,
}

/// A row of `wb_finance`: the report row as WB sends it (magnitudes, the document type and the
/// payment basis say what it is; `metrics` classifies it through the operation catalogue).
#[derive(Debug, Clone, Default)]
pub struct WbFinanceRow {
    pub rrd_id: i64,
    pub report_id: i64,
    pub rr_date: chrono::NaiveDate,
    pub doc_type_name: String,
    pub seller_oper_name: String,
    /// None for rows about no article (WB sends nmId 0).
    pub nm_id: Option<i64>,
    pub vendor_code: String,
    pub srid: String,
    pub quantity: i64,
    pub retail_price: Kopecks,
    pub retail_price_with_disc: Kopecks,
    pub retail_amount: Kopecks,
    pub for_pay: Kopecks,
    pub acquiring_fee: Kopecks,
    pub vw: Precise,
    pub vw_nds: Precise,
    pub ppvz_reward: Precise,
    pub delivery_service: Kopecks,
    pub delivery_amount: i64,
    pub return_amount: i64,
    pub penalty: Kopecks,
    pub deduction: Kopecks,
    pub paid_storage: Kopecks,
    pub paid_acceptance: Kopecks,
    pub additional_payment: Kopecks,
    pub rebill_logistic_cost: Precise,
    pub cashback_amount: Kopecks,
    pub cashback_discount: Kopecks,
    pub cashback_commission_change: Kopecks,
    pub payment_schedule: Kopecks,
    pub bonus_type_name: String,
}

impl TryFrom<FinanceItem> for WbFinanceRow {
    type Error = String;
    fn try_from(f: FinanceItem) -> Result<Self, String> {
        let rr_date = f
            .rr_date
            .get(..10)
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(|| format!("row rrdId {}: `rrDate` = {:?} is not a date", f.rrd_id, f.rr_date))?;
        Ok(WbFinanceRow {
            rrd_id: f.rrd_id,
            report_id: f.report_id,
            rr_date,
            doc_type_name: f.doc_type_name,
            seller_oper_name: f.seller_oper_name,
            nm_id: f.nm_id.filter(|n| *n != 0),
            vendor_code: f.vendor_code,
            srid: f.srid,
            quantity: f.quantity,
            retail_price: f.retail_price,
            retail_price_with_disc: f.retail_price_with_disc,
            retail_amount: f.retail_amount,
            for_pay: f.for_pay,
            acquiring_fee: f.acquiring_fee,
            vw: f.vw,
            vw_nds: f.vw_nds,
            ppvz_reward: f.ppvz_reward,
            delivery_service: f.delivery_service,
            delivery_amount: f.delivery_amount,
            return_amount: f.return_amount,
            penalty: f.penalty,
            deduction: f.deduction,
            paid_storage: f.paid_storage,
            paid_acceptance: f.paid_acceptance,
            additional_payment: f.additional_payment,
            rebill_logistic_cost: f.rebill_logistic_cost,
            cashback_amount: f.cashback_amount,
            cashback_discount: f.cashback_discount,
            cashback_commission_change: f.cashback_commission_change,
            payment_schedule: f.payment_schedule,
            bonus_type_name: f.bonus_type_name,
        })
    }
}

/// A realization-report header (`sales-reports/list`) with WB's own totals.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportHeader {
    pub report_id: i64,
    pub date_from: String,
    pub date_to: String,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub retail_amount_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub for_pay_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub delivery_service_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub paid_storage_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub penalty_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub deduction_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub paid_acceptance_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub additional_payment_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub cashback_amount_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub cashback_discount_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub cashback_commission_change_sum: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub payment_schedule: Kopecks,
    #[serde(default, deserialize_with = "de_money_or_zero")]
    pub bank_payment_sum: Kopecks,
}

/// A row of `wb_finance_reports`.
#[derive(Debug, Clone)]
pub struct WbReportRow {
    pub report_id: i64,
    pub date_from: chrono::NaiveDate,
    pub date_to: chrono::NaiveDate,
    /// WB's totals, in the order of [`REPORT_SUMS`](crate::lake::schema::REPORT_SUMS).
    pub sums: [Kopecks; 13],
}

impl TryFrom<ReportHeader> for WbReportRow {
    type Error = String;
    fn try_from(h: ReportHeader) -> Result<Self, String> {
        let date = |s: &str| {
            s.get(..10)
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| format!("report {}: {s:?} is not a date", h.report_id))
        };
        Ok(WbReportRow {
            report_id: h.report_id,
            date_from: date(&h.date_from)?,
            date_to: date(&h.date_to)?,
            sums: [
                h.retail_amount_sum,
                h.for_pay_sum,
                h.delivery_service_sum,
                h.paid_storage_sum,
                h.penalty_sum,
                h.deduction_sum,
                h.paid_acceptance_sum,
                h.additional_payment_sum,
                h.cashback_amount_sum,
                h.cashback_discount_sum,
                h.cashback_commission_change_sum,
                h.payment_schedule,
                h.bank_payment_sum,
            ],
        })
    }
}
