//! Wildberries: statistics (orders, sales), finance reports, advertising.

pub mod ads;
pub mod client;
pub mod models;

pub use client::{WbClient, WbHosts};
