//! Every answer mpetl reads, by endpoint, as the datasets declare them ([`Spec::pages`]): decoded
//! and turned into lake rows exactly as a fetch does. The decoder fuzz test feeds them mutated
//! real bodies; they must return, never panic.

use super::decode::json;
use crate::dataset::{REGISTRY, Spec};

/// Reads `bytes` as the answer of `endpoint` (a path such as `/api/v1/supplier/orders`): the
/// number of lake rows it holds, or why it cannot be read.
pub fn rows_in(endpoint: &str, bytes: &[u8]) -> Result<usize, String> {
    let page = REGISTRY.iter().flat_map(|s| s.pages).find(|p| p.path == endpoint);
    match page {
        Some(p) => (p.rows)(bytes),
        None => Err(format!("no page shape for {endpoint}")),
    }
}

/// Every endpoint [`rows_in`] reads, in registry order.
pub fn endpoints() -> Vec<&'static str> {
    REGISTRY.iter().flat_map(|s: &&Spec| s.pages).map(|p| p.path).collect()
}

/// A body as `T`, its error as text.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    json(bytes).map_err(|e| e.to_string())
}

/// A list of `T` read into rows `R` (the WB statistics and finance answers).
pub fn items<T: serde::de::DeserializeOwned, R: TryFrom<T, Error = String>>(bytes: &[u8]) -> Result<usize, String> {
    let items: Vec<T> = decode(bytes)?;
    items.into_iter().map(R::try_from).collect::<Result<Vec<R>, String>>().map(|v| v.len())
}
