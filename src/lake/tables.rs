//! Normalised source rows → one DataFrame per (account, month) partition.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Europe::Moscow;
use chrono_tz::Tz;
use polars::prelude::*;

use super::columns as c;
use crate::dataset::Dataset;
use crate::sources::ozon::accruals::OzonAccrualRow;
use crate::sources::ozon::cash_flow::OzonCashFlowRow;
use crate::sources::ozon::models::OzonPostingRow;
use crate::sources::wb::ads::{WbAdCampaignRow, WbAdSpendRow, WbAdStatRow};
use crate::sources::wb::models::{REPORT_SUMS, WbFinanceRow, WbOrderRow, WbReportRow, WbSaleRow};

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
    WbFinance(Vec<WbFinanceRow>),
    WbFinanceReports(Vec<WbReportRow>),
    WbAdCampaigns(Vec<WbAdCampaignRow>),
    WbAdStats(Vec<WbAdStatRow>),
    WbAdSpend(Vec<WbAdSpendRow>),
    Ozon(Dataset, Vec<OzonPostingRow>),
    OzonAccruals(Vec<OzonAccrualRow>),
    OzonCashFlows(Vec<OzonCashFlowRow>),
}

impl Rows {
    pub fn dataset(&self) -> Dataset {
        match self {
            Rows::WbOrders(_) => Dataset::WbOrders,
            Rows::WbSales(_) => Dataset::WbSales,
            Rows::WbFinance(_) => Dataset::WbFinance,
            Rows::WbFinanceReports(_) => Dataset::WbFinanceReports,
            Rows::WbAdCampaigns(_) => Dataset::WbAdCampaigns,
            Rows::WbAdStats(_) => Dataset::WbAdStats,
            Rows::WbAdSpend(_) => Dataset::WbAdSpend,
            Rows::Ozon(ds, _) => *ds,
            Rows::OzonAccruals(_) => Dataset::OzonAccruals,
            Rows::OzonCashFlows(_) => Dataset::OzonCashFlows,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Rows::WbOrders(r) => r.len(),
            Rows::WbSales(r) => r.len(),
            Rows::WbFinance(r) => r.len(),
            Rows::WbFinanceReports(r) => r.len(),
            Rows::WbAdCampaigns(r) => r.len(),
            Rows::WbAdStats(r) => r.len(),
            Rows::WbAdSpend(r) => r.len(),
            Rows::Ozon(_, r) => r.len(),
            Rows::OzonAccruals(r) => r.len(),
            Rows::OzonCashFlows(r) => r.len(),
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
                for (k, v) in split(rows, |r| ym(r.in_process_at.year(), r.in_process_at.month())) {
                    out.push((k, ozon_postings(&v, lineage)?));
                }
            }
            Rows::WbFinance(rows) => {
                for (k, v) in split(rows, |r| ym(r.rr_date.year(), r.rr_date.month())) {
                    out.push((k, wb_finance(&v, lineage)?));
                }
            }
            Rows::WbFinanceReports(rows) => {
                for (k, v) in split(rows, |r| ym(r.date_from.year(), r.date_from.month())) {
                    out.push((k, wb_finance_reports(&v, lineage)?));
                }
            }
            // The campaign list is a snapshot keyed by campaign: one partition.
            Rows::WbAdCampaigns(rows) => out.push(("all".to_string(), wb_ad_campaigns(&rows, lineage)?)),
            Rows::WbAdStats(rows) => {
                for (k, v) in split(rows, |r| ym(r.date.year(), r.date.month())) {
                    out.push((k, wb_ad_stats(&v, lineage)?));
                }
            }
            Rows::WbAdSpend(rows) => {
                let month = |r: &WbAdSpendRow| {
                    r.upd_time.map_or_else(
                        || "unknown".to_string(),
                        |t| {
                            let m = t.with_timezone(&Moscow);
                            ym(m.year(), m.month())
                        },
                    )
                };
                for (k, v) in split(rows, month) {
                    out.push((k, wb_ad_spend(&v, lineage)?));
                }
            }
            Rows::OzonAccruals(rows) => {
                for (k, v) in split(rows, |r| ym(r.date.year(), r.date.month())) {
                    out.push((k, ozon_accruals(&v, lineage)?));
                }
            }
            Rows::OzonCashFlows(rows) => {
                for (k, v) in split(rows, |r| ym(r.period_begin.year(), r.period_begin.month())) {
                    out.push((k, ozon_cash_flows(&v, lineage)?));
                }
            }
        }
        Ok(out)
    }
}

