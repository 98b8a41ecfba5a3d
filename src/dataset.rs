//! The datasets mpetl keeps in the lake: name, marketplace, primary key, version and event time.

use std::fmt;

/// A marketplace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Marketplace {
    Wb,
    Ozon,
}

impl Marketplace {
    pub fn code(self) -> &'static str {
        match self {
            Marketplace::Wb => "wb",
            Marketplace::Ozon => "ozon",
        }
    }
    pub fn title(self) -> &'static str {
        match self {
            Marketplace::Wb => "Wildberries",
            Marketplace::Ozon => "Ozon",
        }
    }
}

impl std::str::FromStr for Marketplace {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wb" | "wildberries" => Ok(Marketplace::Wb),
            "ozon" => Ok(Marketplace::Ozon),
            other => Err(format!("unknown source '{other}': use wb or ozon")),
        }
    }
}

/// A lake dataset. DESIGN §3 lists the endpoint, key and event date of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dataset {
    WbOrders,
    WbSales,
    WbFinance,
    WbFinanceReports,
    WbAdCampaigns,
    WbAdStats,
    WbAdSpend,
    OzonFbo,
    OzonFbs,
    OzonAccruals,
    OzonCashFlows,
}

impl Dataset {
    pub const ALL: [Dataset; 11] = [
        Dataset::WbOrders,
        Dataset::WbSales,
        Dataset::WbFinance,
        Dataset::WbFinanceReports,
        Dataset::WbAdCampaigns,
        Dataset::WbAdStats,
        Dataset::WbAdSpend,
        Dataset::OzonFbo,
        Dataset::OzonFbs,
        Dataset::OzonAccruals,
        Dataset::OzonCashFlows,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dataset::WbOrders => "wb_orders",
            Dataset::WbSales => "wb_sales",
            Dataset::WbFinance => "wb_finance",
            Dataset::WbFinanceReports => "wb_finance_reports",
            Dataset::WbAdCampaigns => "wb_ad_campaigns",
            Dataset::WbAdStats => "wb_ad_stats",
            Dataset::WbAdSpend => "wb_ad_spend",
            Dataset::OzonFbo => "ozon_fbo",
            Dataset::OzonFbs => "ozon_fbs",
            Dataset::OzonAccruals => "ozon_accruals",
            Dataset::OzonCashFlows => "ozon_cash_flows",
        }
    }

    pub fn from_name(name: &str) -> Option<Dataset> {
        Dataset::ALL.into_iter().find(|d| d.name() == name.trim())
    }

    /// The dataset whose chunks fetch this one (report totals come with the finance rows,
    /// campaigns and spend with the ad statistics, Ozon's statement with the accruals).
    pub fn chunk_dataset(self) -> Dataset {
        match self {
            Dataset::WbFinanceReports => Dataset::WbFinance,
            Dataset::OzonCashFlows => Dataset::OzonAccruals,
            Dataset::WbAdCampaigns | Dataset::WbAdSpend => Dataset::WbAdStats,
            d => d,
        }
    }

    pub fn marketplace(self) -> Marketplace {
        match self {
            Dataset::WbOrders
            | Dataset::WbSales
            | Dataset::WbFinance
            | Dataset::WbFinanceReports
            | Dataset::WbAdCampaigns
            | Dataset::WbAdStats
            | Dataset::WbAdSpend => Marketplace::Wb,
            Dataset::OzonFbo | Dataset::OzonFbs | Dataset::OzonAccruals | Dataset::OzonCashFlows => Marketplace::Ozon,
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            Dataset::WbOrders => "GET /api/v1/supplier/orders",
            Dataset::WbSales => "GET /api/v1/supplier/sales",
            Dataset::WbFinance => "POST /api/finance/v1/sales-reports/detailed",
            Dataset::WbFinanceReports => "POST /api/finance/v1/sales-reports/list",
            Dataset::WbAdCampaigns => "GET /adv/v1/promotion/count",
            Dataset::WbAdStats => "GET /adv/v3/fullstats",
            Dataset::WbAdSpend => "GET /adv/v1/upd",
            Dataset::OzonFbo => "POST /v3/posting/fbo/list",
            Dataset::OzonFbs => "POST /v4/posting/fbs/list",
            Dataset::OzonAccruals => "POST /v1/finance/accrual/by-day",
            Dataset::OzonCashFlows => "POST /v1/finance/cash-flow-statement/list",
        }
    }

    /// Columns that identify a row; upserts keep one row per key.
    pub fn primary_key(self) -> &'static [&'static str] {
        match self {
            Dataset::WbOrders => &["srid"],
            Dataset::WbSales => &["sale_id"],
            Dataset::WbFinance => &["rrd_id"],
            Dataset::WbFinanceReports => &["report_id"],
            Dataset::WbAdCampaigns => &["advert_id"],
            Dataset::WbAdStats => &["advert_id", "date", "nm_id", "app_type"],
            // upd has no row id: WB's documents are told apart by all four.
            Dataset::WbAdSpend => &["advert_id", "upd_time", "upd_num", "upd_sum"],
            Dataset::OzonFbo | Dataset::OzonFbs => &["posting_number", "sku"],
            Dataset::OzonAccruals => &["accrual_id", "component"],
            Dataset::OzonCashFlows => &["period_begin"],
        }
    }

    /// Which copy of a key is newer. Ozon postings carry no change stamp, so the later load wins.
    pub fn version_column(self) -> &'static str {
        match self {
            Dataset::WbOrders | Dataset::WbSales => "last_change_date",
            _ => "_loaded_at",
        }
    }

    /// The event time that places a row in a month partition and a metric day.
    pub fn event_column(self) -> &'static str {
        match self {
            Dataset::WbOrders | Dataset::WbSales | Dataset::WbAdStats | Dataset::OzonAccruals => "date",
            Dataset::WbFinance => "rr_date",
            Dataset::WbFinanceReports => "date_from",
            Dataset::OzonCashFlows => "period_begin",
            Dataset::WbAdCampaigns => "advert_id",
            Dataset::WbAdSpend => "upd_time",
            Dataset::OzonFbo | Dataset::OzonFbs => "in_process_at",
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
