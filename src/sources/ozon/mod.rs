//! Ozon: postings (FBO `/v3`, FBS `/v4`, cursor paging) and finance accruals.

pub mod accruals;
pub mod client;
pub mod models;

pub use client::OzonClient;
