//! Wildberries statistics: orders and sales (`flag=0`, `lastChangeDate` paging).

pub mod client;
pub mod models;

pub use client::WbClient;
