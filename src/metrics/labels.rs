//! What the marts say of each SKU beside its numbers: the seller's own article, and the
//! catalogues' product name, brand and category.

use polars::prelude::*;

use super::MetricsError;
use crate::dataset::Dataset;
use crate::lake::Lake;

/// What the marts say beside each SKU's numbers, read once per run of the stage.
pub struct Labels {
    /// [`products`]: small, one partition per catalogue.
    pub products: Option<DataFrame>,
    /// [`ordered`], read only once a SKU turns up that no catalogue gives an article: it reads
    /// every order and posting ever loaded, years of them in an old lake, so a nightly run whose
    /// SKUs the catalogues all know does not read them at all.
    pub ordered: Option<DataFrame>,
}

impl Labels {
    pub fn load(lake: &Lake) -> Result<Self, MetricsError> {
        Ok(Labels { products: products(lake)?.map(LazyFrame::collect).transpose()?, ordered: None })
    }

    /// Makes sure every SKU of `daily` can get an article: reads the orders when the catalogues
    /// lack one. The articles do not depend on whether the orders were read: a catalogue's comes
    /// first.
    pub fn cover(&mut self, lake: &Lake, daily: Option<&DataFrame>) -> Result<(), MetricsError> {
        let Some(daily) = daily else { return Ok(()) };
        if self.ordered.is_some() {
            return Ok(());
        }
        let keys = [col("marketplace"), col("sku")];
        let known = match &self.products {
            Some(p) => p.clone().lazy().filter(col("article").is_not_null()).select(keys.clone()),
            None => DataFrame::empty_with_schema(&Schema::from_iter([
                Field::new("marketplace".into(), DataType::String),
                Field::new("sku".into(), DataType::String),
            ]))
            .lazy(),
        };
        let missing = daily
            .clone()
            .lazy()
            .filter(col("sku").is_not_null().and(col("sku").neq(lit(""))))
            .select(keys.clone())
            .unique(None, UniqueKeepStrategy::Any)
            .join(known, keys.clone(), keys, JoinArgs::new(JoinType::Anti))
            .limit(1)
            .collect()?;
        if missing.height() > 0 {
            self.ordered = ordered(lake)?.map(LazyFrame::collect).transpose()?;
        }
        Ok(())
    }
}

/// What the catalogues say of each SKU as last seen: `article`, `product_name`, `brand`,
/// `category` (WB: the card's vendor code, title, brand and subject; Ozon: the offer id, the
/// product's name, the card's brand attribute and the name of its last-level category, or its id
/// where the tree did not name it).
pub fn products(lake: &Lake) -> Result<Option<LazyFrame>, MetricsError> {
    let mut parts = Vec::new();
    if let Some(lf) = lake.scan(Dataset::WbProducts)? {
        parts.push(lf.select([
            lit("wb").alias("marketplace"),
            col("nm_id").cast(DataType::String).alias("sku"),
            col("vendor_code").alias("article"),
            col("title").alias("product_name"),
            col("brand"),
            col("subject_name").alias("category"),
        ]));
    }
    if let Some(lf) = lake.scan(Dataset::OzonProducts)? {
        parts.push(lf.select([
            lit("ozon").alias("marketplace"),
            col("sku").cast(DataType::String).alias("sku"),
            col("offer_id").alias("article"),
            col("name").alias("product_name"),
            col("brand"),
            col("category").fill_null(col("category_id").cast(DataType::String)).alias("category"),
        ]));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat(parts, UnionArgs::default())?.group_by([col("marketplace"), col("sku")]).agg([
        col("article").last(),
        col("product_name").last(),
        col("brand").last(),
        col("category").last(),
    ])))
}

/// The seller's own article per marketplace SKU, from every order and posting ever loaded.
pub fn ordered(lake: &Lake) -> Result<Option<LazyFrame>, MetricsError> {
    let mut parts = Vec::new();
    let pick = |lf: LazyFrame, mp: &str, sku: &str, label: &str| {
        lf.select([
            lit(mp.to_string()).alias("marketplace"),
            col(sku).cast(DataType::String).alias("sku"),
            col(label).alias("seller_sku"),
        ])
    };
    if let Some(lf) = lake.scan(Dataset::WbOrders)? {
        parts.push(pick(lf, "wb", "nm_id", "supplier_article"));
    }
    for ds in [Dataset::OzonFbo, Dataset::OzonFbs] {
        if let Some(lf) = lake.scan(ds)? {
            parts.push(pick(lf, "ozon", "sku", "offer_id"));
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        concat(parts, UnionArgs::default())?.group_by([col("marketplace"), col("sku")]).agg([col("seller_sku").last()]),
    ))
}