fn lineage_cols(n: usize, l: &Lineage) -> [Column; 2] {
    [
        c::instant("_loaded_at", std::iter::repeat_n(Some(l.loaded_at), n), Tz::UTC),
        c::text("_chunk", std::iter::repeat_n(l.chunk.as_str(), n)),
    ]
}

fn wb_orders(r: &[WbOrderRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::text("srid", r.iter().map(|x| x.srid.as_str())),
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
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn ozon_postings(r: &[OzonPostingRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::text("posting_number", r.iter().map(|x| x.posting_number.as_str())),
        c::int("sku", r.iter().map(|x| x.sku)),
        c::text("order_number", r.iter().map(|x| x.order_number.as_str())),
        c::opt_int("order_id", r.iter().map(|x| x.order_id)),
        c::text("status", r.iter().map(|x| x.status.as_str())),
        c::text("substatus", r.iter().map(|x| x.substatus.as_str())),
        c::instant("in_process_at", r.iter().map(|x| Some(x.in_process_at)), Tz::UTC),
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

fn wb_finance(r: &[WbFinanceRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("rrd_id", r.iter().map(|x| x.rrd_id)),
        c::int("report_id", r.iter().map(|x| x.report_id)),
        c::date("rr_date", r.iter().map(|x| x.rr_date)),
        c::text("doc_type_name", r.iter().map(|x| x.doc_type_name.as_str())),
        c::text("seller_oper_name", r.iter().map(|x| x.seller_oper_name.as_str())),
        c::opt_int("nm_id", r.iter().map(|x| x.nm_id)),
        c::text("vendor_code", r.iter().map(|x| x.vendor_code.as_str())),
        c::text("srid", r.iter().map(|x| x.srid.as_str())),
        c::int("quantity", r.iter().map(|x| x.quantity)),
        c::money("retail_price", r.iter().map(|x| x.retail_price))?,
        c::money("retail_price_with_disc", r.iter().map(|x| x.retail_price_with_disc))?,
        c::money("retail_amount", r.iter().map(|x| x.retail_amount))?,
        c::money("for_pay", r.iter().map(|x| x.for_pay))?,
        c::money("acquiring_fee", r.iter().map(|x| x.acquiring_fee))?,
        c::precise("vw", r.iter().map(|x| x.vw))?,
        c::precise("vw_nds", r.iter().map(|x| x.vw_nds))?,
        c::precise("ppvz_reward", r.iter().map(|x| x.ppvz_reward))?,
        c::money("delivery_service", r.iter().map(|x| x.delivery_service))?,
        c::int("delivery_amount", r.iter().map(|x| x.delivery_amount)),
        c::int("return_amount", r.iter().map(|x| x.return_amount)),
        c::money("penalty", r.iter().map(|x| x.penalty))?,
        c::money("deduction", r.iter().map(|x| x.deduction))?,
        c::money("paid_storage", r.iter().map(|x| x.paid_storage))?,
        c::money("paid_acceptance", r.iter().map(|x| x.paid_acceptance))?,
        c::money("additional_payment", r.iter().map(|x| x.additional_payment))?,
        c::precise("rebill_logistic_cost", r.iter().map(|x| x.rebill_logistic_cost))?,
        c::money("cashback_amount", r.iter().map(|x| x.cashback_amount))?,
        c::money("cashback_discount", r.iter().map(|x| x.cashback_discount))?,
        c::money("cashback_commission_change", r.iter().map(|x| x.cashback_commission_change))?,
        c::money("payment_schedule", r.iter().map(|x| x.payment_schedule))?,
        c::text("bonus_type_name", r.iter().map(|x| x.bonus_type_name.as_str())),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn wb_ad_campaigns(r: &[WbAdCampaignRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("advert_id", r.iter().map(|x| x.advert_id)),
        c::int("advert_type", r.iter().map(|x| x.advert_type)),
        c::int("status", r.iter().map(|x| x.status)),
        c::instant("change_time", r.iter().map(|x| x.change_time), Moscow),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn wb_ad_stats(r: &[WbAdStatRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("advert_id", r.iter().map(|x| x.advert_id)),
        c::date("date", r.iter().map(|x| x.date)),
        c::int("app_type", r.iter().map(|x| x.app_type)),
        c::int("nm_id", r.iter().map(|x| x.nm_id)),
        c::int("views", r.iter().map(|x| x.views)),
        c::int("clicks", r.iter().map(|x| x.clicks)),
        c::int("orders", r.iter().map(|x| x.orders)),
        c::money("sum", r.iter().map(|x| x.sum))?,
        c::money("sum_price", r.iter().map(|x| x.sum_price))?,
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn wb_ad_spend(r: &[WbAdSpendRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("advert_id", r.iter().map(|x| x.advert_id)),
        c::instant("upd_time", r.iter().map(|x| x.upd_time), Moscow),
        c::int("upd_num", r.iter().map(|x| x.upd_num)),
        c::money("upd_sum", r.iter().map(|x| x.upd_sum))?,
        c::text("camp_name", r.iter().map(|x| x.camp_name.as_str())),
        c::int("advert_type", r.iter().map(|x| x.advert_type)),
        c::int("advert_status", r.iter().map(|x| x.advert_status)),
        c::text("payment_type", r.iter().map(|x| x.payment_type.as_str())),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn ozon_accruals(r: &[OzonAccrualRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("accrual_id", r.iter().map(|x| x.accrual_id)),
        c::text("component", r.iter().map(|x| x.component.as_str())),
        c::date("date", r.iter().map(|x| x.date)),
        c::text("accrued_category", r.iter().map(|x| x.accrued_category.as_str())),
        c::text("unit_number", r.iter().map(|x| x.unit_number.as_str())),
        c::opt_int("sku", r.iter().map(|x| x.sku)),
        c::opt_int("type_id", r.iter().map(|x| x.type_id)),
        c::text("type_name", r.iter().map(|x| x.type_name.as_str())),
        c::text("type_description", r.iter().map(|x| x.type_description.as_str())),
        c::text("kind", r.iter().map(|x| x.kind)),
        c::money("amount", r.iter().map(|x| x.amount))?,
        c::opt_int("quantity", r.iter().map(|x| x.quantity)),
        c::int("direction", r.iter().map(|x| x.direction)),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn wb_finance_reports(r: &[WbReportRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("report_id", r.iter().map(|x| x.report_id)),
        c::date("date_from", r.iter().map(|x| x.date_from)),
        c::date("date_to", r.iter().map(|x| x.date_to)),
    ];
    for (i, name) in REPORT_SUMS.iter().enumerate() {
        cols.push(c::money(&format!("{name}_sum"), r.iter().map(|x| x.sums[i]))?);
    }
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}

fn ozon_cash_flows(r: &[OzonCashFlowRow], l: &Lineage) -> PolarsResult<DataFrame> {
    let mut cols = vec![
        c::int("period_id", r.iter().map(|x| x.period_id)),
        c::date("period_begin", r.iter().map(|x| x.period_begin)),
        c::date("period_end", r.iter().map(|x| x.period_end)),
        c::money("orders_amount", r.iter().map(|x| x.orders_amount))?,
        c::money("returns_amount", r.iter().map(|x| x.returns_amount))?,
        c::money("commission_amount", r.iter().map(|x| x.commission_amount))?,
        c::money("services_amount", r.iter().map(|x| x.services_amount))?,
        c::money("item_delivery_and_return_amount", r.iter().map(|x| x.item_delivery_and_return_amount))?,
        c::opt_money("delivery_total", r.iter().map(|x| x.delivery_total))?,
        c::opt_money("return_total", r.iter().map(|x| x.return_total))?,
        c::opt_money("services_total", r.iter().map(|x| x.services_total))?,
        c::opt_money("others_total", r.iter().map(|x| x.others_total))?,
        c::opt_money("rfbs_total", r.iter().map(|x| x.rfbs_total))?,
        c::opt_money("loan", r.iter().map(|x| x.loan))?,
        c::opt_money("invoice_transfer", r.iter().map(|x| x.invoice_transfer))?,
        c::opt_money("begin_balance", r.iter().map(|x| x.begin_balance))?,
        c::opt_money("end_balance", r.iter().map(|x| x.end_balance))?,
        c::text("currency", r.iter().map(|x| x.currency.as_str())),
    ];
    cols.extend(lineage_cols(r.len(), l));
    DataFrame::new_infer_height(cols)
}
