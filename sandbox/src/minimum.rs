//! The least requests each endpoint needs to hand over a period's data, from the facts: what a
//! client's request count is measured against (`mpetl bench --limits`, `--sellers`).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::SellerData;
use super::data::OzonSchema;

/// Page sizes the sandbox serves (its [`super::SandboxConfig`]).
#[derive(Debug, Clone, Copy)]
pub struct PageCaps {
    pub wb_statistics: u64,
    pub wb_finance: u64,
    pub accruals: u64,
}

impl SellerData {
    /// The least requests per endpoint path for `from..=to`; a path not listed needs one.
    pub fn minimum_requests(&self, from: NaiveDate, to: NaiveDate, caps: PageCaps) -> BTreeMap<&'static str, u64> {
        let in_period = |x: NaiveDate| x >= from && x <= to;
        let per_month = |dates: &mut dyn Iterator<Item = NaiveDate>, cap: u64| {
            let mut m: BTreeMap<(i32, u32), u64> = BTreeMap::new();
            for x in dates.filter(|x| in_period(*x)) {
                *m.entry((x.year(), x.month())).or_default() += 1;
            }
            m.values().map(|n| n.div_ceil(cap)).sum::<u64>()
        };
        let postings = |schema: OzonSchema| {
            per_month(
                &mut self.ozon_postings.iter().filter(|p| p.schema == schema).map(|p| p.in_process_at.date_naive()),
                100,
            )
        };
        let mut days: BTreeMap<NaiveDate, u64> = BTreeMap::new();
        for a in self.finance.accruals.iter().filter(|a| in_period(a.date)) {
            *days.entry(a.date).or_default() += 1;
        }
        let months_of_31 = ((to - from).num_days() as u64 + 1).div_ceil(31);
        BTreeMap::from([
            // The statistics streams read everything changed since a date: the whole history.
            ("/api/v1/supplier/orders", (self.wb_orders.len() as u64).div_ceil(caps.wb_statistics)),
            ("/api/v1/supplier/sales", (self.wb_sales.len() as u64).div_ceil(caps.wb_statistics)),
            // WB pages any range by rrdId: the whole period's rows in full pages.
            (
                "/api/finance/v1/sales-reports/detailed",
                (self.finance.wb_rows.iter().filter(|r| in_period(r.rr_date)).count() as u64).div_ceil(caps.wb_finance),
            ),
            ("/v3/posting/fbo/list", postings(OzonSchema::Fbo)),
            ("/v4/posting/fbs/list", postings(OzonSchema::Fbs)),
            ("/v1/finance/accrual/by-day", days.values().map(|n| n.div_ceil(caps.accruals)).sum()),
            // 31 days per call at most (and 50 campaigns for fullstats).
            ("/adv/v3/fullstats", months_of_31 * (self.finance.campaigns.len() as u64).div_ceil(50).max(1)),
            ("/adv/v1/upd", months_of_31),
        ])
    }
}
