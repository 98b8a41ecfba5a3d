//! Every page shape mpetl reads, by endpoint: decoded and turned into lake rows exactly as a
//! fetch does. The decoder fuzz test feeds it mutated real bodies; it must return, never panic.

use super::decode::json;
use super::ozon::{accruals, cash_flow, models as ozon, returns};
use super::wb::{ads, models as wb};

/// Reads `bytes` as the answer of `endpoint` (a path such as `/api/v1/supplier/orders`): the
/// number of lake rows it holds, or why it cannot be read.
pub fn rows_in(endpoint: &str, bytes: &[u8]) -> Result<usize, String> {
    fn rows<T: serde::de::DeserializeOwned, R: TryFrom<T, Error = String>>(bytes: &[u8]) -> Result<usize, String> {
        let items: Vec<T> = json(bytes).map_err(|e| e.to_string())?;
        items.into_iter().map(R::try_from).collect::<Result<Vec<R>, String>>().map(|v| v.len())
    }
    let decoded = |e: super::decode::DecodeError| e.to_string();
    match endpoint {
        "/api/v1/supplier/orders" => rows::<wb::OrderItem, wb::WbOrderRow>(bytes),
        "/api/v1/supplier/sales" => rows::<wb::SaleItem, wb::WbSaleRow>(bytes),
        "/api/finance/v1/sales-reports/detailed" => rows::<wb::FinanceItem, wb::WbFinanceRow>(bytes),
        "/api/finance/v1/sales-reports/list" => rows::<wb::ReportHeader, wb::WbReportRow>(bytes),
        "/adv/v1/promotion/count" => Ok(json::<ads::PromotionCount>(bytes).map_err(decoded)?.rows().len()),
        "/adv/v3/fullstats" => ads::stat_rows(json(bytes).map_err(decoded)?).map(|v| v.len()),
        "/adv/v1/upd" => {
            let items: Vec<ads::UpdItem> = json(bytes).map_err(decoded)?;
            Ok(items.into_iter().map(ads::WbAdSpendRow::from).count())
        }
        "/v3/posting/fbo/list" | "/v4/posting/fbs/list" => {
            let page: ozon::ListResponse = json(bytes).map_err(decoded)?;
            Ok(page.postings.into_iter().flat_map(ozon::Posting::into_rows).count())
        }
        "/v1/finance/accrual/types" => Ok(json::<accruals::Types>(bytes).map_err(decoded)?.accrual_types.len()),
        "/v1/finance/accrual/by-day" => {
            let page: accruals::ByDay = json(bytes).map_err(decoded)?;
            let mut n = 0;
            for a in page.accruals {
                n += a.into_rows(&[])?.len();
            }
            Ok(n)
        }
        "/v1/finance/cash-flow-statement/list" => {
            json::<cash_flow::CashFlowResponse>(bytes).map_err(decoded)?.result.into_rows().map(|v| v.len())
        }
        "/v1/returns/list" => {
            let page: returns::ReturnsPage = json(bytes).map_err(decoded)?;
            Ok(page.returns.into_iter().map(returns::OzonReturnRow::from).count())
        }
        other => Err(format!("no page shape for {other}")),
    }
}

/// The endpoints [`rows_in`] reads.
pub const ENDPOINTS: [&str; 13] = [
    "/api/v1/supplier/orders",
    "/api/v1/supplier/sales",
    "/api/finance/v1/sales-reports/detailed",
    "/api/finance/v1/sales-reports/list",
    "/adv/v1/promotion/count",
    "/adv/v3/fullstats",
    "/adv/v1/upd",
    "/v3/posting/fbo/list",
    "/v4/posting/fbs/list",
    "/v1/finance/accrual/types",
    "/v1/finance/accrual/by-day",
    "/v1/finance/cash-flow-statement/list",
    "/v1/returns/list",
];
