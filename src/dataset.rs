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
    OzonReturns,
    WbStocks,
    WbProducts,
    OzonProducts,
}

/// What mpetl knows of one dataset; each dataset's own file in `sources/` declares its spec, and
/// [`REGISTRY`] lists them once. DESIGN §3 lists the endpoint, key and event date of each.
#[derive(Debug)]
pub struct Spec {
    pub dataset: Dataset,
    /// The lake directory and the name in chunk ids, CLI flags and marts.
    pub name: &'static str,
    pub marketplace: Marketplace,
    pub endpoint: &'static str,
    /// Columns that identify a row; upserts keep one row per key.
    pub primary_key: &'static [&'static str],
    /// Which copy of a key is newer ([`LOADED_AT`] when the source has no change stamp: the
    /// later load wins).
    pub version_column: &'static str,
    /// The event time that places a row in a month partition and a metric day.
    pub event_column: &'static str,
    /// The dataset whose chunks fetch this one (itself, or the one it comes with).
    pub fetched_by: Dataset,
    /// Rows land in the month partition of their event (`month=YYYY-MM`); `false`: in one
    /// partition, `month=all` (a list kept as last seen, such as a catalogue).
    pub by_month: bool,
    /// How its own chunks are planned and fetched; `None` for a dataset that comes with another.
    pub fetch: Option<&'static dyn crate::pipeline::source::Fetch>,
    /// The answers it reads, by endpoint (the decoder fuzz test feeds each mutated real bodies).
    pub pages: &'static [Page],
}

/// One answer a dataset reads: the endpoint's path, and its body read into lake rows exactly as
/// a fetch reads it (how many rows, or why it cannot be read).
#[derive(Debug)]
pub struct Page {
    pub path: &'static str,
    pub rows: fn(&[u8]) -> Result<usize, String>,
}

/// The lake's load time: the version of rows whose source has no change stamp.
pub const LOADED_AT: &str = "_loaded_at";

/// Every dataset, in [`Dataset`]'s order.
pub const REGISTRY: [&Spec; 15] = [
    &crate::sources::wb::orders::ORDERS,
    &crate::sources::wb::sales::SALES,
    &crate::sources::wb::finance::FINANCE,
    &crate::sources::wb::finance::REPORTS,
    &crate::sources::wb::ads::CAMPAIGNS,
    &crate::sources::wb::ads::STATS,
    &crate::sources::wb::ads::SPEND,
    &crate::sources::ozon::postings::FBO,
    &crate::sources::ozon::postings::FBS,
    &crate::sources::ozon::accruals::ACCRUALS,
    &crate::sources::ozon::cash_flow::CASH_FLOWS,
    &crate::sources::ozon::returns::RETURNS,
    &crate::sources::wb::stocks::STOCKS,
    &crate::sources::wb::products::PRODUCTS,
    &crate::sources::ozon::products::PRODUCTS,
];

impl Dataset {
    pub const ALL: [Dataset; REGISTRY.len()] = {
        let mut all = [Dataset::WbOrders; REGISTRY.len()];
        let mut i = 0;
        while i < REGISTRY.len() {
            all[i] = REGISTRY[i].dataset;
            i += 1;
        }
        all
    };

    pub fn spec(self) -> &'static Spec {
        let spec = REGISTRY[self as usize];
        debug_assert!(spec.dataset == self, "REGISTRY is in Dataset's order");
        spec
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }

    pub fn from_name(name: &str) -> Option<Dataset> {
        REGISTRY.iter().find(|s| s.name == name.trim()).map(|s| s.dataset)
    }

    /// The dataset whose chunks fetch this one (report totals come with the finance rows,
    /// campaigns and spend with the ad statistics, Ozon's statement with the accruals).
    pub fn chunk_dataset(self) -> Dataset {
        self.spec().fetched_by
    }

    pub fn marketplace(self) -> Marketplace {
        self.spec().marketplace
    }

    pub fn endpoint(self) -> &'static str {
        self.spec().endpoint
    }

    pub fn primary_key(self) -> &'static [&'static str] {
        self.spec().primary_key
    }

    pub fn version_column(self) -> &'static str {
        self.spec().version_column
    }

    pub fn event_column(self) -> &'static str {
        self.spec().event_column
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_lists_every_dataset_once_in_order() {
        for (i, spec) in REGISTRY.iter().enumerate() {
            assert_eq!(spec.dataset as usize, i, "{} is out of order", spec.name);
        }
        let mut names: Vec<&str> = REGISTRY.iter().map(|s| s.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), REGISTRY.len(), "dataset names are unique");
        for spec in REGISTRY {
            assert_eq!(
                spec.fetched_by.spec().fetched_by,
                spec.fetched_by,
                "{} is fetched by a fetching dataset",
                spec.name
            );
            assert_eq!(spec.fetched_by.marketplace(), spec.marketplace, "{}", spec.name);
            assert_eq!(
                spec.fetch.is_some(),
                spec.fetched_by == spec.dataset,
                "{} has a fetch loop exactly when it fetches itself",
                spec.name
            );
        }
    }
}
