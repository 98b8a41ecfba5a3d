//! Ozon: postings (FBO `/v3`, FBS `/v4`, cursor paging), finance accruals and the cash-flow
//! statement that totals them.

pub mod accruals;
pub mod cash_flow;
pub mod client;
pub mod models;
pub mod postings;
pub mod products;
pub mod returns;

pub use client::OzonClient;
