//! Ozon posting lists as the API sends them, and the lake rows made of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::money::{Kopecks, de_money};
use crate::sources::decode::or_default;

#[derive(Debug, Deserialize)]
pub struct ListResponse {
    pub postings: Vec<Posting>,
    pub has_next: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub cursor: String,
}

#[derive(Debug, Deserialize)]
pub struct Posting {
    pub posting_number: String,
    #[serde(default, deserialize_with = "or_default")]
    pub order_number: String,
    #[serde(default, deserialize_with = "or_default")]
    pub order_id: Option<i64>,
    pub status: String,
    #[serde(default, deserialize_with = "or_default")]
    pub substatus: String,
    pub in_process_at: DateTime<Utc>,
    #[serde(default, deserialize_with = "or_default")]
    pub created_at: Option<DateTime<Utc>>,
    pub products: Vec<Product>,
}

#[derive(Debug, Deserialize)]
pub struct Product {
    pub sku: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub offer_id: String,
    #[serde(default, deserialize_with = "or_default")]
    pub name: String,
    pub quantity: i64,
    #[serde(deserialize_with = "de_price")]
    pub price: Price,
}

#[derive(Debug)]
pub struct Price {
    pub amount: Kopecks,
    pub currency: String,
}

/// v3/v4 send `{amount: "1259", currency}`; the retired lists sent a bare string. Take both.
fn de_price<'de, D: Deserializer<'de>>(d: D) -> Result<Price, D::Error> {
    #[derive(Deserialize)]
    struct Obj {
        #[serde(deserialize_with = "de_money")]
        amount: Kopecks,
        #[serde(default, deserialize_with = "or_default")]
        currency: String,
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Obj(Obj),
        Text(String),
    }
    match Either::deserialize(d)? {
        Either::Obj(o) => Ok(Price { amount: o.amount, currency: o.currency }),
        Either::Text(t) => Ok(Price { amount: t.parse().map_err(serde::de::Error::custom)?, currency: String::new() }),
    }
}

/// An Ozon error body: `{code, message, details}`; `code` is gRPC's, not the HTTP status.
#[derive(Debug, Deserialize)]
pub struct RpcError {
    #[serde(default, deserialize_with = "or_default")]
    pub code: i64,
    #[serde(default, deserialize_with = "or_default")]
    pub message: String,
}

/// A row of `ozon_fbo` / `ozon_fbs`: one product line of one posting.
#[derive(Debug, Clone)]
pub struct OzonPostingRow {
    pub posting_number: String,
    pub sku: i64,
    pub order_number: String,
    pub order_id: Option<i64>,
    pub status: String,
    pub substatus: String,
    pub in_process_at: DateTime<Utc>,
    pub created_at: Option<DateTime<Utc>>,
    pub offer_id: String,
    pub name: String,
    pub quantity: i64,
    pub price: Kopecks,
    pub currency: String,
}

impl Posting {
    pub fn into_rows(self) -> impl Iterator<Item = OzonPostingRow> {
        let Posting { posting_number, order_number, order_id, status, substatus, in_process_at, created_at, products } =
            self;
        products.into_iter().map(move |p| OzonPostingRow {
            posting_number: posting_number.clone(),
            sku: p.sku,
            order_number: order_number.clone(),
            order_id,
            status: status.clone(),
            substatus: substatus.clone(),
            in_process_at,
            created_at,
            offer_id: p.offer_id,
            name: p.name,
            quantity: p.quantity,
            price: p.price.amount,
            currency: p.price.currency,
        })
    }
}
