//! How a dataset plugs into the pipeline. A dataset that is fetched by chunks of its own
//! implements [`Fetch`] in its `sources/<marketplace>/<dataset>.rs` and names it in its
//! [`Spec`](crate::dataset::Spec); the registry (`dataset::REGISTRY`) lists the specs once, and
//! the planner, the cost estimate and the runner iterate it. Nothing here knows a marketplace.

use std::collections::HashSet;

use futures::future::BoxFuture;

use super::ChunkError;
use super::cx::{ChunkOutcome, FetchCx};
use super::plan::{Chunk, PlanCx, PlanError, PlannedChunk};
use crate::config::{Account, Config};
use crate::http::Quota;
use crate::state::ChunkRecord;

/// Requests one chunk needs at the least in one rate-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Need {
    pub bucket: &'static str,
    /// The bucket's default quota (the config's `limits.<bucket>` overrides it).
    pub quota: Quota,
    pub requests: u64,
}

/// Lists asked once per account and run (WB's campaigns, Ozon's accrual types): the first chunk
/// of an account that needs one counts it, the others do not.
#[derive(Debug, Default)]
pub struct Once(HashSet<(String, &'static str)>);

impl Once {
    /// 1 the first time `account` asks `what`, then 0.
    pub fn first(&mut self, account: &str, what: &'static str) -> u64 {
        u64::from(self.0.insert((account.to_string(), what)))
    }
}

/// One dataset's chunking, fetch loop and least cost.
pub trait Fetch: Sync + std::fmt::Debug {
    /// The chunks `account` needs for the plan in `cx`, each marked cached or not.
    fn plan(&self, cx: &PlanCx<'_>, account: &Account) -> Result<Vec<PlannedChunk>, PlanError>;

    /// The least requests an uncached `chunk` costs, per bucket.
    fn cost(&self, chunk: &Chunk, cfg: &Config, once: &mut Once) -> Vec<Need>;

    /// Fetches `cx.chunk`. Rows are durable in the lake before any cursor moves (`rec` holds a
    /// page cursor the loop may resume from and advance) and before this returns.
    fn fetch<'a>(
        &'a self,
        cx: &'a FetchCx<'a>,
        rec: &'a mut ChunkRecord,
    ) -> BoxFuture<'a, Result<ChunkOutcome, ChunkError>>;
}
