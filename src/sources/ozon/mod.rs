//! Ozon postings: FBO (`/v3/posting/fbo/list`) and FBS (`/v4/posting/fbs/list`), cursor paging.

pub mod client;
pub mod models;

pub use client::OzonClient;
