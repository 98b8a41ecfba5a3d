//! What the marts say of each SKU beside its numbers: the seller's own article, and the
//! catalogues' product name, brand and category.

use polars::prelude::*;

use super::MetricsError;
use crate::dataset::Dataset;
use crate::lake::Lake;

/// What the catalogues say of each SKU as last seen: `product_name`, `brand`, `category` (WB:
/// the card's title, brand and subject; Ozon: the product's name, the card's brand attribute and
/// the name of its last-level category, or its id where the tree did not name it).
pub fn products(lake: &Lake) -> Result<Option<LazyFrame>, MetricsError> {
    let mut parts = Vec::new();
    if let Some(lf) = lake.scan(Dataset::WbProducts)? {
        parts.push(lf.select([
            lit("wb").alias("marketplace"),
            col("nm_id").cast(DataType::String).alias("sku"),
            col("title").alias("product_name"),
            col("brand"),
            col("subject_name").alias("category"),
        ]));
    }
    if let Some(lf) = lake.scan(Dataset::OzonProducts)? {
        parts.push(lf.select([
            lit("ozon").alias("marketplace"),
            col("sku").cast(DataType::String).alias("sku"),
            col("name").alias("product_name"),
            col("brand"),
            col("category").fill_null(col("category_id").cast(DataType::String)).alias("category"),
        ]));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(concat(parts, UnionArgs::default())?.group_by([col("marketplace"), col("sku")]).agg([
        col("product_name").last(),
        col("brand").last(),
        col("category").last(),
    ])))
}

/// The seller's own article per marketplace SKU, from every order and posting ever loaded.
pub fn labels(lake: &Lake) -> Result<Option<LazyFrame>, MetricsError> {
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
