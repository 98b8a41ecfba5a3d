//! mpetl: marketplace data (Wildberries, Ozon) → Parquet lake → the true period metrics.
//!
//! Sources → lake → metrics → notifiers; see DESIGN.md in the shared folder and the README.

// No panic on any input (issue #14): a remaining `expect` is allowed where it stands, with the
// invariant that makes it unreachable named beside it. CI runs clippy with these as errors.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod alloc;
#[cfg(feature = "sandbox")]
pub mod bench;
pub mod bot;
pub mod chart;
pub mod clock;
pub mod config;
pub mod costs;
pub mod dataset;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod doctor;
pub mod events;
pub mod failpoint;
pub mod http;
pub mod jobs;
pub mod lake;
pub mod metrics;
pub mod money;
pub mod notify;
pub mod period;
pub mod pipeline;
pub mod progress;
pub mod report;
pub mod schedule;
pub mod sources;
pub mod state;
pub mod status;
pub mod summary;
pub mod worker;
