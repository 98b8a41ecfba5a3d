//! Wildberries: statistics (orders, sales), finance reports, advertising.

pub mod ads;
pub mod client;
pub mod finance;
pub mod models;
pub mod orders;
pub mod products;
pub mod sales;
pub mod stocks;
pub mod stream;

pub use client::{WbClient, WbHosts};
